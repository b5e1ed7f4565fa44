"""geo.pdf: HTML printed to PDF by Chromium headless, read back with poppler's pdftotext, pdffonts and pdfinfo."""
from __future__ import annotations

import http.server
import re
import subprocess
import threading

import pytest

from geo.errors import ExportError
from geo.pdf import PAGE_CSS, html_to_pdf

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="80">'
       '<rect width="200" height="80" fill="#a6cee3"/><text x="10" y="45" font-size="20">红线区 SVG</text></svg>')


def page(body: str) -> str:
    return f'<!doctype html><html><head><meta charset="utf-8"><style>{PAGE_CSS}</style></head><body>{body}</body></html>'


def run(*cmd) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("pdf") / "报告.pdf"
    html_to_pdf(page(f"<h1>生态空间分区管控核查报告</h1><p>禁止建设 / prohibited</p>{SVG}"
                     '<p style="break-before: page">第二页 / second page</p>'), out)
    return out


def test_the_chinese_text_and_the_inline_svg_text_come_back(two_pages):
    text = run("pdftotext", str(two_pages), "-")
    assert "生态空间分区管控核查报告" in text
    assert "禁止建设 / prohibited" in text
    assert "红线区 SVG" in text  # the SVG's text is text in the PDF
    assert "第二页" in text


def test_every_font_is_embedded(two_pages):
    rows = run("pdffonts", str(two_pages)).splitlines()[2:]
    assert rows, "no fonts in the PDF"
    # columns: name type encoding emb sub uni object-id; Chromium embeds CFF fonts (Noto CJK) as Type 3
    assert all(re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", r) for r in rows), rows
    assert all(re.search(r"\syes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", r) for r in rows), rows


def test_pages_are_a4_and_numbered(two_pages):
    info = run("pdfinfo", str(two_pages))
    assert re.search(r"Pages:\s+2\b", info)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert (round(float(size[1])), round(float(size[2]))) == (595, 842)
    first = run("pdftotext", "-f", "1", "-l", "1", str(two_pages), "-")
    second = run("pdftotext", "-f", "2", "-l", "2", str(two_pages), "-")
    assert re.search(r"\b1\s*/\s*2\b", first) and re.search(r"\b2\s*/\s*2\b", second)


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_page_fetches_nothing_even_from_this_machine(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        html_to_pdf(page(f'<p>离线 / offline</p><img src="{url}/a.png"><link rel="stylesheet" href="{url}/b.css">'
                         f'<img src="http://example.com/c.png">'), tmp_path / "r.pdf", timeout_s=60)
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.hits == []
    assert "离线" in run("pdftotext", str(tmp_path / "r.pdf"), "-")


def test_no_browser_is_one_clear_error_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without any browser
    with pytest.raises(ExportError, match="no Chromium"):
        html_to_pdf(page("<p>x</p>"), tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_a_failing_browser_is_summarised_and_leaves_nothing(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'noise' >&2\necho '[1:2:ERROR:printing] cannot print' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")
    with pytest.raises(ExportError, match=r"exit code 3: \[1:2:ERROR:printing\] cannot print") as err:
        html_to_pdf(page("<p>x</p>"), out)
    assert "\n" not in str(err.value) and str(out) in str(err.value)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "r.pdf"]


def test_an_existing_pdf_is_kept_without_overwrite(tmp_path):
    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")
    with pytest.raises(ExportError, match="--overwrite"):
        html_to_pdf(page("<p>x</p>"), out, overwrite=False)
    assert out.read_bytes() == b"old"
