"""The report as a Word document (python-docx): real tables and styles, figures as pictures, A4, page numbers.

The document starts from a template (``--template T.docx``, else python-docx's own default document):
its styles, headers, footers and logo stay. Styles are used by name (``Title``, ``Heading 1``,
``Heading 2``, ``Table Grid``, ``List Bullet``, ``List Number``, ``Caption``), each with a fallback
when a bureau's template lacks it. Text from data goes into runs as text; the one field is PAGE.
"""
from __future__ import annotations

import io
import itertools
from functools import lru_cache
from pathlib import Path

from ..errors import ExportError

__all__ = ["report_docx", "open_template"]

_FALLBACK = {"Title": "Heading 1", "Heading 1": "Normal", "Heading 2": "Normal", "Heading 3": "Normal",
             "Table Grid": None, "List Bullet": "Normal", "List Number": "Normal", "Caption": "Normal"}


def open_template(path=None):
    """A new document from ``path`` (a .docx) or python-docx's default; ExportError when it is not a Word file."""
    import docx

    if path is None:
        return docx.Document()
    try:
        return docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a file that is not a .docx
        raise ExportError(f"模板不是 Word 文档 / the template is not a Word .docx document "
                          f"({type(exc).__name__}: {str(exc)[:120]}); nothing was written", path=Path(path),
                          hint="give a .docx saved by Word or WPS (not .doc or .dotx), or leave out --template") from None


def _style(doc, name: str):
    """The template's style ``name``, else its fallback (None: the document's default); looked up once per
    document (python-docx finds a style by name by reading every style)."""
    cache = doc.__dict__.setdefault("_ecozone_styles", {})
    if name not in cache:
        by_name = cache.setdefault("", {s.name: s for s in doc.styles})
        found = name
        while found is not None and found not in by_name:
            found = _FALLBACK.get(found)
        cache[name] = by_name.get(found)
    return cache[name]


def _append(doc, el):
    """Put block ``el`` at the end of the body, before its section properties.

    python-docx's ``add_paragraph``/``add_table``/``add_picture`` look for those properties among all the
    body's children for each block, and for a new picture id through the whole document: both quadratic in
    a report of thousands of blocks. Here the properties are found once per document.
    """
    body = doc.__dict__.get("_ecozone_body")
    if body is None:
        body = doc.__dict__["_ecozone_body"] = (doc.element.body, doc.element.body.sectPr)
    if body[1] is not None:
        body[1].addprevious(el)
    else:
        body[0].append(el)
    return el


def _para(doc, text: str, name: str = "Normal"):
    """A paragraph of plain text in style ``name`` (or its fallback), as python-docx's ``add_paragraph`` writes
    it; its style id set directly (python-docx's ``style=`` reads every style to see whether it is the default)."""
    from docx.oxml import OxmlElement

    p = OxmlElement("w:p")
    style = _style(doc, name)
    if style is not None and name != "Normal":
        p.get_or_add_pPr().style = style.style_id
    if str(text):
        _run(p, str(text), None, False)
    return _append(doc, p)


def _repeat_header(tr) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    trpr = tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _shade(tc, color: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), color.lstrip("#"))
    tc.get_or_add_tcPr().append(shd)


def _run(p, text: str, half_points: str | None, bold: bool) -> None:
    """A run of ``text`` in paragraph element ``p``, as python-docx's ``add_run`` writes it (a line break
    ``w:br``, a tab ``w:tab``, spaces kept), with its size and weight (``half_points`` None: neither)."""
    from lxml.etree import SubElement

    tag = _tags()
    r = SubElement(p, tag["r"])
    if half_points is not None:
        rpr = SubElement(r, tag["rPr"])
        if bold:
            SubElement(rpr, tag["b"])
        SubElement(rpr, tag["sz"]).set(tag["val"], half_points)
    for k, line in enumerate(text.split("\n")):
        if k:
            SubElement(r, tag["br"])
        for j, part in enumerate(line.split("\t")):
            if j:
                SubElement(r, tag["tab"])
            if part:
                t = SubElement(r, tag["t"])
                t.text = part
                if part != part.strip():
                    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


@lru_cache(maxsize=1)
def _tags() -> dict:
    """WordprocessingML tag names of a run, in lxml's {namespace}name form."""
    from docx.oxml.ns import qn

    return {name: qn(f"w:{name}") for name in ("r", "rPr", "b", "sz", "val", "br", "tab", "t")}


def _table(doc, t, *, swatch: bool = False, font_pt: float = 8):
    """A Word table with a header row repeated on each page; the ``fill_col`` cell shaded in its row's colour.

    python-docx makes the table with its header row; the other rows are copies of that empty row, filled
    through lxml (python-docx's cell and run objects cost about 1 ms a cell: seconds for a report).
    """
    import copy

    from docx.oxml.ns import qn
    from docx.oxml.table import CT_Tbl

    if t is None:
        return None
    if "_ecozone_width" not in doc.__dict__:  # python-docx's add_table: the last section's text width
        sec = doc.sections[-1]
        doc.__dict__["_ecozone_width"] = sec.page_width - sec.left_margin - sec.right_margin
    tbl = _append(doc, CT_Tbl.new_tbl(1, len(t.header), doc.__dict__["_ecozone_width"]))
    grid = _style(doc, "Table Grid")
    if grid is not None:
        tbl.tblStyle_val = grid.style_id
    blank = copy.deepcopy(tbl.tr_lst[0])  # cells with their widths, one empty paragraph each
    for _ in t.rows:
        tbl.append(copy.deepcopy(blank))
    size, tc_tag = str(round(2 * font_pt)), qn("w:tc")
    for k, (tr, texts) in enumerate(zip(tbl.iterchildren(qn("w:tr")), [t.header, *t.rows])):
        tcs = list(tr.iterchildren(tc_tag))
        for tc, text in zip(tcs, texts):
            _run(tc[-1], str(text), size, k == 0)
        fill = t.fills[k - 1] if k and t.fills else None
        if fill:
            _shade(tcs[t.fill_col], fill if swatch or _light(fill) else _tint(fill))
    _repeat_header(tbl.tr_lst[0])


