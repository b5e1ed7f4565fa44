"""The 三线一单 compliance table: each site against the requirement lists of the control units it meets.

One row per site × unit met × level × dimension, as the EIA section
“与生态环境分区管控（三线一单）符合性分析” prints it (columns
:data:`geo.text.COMPLIANCE_COLUMNS`): the unit's code, name and class, the
dimension and level, the requirement in full, the project's situation and a
first reading of compliance, with what it rests on. A unit's general rows
(province, region, city) come before its own; a unit the list lacks still gets
a row saying so.

符合性 is never 符合: ecozone reads clauses, it does not approve projects.

* 不符合 — a clause bans the project's industry: it holds a ban word
  (禁止, 严禁, 不得, 不予, 不再, 不准, 不允许, 不批准; 限制 is not a ban) and one
  of the project's industry words: those of the site's own ``industry``/``行业``
  column when it has one (a T01 chemical plant is not a steel works), else the
  keywords of its project type (the layer set's ``industries.csv``); or, for
  the unit's own 空间布局约束, the layer set's rule for that zone prohibits it.
* 待判定 — a banning clause with an exception or a place condition
  (除外, 以外, 之外, 区外, 范围外, 在…区/内/范围/岸线/流域…), a clause naming
  no industry, a site without a project type: a person reads it.
* 不涉及 — every clause of the text is aimed at industries of other types only
  (an industry word followed by 项目, 行业, 企业, 产业, 装置 or 厂: 造纸、印染项目;
  not 集中污水处理设施, a facility every project may use).

本项目情况 is the site's ``项目情况``/``建设内容``/``description``/``industry``/
``行业`` columns where the sites file has them, else 待补充.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .atomic import atomic_path
from .errors import ExportError, LayerSetError
from .layerset.manifest import requirements_config
from .layerset.requirements import read_industries, read_requirements
from .results import BOM, write_csv
from .text import COMPLIANCE, COMPLIANCE_COLUMNS, DIMENSIONS, LEVELS, resolve_type

__all__ = ["compliance_table", "compliance_rows", "met_units", "site_notes", "judge_text", "split_clauses",
           "write_compliance", "no_requirements", "zone_codes", "COMPLIANCE_FORMATS", "TO_FILL", "UNIT_COLUMNS"]

#: the site columns that describe the project (本项目情况), in the order they are joined
SITUATION_COLUMNS = ("项目情况", "建设内容", "description", "industry", "行业")
#: the site columns whose words count as the project's industry (beside its type's keywords)
INDUSTRY_COLUMNS = ("industry", "行业")
#: the columns of :func:`met_units`
UNIT_COLUMNS = ["site_id", "site_name", "project_type", "zone_id", "zone_code", "unit_name", "zone_class", "rule_id",
                "verdict", "citation"]
#: relations in which a site meets a unit (``near`` does not)
MET = ("inside", "overlaps", "crosses", "touches")
TO_FILL = "待补充"
COMPLIANCE_FORMATS = (".csv", ".xlsx")
#: the rows an .xlsx sheet holds
XLSX_ROWS = 1_048_576
BAN = re.compile("禁止|严禁|不得|不予|不再|不准|不允许|不批准")
#: an exception or a place the ban holds in (禁止在饮用水水源保护区新建…): whether the site is there is for a person
CONDITION = re.compile("除外|以外|之外|区外|范围外|在[^，,。；;：:]{1,40}?(?:区|内|范围|岸线|沿线|周边|两侧|流域|以内|之内)")
_MARKERS = (r"(?<![\d.])\d{1,2}\s*[.．、](?!\d)", r"[（(]\d{1,2}[)）]", r"[一二三四五六七八九十]{1,3}、", r"[①-⑳]")
_AT_START = r"(?:^|(?<=[\n；;。：:\s]))"
_MARKER_RX = [re.compile(_AT_START + f"({m})") for m in _MARKERS]
_QUOTE = 80


def no_requirements(ls) -> LayerSetError:
    """The error for a compliance table asked of a layer set without a requirement list."""
    return LayerSetError("该图层集没有准入清单 / this layer set has no requirement list", path=ls.root,
                         hint=f"add one with `ecozone add {ls.root} LIST.xlsx --requirements`")


def split_clauses(text: str) -> list[tuple[str, str]]:
    """The clauses of a requirement as (label, clause): numbered items (1. （1） 一、 ①), else sentences.

    Only the numbering style met first splits (the sub-items of a numbered
    clause stay in it); a lead-in before the first item is a clause of its own
    (label ``""``), and a lead-in ending in a colon with a ban word lends its
    ban to each item (禁止新建下列项目：1. 化工 …).
    """
    found = [(m.start(1), rx) for rx in _MARKER_RX if (m := rx.search(text))]
    if not found:
        parts = [p.strip() for p in re.split(r"[。；;\n]+", text) if p.strip()]
        return [(str(i), p) for i, p in enumerate(parts, 1)] if len(parts) > 1 else [("", p) for p in parts]
    rx = min(found, key=lambda f: f[0])[1]
    marks = list(rx.finditer(text))
    out = []
    lead = text[: marks[0].start(1)].strip()
    if lead:
        out.append(("", lead))
    lend = lead if lead.endswith(("：", ":")) and BAN.search(lead) else ""
    for m, nxt in zip(marks, marks[1:] + [None]):
        clause = text[m.start(1): nxt.start(1) if nxt else len(text)].strip()
        label = re.sub(r"[\s.．、（()）]", "", m.group(1))
        out.append((label, f"{lend}{clause}" if lend else clause))
    return out


def _quote(label: str, clause: str) -> str:
    short = clause if len(clause) <= _QUOTE else clause[: _QUOTE - 1] + "…"
    return f"{'第' + label + '条' if label else '条款'}：{short}"


#: what follows an industry word a clause is aimed at (造纸、印染项目), not one it mentions (集中污水处理设施)
_TARGET = re.compile(r"[^。；;，,]{0,12}?(?:项目|行业|企业|产业|装置|工厂|厂)")


def _targets(words, clause: str) -> bool:
    """Whether the clause is aimed at one of the industries ``words`` (the word followed by 项目, 行业, 企业…)."""
    for w in words:
        start = clause.find(w)
        while start >= 0:
            if _TARGET.match(clause, start + len(w)):
                return True
            start = clause.find(w, start + 1)
    return False


def judge_text(text: str, own, other) -> tuple[str, str]:
    """(``fails`` | ``not_concerned`` | ``to_judge``, basis) of a requirement for a project whose industry words are ``own``.

    ``other`` are the industry words of the other project types. See the
    module's docstring for the reading.
    """
    conditional = None
    other_only = True
    for label, clause in split_clauses(text):
        mine = [w for w in own if w in clause]
        if mine and BAN.search(clause):
            if not CONDITION.search(clause):
                return "fails", f"{_quote(label, clause)}（禁止：{'、'.join(mine)} / bans {', '.join(mine)}）"
            conditional = conditional or (label, clause, mine)
        if mine or not _targets(other, clause):
            other_only = False
    if conditional:
        label, clause, mine = conditional
        return "to_judge", (f"{_quote(label, clause)}（禁止{'、'.join(mine)}，但有例外或地点条件，需核实 / "
                            "bans the industry with an exception or a place condition: verify)")
    if other_only:
        return "not_concerned", "各条款均针对其他行业 / every clause concerns other industries"
    return "to_judge", ""


def site_notes(sites: pd.DataFrame) -> pd.DataFrame | None:
    """Per site id: ``situation`` (本项目情况) and ``industry`` words from its own columns; None when it has none."""
    present = [c for c in SITUATION_COLUMNS if c in sites.columns]
    if not present:
        return None
    text = {c: [str(v).strip() if isinstance(v, str) or pd.notna(v) else "" for v in sites[c]] for c in present}
    situation = ["；".join(v for v in vals if v) for vals in zip(*text.values())]
    industry = [" ".join(v for v in vals if v) for vals in zip(*(text[c] for c in INDUSTRY_COLUMNS if c in text))]
    return pd.DataFrame({"situation": situation, "industry": industry or [""] * len(situation)},
                        index=pd.Index(sites["site_id"].astype(str).to_numpy(), name="site_id"))


def met_units(detail: pd.DataFrame, sites: pd.DataFrame, *, layer: str, codes: dict | None = None) -> pd.DataFrame:
    """The units of ``layer`` each site meets (not ``near``), one row per site × unit, in the order of the findings.

    Columns: site_id, site_name, project_type, zone_id, zone_code, unit_name,
    zone_class, rule_id, verdict, citation. ``zone_code`` comes from the
    findings, or from ``codes`` (zone id → code) when they have none.
    """
    keep = (detail["layer"].astype(str) == layer) & detail["relation"].astype(str).isin(MET)
    d = detail.loc[keep]
    if "zone_code" in d.columns:
        code = d["zone_code"].astype(object).fillna("").astype(str)
    else:
        code = d["zone_id"].astype(str).map(codes or {}).fillna("")
    info = pd.DataFrame({"site_name": sites["name"].astype(object).to_numpy(),
                         "project_type": sites["project_type"].astype(object).to_numpy()},
                        index=sites["site_id"].astype(str).to_numpy())
    sid = d["site_id"].astype(str).to_numpy()
    return pd.DataFrame({
        "site_id": sid,
        "site_name": info["site_name"].reindex(sid).to_numpy(),
        "project_type": info["project_type"].reindex(sid).to_numpy(),
        "zone_id": d["zone_id"].astype(str).to_numpy(),
        "zone_code": code.to_numpy(),
        "unit_name": d["zone_name_zh"].astype(str).to_numpy(),
        "zone_class": d["zone_class"].astype(str).to_numpy(),
        "rule_id": d["rule_id"].astype(str).to_numpy(),
        "verdict": d["verdict"].astype(str).to_numpy(),
        "citation": d["citation"].astype(str).to_numpy(),
    })


def _plans(reqs: pd.DataFrame) -> tuple[list, dict]:
    """The general rows (level order) and each unit's own rows: (level, level name, dimension, text)."""
    order = {lv: i for i, lv in enumerate(LEVELS)}
    dims = {d: i for i, d in enumerate(DIMENSIONS)}
    rows = sorted(reqs.itertuples(index=False), key=lambda r: (order[r.level], dims[r.dimension]))
    general = [(r.level, r.unit_name, r.dimension, r.text) for r in rows if r.level != "unit"]
    own: dict = {}
    for r in rows:
        if r.level == "unit":
            own.setdefault(r.unit_code, []).append((r.level, "", r.dimension, r.text))
    return general, own


