"""The report as PDF: the HTML report printed by Chromium (:mod:`geo.pdf`): A4, page numbers, CJK fonts embedded."""
from __future__ import annotations

from ..pdf import PAGE_CSS, html_to_pdf
from .html import report_html

__all__ = ["write_pdf"]


def write_pdf(rep, path, *, overwrite: bool = True):
    """Print a :class:`~geo.report.model.Report` to the PDF ``path`` (atomically)."""
    return html_to_pdf(report_html(rep, page_css=PAGE_CSS), path, overwrite=overwrite)
