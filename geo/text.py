"""Chinese and English labels shared by the CLI, reports, maps and exports.

Each table maps a key to its ``zh`` and ``en`` text (verdicts also to their
colour); every label of ecozone is written here once.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

__all__ = ["LANGS", "VERDICTS", "VERDICT_ORDER", "RELATIONS", "CONTROLS", "MAP_LABELS", "BASEMAP_LABELS", "UNITS",
           "DIMENSIONS", "LEVELS", "COMPLIANCE", "COMPLIANCE_COLUMNS", "other_lang", "summary_line", "project_types",
           "resolve_type"]

#: languages of the labels
LANGS = ("zh", "en")

#: verdict values, most severe first; ``unknown`` stands apart (no coverage, no data)
VERDICT_ORDER = ["prohibited", "restricted", "caution", "allowed"]
VERDICTS = {
    "prohibited": {"zh": "禁止", "en": "prohibited", "color": "#d7191c"},
    "restricted": {"zh": "限制（有条件）", "en": "restricted (conditional)", "color": "#fdae61"},
    "caution": {"zh": "注意（需核实）", "en": "caution (verify)", "color": "#ffd92f"},
    "allowed": {"zh": "允许", "en": "allowed", "color": "#1a9641"},
    "unknown": {"zh": "未知（无数据覆盖）", "en": "unknown (not covered)", "color": "#878787"},
}
#: how a site meets a zone
RELATIONS = {
    "inside": {"zh": "位于区内", "en": "inside"},
    "overlaps": {"zh": "部分占用", "en": "overlaps"},
    "crosses": {"zh": "穿越", "en": "crosses"},
    "touches": {"zh": "边界接触", "en": "touches"},
    "near": {"zh": "邻近", "en": "near"},
    "cuts": {"zh": "切断廊道", "en": "cuts across"},
    "along": {"zh": "沿廊道纵向占用", "en": "runs along"},
}
#: control levels of a manifest's zone classes, strictest first (shown where no rule gives a requirement)
CONTROLS = {
    "strict": {"zh": "严格管控", "en": "strict control"},
    "restrictive": {"zh": "限制性管控", "en": "restrictive control"},
    "general": {"zh": "一般管控", "en": "general control"},
    "info": {"zh": "仅供参考", "en": "for information"},
}
#: the web map's controls, popup fields and legend
MAP_LABELS = {
    "code": {"zh": "编码", "en": "Code"},
    "zoomIn": {"zh": "放大", "en": "Zoom in"},
    "zoomOut": {"zh": "缩小", "en": "Zoom out"},
    "fullscreen": {"zh": "全屏", "en": "Full screen"},
    "exitFullscreen": {"zh": "退出全屏", "en": "Exit full screen"},
    "search": {"zh": "搜索区域名称、编码或项目名称", "en": "Search zones (name or code) or sites"},
    "notFound": {"zh": "未找到", "en": "Not found"},
    "cancel": {"zh": "取消", "en": "Cancel"},
    "hideMini": {"zh": "隐藏鹰眼图", "en": "Hide overview"},
    "showMini": {"zh": "显示鹰眼图", "en": "Show overview"},
    "lonlat": {"zh": "经度, 纬度", "en": "lon, lat"},
    "legend": {"zh": "图例", "en": "Legend"},
    "layer": {"zh": "图层", "en": "Layer"},
    "class": {"zh": "类别", "en": "Class"},
    "control": {"zh": "管控要求", "en": "Control requirement"},
    "citation": {"zh": "依据", "en": "Citation"},
    "clause": {"zh": "规划条款", "en": "Plan clause"},
    "area": {"zh": "面积", "en": "Area"},
    "length": {"zh": "长度", "en": "Length"},
    "id": {"zh": "编号", "en": "ID"},
    "verdict": {"zh": "核查结论", "en": "Verdict"},
    "type": {"zh": "项目类型", "en": "Project type"},
    "reasons": {"zh": "原因", "en": "Reasons"},
    "sites": {"zh": "核查项目", "en": "Checked sites"},
    "sites_summary": {"zh": "核查项目 {n} 个", "en": "{n} checked sites"},
    "judgement": {"zh": "（研判）", "en": " (judgement)"},
    "data": {"zh": "数据", "en": "Data"},
    "built": {"zh": "构建", "en": "built"},
    "basemap": {"zh": "底图", "en": "Basemap"},
}
#: the basemaps ``ecozone map --basemap`` offers (the map's layers: BASEMAP_LABELS)
BASEMAPS = ("osm", "tianditu", "gaode", "none")
#: the web map's basemaps
BASEMAP_LABELS = {
    "osm": {"zh": "OpenStreetMap", "en": "OpenStreetMap"},
    "tdt_vec": {"zh": "天地图矢量", "en": "Tianditu map"},
    "tdt_img": {"zh": "天地图影像", "en": "Tianditu imagery"},
    "gaode_normal": {"zh": "高德地图", "en": "AutoNavi (Gaode) map"},
    "gaode_sat": {"zh": "高德影像", "en": "AutoNavi (Gaode) imagery"},
    "none": {"zh": "无底图", "en": "No basemap"},
}
#: units of areas and lengths
UNITS = {
    "km2": {"zh": "平方千米", "en": "km²"},
    "ha": {"zh": "公顷", "en": "ha"},
    "km": {"zh": "千米", "en": "km"},
}


#: the four dimensions of a 生态环境准入清单 (requirement list), in the order lists give them
DIMENSIONS = {
    "spatial": {"zh": "空间布局约束", "en": "spatial layout constraints"},
    "pollution": {"zh": "污染物排放管控", "en": "pollutant discharge control"},
    "risk": {"zh": "环境风险防控", "en": "environmental risk prevention"},
    "resource": {"zh": "资源开发效率要求", "en": "resource use efficiency"},
}
#: levels of a requirement list, the general ones first: a unit's requirements are all four, compared apart
LEVELS = {
    "province": {"zh": "省级", "en": "province"},
    "region": {"zh": "区域", "en": "region"},
    "city": {"zh": "市级", "en": "city"},
    "unit": {"zh": "单元", "en": "unit"},
}
#: what the compliance table says of a project against one requirement; ecozone never writes 符合 by itself
COMPLIANCE = {
    "fails": {"zh": "不符合", "en": "does not comply"},
    "not_concerned": {"zh": "不涉及", "en": "not concerned"},
    "to_judge": {"zh": "待判定", "en": "to be judged"},
}
#: the columns of the compliance table (Chinese, as EIA reports print them) and their English headers
COMPLIANCE_COLUMNS = {
    "序号": "No.",
    "项目编号": "Site ID",
    "项目名称": "Site name",
    "管控单元编码": "Unit code",
    "单元名称": "Unit name",
    "管控类别": "Unit class",
    "管控维度": "Dimension",
    "层级": "Level",
    "管控要求": "Requirement",
    "本项目情况": "Project situation",
    "符合性": "Compliance",
    "依据": "Basis",
}


def other_lang(lang: str) -> str:
    """The other language of a bilingual label (``en`` for ``zh`` and the reverse)."""
    return "en" if lang == "zh" else "zh"


def summary_line(n: int, layerset: str, counts: dict) -> str:
    """The counts of a check per verdict, in Chinese then English, on one line."""
    order = VERDICT_ORDER + ["unknown"]
    zh = "、".join(f"{VERDICTS[v]['zh'].split('（')[0]} {counts.get(v, 0)}" for v in order)
    en = ", ".join(f"{counts.get(v, 0)} {v}" for v in order)
    return f"已核查 {n} 个项目（图层集 {layerset}）：{zh} / checked {n} sites against {layerset}: {en}"


@lru_cache(maxsize=1)
def project_types() -> dict:
    """Project types T01–T14 (docs/legal-basis.md §9): code -> {alias, name_zh, name_en, ...}."""
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


#: first characters that make Excel or WPS read a cell as a formula (OWASP, CSV injection); see docs/outputs.md
FORMULA_CHARS = "=+-@\t\r"
#: what goes in front of such a text (and of a text that already starts with it, so one can always be taken off)
FORMULA_GUARD = "'"


def spreadsheet_text(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: a leading ``'`` before a formula character or a ``'``."""
    return FORMULA_GUARD + text if text[:1] and text[0] in FORMULA_CHARS + FORMULA_GUARD else text
