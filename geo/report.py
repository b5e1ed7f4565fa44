"""A self-contained HTML report of a check (Chinese and English, no scripts, no network).

Each site gets its verdict, its reasons with citations, the overlap figures and a
small SVG map of the site and the zones it meets, drawn in the measurement CRS.
A layer set with a requirement list (准入清单) adds the section
“与生态环境分区管控（三线一单）符合性分析”: the detailed sites against the lists
of the control units they meet (geo/compliance.py).
"""
from __future__ import annotations

import datetime as dt
from html import escape

import numpy as np
import shapely

from . import __version__
from .text import COMPLIANCE_COLUMNS, RELATIONS, VERDICTS

__all__ = ["render_report", "ReportDigest", "DETAIL_LIMIT"]

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f3f3f3} .notice{background:#fff3cd;border:1px solid #e0c36c;padding:.6em;margin:.8em 0}
.v{display:inline-block;padding:1px 8px;border-radius:3px;color:#000;font-weight:bold}
.site{display:flex;gap:1em;align-items:flex-start} .site svg{flex:none;border:1px solid #ccc;background:#f7fbff}
.meta{color:#555;font-size:.85em} ul{margin:.3em 0 .3em 1.2em;padding:0}
"""


def _badge(verdict: str) -> str:
    v = VERDICTS[verdict]
    return f'<span class="v" style="background:{v["color"]}">{escape(v["zh"])} / {escape(v["en"])}</span>'


def _path(geom, tx) -> str:
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            for ring in [part.exterior, *part.interiors]:
                xy = tx(np.asarray(ring.coords))
                out.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
        elif part.geom_type == "LineString":
            xy = tx(np.asarray(part.coords))
            out.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy))
    return " ".join(out)


def _minimap(site_geom, zones, colors, size=220) -> str:
    """SVG of a site (measurement CRS) over the zones it meets."""
    pad = max(300.0, 0.25 * max(site_geom.bounds[2] - site_geom.bounds[0], site_geom.bounds[3] - site_geom.bounds[1]))
    x0, y0, x1, y1 = site_geom.buffer(pad).bounds
    scale = size / max(x1 - x0, y1 - y0)
    window = shapely.box(x0, y0, x1, y1)

    def tx(xy):
        return np.column_stack([(xy[:, 0] - x0) * scale, size - (xy[:, 1] - y0) * scale])

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">']
    for geom, color, label in zip(zones.geometry.values, colors, zones["name_zh"]):
        g = shapely.intersection(geom.simplify(1.0 / scale), window)
        if g.is_empty:
            continue
        parts.append(f'<path d="{_path(g, tx)}" fill="{color}" fill-opacity="0.45" stroke="{color}" '
                     f'stroke-width="1"><title>{escape(str(label))}</title></path>')
    if site_geom.geom_type in ("Point", "MultiPoint"):
        for p in shapely.get_parts(site_geom):
            x, y = tx(np.array([[p.x, p.y]]))[0]
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#000" stroke="#fff" stroke-width="2"/>')
    else:
        fill = "none" if site_geom.geom_type.endswith("LineString") else "#000"
        parts.append(f'<path d="{_path(site_geom, tx)}" fill="{fill}" fill-opacity="0.15" stroke="#000" stroke-width="2.5"/>')
    bar = 1000 if (x1 - x0) > 2500 else 100
    parts.append(f'<line x1="8" y1="{size - 10}" x2="{8 + bar * scale:.1f}" y2="{size - 10}" stroke="#000" stroke-width="2"/>'
                 f'<text x="8" y="{size - 14}" font-size="10">{bar} m</text></svg>')
    return "".join(parts)


#: sites detailed in a report at most (the most severe first); the rest are summarised
DETAIL_LIMIT = 200
#: order in which sites are picked for detail: most severe first, ``unknown`` before ``allowed``
_RANK = {"prohibited": 0, "restricted": 1, "caution": 2, "unknown": 3, "allowed": 4}
_ZONE_KEYS = ["layer", "zone_id", "zone_name_zh", "zone_name_en"]


class ReportDigest:
    """What a report needs of a check, gathered batch by batch in bounded memory.

    Keeps the verdict counts, the number of sites per zone met and per rule
    applied, and the ``limit`` most severe sites with their findings (in
    their order in the input among equals). :meth:`part` runs on one batch's
    result (in a worker process too) and :meth:`add` merges it.
    """

    def __init__(self, layerset, *, limit: int = DETAIL_LIMIT):
        self.layerset, self.limit = layerset, limit
        self.n = 0
        self.counts: dict = {}
        self.kept = None
        self.by_zone = None
        self.by_rule = None

    @classmethod
    def of(cls, result, *, limit: int = DETAIL_LIMIT) -> "ReportDigest":
        """The digest of one whole result."""
        digest = cls(result.layerset, limit=limit)
        digest.add(cls.part(result, limit=limit))
        return digest

    @staticmethod
    def part(result, *, limit: int = DETAIL_LIMIT) -> dict:
        """One batch's share of the digest (small and picklable)."""
        import pandas as pd

        from .check.engine import CheckResult

        sites, detail = result.sites, result.detail
        rank = sites["verdict"].astype(str).map(_RANK).to_numpy()
        top = np.argsort(rank, kind="stable")[:limit]
        kept_sites = sites.iloc[np.sort(top)] if len(top) < len(sites) else sites
        kept_detail = detail[detail["site_id"].isin(set(kept_sites["site_id"]))] if len(top) < len(sites) else detail
        d = pd.DataFrame({k: detail[k].astype(str) for k in [*_ZONE_KEYS, "rule_id", "verdict"]})
        d["site_id"] = detail["site_id"].to_numpy()
        by_zone = d.groupby(_ZONE_KEYS + ["verdict"], sort=False)["site_id"].nunique()
        by_rule = d[d["rule_id"] != ""].groupby(["rule_id", "verdict"], sort=False)["site_id"].nunique()
        kept = CheckResult(sites=kept_sites, detail=kept_detail.reset_index(drop=True), layerset=None)
        return {"n": len(sites), "counts": result.counts(), "kept": kept, "by_zone": by_zone, "by_rule": by_rule}

    def add(self, part: dict) -> None:
        """Merge one batch's share."""
        import geopandas as gpd
        import pandas as pd

        from .check.engine import CheckResult

        self.n += part["n"]
        for v, k in part["counts"].items():
            self.counts[v] = self.counts.get(v, 0) + k
        self.by_zone = part["by_zone"] if self.by_zone is None else self.by_zone.add(part["by_zone"], fill_value=0)
        self.by_rule = part["by_rule"] if self.by_rule is None else self.by_rule.add(part["by_rule"], fill_value=0)
        new = part["kept"]
        if self.kept is None:
            sites, detail = new.sites, new.detail
        else:
            sites = gpd.GeoDataFrame(pd.concat([self.kept.sites, new.sites.to_crs(self.kept.sites.crs)],
                                               ignore_index=True), crs=self.kept.sites.crs)
            detail = pd.concat([self.kept.detail, new.detail], ignore_index=True)
        if len(sites) > self.limit:
            rank = sites["verdict"].astype(str).map(_RANK).to_numpy()
            sites = sites.iloc[np.sort(np.argsort(rank, kind="stable")[: self.limit])]
            detail = detail[detail["site_id"].isin(set(sites["site_id"]))]
        self.kept = CheckResult(sites=sites.reset_index(drop=True), detail=detail.reset_index(drop=True),
                                layerset=self.layerset)


def _summary_tables(digest, ls) -> list:
    """Sites per zone met and per rule applied (for batches larger than the detail limit)."""
    from .text import VERDICT_ORDER

    order = VERDICT_ORDER + ["unknown"]
    h = ["<h2>按区域 By zone met</h2><table><tr><th>图层 Layer</th><th>区域 Zone</th>"
         + "".join(f"<th>{_badge(v)}</th>" for v in order) + "</tr>"]
    by_zone = digest.by_zone.unstack("verdict", fill_value=0)
    for (layer, zid, name_zh, name_en), row in by_zone.iterrows():
        title = ls.specs[layer].title_zh if layer in ls.specs else layer
        h.append(f"<tr><td>{escape(title)}</td><td>{escape(name_zh)}<br>{escape(name_en)} <code>{escape(zid)}</code></td>"
                 + "".join(f"<td>{int(row.get(v, 0)) or ''}</td>" for v in order) + "</tr>")
    h.append("</table><h2>按规则 By rule applied</h2><table><tr><th>规则 Rule</th>"
             + "".join(f"<th>{_badge(v)}</th>" for v in order) + "</tr>")
    for rule_id, row in digest.by_rule.unstack("verdict", fill_value=0).iterrows():
        h.append(f"<tr><td>{escape(str(rule_id))}</td>" + "".join(f"<td>{int(row.get(v, 0)) or ''}</td>" for v in order)
                 + "</tr>")
    h.append("</table>")
    return h


def _compliance_section(table) -> list:
    """The compliance tables of the detailed sites (one per site), every text escaped."""
    h = ["<h2 id='compliance'>与生态环境分区管控（三线一单）符合性分析 / Compliance with the environmental control units</h2>",
         "<p class='meta'>符合性为按条款与行业关键词的初判：不符合（条款禁止本项目行业，或分区规则禁止）、"
         "不涉及（各条款均针对其他行业）、待判定（需人工研判）；本工具从不自动判定“符合”。 "
         "A first reading by clause and industry keywords: does not comply (a clause bans the project's industry, "
         "or the zoning rule prohibits it), not concerned (every clause concerns other industries), to be judged "
         "(a person reads it); ecozone never writes 'complies' by itself.</p>"]
    if not len(table):
        h.append("<p>详列项目均不在准入清单的管控单元内 / no detailed site lies in a control unit of the list.</p>")
        return h
    cols = list(COMPLIANCE_COLUMNS)[3:]
    head = "".join(f"<th>{escape(c)}<br>{escape(COMPLIANCE_COLUMNS[c])}</th>" for c in cols)
    for (sid, name), g in table.groupby(["项目编号", "项目名称"], sort=False):
        h.append(f"<h3>{escape(str(sid))} {escape(str(name))}</h3><table><tr>{head}</tr>")
        for row in g[cols].itertuples(index=False, name=None):
            h.append("<tr>" + "".join(f"<td>{escape(str(v)).replace(chr(10), '<br>')}</td>" for v in row) + "</tr>")
        h.append("</table>")
    return h


def render_report(result, *, title: str | None = None, max_maps: int = DETAIL_LIMIT, compliance=None) -> str:
    """The report as an HTML string, of a :class:`~geo.check.CheckResult` or a :class:`ReportDigest`.

    Up to ``limit`` sites (the digest's, 200 by default) are detailed; a larger
    batch is summarised by verdict, zone and rule, and its most severe sites
    are detailed. ``compliance`` is the compliance table of the detailed sites
    (:func:`geo.compliance.compliance_table`); without it, a layer set with a
    requirement list gets one made from the findings (本项目情况 待补充).
    """
    digest = result if isinstance(result, ReportDigest) else ReportDigest.of(result)
    result = digest.kept
    ls = digest.layerset
    if compliance is None and ls.manifest.get("requirements") is not None:
        from .compliance import compliance_table

        compliance = compliance_table(result.detail, result.sites, ls)
    sites = result.sites
    detail = result.detail
    counts = digest.counts
    land = ls.manifest.get("coverage", {}).get("land_layer")  # the study area: the background, not drawn as a zone met
    measured_sites = sites.to_crs(ls.measure_crs).geometry.values
    zones = ls.all_features().to_crs(ls.measure_crs).set_index("zone_id")
    color = {zid: ls.specs[lay].color(cls) for zid, lay, cls in zip(zones.index, zones["layer"], zones["zone_class"])}
    title = title or "项目选址生态空间管控核查报告 / Siting check report"
    h = [f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{escape(title)}</title>"
         f"<style>{CSS}</style></head><body>", f"<h1>{escape(title)}</h1>"]
    if ls.illustrative:
        h.append(f"<div class='notice'>⚠ {escape(ls.info.get('notice_zh', ''))}<br>{escape(ls.info.get('notice_en', ''))}</div>")
    h.append(f"<p class='meta'>图层集 Layer set: <b>{escape(ls.info['title_zh'])}</b> / {escape(ls.info['title_en'])} "
             f"({escape(ls.name)}); 构建 build {escape(str(ls.meta.get('build_date', '')))}; "
             f"内容哈希 content hash <code>{escape(str(ls.meta.get('content_hash', ''))[:16])}</code>; "
             f"ecozone {escape(__version__)}; 生成 generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
             f"计量坐标系 measured in {escape(str(ls.info['measure_crs']))}</p>")
    h.append("<h2>汇总 Summary</h2><table><tr><th>结论 Verdict</th><th>项目数 Sites</th></tr>")
    for v, n in counts.items():
        h.append(f"<tr><td>{_badge(v)}</td><td>{n}</td></tr>")
    h.append(f"<tr><th>合计 Total</th><th>{digest.n}</th></tr></table>")
    if digest.n > len(sites):
        h.extend(_summary_tables(digest, ls))
        h.append(f"<h2>详列项目 Sites detailed</h2><p class='notice'>共 {digest.n} 个项目，以下详列最严重的 {len(sites)} 个；"
                 "每个项目的结论见结果文件，逐区域明细见 --detail 文件。 "
                 f"{digest.n} sites in all; the {len(sites)} most severe are detailed below. Every site's verdict is in "
                 "the results file, and every finding in the --detail file.</p>")
    h.append("<table style='margin-top:1em'><tr><th>编号 ID</th><th>名称 Name</th><th>类型 Type</th>"
             "<th>结论 Verdict</th><th>涉及区域 Zones met</th></tr>")
    for r in sites.itertuples(index=False):
        h.append(f"<tr><td><a href='#s-{escape(str(r.site_id))}'>{escape(str(r.site_id))}</a></td><td>{escape(str(r.name))}</td>"
                 f"<td>{escape(str(r.project_type or '—'))} {escape(str(r.project_type_zh))}</td><td>{_badge(r.verdict)}</td>"
                 f"<td>{r.n_hits}</td></tr>")
    h.append("</table>")
    by_site = {k: g for k, g in detail.groupby("site_id", sort=False)}
    for i, r in enumerate(sites.itertuples(index=False)):
        h.append(f"<h2 id='s-{escape(str(r.site_id))}'>{escape(str(r.site_id))} {escape(str(r.name))} {_badge(r.verdict)}</h2>")
        d = by_site.get(r.site_id)
        body = ["<div>", f"<p>类型 Type: {escape(str(r.project_type or '—'))} {escape(str(r.project_type_zh))}; "
                f"覆盖 Coverage: {escape(str(r.coverage))}</p>",
                "<p><b>理由</b>：" + escape(str(r.reasons_zh)) + "<br><b>Reasons</b>: " + escape(str(r.reasons_en)) + "</p>"]
        if d is not None and len(d):
            body.append("<table><tr><th>图层 Layer</th><th>区域 Zone</th><th>关系 Relation</th><th>占用面积 m²</th>"
                        "<th>占比 Share</th><th>长度 m</th><th>桩号 Chainage</th><th>距离 m</th><th>规则 Rule</th>"
                        "<th>结论 Verdict</th><th>依据 Citation</th></tr>")
            for f in d.itertuples(index=False):
                rel = RELATIONS[f.relation]
                body.append(
                    f"<tr><td>{escape(ls.specs[f.layer].title_zh)}</td><td>{escape(str(f.zone_name_zh))}<br>{escape(str(f.zone_name_en))}</td>"
                    f"<td>{escape(rel['zh'])} {escape(rel['en'])}</td><td>{_num(f.overlap_area_m2)}</td>"
                    f"<td>{_num(100 * f.overlap_share, 2)}%</td><td>{_num(f.overlap_length_m)}</td>"
                    f"<td>{escape(str(f.chainage))}</td><td>{_num(f.distance_m) if f.relation == 'near' else ''}</td>"
                    f"<td>{escape(str(f.rule_id))}{' (J)' if f.judgement else ''}</td><td>{_badge(f.verdict)}</td>"
                    f"<td>{escape(str(f.citation))}</td></tr>")
            body.append("</table>")
        body.append("</div>")
        svg = ""
        if i < max_maps and r.verdict != "unknown":
            ids = list(d["zone_id"]) if d is not None else []
            met = zones.loc[[z for z in ids if z in zones.index and zones.loc[z, "layer"] != land]]
            svg = _minimap(measured_sites[i], met, [color[z] for z in met.index])
        h.append(f"<div class='site'>{svg}{''.join(body)}</div>")
    if compliance is not None:
        h.extend(_compliance_section(compliance))
    h.append("<p class='meta'>判定规则：各图层独立判定，取最严格结论；覆盖范围外为“未知”，不作放行。"
             " Each layer is judged on its own and the most severe verdict wins;"
             " outside the coverage is 'unknown', never allowed.<br>"
             "(J)：研判——没有条款直接决定该情形，结论为合理默认值，应由熟悉当地规定的人员核实。"
             " (J): judgement — no clause squarely decides the case; the verdict is a reasoned default to be"
             " verified by someone who knows the local rules.</p>")
    h.append("</body></html>")
    return "\n".join(h)


def _num(v, nd=1):
    try:
        if v != v:  # NaN
            return ""
        return f"{v:,.{nd}f}"
    except (TypeError, ValueError):
        return ""
