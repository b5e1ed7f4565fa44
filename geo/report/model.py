"""The report's content as plain data, built once from a digest: sections, tables and figures.

The writers (:mod:`.html`, :mod:`.docx`, :mod:`.pdf`) only lay this out, so the three formats say the
same. Every text from data (site ids and names, zone names, conditions, citations) is a plain string
here; each writer escapes it for its format.
"""
from __future__ import annotations

import datetime as dt
import numpy as np
import shapely

from .. import __version__
from ..check.reasons import citation_parts
from ..text import RELATIONS, VERDICTS
from .figures import locations, overview
from .parts import Figure, Report, SiteSection, Table
from .words import Words

__all__ = ["Table", "Figure", "SiteSection", "Report", "build_report", "VERTEX_LIMIT"]  # (parts re-exported)

#: vertices listed per site at most (a longer list says where the rest are)
VERTEX_LIMIT = 500
_SEVERITY = {"prohibited": 0, "restricted": 1, "caution": 2, "unknown": 3, "allowed": 4}


def verdict_label(w: Words, verdict: str) -> str:
    v = VERDICTS.get(verdict, {"zh": str(verdict), "en": str(verdict)})
    return w(v["zh"], v["en"])


def _num(v, nd=1) -> str:
    try:
        return "" if v != v else f"{v:,.{nd}f}"
    except (TypeError, ValueError):
        return ""


def _cover(w: Words, ls, title: str, batch: str) -> Table:
    info, meta = ls.info, ls.meta
    rows = [[w("报告", "Report"), title]]
    if batch:
        rows.append([w("项目/批次", "Project / batch"), batch])
    rows += [[w("图层集", "Layer set"), f"{w(info['title_zh'], info['title_en'])} ({ls.name})"],
             [w("数据版本", "Data vintage"), f"{info.get('date', '')}; {w('构建', 'built')} {meta.get('build_date', '')}"],
             [w("内容哈希", "Content hash"), str(meta.get("content_hash", ""))[:16]],
             [w("生成日期", "Date"), f"{dt.date.today():%Y-%m-%d}"],
             [w("软件", "Software"), f"ecozone {__version__}"]]
    return Table([w("项目", "Item"), w("内容", "Value")], rows)


def _summary(w: Words, digest) -> Table:
    rows, fills = [], []
    for v, n in digest.counts.items():
        rows.append([verdict_label(w, v), f"{n:,}"])
        fills.append(VERDICTS[v]["color"])
    rows.append([w("合计", "Total"), f"{digest.n:,}"])
    fills.append(None)
    return Table([w("结论", "Verdict"), w("项目数", "Sites")], rows, fills)


def _breakdown(w: Words, digest, ls) -> list:
    """Sites per zone met and per rule applied, by verdict."""
    order = ["prohibited", "restricted", "caution", "allowed", "unknown"]
    heads = [verdict_label(w, v) for v in order]
    rows = []
    for (layer, zid, name_zh, name_en), row in digest.by_zone.unstack("verdict", fill_value=0).iterrows():
        spec = ls.specs.get(layer)
        title = w(spec.title_zh, spec.title_en) if spec else layer
        rows.append([title, f"{w(name_zh, name_en)} ({zid})", *[f"{int(row.get(v, 0)) or ''}" for v in order]])
    by_zone = Table([w("图层", "Layer"), w("区域", "Zone"), *heads], rows)
    rows = [[str(rule_id), *[f"{int(row.get(v, 0)) or ''}" for v in order]]
            for rule_id, row in digest.by_rule.unstack("verdict", fill_value=0).iterrows()]
    by_rule = Table([w("规则", "Rule"), *heads], rows)
    return [(w("按区域统计", "Sites by zone met"), by_zone), (w("按规则统计", "Sites by rule applied"), by_rule)]


def _findings(w: Words, ls, d: list) -> Table:
    head = [w("图层", "Layer"), w("区域", "Zone"), w("关系", "Relation"), w("占用面积 m²", "Area m²"),
            w("占比", "Share"), w("长度 m", "Length m"), w("桩号", "Chainage"), w("距离 m", "Distance m"),
            w("规则", "Rule"), w("结论", "Verdict"), w("依据", "Citation")]
    rows, fills = [], []
    for f in d:
        spec = ls.specs.get(f.layer)
        rel = RELATIONS.get(f.relation, {"zh": str(f.relation), "en": str(f.relation)})
        code = "" if f.zone_code is None or f.zone_code != f.zone_code else str(f.zone_code)
        rows.append([w(spec.title_zh, spec.title_en) if spec else str(f.layer),
                     w(str(f.zone_name_zh), str(f.zone_name_en)) + (f" ({code})" if code else ""),
                     w(rel["zh"] + _network_zh(f), rel["en"] + _network_en(f)), _num(f.overlap_area_m2),
                     f"{_num(100 * f.overlap_share, 2)}%"
                     if f.overlap_share == f.overlap_share else "", _num(f.overlap_length_m), str(f.chainage or ""),
                     _num(f.distance_m) if f.relation == "near" else "",
                     f"{f.rule_id}{' (J)' if f.judgement else ''}", verdict_label(w, f.verdict), str(f.citation)])
        fills.append(VERDICTS.get(f.verdict, {}).get("color"))
    return Table(head, rows, fills, fill_col=9)


