"""准入清单 (requirement lists): import from the tables bureaus publish, read back, problems for validate."""
from __future__ import annotations

import csv
import tomllib

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
from conftest import ZONE_A, ZONE_B, ZONE_C, make_tiny_layerset

from geo.errors import LayerSetError
from geo.layerset.manifest import source_hash
from geo.layerset.read import read_layerset
from geo.layerset.requirements import (COLUMNS, import_requirements, read_industries, read_requirements,
                                       requirement_problems)

CODES = {"A区": "ZH21021310001", "B区": "ZH21021320001", "C区": "ZH21021330001"}


def coded_set(root):
    """The tiny layer set whose ``zones`` carry unit codes (``code_field``), with a comment to keep."""
    make_tiny_layerset(root)
    zones = gpd.GeoDataFrame({"name": list(CODES), "cls": ["a", "b", "c"], "code": list(CODES.values())},
                             geometry=[ZONE_A, ZONE_B, ZONE_C], crs=4550).to_crs(4490)
    pyogrio.write_dataframe(zones, root / "data" / "zones.geojson", layer_options={"COORDINATE_PRECISION": 10})
    manifest = root / "manifest.toml"
    text = manifest.read_text(encoding="utf-8").replace(
        'name_en_field = "name" }', 'name_en_field = "name", code_field = "code" }')
    manifest.write_text("# 测试图层集：注释须保留\n" + text, encoding="utf-8")
    return root


