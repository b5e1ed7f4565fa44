"""The Word report read back with python-docx: tables, ids, verdicts, citations, one figure per detailed site,
languages, a bureau's template, a bad template, text from data kept as text."""
from __future__ import annotations

from pathlib import Path

import docx
import pytest

from geo.check.engine import check_sites
from geo.cli.main import cli
from geo.report import render_report
from geo.sites.read import read_sites

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "layers/jinpu/demo_sites.csv"
JINPU = ROOT / "layers/jinpu"


def text_of(doc) -> str:
    """Every paragraph and table cell of the body, headers and footers."""
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for sec in doc.sections:
        parts += [p.text for p in sec.header.paragraphs] + [p.text for p in sec.footer.paragraphs]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def demo_docx(tmp_path_factory):
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("docx")
    out = tmp / "r.docx"
    r = CliRunner().invoke(cli, ["check", str(DEMO), "--layers", str(JINPU), "-o", str(tmp / "r.csv"),
                                 "--report", str(out)])
    assert r.exit_code == 0, r.output
    import pandas as pd

    return docx.Document(str(out)), pd.read_csv(tmp / "r.csv", encoding="utf-8-sig")


def test_word_report_has_tables_ids_verdicts_citations_and_a_figure_per_site(demo_docx):
    doc, results = demo_docx
    text = text_of(doc)
    for sid in results["site_id"]:
        assert f"{sid} " in text
    assert "禁止 / prohibited" in text and "限制（有条件） / restricted (conditional)" in text
    assert "水污染防治法（2017）第六十五条" in text
    assert len(doc.inline_shapes) == len(results) + 1  # a location figure per site and the overview
    heads = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    assert ["点号 / Point", "圈号 / Ring", "X（北坐标）m / X (northing) m", "Y（东坐标）m / Y (easting) m"] in heads
    assert ["编制 / Prepared by", "审核 / Reviewed by", "日期 / Date"] in heads
    header_rows = [t.rows[0]._tr.xpath("./w:trPr/w:tblHeader") for t in doc.tables]
    assert all(header_rows)  # header rows repeat on each page
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    assert sec.footer._element.xpath(".//w:fldSimple[@w:instr='PAGE']")


def test_citations_are_listed_once_per_site(demo_docx):
    doc, _ = demo_docx
    paras = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    assert paras
    # each site's numbered list has no repeats; the lists follow each other, so check runs between headings
    runs, current = [], []
    for p in doc.paragraphs:
        if p.style.name == "List Number":
            current.append(p.text)
        elif current:
            runs.append(current)
            current = []
    assert runs and all(len(r) == len(set(r)) for r in runs)


@pytest.mark.parametrize("lang, present, absent", [("zh", "结论", "Verdict"), ("en", "Verdict", "结论")])
def test_one_language(jinpu, tmp_path, lang, present, absent):
    out = render_report(check_sites(read_sites(DEMO), jinpu), tmp_path / "r.docx", lang=lang)
    text = text_of(docx.Document(str(out)))
    assert present in text and absent not in text


def test_a_template_keeps_its_header_and_styles(jinpu, tmp_path):
    tpl = docx.Document()
    tpl.sections[0].header.paragraphs[0].text = "某某市生态环境局 报告模板"
    tpl.styles["Title"].font.size = docx.shared.Pt(31)
    tpl.save(tmp_path / "t.docx")
    out = render_report(check_sites(read_sites(DEMO), jinpu), tmp_path / "r.docx", template=tmp_path / "t.docx")
    doc = docx.Document(str(out))
    assert doc.sections[0].header.paragraphs[0].text == "某某市生态环境局 报告模板"
    assert doc.styles["Title"].font.size == docx.shared.Pt(31)
    assert doc.paragraphs[0].style.name == "Title"


def test_a_template_without_the_styles_falls_back(jinpu, tmp_path):
    tpl = docx.Document()
    for name in ("Table Grid", "List Bullet", "List Number", "Caption"):
        tpl.styles[name].element.getparent().remove(tpl.styles[name].element)
    tpl.save(tmp_path / "t.docx")
    out = render_report(check_sites(read_sites(DEMO), jinpu), tmp_path / "r.docx", template=tmp_path / "t.docx")
    doc = docx.Document(str(out))
    assert len(doc.tables) > 5 and "水污染防治法（2017）第六十五条" in text_of(doc)


def test_a_bad_template_is_one_line_and_nothing_is_written(runner, tmp_path):
    bad = tmp_path / "t.docx"
    bad.write_text("not a zip", encoding="utf-8")
    r = runner.invoke(cli, ["check", str(DEMO), "--layers", str(JINPU), "-o", str(tmp_path / "r.csv"),
                            "--report", str(tmp_path / "r.docx"), "--template", str(bad)])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and "template is not a Word .docx document" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.docx"]


def test_an_unknown_report_format_is_refused(runner, tmp_path):
    r = runner.invoke(cli, ["check", str(DEMO), "--layers", str(JINPU), "-o", str(tmp_path / "r.csv"),
                            "--report", str(tmp_path / "r.odt")])
    assert r.exit_code == 2 and "unknown report format '.odt'" in r.output and not list(tmp_path.iterdir())


def test_text_from_sites_is_text_in_word(jinpu, tmp_path):
    sites = read_sites(DEMO).iloc[:3].copy()
    sites["name"] = ["{{7*7}}", "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")"]
    out = render_report(check_sites(sites, jinpu), tmp_path / "r.docx")
    doc = docx.Document(str(out))
    text = text_of(doc)
    assert "{{7*7}}" in text and "<script>alert(1)</script>" in text and "=HYPERLINK(\"http://x\")" in text
    assert "49" not in text.split("{{7*7}}")[0][-5:]
    fields = doc.element.body.xpath(".//w:fldSimple | .//w:instrText")
    assert not fields  # the body has no field: the one PAGE field is in the footer