def _network_zh(f) -> str:
    """What a ``cuts``/``along`` finding measured (width left, ΔPC), for the relation cell; "" elsewhere."""
    width, dpc = getattr(f, "width_left_m", None), getattr(f, "delta_pc", None)
    parts = ([f"剩余宽度 {_num(width)} m"] if width == width and width is not None else []) + (
        [f"ΔPC {_num(dpc, 2)}%"] if dpc == dpc and dpc is not None else [])
    return f"（{'，'.join(parts)}）" if parts and str(f.relation) in ("cuts", "along") else ""


def _network_en(f) -> str:
    width, dpc = getattr(f, "width_left_m", None), getattr(f, "delta_pc", None)
    parts = ([f"{_num(width)} m wide left"] if width == width and width is not None else []) + (
        [f"ΔPC {_num(dpc, 2)}%"] if dpc == dpc and dpc is not None else [])
    return f" ({', '.join(parts)})" if parts and str(f.relation) in ("cuts", "along") else ""


def _reasons(w: Words, r, d: list | None) -> tuple:
    """(reasons, citations): one line per notable finding, most severe first; each clause cited once."""
    notable = sorted((f for f in d or [] if str(f.verdict) != "allowed"), key=lambda f: _SEVERITY.get(str(f.verdict), 9))
    if not notable:
        return w.lines(str(r.reasons_zh), str(r.reasons_en)), _split(str(r.citations))
    zh, en = [], []
    for f in notable:
        v, rel = VERDICTS[f.verdict], RELATIONS.get(f.relation, {"zh": "", "en": ""})
        mark = " (J)" if f.judgement else ""
        zh.append(f"{v['zh']}：{rel['zh']}{f.zone_name_zh}——{f.condition_zh}{mark}")
        en.append(f"{v['en']}: {rel['en']} {f.zone_name_en} — {f.condition_en}{mark}")
    words, _ = citation_parts([f.citation for f in d])
    return w.items(zh, en), words


def _split(text: str) -> list:
    return citation_parts([text])[0]


def _vertices(w: Words, geom) -> tuple:
    """The 界址点 table of a parcel or a line's vertices (measurement CRS; X northing, Y easting), and a note."""
    kind = shapely.get_type_id(geom)
    if kind in (0, 4):
        return None, ""
    rows, number, closed = [], 0, kind in (3, 6)
    rings = ([r for p in shapely.get_parts(geom) for r in (p.exterior, *p.interiors)] if closed
             else list(shapely.get_parts(geom)))
    for ring_no, ring in enumerate(rings, start=1):
        coords = np.asarray(ring.coords)
        first = number + 1
        for j, (x, y) in enumerate(coords[:, :2]):
            closing = closed and j == len(coords) - 1
            number += 0 if closing else 1
            rows.append([f"J{first if closing else number}", str(ring_no), f"{y:.3f}", f"{x:.3f}"])
    note = ""
    if len(rows) > VERTEX_LIMIT:
        note = w(f"共 {len(rows)} 点，仅列前 {VERTEX_LIMIT} 点；全部坐标见结果文件（-o 结果.gpkg 或 .txt 界址点文件）。",
                 f"{len(rows)} points; the first {VERTEX_LIMIT} are listed; every coordinate is in the results file "
                 "(-o results.gpkg, or a .txt 界址点 file).")
        rows = rows[:VERTEX_LIMIT]
    head = [w("点号", "Point"), w("圈号", "Ring"), w("X（北坐标）m", "X (northing) m"), w("Y（东坐标）m", "Y (easting) m")]
    return Table(head, rows), note


