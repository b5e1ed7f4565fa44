"""Printing an HTML report to PDF with Chromium headless: A4, page numbers, CJK fonts embedded.

Chromium (Debian's ``chromium``) lays the page out and embeds the fonts it uses (Noto Sans CJK from
``fonts-noto-cjk`` for Chinese). The report includes :data:`PAGE_CSS` for the page size, margins and
the "n / N" page numbers, which Chromium prints from the ``@page`` margin boxes (Chromium 131 and
later). The page is printed from a temporary file with a throw-away profile and with every fetch
sent to a closed port, so a report never reaches the network; the PDF is written atomically.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .atomic import atomic_path
from .errors import ExportError

__all__ = ["html_to_pdf", "find_browser", "PAGE_CSS", "BROWSERS"]

#: browsers tried, in this order
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

#: page set-up for printed reports: A4, margins, "page / pages" centred at the foot, CJK text font
PAGE_CSS = """\
@page {
  size: A4;
  margin: 18mm 15mm 20mm;
  @bottom-center {
    content: counter(page) " / " counter(pages);
    font: 9pt "Noto Sans CJK SC", sans-serif;
    color: #444;
  }
}
html { font-family: "Noto Sans CJK SC", "Noto Sans CJK", sans-serif; }
"""

#: Chromium switches: no GPU, no header and footer of its own, no background fetches, no first-run
#: pages, and every request (names and IP addresses, loopback too) sent to a closed port
_SWITCHES = (
    "--headless",
    "--disable-gpu",
    "--no-pdf-header-footer",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


def find_browser() -> str:
    """The path of the first of :data:`BROWSERS` on the PATH.

    Raises
    ------
    ExportError
        None is installed.
    """
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise ExportError("找不到 Chromium，无法生成 PDF / no Chromium to print the PDF with",
                      hint="install Debian's chromium (apt-get install chromium), or write the report as .docx or .html")


def _summary(stderr: str, limit: int = 300) -> str:
    """The lines of Chromium's stderr worth showing: its errors, else its last lines; one line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "FATAL" in ln]
    text = " | ".join((errors or lines)[-3:]) or "no message"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _command(browser: str, profile: Path, page: Path, pdf: Path) -> list:
    """Chromium's command line printing ``page`` to ``pdf`` (no sandbox only when running as root)."""
    cmd = [browser, *_SWITCHES, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", page.as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Chromium refuses to start its sandbox as root
        cmd.insert(1, "--no-sandbox")
    return cmd


def html_to_pdf(html: str, out_path, *, timeout_s: float = 120, overwrite: bool = True) -> Path:
    """Print ``html`` to the PDF ``out_path`` with Chromium headless.

    Parameters
    ----------
    html : the whole document; it should include :data:`PAGE_CSS` and carry everything inline
        (images as data: URLs or inline SVG): nothing is fetched.
    out_path : the PDF to write (atomically: a failure leaves no file).
    timeout_s : seconds before Chromium is stopped.
    overwrite : replace an existing ``out_path``.

    Returns
    -------
    Path: ``out_path``.

    Raises
    ------
    ExportError
        No Chromium, Chromium failed or timed out (with a summary of its messages), or the PDF
        could not be written.
    """
    browser = find_browser()
    out = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="ecozone-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        with atomic_path(out, overwrite=overwrite) as part:
            cmd = _command(browser, Path(tmp) / "profile", page, Path(part).resolve())
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout_s,
                                      stdin=subprocess.DEVNULL, env={**os.environ, "HOME": tmp})
            except subprocess.TimeoutExpired:
                raise ExportError(f"Chromium 打印 PDF 超过 {timeout_s:g} 秒 / Chromium did not finish the PDF "
                                  f"in {timeout_s:g} s; nothing was written", path=out,
                                  hint="try a smaller report or a longer timeout") from None
            if done.returncode != 0 or not _is_pdf(part):
                raise ExportError(f"Chromium 未能生成 PDF / Chromium could not print the PDF (exit code "
                                  f"{done.returncode}: {_summary(done.stderr)}); nothing was written",
                                  path=out, hint="write the report as .html or .docx instead")
    return out


def _is_pdf(path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError:
        return False
