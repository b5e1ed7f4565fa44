"""Reports of a check as Word, PDF or HTML (Chinese, English or both).

:class:`ReportDigest` gathers what a report needs batch by batch in bounded memory;
:func:`build_report` turns it into plain content (cover, summary with an overview map, one
section per detailed site with its location figure, findings, reasons, citations, 三线一单
compliance and 界址点 coordinates, input and CRS, sign-off, appendix of rules); the writers lay
that out as HTML (:mod:`.html`), Word (:mod:`.docx`, python-docx) or PDF (:mod:`.pdf`, the HTML
printed by Chromium). :func:`render_report` does all of it.
"""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path
from ..errors import ExportError
from .digest import DETAIL_LIMIT, DETAIL_MODES, ReportDigest
from .model import Report, build_report
from .words import LANGS

__all__ = ["render_report", "report_format", "ReportDigest", "Report", "build_report", "DETAIL_LIMIT",
           "DETAIL_MODES", "LANGS", "REPORT_FORMATS", "open_template"]

#: report file formats by suffix
REPORT_FORMATS = {".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf"}


def report_format(path) -> str:
    """``html``, ``docx`` or ``pdf`` from the file's suffix; ExportError for another."""
    path = Path(path)
    fmt = REPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(f"报告格式 {path.suffix!r} 不支持 / unknown report format {path.suffix!r}", path=path,
                          hint=f"name it {path.stem}.docx, {path.stem}.pdf or {path.stem}.html")
    return fmt


def open_template(path):
    """Check that ``path`` is a Word document usable as a template (ExportError if not)."""
    from .docx import open_template as _open

    _open(path)


def render_report(result, path=None, *, lang: str = "both", detail: str = "auto", template=None,
                  title: str | None = None, batch: str = "", compliance=None, overwrite: bool = True):
    """Write the report of a :class:`~geo.check.CheckResult` or a :class:`ReportDigest` to ``path``.

    The format follows the suffix (:data:`REPORT_FORMATS`); without ``path`` the HTML is returned as a
    string. ``lang`` is ``zh``, ``en`` or ``both`` (Chinese first); ``detail`` applies to a result (a
    digest was gathered with its own: :data:`DETAIL_MODES`); ``template`` is a .docx whose styles,
    headers and logo a Word report keeps; ``compliance`` the compliance table of the detailed sites
    (:func:`geo.compliance.compliance_table`); without it, a layer set with a requirement list gets
    one made from the findings. The file is written atomically.

    Raises
    ------
    ExportError
        Unknown format, a template that is not a .docx, no Chromium for a PDF, or a failed write.
    """
    digest = result if isinstance(result, ReportDigest) else ReportDigest.of(result, detail=detail)
    fmt = report_format(path) if path is not None else "html"
    if template is not None and fmt == "docx":
        open_template(template)
    ls = digest.layerset
    if compliance is None and ls.manifest.get("requirements") is not None and digest.kept is not None:
        from ..compliance import compliance_table

        compliance = compliance_table(digest.kept.detail, digest.kept.sites, ls)
    rep = build_report(digest, lang=lang, title=title, batch=batch, compliance=compliance)
    if fmt == "pdf":
        from .pdf import write_pdf

        return write_pdf(rep, path, overwrite=overwrite)
    if fmt == "docx":
        from .docx import report_docx

        data = report_docx(rep, template=template)
    else:
        from .html import report_html

        data = report_html(rep).encode("utf-8")
        if path is None:
            return data.decode("utf-8")
    with atomic_path(path, overwrite=overwrite) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)