def _facts(w: Words, r, geom, crs_name: str) -> Table:
    pt = geom if shapely.get_type_id(geom) == 0 else shapely.point_on_surface(geom)
    kinds = {"point": ("点", "point"), "line": ("线", "line"), "parcel": ("面（地块）", "parcel")}
    kind = kinds.get(str(r.kind), (str(r.kind), str(r.kind)))
    rows = [[w("类型", "Project type"), f"{r.project_type or '—'} {r.project_type_zh or ''}".strip()],
            [w("几何", "Geometry"), w(*kind)],
            [w("结论", "Verdict"), verdict_label(w, r.verdict)],
            [w("覆盖", "Coverage"), str(r.coverage)],
            [w("位置（X 北, Y 东）", "Position (X north, Y east)"),
             f"X {pt.y:.3f} m, Y {pt.x:.3f} m ({crs_name})"]]
    if shapely.get_type_id(geom) in (3, 6):
        rows.append([w("面积", "Area"), f"{geom.area:,.1f} m² ({geom.area / 1e4:,.4f} ha)"])
    elif shapely.get_type_id(geom) in (1, 5):
        rows.append([w("长度", "Length"), f"{geom.length:,.1f} m"])
    return Table([w("项目", "Item"), w("内容", "Value")], rows)


def _site(w: Words, ls, r, geom, d: list | None, fig, ctx: dict) -> SiteSection:
    """The section of one site; ``d`` its findings (rows of the detail table) or None, ``fig`` its figure."""
    reasons, cites = _reasons(w, r, d)
    vertices, note = _vertices(w, geom)
    comp = ctx["compliance"].get(str(r.site_id))
    return SiteSection(site_id=str(r.site_id), heading=f"{r.site_id} {r.name}", verdict=str(r.verdict),
                       verdict_label=verdict_label(w, r.verdict), facts=_facts(w, r, geom, ctx["crs_name"]),
                       figure=fig, findings=_findings(w, ls, d) if d else None,
                       reasons=reasons, citations=cites, compliance=comp, vertices=vertices, vertex_note=note)


def _compliance_tables(w: Words, table) -> dict:
    """The compliance table's rows per site id, as tables."""
    from ..text import COMPLIANCE_COLUMNS

    if table is None or not len(table):
        return {}
    cols = list(COMPLIANCE_COLUMNS)[3:]
    head = [w(c, COMPLIANCE_COLUMNS[c]) for c in cols]
    return {str(sid): Table(head, [[str(v) for v in row] for row in g[cols].itertuples(index=False, name=None)])
            for sid, g in table.groupby("项目编号", sort=False)}


def _source(w: Words, ls, source: dict) -> Table:
    coord = source.get("coord_sys")
    coord_text = {"gcj02": w("GCJ-02（高德/腾讯），已转换为 WGS84", "GCJ-02 (Gaode/Tencent), converted to WGS84"),
                  "bd09": w("BD-09（百度），已转换为 WGS84", "BD-09 (Baidu), converted to WGS84")}.get(
        coord, coord.upper() if coord else w("按文件声明", "as the file declares"))
    m = ls.measure_crs
    rows = [[w("输入文件", "Input file"), str(source.get("file") or w("（程序传入）", "(given in code)"))],
            [w("输入坐标系", "Input CRS"), str(source.get("crs") or "")],
            [w("经纬度坐标系", "Lon/lat system"), coord_text],
            [w("计量坐标系", "Measurement CRS"), f"{m.name} (EPSG:{m.to_epsg()})"]]
    if source.get("detail"):
        rows.append([w("逐区域明细", "Detail file"), str(source["detail"])])
    return Table([w("项目", "Item"), w("内容", "Value")], rows)


def _rules(w: Words, ls, digest) -> Table:
    """The rule rows applied to any site of the batch."""
    from ..check.rules import rules_of

    used = set(map(str, digest.by_rule.index.get_level_values("rule_id"))) if digest.by_rule is not None else set()
    head = [w("规则", "Rule"), w("图层", "Layer"), w("类别", "Class"), w("项目类型", "Types"), w("关系", "Relation"),
            w("结论", "Verdict"), w("条件", "Condition"), w("依据", "Citation"), w("研判", "Judgement")]
    rows = []
    for r in rules_of(ls).rules:
        if r.rule_id not in used:
            continue
        rel = r.relation + (f" ≤{r.distance_m:g} m" if r.relation == "near" else "")
        rows.append([r.rule_id, r.layer, r.zone_class, ",".join(sorted(r.types)) if r.types else "*", rel,
                     verdict_label(w, r.verdict), w(r.condition_zh, r.condition_en), r.citation,
                     "(J)" if r.judgement else ""])
    return Table(head, rows)


