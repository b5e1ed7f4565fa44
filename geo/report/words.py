"""The report's texts in Chinese, English or both (Chinese first)."""
from __future__ import annotations

__all__ = ["Words", "LANGS"]

#: report languages: ``both`` puts the Chinese first and the English after
LANGS = ("zh", "en", "both")


class Words:
    """Picks the text of a label (``w("结论", "Verdict")``) or of paragraphs for the report's language."""

    def __init__(self, lang: str = "both"):
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
        self.lang = lang

    def __call__(self, zh: str, en: str) -> str:
        """A short label: one language, or ``中文 / English`` (one text when both are the same)."""
        if self.lang == "zh" or (self.lang == "both" and (zh == en or not en)):
            return zh or en
        if self.lang == "en":
            return en or zh
        return f"{zh} / {en}" if zh else en

    def lines(self, zh: str, en: str) -> list:
        """A paragraph: one language, or the Chinese and then the English as two paragraphs."""
        return [t for t in self.items([zh], [en]) if t]

    def items(self, zh: list, en: list) -> list:
        """A list of items: one language, or the Chinese items and then the English ones."""
        return list(zh) if self.lang == "zh" else list(en) if self.lang == "en" else [*zh, *en]
