"""The report as one self-contained HTML page: no scripts, no network, figures as data: URLs, text escaped."""
from __future__ import annotations

import base64
from html import escape

__all__ = ["report_html", "CSS"]

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc} h3{font-size:1em}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0} td,th{border:1px solid #bbb;padding:2px 5px;vertical-align:top}
th{background:#eef1f4} thead{display:table-header-group} tr{break-inside:avoid}
.notice{background:#fff3cd;border:1px solid #e0c36c;padding:.6em;margin:.8em 0}
.fig{display:flex;gap:.8em;align-items:flex-start;break-inside:avoid} .fig img{border:1px solid #bbb}
.cap{color:#555;font-size:.8em;margin:.2em 0} .meta{color:#555;font-size:.85em} ul{margin:.3em 0 .3em 1.2em;padding:0}
.sw{width:1.2em} .site{break-before:page} .sign td{height:2.2em;min-width:10em}
"""


def _e(text) -> str:
    return escape(str(text)).replace("\n", "<br>")


def _table(t, cls: str = "") -> str:
    """A table; the cell of ``fill_col`` gets its row's colour (a swatch when the table is a legend)."""
    if t is None:
        return ""
    h = [f"<table{f' class={cls!r}' if cls else ''}><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in t.header)
         + "</tr></thead><tbody>"]
    for i, row in enumerate(t.rows):
        fill = t.fills[i] if t.fills else None
        cells = []
        for j, c in enumerate(row):
            style = f" style='border-left:8px solid {fill}'" if fill and j == t.fill_col else ""
            cells.append(f"<td{style}>{_e(c)}</td>")
        h.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(h) + "</tbody></table>"


def _figure(f, alt: str) -> str:
    if f is None:
        return ""
    data = base64.b64encode(f.png).decode("ascii")
    return (f"<div class='fig'><div><img alt='{_e(alt)}' style='width:{f.width_mm:g}mm' "
            f"src='data:image/png;base64,{data}'><p class='cap'>{_e(f.caption)}</p></div>{_table(f.legend)}</div>")


def _site(s, w) -> list:
    h = [f"<section class='site'><h2 id='s-{_e(s.site_id)}'>{_e(s.heading)} — {_e(s.verdict_label)}</h2>",
         _table(s.facts), _figure(s.figure, s.heading)]
    if s.findings is not None:
        h += [f"<h3>{_e(w('涉及区域', 'Zones met'))}</h3>", _table(s.findings)]
    h.append(f"<h3>{_e(w('理由', 'Reasons'))}</h3><ul>" + "".join(f"<li>{_e(r)}</li>" for r in s.reasons) + "</ul>")
    if s.citations:
        h.append(f"<h3>{_e(w('依据', 'Citations'))}</h3><ol>"
                 + "".join(f"<li>{_e(c)}</li>" for c in s.citations) + "</ol>")
    if s.compliance is not None:
        h += [f"<h3>{_e(w('与生态环境分区管控（三线一单）符合性分析', 'Compliance with the environmental control units'))}"
              "</h3>", _table(s.compliance)]
    if s.vertices is not None:
        h += [f"<h3>{_e(w('界址点坐标', 'Boundary point coordinates'))}</h3>", _table(s.vertices)]
        if s.vertex_note:
            h.append(f"<p class='meta'>{_e(s.vertex_note)}</p>")
    h.append("</section>")
    return h


def report_html(rep, *, page_css: str = "") -> str:
    """The HTML of a :class:`~geo.report.model.Report` (``page_css`` adds print set-up, for the PDF)."""
    w = rep.words
    lang = "en" if rep.lang == "en" else "zh-CN"
    h = [f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{_e(rep.title)}</title>"
         f"<style>{CSS}{page_css}</style></head><body>", f"<h1>{_e(rep.title)}</h1>", _table(rep.cover)]
    h += [f"<div class='notice'>⚠ {_e(n)}</div>" for n in rep.notices]
    h += [f"<h2>{_e(w('汇总', 'Summary'))}</h2>", _table(rep.summary),
          _figure(rep.overview, w("总览图", "Overview"))]
    for heading, table in rep.breakdown:
        h += [f"<h2>{_e(heading)}</h2>", _table(table)]
    if rep.detail_note:
        h.append(f"<p class='notice'>{_e(rep.detail_note)}</p>")
    if rep.index is not None:
        h += [f"<h2>{_e(w('详列项目', 'Sites detailed'))}</h2>", _table(rep.index)]
    for s in rep.sites:
        h += _site(s, w)
    h += [f"<h2>{_e(w('输入与坐标系', 'Input and coordinate systems'))}</h2>", _table(rep.source),
          f"<h2>{_e(w('签署', 'Sign-off'))}</h2>", _table(rep.signoff, "sign"),
          f"<h2>{_e(w('附录：所用规则', 'Appendix: rules applied'))}</h2>", _table(rep.rules)]
    h += [f"<p class='meta'>{_e(n)}</p>" for n in rep.notes]
    h.append("</body></html>")
    return "\n".join(h)
