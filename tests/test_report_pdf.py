"""The PDF report read back with poppler: Chinese text, embedded fonts, A4, page numbers; a page to PNG."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from geo.check.engine import check_sites
from geo.report import render_report
from geo.sites.read import read_sites

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "layers/jinpu/demo_sites.csv"
ARTIFACTS = Path(__file__).parent / "artifacts"


def run(*cmd) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def demo_pdf(jinpu, tmp_path_factory):
    sites = read_sites(DEMO)
    sites.loc[sites.index[0], "name"] = "{{7*7}} <script>x</script>"
    out = render_report(check_sites(sites, jinpu), tmp_path_factory.mktemp("pdf") / "r.pdf")
    return out, sites


def test_pdf_has_the_chinese_text_ids_and_page_numbers(demo_pdf):
    out, sites = demo_pdf
    text = run("pdftotext", "-layout", str(out), "-")
    assert "项目选址生态空间管控核查报告" in text and "禁止" in text and "界址点坐标" in text
    for sid in sites["site_id"]:
        assert str(sid) in text
    assert "{{7*7}} <script>x</script>" in text  # text from data is text
    pages = int(next(ln.split()[-1] for ln in run("pdfinfo", str(out)).splitlines() if ln.startswith("Pages:")))
    assert pages > 3 and f"1 / {pages}" in text and f"{pages} / {pages}" in text


def test_pdf_is_a4_with_every_font_embedded(demo_pdf):
    out, _ = demo_pdf
    info = run("pdfinfo", str(out))
    assert "(A4)" in info
    fonts = run("pdffonts", str(out)).splitlines()[2:]
    assert fonts and all(ln.split()[-5] == "yes" for ln in fonts)  # the emb column


def test_a_page_rendered_for_review(demo_pdf):
    out, _ = demo_pdf
    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm (poppler-utils) is needed")
    ARTIFACTS.mkdir(exist_ok=True)
    run("pdftoppm", "-r", "70", "-f", "3", "-l", "3", "-png", "-singlefile", str(out), str(ARTIFACTS / "report-page3"))
    png = ARTIFACTS / "report-page3.png"
    from PIL import Image

    im = Image.open(png).convert("L")
    assert im.width > 500 and im.getextrema()[0] < 60  # drawn, not blank