def _notes(w: Words) -> list:
    return [
        *w.lines("判定规则：各图层独立判定，取最严格结论；覆盖范围外为“未知”，不作放行。",
                 "Each layer is judged on its own and the most severe verdict wins; outside the coverage is "
                 "'unknown', never allowed."),
        *w.lines("(J)：研判——没有条款直接决定该情形，结论为合理默认值，应由熟悉当地规定的人员核实。",
                 "(J): judgement — no clause squarely decides the case; the verdict is a reasoned default to be "
                 "verified by someone who knows the local rules."),
        *w.lines("图件绘制：由 ecozone 用 matplotlib 在图层集的计量坐标系（米）中离线绘制，不使用底图或网络；"
                 "区域颜色取自图层集清单，坐标格网标注计量坐标系的东、北坐标，指北针指向格网北（与真北相差子午线收敛角）。"
                 "位置图示出项目及其涉及的区域；总览图以项目代表点示出全部项目，按结论着色。",
                 "Figures: drawn by ecozone with matplotlib in the layer set's measurement CRS (metres), offline, "
                 "with no basemap; zone colours are the manifest's, the grid is labelled in eastings and northings "
                 "of that CRS and the north arrow points to grid north (off true north by the meridian "
                 "convergence). A location figure shows the site and the zones it meets; the overview shows every "
                 "site at its representative point, coloured by verdict."),
    ]


def _detail_note(w: Words, digest, n_kept: int) -> str:
    if not digest.partial:
        return ""
    where = digest.source.get("detail")
    where_zh = f"逐区域明细见 {where}" if where else "逐区域明细可用 --detail 文件输出"
    where_en = f"every finding is in {where}" if where else "every finding can be written with --detail"
    return w(f"共 {digest.n:,} 个项目，以下详列 {n_kept:,} 个（{_mode_zh(digest.detail)}）；每个项目的结论见结果文件，"
             f"{where_zh}。",
             f"{digest.n:,} sites in all; {n_kept:,} are detailed below ({_mode_en(digest.detail)}). Every site's "
             f"verdict is in the results file, and {where_en}.")


def _mode_zh(mode: str) -> str:
    return {"auto": "最严重者优先", "flagged": "结论非“允许”的项目", "none": "不详列", "all": "全部"}[mode]


def _mode_en(mode: str) -> str:
    return {"auto": "the most severe first", "flagged": "every site not allowed", "none": "none detailed",
            "all": "all"}[mode]


def _index(w: Words, sites) -> Table:
    head = [w("编号", "ID"), w("名称", "Name"), w("类型", "Type"), w("结论", "Verdict"), w("涉及区域数", "Zones met")]
    rows = [[str(r.site_id), str(r.name), f"{r.project_type or '—'} {r.project_type_zh or ''}".strip(),
             verdict_label(w, r.verdict), str(r.n_hits)] for r in sites.itertuples(index=False)]
    return Table(head, rows, [VERDICTS.get(v, {}).get("color") for v in sites["verdict"].astype(str)], fill_col=3)


def build_report(digest, *, lang: str = "both", title: str | None = None, batch: str = "", compliance=None,
                 figures: bool = True) -> Report:
    """The report of a :class:`~geo.report.digest.ReportDigest` as plain data (figures drawn here, PNG).

    ``compliance`` is the compliance table of the detailed sites (:func:`geo.compliance.compliance_table`)
    or None; ``figures=False`` leaves the figures out (tests of the text).
    """
    w = Words(lang)
    ls = digest.layerset
    kept = digest.kept
    title = title or w("项目选址生态空间管控核查报告", "Siting check report")
    sites, detail = kept.sites, kept.detail
    m = ls.measure_crs
    ctx = {"figures": figures, "crs_name": f"EPSG:{m.to_epsg()}" if m.to_epsg() else m.name,
           "compliance": _compliance_tables(w, compliance), "land": ls.manifest.get("coverage", {}).get("land_layer")}
    measured = sites.geometry.to_crs(m).to_numpy() if len(sites) else []
    by_site: dict = {}  # each site's findings as rows: one pass, not pandas calls per site
    for f in detail.itertuples(index=False):
        by_site.setdefault(f.site_id, []).append(f)
    notices = w.lines(ls.info.get("notice_zh", ""), ls.info.get("notice_en", "")) if ls.illustrative else []
    rows = list(sites.itertuples(index=False))
    figs = (locations(w, [(geom, by_site.get(r.site_id)) for r, geom in zip(rows, measured)], ls, ctx) if figures
            else [None] * len(rows))
    sections = [_site(w, ls, r, geom, by_site.get(r.site_id), fig, ctx) for r, geom, fig in zip(rows, measured, figs)]
    return Report(lang=lang, title=title, words=w, cover=_cover(w, ls, title, batch), notices=notices,
                  summary=_summary(w, digest), overview=overview(w, digest, ls) if figures else None,
                  breakdown=_breakdown(w, digest, ls) if digest.partial and digest.by_zone is not None else [],
                  detail_note=_detail_note(w, digest, len(sites)), index=_index(w, sites) if len(sites) else None,
                  sites=sections, source=_source(w, ls, digest.source),
                  signoff=Table([w("编制", "Prepared by"), w("审核", "Reviewed by"), w("日期", "Date")], [["", "", ""]]),
                  rules=_rules(w, ls, digest), notes=_notes(w))