def compliance_rows(units: pd.DataFrame, reqs: pd.DataFrame, ls, *, notes: pd.DataFrame | None = None,
                    industries: dict | None = None) -> pd.DataFrame:
    """The compliance table of the units met (:func:`met_units`) against the requirement list ``reqs``."""
    layer = requirements_config(ls.manifest)["layer"]
    spec = ls.specs[layer]
    industries = read_industries(ls) if industries is None else industries
    general, own = _plans(reqs)
    cols = {c: [] for c in COMPLIANCE_COLUMNS}
    judged: dict = {}
    words_of: dict = {}
    noted = {} if notes is None else dict(zip(notes.index, zip(notes["situation"], notes["industry"])))
    for u in units.itertuples(index=False):
        situation, industry = noted.get(u.site_id, ("", ""))
        ptype = resolve_type(u.project_type)
        if (ptype, industry) not in words_of:
            # the site's own industry says more than its type (a T01 chemical plant is not a steel works)
            words = tuple(dict.fromkeys(w for w in re.split(r"[\s、，,；;/]+", industry) if w))
            words = words or (tuple(industries.get(ptype, ())) if ptype else ())
            words_of[ptype, industry] = words, tuple(
                w for ws in industries.values() for w in ws if w not in words)
        words, others = words_of[ptype, industry]
        plan = general + own.get(u.zone_code, []) if u.zone_code else list(general)
        if not own.get(u.zone_code):
            plan.append(("unit", "", "", "准入清单中无该单元的要求 / the list has no requirement of this unit"))
        # the rule's prohibition goes on the unit's own 空间布局约束 (else on its first own row)
        target = next((i for i, p in enumerate(plan) if p[0] == "unit" and p[2] in ("spatial", "")),
                      next((i for i, p in enumerate(plan) if p[0] == "unit"), None))
        for i, (level, level_name, dim, text) in enumerate(plan):
            if ptype is None:
                status, basis = "to_judge", "未指定项目类型 / no project type"
            elif i == target and u.verdict == "prohibited":
                status, basis = "fails", f"规则 rule {u.rule_id}：{u.citation}"
            elif dim == "":
                status, basis = "to_judge", ""
            else:
                key = (text, words)
                if key not in judged:
                    judged[key] = judge_text(text, words, others)
                status, basis = judged[key]
            cols["项目编号"].append(u.site_id)
            cols["项目名称"].append(u.site_name)
            cols["管控单元编码"].append(u.zone_code)
            cols["单元名称"].append(u.unit_name)
            cols["管控类别"].append(spec.class_label(u.zone_class, "zh"))
            cols["管控维度"].append(DIMENSIONS[dim]["zh"] if dim else "—")
            cols["层级"].append(LEVELS[level]["zh"] + (f"（{level_name}）" if level_name else ""))
            cols["管控要求"].append(text)
            cols["本项目情况"].append(situation or TO_FILL)
            cols["符合性"].append(COMPLIANCE[status]["zh"])
            cols["依据"].append(basis)
    cols["序号"] = list(range(1, len(cols["项目编号"]) + 1))
    return pd.DataFrame(cols, columns=list(COMPLIANCE_COLUMNS))


