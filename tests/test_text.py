"""Labels (geo/text.py): every label in both languages, written once, and the project-type look-ups."""
from __future__ import annotations

import re

import pytest

from geo.layerset.manifest import CONTROL_LEVELS
from geo.text import (BASEMAP_LABELS, COMPLIANCE, COMPLIANCE_COLUMNS, CONTROLS, DIMENSIONS, LANGS, LEVELS, MAP_LABELS,
                      RELATIONS, UNITS, VERDICT_ORDER, VERDICTS, other_lang, project_types, resolve_type, summary_line)

TABLES = {"VERDICTS": VERDICTS, "RELATIONS": RELATIONS, "CONTROLS": CONTROLS, "MAP_LABELS": MAP_LABELS,
          "BASEMAP_LABELS": BASEMAP_LABELS, "UNITS": UNITS, "DIMENSIONS": DIMENSIONS, "LEVELS": LEVELS,
          "COMPLIANCE": COMPLIANCE}


@pytest.mark.parametrize("name", TABLES)
def test_every_label_has_chinese_and_english(name):
    for key, text in TABLES[name].items():
        assert all(isinstance(text.get(lang), str) and text[lang].strip() for lang in LANGS), f"{name}[{key}]"
        assert re.search(r"[\u4e00-\u9fff]", text["zh"]) or text["zh"] == text["en"], f"{name}[{key}] zh"


def test_labels_name_the_values_the_data_uses():
    assert set(CONTROLS) == CONTROL_LEVELS  # every control level a manifest may give has its label
    assert list(VERDICTS) == [*VERDICT_ORDER, "unknown"]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", v["color"]) for v in VERDICTS.values())


def test_the_compliance_labels_are_those_eia_tables_use():
    assert [d["zh"] for d in DIMENSIONS.values()] == ["空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]
    assert list(LEVELS) == ["province", "region", "city", "unit"]  # general first, as a unit's list stacks them
    assert "符合" not in {c["zh"] for c in COMPLIANCE.values()}  # ecozone never clears a project by itself
    assert list(COMPLIANCE_COLUMNS)[:3] == ["序号", "项目编号", "项目名称"]
    assert all(re.search(r"[\u4e00-\u9fff]", zh) and en.isascii() and en for zh, en in COMPLIANCE_COLUMNS.items())


def test_other_lang():
    assert [other_lang(lang) for lang in LANGS] == ["en", "zh"]


def test_summary_line_counts_every_verdict_in_both_languages():
    line = summary_line(5, "jinpu", {"prohibited": 2, "allowed": 3})
    assert line.startswith("已核查 5 个项目（图层集 jinpu）：禁止 2、限制 0、注意 0、允许 3、未知 0 / ")
    assert line.endswith("checked 5 sites against jinpu: 2 prohibited, 0 restricted, 0 caution, 3 allowed, 0 unknown")


def test_project_types_resolve_from_code_alias_and_name():
    types = project_types()
    assert list(types) == [f"T{i:02d}" for i in range(1, 15)]
    assert resolve_type("T01") == resolve_type("t01") == resolve_type("two_high") == resolve_type("“两高”重工业") == "T01"
    assert resolve_type(" General industry ") == "T03"
    assert resolve_type(None) is resolve_type("") is resolve_type("nan") is None
    assert resolve_type("T99") is None