def xlsx_list(path, *, resource_header="资源利用效率要求"):
    """A list as bureaus lay it out: title rows, merged level/code/name cells, a province and a city row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "准入清单"
    ws.append(["大连市金州区生态环境准入清单"])
    ws.merge_cells("A1:H1")
    ws.append(["（2024年更新）"])
    ws.append(["序号", "层级", "环境管控单元编码", "环境管控单元名称", "空间布局约束", "污染物排放管控", "环境风险防控",
               resource_header])
    ws.append([1, "省级", "辽宁省", "辽宁省总体准入要求", "1. 禁止新建、扩建钢铁、水泥项目。", "1. 实行总量控制。", "", ""])
    ws.append([2, "市级", "", "大连市总体准入要求", "1. 严格控制造纸项目。", "", "1. 加强风险防控。", "1. 提高用水效率。"])
    ws.append([3, "单元", "ZH21021310001", "A区", "1. 禁止新建化工、石化项目。", "1. 不新增排污口。", "", ""])
    ws.append([4, "单元", None, None, "2. 禁止新建电镀项目。", "", "", ""])
    ws.merge_cells("C6:C7")  # the code and name span the unit's two rows
    ws.merge_cells("D6:D7")
    ws.append([5, "单元", "ZH21021320001", "B区", "1. 新建项目须进入园区。", "", "", "1. 单位产值能耗不高于全市平均。"])
    ws.append([6, "单元", "ZH99999999999", "别处单元", "1. 禁止采砂。", "", "", ""])
    wb.save(path)
    return path


def test_an_xlsx_list_with_title_rows_and_merged_cells_is_imported(tmp_path):
    root = coded_set(tmp_path / "set")
    src = xlsx_list(tmp_path / "准入清单.xlsx")
    summary = import_requirements(root, src, layer="zones")
    reqs = read_requirements(read_layerset(root))
    assert list(reqs.columns) == COLUMNS
    assert summary.sheets == [("准入清单", 3)]
    assert summary.counts == {"province": 2, "region": 0, "city": 3, "unit": 5}
    assert summary.units == ["ZH21021310001", "ZH21021320001", "ZH99999999999"]
    # the merged code and name carried the second row: its clause joins the unit's, in order
    a = reqs[(reqs["unit_code"] == "ZH21021310001") & (reqs["dimension"] == "spatial")]
    assert a["text"].tolist() == ["1. 禁止新建化工、石化项目。\n2. 禁止新建电镀项目。"]
    assert a["source"].tolist() == ["准入清单.xlsx!准入清单:6,7"]
    assert set(reqs.loc[reqs["level"] == "province", "unit_name"]) == {"辽宁省总体准入要求"}
    assert set(reqs.loc[reqs["level"] == "city", "dimension"]) == {"spatial", "risk", "resource"}  # blanks skipped
    # 资源利用效率要求 is the resource dimension
    assert reqs.loc[reqs["unit_code"] == "ZH21021320001", "dimension"].tolist() == ["spatial", "resource"]
    # the original in data/, industries from the template, the manifest's table set with its comment kept
    assert (root / "data" / "准入清单.xlsx").read_bytes() == src.read_bytes()
    assert read_industries(read_layerset(root))["T01"][0] == "化工"
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    assert text.startswith("# 测试图层集：注释须保留\n")
    assert tomllib.loads(text)["requirements"] == {"file": "requirements.csv", "layer": "zones",
                                                   "source": "data/准入清单.xlsx", "industries": "industries.csv"}
    lines = summary.describe()
    assert any("资源利用效率要求 → 资源开发效率要求 resource" in line for line in lines)
    assert any("ZH21021310001" in line for line in lines)


def test_a_gbk_csv_with_a_blank_code_row_applies_it_to_every_unit(tmp_path):
    root = coded_set(tmp_path / "set")
    src = tmp_path / "清单.csv"
    rows = [["单元编码", "单元名称", "空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"],
            ["", "大连市总体准入要求", "禁止新建燃煤电厂", "", "", ""],
            ["ZH21021310001", "A区", "禁止新建化工项目", "", "", ""]]
    with open(src, "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows(rows)
    import_requirements(root, src, layer="zones")
    reqs = read_requirements(read_layerset(root))
    assert reqs[["level", "unit_code", "unit_name", "text"]].values.tolist() == [
        ["city", "", "大连市总体准入要求", "禁止新建燃煤电厂"], ["unit", "ZH21021310001", "A区", "禁止新建化工项目"]]
    assert reqs["source"].tolist() == ["清单.csv:2", "清单.csv:3"]


def test_a_dry_run_writes_nothing(tmp_path):
    root = coded_set(tmp_path / "set")
    before = sorted(p.name for p in root.rglob("*"))
    summary = import_requirements(root, xlsx_list(tmp_path / "l.xlsx"), layer="zones", dry_run=True)
    assert sorted(p.name for p in root.rglob("*")) == before
    assert summary.describe()[-1] == "  试运行，未写入 / dry run: nothing written"


def test_the_list_is_part_of_what_a_build_depends_on(tmp_path):
    root = coded_set(tmp_path / "set")
    import_requirements(root, xlsx_list(tmp_path / "l.xlsx"), layer="zones")
    before = source_hash(root)
    (root / "industries.csv").write_text("type,keywords\nT01,化工\n", encoding="utf-8")
    assert source_hash(root) != before
    after = source_hash(root)
    (root / "requirements.csv").write_text((root / "requirements.csv").read_text(encoding="utf-8") + "\n",
                                           encoding="utf-8")
    assert source_hash(root) != after


def test_a_formula_like_text_survives_the_round_trip(tmp_path):
    root = coded_set(tmp_path / "set")
    src = tmp_path / "l.csv"
    src.write_text("编码,空间布局约束,污染物排放管控\nZH21021310001,=1+1 禁止,-5%\n", encoding="utf-8")
    import_requirements(root, src, layer="zones")
    raw = (root / "requirements.csv").read_text(encoding="utf-8")
    assert "'=1+1 禁止" in raw  # as a spreadsheet would show it: text
    assert read_requirements(read_layerset(root))["text"].tolist() == ["=1+1 禁止", "-5%"]


def test_no_dimension_header_names_the_cells_seen(tmp_path):
    root = coded_set(tmp_path / "set")
    src = tmp_path / "l.csv"
    src.write_text("编码,名称,要求\nZH1,甲,禁止\n", encoding="utf-8")
    with pytest.raises(LayerSetError, match=r"l\.csv: no header row .*cells seen: 编码, 名称, 要求.*空间布局约束"):
        import_requirements(root, src, layer="zones")
    assert not (root / "requirements.csv").exists()


def test_a_unit_row_without_code_names_the_sheet_row_and_column(tmp_path):
    root = coded_set(tmp_path / "set")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表1"
    ws.append(["层级", "管控单元编码", "空间布局约束", "污染物排放管控"])
    ws.append(["单元", "ZH21021310001", "禁止", ""])
    ws.append(["单元", "", "禁止化工", ""])
    wb.save(tmp_path / "l.xlsx")
    with pytest.raises(LayerSetError, match=r"l\.xlsx!表1, row 3, column 管控单元编码: a unit row without a unit code"):
        import_requirements(root, tmp_path / "l.xlsx", layer="zones")


def test_two_names_for_one_code_are_refused(tmp_path):
    root = coded_set(tmp_path / "set")
    src = tmp_path / "l.csv"
    src.write_text("编码,名称,空间布局约束,环境风险防控\nZH1,甲,禁止,\nZH1,乙,禁止,\n", encoding="utf-8")
    with pytest.raises(LayerSetError, match=r"row 3, column 名称: unit ZH1 is named '甲' in 2 and '乙' here"):
        import_requirements(root, src, layer="zones")


def test_an_unknown_layer_or_code_column_is_refused(tmp_path):
    root = coded_set(tmp_path / "set")
    src = xlsx_list(tmp_path / "l.xlsx")
    with pytest.raises(LayerSetError, match="layer 'control_units' is not in the layer set .*--layer control_units"):
        import_requirements(root, src)
    with pytest.raises(LayerSetError, match="no column 'CODE'.*give --code-column"):
        import_requirements(root, src, layer="zones", code_column="CODE")


def test_problems_name_units_without_rows_and_rows_without_units(tmp_path):
    root = coded_set(tmp_path / "set")
    assert requirement_problems(read_layerset(root)) == []  # no list: nothing to say
    import_requirements(root, xlsx_list(tmp_path / "l.xlsx"), layer="zones")
    problems = requirement_problems(read_layerset(root))
    assert [sev for sev, _ in problems] == ["warning", "warning"]
    assert "1 unit(s) of zones have no requirement row: ZH21021330001" in problems[0][1]
    assert "1 requirement code(s) match no unit of zones: ZH99999999999" in problems[1][1]


def test_a_broken_requirements_table_is_one_line(tmp_path):
    root = coded_set(tmp_path / "set")
    import_requirements(root, xlsx_list(tmp_path / "l.xlsx"), layer="zones")
    path = root / "requirements.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",spatial,", ",layout,", 1), encoding="utf-8")
    with pytest.raises(LayerSetError, match=r"requirements\.csv, row 2, column dimension: dimension 'layout' unknown"):
        read_requirements(read_layerset(root))
