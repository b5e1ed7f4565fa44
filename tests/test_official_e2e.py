"""From the bureau's files to a compliance table: init → add × n → requirements → build → validate → check."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.cli.main import cli

OFFICIAL = Path(__file__).parent / "data" / "official"
SITES = Path(__file__).resolve().parents[1] / "layers" / "jinpu" / "demo_sites.csv"
SHARED = ["red_line", "water_source", "nature_reserves", "coastline"]
FILES = ["生态保护红线", "饮用水水源保护区", "自然保护地", "岸线", "环境管控单元"]


def ok(r):
    assert r.exit_code == 0, r.output + r.stderr
    return r


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    from click.testing import CliRunner

    runner, tmp = CliRunner(), tmp_path_factory.mktemp("e2e")
    root = tmp / "jz"
    ok(runner.invoke(cli, ["init", str(root), "--name", "jz", "--title-zh", "金州区（示例）", "--title-en",
                           "Jinzhou (example)", "--boundary", str(OFFICIAL / "行政区.shp"), "--sea-m", "10000",
                           "--status", "illustrative"]))
    for stem in FILES:
        ok(runner.invoke(cli, ["add", str(root), str(OFFICIAL / f"{stem}.shp")]))
    ok(runner.invoke(cli, ["add", str(root), str(OFFICIAL / "准入清单.xlsx"), "--requirements"]))
    ok(runner.invoke(cli, ["build", str(root)]))
    validated = ok(runner.invoke(cli, ["validate", str(root)]))
    ok(runner.invoke(cli, ["check", str(SITES), "--layers", str(root), "-o", str(tmp / "new.csv"),
                           "--detail", str(tmp / "new_detail.csv"), "--compliance", str(tmp / "compliance.csv")]))
    ok(runner.invoke(cli, ["check", str(SITES), "--layers", "layers/jinpu", "-o", str(tmp / "old.csv"),
                           "--detail", str(tmp / "old_detail.csv")]))
    return {"root": root, "tmp": tmp, "validate": validated.output,
            "new": pd.read_csv(tmp / "new_detail.csv", dtype=str, keep_default_na=False),
            "old": pd.read_csv(tmp / "old_detail.csv", dtype=str, keep_default_na=False)}


def test_validate_passes_and_names_the_list_row_without_unit(checked):
    assert "0 error(s)" in checked["validate"] and "ZH21021329999" in checked["validate"]


def test_the_detail_carries_the_official_codes(checked):
    units = checked["new"][checked["new"]["layer"] == "control_units"]
    assert len(units) and units["zone_code"].str.fullmatch(r"ZH210213[123]\d{4}").all()


def test_zones_met_and_verdicts_agree_with_the_jinpu_set(checked):
    key = ["site_id", "layer", "zone_class", "relation"]
    new, old = (checked[k][checked[k]["layer"].isin(SHARED)] for k in ("new", "old"))
    assert sorted(map(tuple, new[key].values)) == sorted(map(tuple, old[key].values))
    kept = set(pd.read_csv(checked["root"] / "rules.csv", dtype=str)["rule_id"])
    both = old[old["rule_id"].isin(kept)].merge(new, on=key, suffixes=("_old", "_new"))
    assert len(both) >= 2  # D01 in the red line and in an L1 zone
    assert (both["rule_id_old"] == both["rule_id_new"]).all() and (both["verdict_old"] == both["verdict_new"]).all()


def test_the_compliance_table_has_rows_per_unit_dimension_and_level(checked):
    table = pd.read_csv(checked["tmp"] / "compliance.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(table) and table["管控单元编码"].str.startswith("ZH").all()
    assert "不符合" in set(table["符合性"]) or "待判定" in set(table["符合性"])
    assert "符合" not in set(table["符合性"])  # never complies by default
