"""The 三线一单 compliance table: values on hand-made cases (never 符合), CSV and XLSX, the check command and report."""
from __future__ import annotations


import openpyxl
import pandas as pd
import pytest
from conftest import X0, Y0
from pyproj import Transformer
from test_requirements import CODES, coded_set

from geo.check.engine import check_sites
from geo.cli.main import cli
from geo.compliance import compliance_table, judge_text, split_clauses, write_compliance
from geo.errors import ExportError
from geo.layerset.read import read_layerset
from geo.layerset.requirements import import_requirements
from geo.report import render_report
from geo.sites.read import read_sites
from geo.text import COMPLIANCE_COLUMNS

LIST = [["编码", "名称", "空间布局约束", "污染物排放管控", "环境风险防控"],
        ["", "辽宁省总体准入要求", "1. 禁止新建钢铁、水泥项目。", "", ""],
        [CODES["B区"], "B区", "1. 禁止新建化工、石化项目。\n2. 禁止新建电镀项目。", "1. 禁止新建造纸项目。",
         "1. 加强风险防控，<b>不</b>。"],
        [CODES["C区"], "C区", "1. 禁止在园区以外新建化工项目。", "", ""]]
_TO_LONLAT = Transformer.from_crs(4550, 4326, always_xy=True)


def _lonlat(x, y):
    return "{:.7f},{:.7f}".format(*_TO_LONLAT.transform(X0 + x, Y0 + y))


# zone A 1–3 km (rule: prohibited), B 3–5 km (restricted), C a disc at (7 km, 7 km); all in the tiny set
SITES = [("S1", "化工厂", "T01", 4_000, 2_000, "", ""),
         ("S2", "水厂", "T12", 4_000, 2_000, "", ""),
         ("S3", "未定项目", "", 4_000, 2_000, "", ""),
         ("S4", "化工二厂", "T01", 2_000, 2_000, "", ""),
         ("S5", "精细化工厂", "T03", 7_000, 7_000, "化工", ""),  # T01 near C is prohibited by rule
         ("S6", "表面处理厂", "T03", 4_200, 2_200, "电镀", "年处理零件10万件"),
         ("S7", "=HYPERLINK(\"x\")", "T01", 9_500, 9_500, "", ""),
         ("S8", "石化厂", "T01", 4_500, 1_500, "化工、石化", "")]


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    """The coded tiny set with the list above, and a sites CSV (with industry and description columns)."""
    tmp = tmp_path_factory.mktemp("compliance")
    root = coded_set(tmp / "set")
    src = tmp / "清单.csv"
    pd.DataFrame(LIST[1:], columns=LIST[0]).to_csv(src, index=False, encoding="utf-8")
    import_requirements(root, src, layer="zones")
    sites = tmp / "sites.csv"
    rows = [(i, n, t, *_lonlat(x, y).split(","), ind, desc) for i, n, t, x, y, ind, desc in SITES]
    pd.DataFrame(rows, columns=["id", "name", "type", "lon", "lat", "industry", "description"]).to_csv(sites, index=False)
    return root, sites


def table_of(listed):
    root, sites = listed
    ls = read_layerset(root)
    gdf = read_sites(sites)
    return compliance_table(check_sites(gdf, ls).detail, gdf, ls)


def rows_of(table, site):
    t = table[table["项目编号"] == site]
    return list(zip(t["层级"], t["管控维度"], t["符合性"]))


def test_clause_bans_decide_and_other_industries_are_not_concerned(listed):
    table = table_of(listed)
    assert list(table.columns) == list(COMPLIANCE_COLUMNS)
    assert table["序号"].tolist() == list(range(1, len(table) + 1))
    assert set(table["符合性"]) <= {"不符合", "不涉及", "待判定"}  # never 符合
    assert rows_of(table, "S1") == [("省级（辽宁省总体准入要求）", "空间布局约束", "不符合"), ("单元", "空间布局约束", "不符合"),
                                    ("单元", "污染物排放管控", "不涉及"), ("单元", "环境风险防控", "待判定")]
    s1 = table[table["项目编号"] == "S1"]
    assert s1["依据"].iloc[1].startswith("第1条：1. 禁止新建化工、石化项目。（禁止：化工、石化")
    assert s1["管控单元编码"].tolist() == [CODES["B区"]] * 4 and set(s1["单元名称"]) == {"B区"}
    assert set(s1["管控类别"]) == {"限建区"}
    assert s1["管控要求"].iloc[1] == "1. 禁止新建化工、石化项目。\n2. 禁止新建电镀项目。"  # in full
    assert set(s1["本项目情况"]) == {"待补充"}
    assert [c for *_, c in rows_of(table, "S2")] == ["不涉及", "不涉及", "不涉及", "待判定"]


def test_no_type_is_to_be_judged_and_a_rule_prohibition_fails_the_unit(listed):
    table = table_of(listed)
    assert {c for *_, c in rows_of(table, "S3")} == {"待判定"}
    assert set(table.loc[table["项目编号"] == "S3", "依据"]) == {"未指定项目类型 / no project type"}
    # zone A has no list of its own: the province row, then a row saying so, failed by the rule table
    s4 = table[table["项目编号"] == "S4"]
    assert s4["管控要求"].iloc[-1].startswith("准入清单中无该单元的要求")
    assert s4["符合性"].tolist() == ["不符合", "不符合"]
    assert s4["依据"].iloc[-1] == "规则 rule A-ALL：测试条款一"