def compliance_table(detail: pd.DataFrame, sites: pd.DataFrame, ls, *, notes: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """The compliance table of a check's findings (``detail``) and sites against the layer set's requirement list.

    ``sites`` gives each site's name and project type (and, when it has them,
    the situation columns); ``notes`` (:func:`site_notes`) may give the
    situations instead. Raises LayerSetError when the set has no list.
    """
    reqs = read_requirements(ls)
    if reqs is None:
        raise no_requirements(ls)
    layer = requirements_config(ls.manifest)["layer"]
    units = met_units(detail, sites, layer=layer, codes=zone_codes(ls, layer))
    return compliance_rows(units, reqs, ls, notes=site_notes(sites) if notes is None else notes)


def zone_codes(ls, layer: str) -> dict:
    """Zone id → unit code of a layer ({} when its zones have no codes)."""
    zones = ls.layer(layer)
    if "zone_code" not in zones.columns:
        return {}
    return dict(zip(zones["zone_id"].astype(str), zones["zone_code"].astype(object).fillna("").astype(str)))


def write_compliance(table: pd.DataFrame, path, *, overwrite: bool = True) -> None:
    """Write the table atomically: ``.csv`` (UTF-8 with BOM, cells spreadsheet-safe) or ``.xlsx`` (openpyxl).

    Raises
    ------
    ExportError
        For another extension, or more rows than a sheet holds.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in COMPLIANCE_FORMATS:
        raise ExportError(f"unknown compliance table format {suffix!r}", path=path,
                          hint=f"name it {path.stem}.csv or {path.stem}.xlsx")
    if suffix == ".xlsx" and len(table) >= XLSX_ROWS:
        raise ExportError(f"{len(table):,} rows do not fit in a sheet ({XLSX_ROWS - 1:,} at most)", path=path,
                          hint=f"write it as {path.stem}.csv")
    with atomic_path(path, overwrite=overwrite) as tmp:
        if suffix == ".csv":
            with open(tmp, "wb") as fh:
                fh.write(BOM)
                write_csv(table, fh, header=True)
        else:
            _write_xlsx(table, tmp)


#: column widths of the .xlsx sheet (characters)
_WIDTHS = {"序号": 6, "项目编号": 12, "项目名称": 18, "管控单元编码": 16, "单元名称": 20, "管控类别": 10,
           "管控维度": 14, "层级": 14, "管控要求": 60, "本项目情况": 30, "符合性": 8, "依据": 40}


def _write_xlsx(table: pd.DataFrame, path: Path) -> None:
    """The table as one sheet: bold frozen header, wrapped text, set widths; every text cell typed as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("符合性分析")
    ws.freeze_panes = "A2"
    for i, col in enumerate(table.columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(col, 14)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F3F3F3")
    wrap = Alignment(wrap_text=True, vertical="top")

    def cell(value, **style):
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text is text, whatever it starts with (never a formula)
        for k, v in style.items():
            setattr(c, k, v)
        return c

    ws.append([cell(c, font=bold, fill=fill, alignment=wrap) for c in table.columns])
    for row in table.itertuples(index=False):
        ws.append([cell(v if isinstance(v, str) else int(v), alignment=wrap) for v in row])
    wb.save(path)
