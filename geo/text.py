"""Chinese and English labels shared by the CLI, reports, maps and exports."""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

__all__ = ["VERDICTS", "VERDICT_ORDER", "verdict_label", "summary_line", "RELATIONS", "project_types", "resolve_type", "label"]

#: verdict values, most severe first; ``unknown`` stands apart (no coverage, no data)
VERDICT_ORDER = ["prohibited", "restricted", "caution", "allowed"]
VERDICTS = {
    "prohibited": {"zh": "禁止", "en": "prohibited", "color": "#d7191c"},
    "restricted": {"zh": "限制（有条件）", "en": "restricted (conditional)", "color": "#fdae61"},
    "caution": {"zh": "注意（需核实）", "en": "caution (verify)", "color": "#ffd92f"},
    "allowed": {"zh": "允许", "en": "allowed", "color": "#1a9641"},
    "unknown": {"zh": "未知（无数据覆盖）", "en": "unknown (not covered)", "color": "#878787"},
}
RELATIONS = {
    "inside": {"zh": "位于区内", "en": "inside"},
    "overlaps": {"zh": "部分占用", "en": "overlaps"},
    "crosses": {"zh": "穿越", "en": "crosses"},
    "touches": {"zh": "边界接触", "en": "touches"},
    "near": {"zh": "邻近", "en": "near"},
}


def verdict_label(verdict: str, lang: str = "zh") -> str:
    return VERDICTS[verdict][lang]


def summary_line(n: int, layerset: str, counts: dict) -> str:
    """The counts of a check per verdict, in Chinese then English, on one line."""
    order = VERDICT_ORDER + ["unknown"]
    zh = "、".join(f"{VERDICTS[v]['zh'].split('（')[0]} {counts.get(v, 0)}" for v in order)
    en = ", ".join(f"{counts.get(v, 0)} {v}" for v in order)
    return f"已核查 {n} 个项目（图层集 {layerset}）：{zh} / checked {n} sites against {layerset}: {en}"


def label(table: dict, key: str, lang: str = "zh") -> str:
    return table.get(key, {}).get(lang, key)


@lru_cache(maxsize=1)
def project_types() -> dict:
    """Project types T01–T14 (regulations.md §9): code -> {alias, name_zh, name_en, ...}."""
    with resources.files("geo").joinpath("data/project_types.csv").open(encoding="utf-8") as f:
        return {row["code"]: row for row in csv.DictReader(f)}


@lru_cache(maxsize=64)
def _aliases() -> dict:
    out = {}
    for code, row in project_types().items():
        for key in (code, code.lower(), row["alias"], row["name_zh"], row["name_en"].lower()):
            out[key] = code
    return out


def resolve_type(value) -> str | None:
    """A project-type code from a code (T05), an alias (linear) or a name; None when blank."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none"):
        return None
    return _aliases().get(text) or _aliases().get(text.lower()) or _aliases().get(text.upper())
