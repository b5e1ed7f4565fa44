"""The pieces of a report's content: plain data the writers lay out (no text is escaped here)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .words import Words

__all__ = ["Table", "Figure", "SiteSection", "Report"]


@dataclass
class Table:
    """A table: header cells, rows of text cells, and optionally a fill colour per row for one column."""

    header: list
    rows: list
    fills: list | None = None  # "#rrggbb" or None per row, for column ``fill_col``
    fill_col: int = 0


@dataclass
class Figure:
    """A PNG figure, its width on the page, its caption and its legend as a table."""

    png: bytes
    width_mm: float
    caption: str
    legend: Table | None = None


@dataclass
class SiteSection:
    """What the report says of one detailed site."""

    site_id: str
    heading: str
    verdict: str
    verdict_label: str
    facts: Table
    figure: Figure | None
    findings: Table | None
    reasons: list
    citations: list
    compliance: Table | None = None
    vertices: Table | None = None
    vertex_note: str = ""


@dataclass
class Report:
    """The whole report: every text already in the chosen language(s)."""

    lang: str
    title: str
    words: Words
    cover: Table
    notices: list
    summary: Table
    overview: Figure | None
    breakdown: list  # (heading, Table)
    detail_note: str
    index: Table | None
    sites: list
    source: Table
    signoff: Table
    rules: Table
    notes: list = field(default_factory=list)