def _light(color: str) -> bool:
    r, g, b = (int(color.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b > 150


def _tint(color: str) -> str:
    """A lighter shade of a dark colour, so black text stays readable on it."""
    r, g, b = (int(color.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4))
    return "#" + "".join(f"{round(v + (255 - v) * 0.55):02x}" for v in (r, g, b))


def _picture(doc, fig) -> None:
    """The figure as python-docx's ``add_picture`` puts it (an inline picture in a paragraph of its own),
    its caption and its legend table."""
    from lxml.etree import SubElement

    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.oxml.shape import CT_Inline
    from docx.shared import Mm

    if fig is None:
        return
    rid, image = doc.part.get_or_add_image(io.BytesIO(fig.png))
    cx, cy = image.scaled_dimensions(Mm(fig.width_mm), None)
    if "_ecozone_ids" not in doc.__dict__:  # python-docx's next_id, found once, then counted
        used = [int(i) for i in doc.element.xpath("//@id") if i.isdigit()]
        doc.__dict__["_ecozone_ids"] = itertools.count(max(used, default=0) + 1)
    inline = CT_Inline.new_pic_inline(next(doc.__dict__["_ecozone_ids"]), rid, image.filename, cx, cy)
    p = OxmlElement("w:p")
    SubElement(SubElement(p, qn("w:r")), qn("w:drawing")).append(inline)
    _append(doc, p)
    _para(doc, fig.caption, "Caption")
    if fig.legend is not None:
        _table(doc, fig.legend, swatch=True)


def _page(doc) -> None:
    """A4 portrait for every section, and "page n" in an empty footer (a template's own footer stays)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm

    for sec in doc.sections:
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.left_margin = sec.right_margin = Mm(18)
        footer = sec.footer
        if any(p.text.strip() for p in footer.paragraphs) or footer.tables:
            continue
        par = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), "PAGE")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        run.append(text)
        field.append(run)
        par._p.append(field)


def _site(doc, s, w) -> None:
    _heading(doc, f"{s.heading} — {s.verdict_label}", 2)
    _table(doc, s.facts)
    _picture(doc, s.figure)
    if s.findings is not None:
        _heading(doc, w("涉及区域", "Zones met"), 3)
        _table(doc, s.findings, font_pt=7)
    _heading(doc, w("理由", "Reasons"), 3)
    for r in s.reasons:
        _para(doc, r, "List Bullet")
    if s.citations:
        _heading(doc, w("依据", "Citations"), 3)
        for c in s.citations:
            _para(doc, c, "List Number")
    if s.compliance is not None:
        _heading(doc, w("与生态环境分区管控（三线一单）符合性分析", "Compliance with the environmental control units"), 3)
        _table(doc, s.compliance, font_pt=7)
    if s.vertices is not None:
        _heading(doc, w("界址点坐标", "Boundary point coordinates"), 3)
        _table(doc, s.vertices)
        if s.vertex_note:
            _para(doc, s.vertex_note)


def _heading(doc, text: str, level: int) -> None:
    """A heading in the template's ``Heading n`` (or ``Title``) style, or its fallback."""
    name = "Title" if level == 0 else f"Heading {level}"
    _para(doc, text, name)


def report_docx(rep, *, template=None) -> bytes:
    """The Word file of a :class:`~geo.report.model.Report`, as bytes."""
    w = rep.words
    doc = open_template(template)
    _heading(doc, rep.title, 0)
    _table(doc, rep.cover)
    for n in rep.notices:
        _para(doc, f"⚠ {n}")
    _heading(doc, w("汇总", "Summary"), 1)
    _table(doc, rep.summary)
    _picture(doc, rep.overview)
    for heading, table in rep.breakdown:
        _heading(doc, heading, 2)
        _table(doc, table, font_pt=7)
    if rep.detail_note:
        _para(doc, rep.detail_note)
    if rep.index is not None:
        _heading(doc, w("详列项目", "Sites detailed"), 1)
        _table(doc, rep.index)
    for s in rep.sites:
        _site(doc, s, w)
    _heading(doc, w("输入与坐标系", "Input and coordinate systems"), 1)
    _table(doc, rep.source)
    _heading(doc, w("签署", "Sign-off"), 1)
    _table(doc, rep.signoff, font_pt=10)
    _heading(doc, w("附录：所用规则", "Appendix: rules applied"), 1)
    _table(doc, rep.rules, font_pt=7)
    for n in rep.notes:
        _para(doc, n)
    _page(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