def test_an_exception_leaves_it_to_be_judged_and_site_columns_count(listed):
    table = table_of(listed)
    s5 = table[(table["项目编号"] == "S5") & (table["层级"] == "单元")]
    assert s5["符合性"].tolist() == ["待判定"] and "例外或地点条件" in s5["依据"].iloc[0]
    s6 = table[(table["项目编号"] == "S6") & (table["管控维度"] == "空间布局约束") & (table["层级"] == "单元")]
    assert s6["符合性"].tolist() == ["不符合"] and s6["依据"].iloc[0].startswith("第2条：2. 禁止新建电镀项目。")
    assert set(table.loc[table["项目编号"] == "S6", "本项目情况"]) == {"年处理零件10万件；电镀"}
    assert "S7" not in set(table["项目编号"])  # outside every unit: no row
    # the site's own industry says more than its type: a chemical plant is not concerned by a ban on steel
    assert [c for *_, c in rows_of(table, "S8")] == ["不涉及", "不符合", "不涉及", "待判定"]


def test_clauses_split_on_the_first_numbering_style():
    assert split_clauses("1. 禁止化工（1）新建；（2）扩建。\n2. 加强监管，距离0.5公里。") == [
        ("1", "1. 禁止化工（1）新建；（2）扩建。"), ("2", "2. 加强监管，距离0.5公里。")]
    assert split_clauses("禁止新建下列项目：一、造纸；二、电镀") == [
        ("", "禁止新建下列项目："), ("一", "禁止新建下列项目：一、造纸；"), ("二", "禁止新建下列项目：二、电镀")]
    assert judge_text("禁止新建下列项目：一、造纸；二、电镀", ("电镀",), ("造纸",))[0] == "fails"
    assert judge_text("限制新建化工项目", ("化工",), ("造纸",))[0] == "to_judge"  # 限制 is not a ban
    assert judge_text("禁止在饮用水水源保护区新建化工项目", ("化工",), ())[0] == "to_judge"  # only there
    assert judge_text("工业废水进入集中污水处理设施", ("化工",), ("污水处理",))[0] == "to_judge"  # a facility, not a trade
    assert judge_text("造纸、印染行业执行特别排放限值", ("化工",), ("造纸", "印染"))[0] == "not_concerned"
    assert judge_text("加强监管。禁止造纸", ("化工",), ("造纸",))[0] == "to_judge"  # a general clause


def test_csv_and_xlsx_read_back(listed, tmp_path):
    table = table_of(listed)
    table.loc[0, "本项目情况"] = "=1+1"
    write_compliance(table, tmp_path / "c.csv")
    raw = (tmp_path / "c.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(tmp_path / "c.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert back.loc[0, "本项目情况"] == "'=1+1" and back["管控要求"].tolist() == table["管控要求"].tolist()
    write_compliance(table, tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "c.xlsx").active
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold and ws.column_dimensions["I"].width == 60
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == list(COMPLIANCE_COLUMNS) and len(rows) == len(table) + 1
    assert rows[1][9] == "=1+1" and ws["J2"].data_type == "s"  # text, never a formula
    assert ws["I3"].alignment.wrap_text and rows[2][8] == table["管控要求"].iloc[1]
    with pytest.raises(ExportError, match=r"c\.txt: unknown compliance table format '\.txt'"):
        write_compliance(table, tmp_path / "c.txt")


def test_check_writes_the_table_and_the_report_section(listed, runner, tmp_path):
    root, sites = listed
    out, comp, rep = tmp_path / "r.csv", tmp_path / "符合性.xlsx", tmp_path / "r.html"
    r = runner.invoke(cli, ["check", str(sites), "--layers", str(root), "-o", str(out), "--compliance", str(comp),
                            "--report", str(rep)])
    assert r.exit_code == 0, r.output
    rows = list(openpyxl.load_workbook(comp).active.iter_rows(values_only=True))
    by_site = {row[1] for row in rows[1:]}
    assert by_site == {"S1", "S2", "S3", "S4", "S5", "S6", "S8"}
    s6 = [row for row in rows[1:] if row[1] == "S6"]
    assert {row[9] for row in s6} == {"年处理零件10万件；电镀"}  # the sites file's own columns reached the table
    html = rep.read_text(encoding="utf-8")
    section = html[html.index("与生态环境分区管控（三线一单）符合性分析"):]
    assert "&lt;b&gt;不&lt;/b&gt;" in section and "<b>不</b>" not in section  # escaped
    assert "1. 禁止新建化工、石化项目。<br>2. 禁止新建电镀项目。" in section
    assert html.count("<h3>与生态环境分区管控（三线一单）符合性分析") == 7


def test_a_report_of_a_result_has_the_section_too(listed):
    root, sites = listed
    ls = read_layerset(root)
    html = render_report(check_sites(read_sites(sites), ls))
    assert "<h2 id='s-S1'>S1 化工厂 — " in html and "待补充" in html


def test_check_refuses_a_compliance_table_without_a_list(tiny, runner, tmp_path):
    out = tmp_path / "r.csv"
    r = runner.invoke(cli, ["check", "--point", "121.8,39.1", "--layers", str(tiny.root), "-o", str(out),
                            "--compliance", str(tmp_path / "c.xlsx")])
    assert r.exit_code == 2, r.output
    assert len(r.stderr.splitlines()) == 1 and "该图层集没有准入清单 / this layer set has no requirement list" in r.stderr
    assert "--requirements" in r.stderr and not out.exists()
    r = runner.invoke(cli, ["check", "--point", "121.8,39.1", "--layers", str(tiny.root), "-o", str(out),
                            "--compliance", str(tmp_path / "c.docx")])
    assert r.exit_code == 2 and "unknown compliance table format '.docx'" in r.stderr and not out.exists()
