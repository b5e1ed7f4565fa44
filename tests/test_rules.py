"""Rule tables: validation on load and which rule applies."""
from __future__ import annotations

import pytest

from conftest import TINY_RULES
from geo.errors import RuleError
from geo.check.rules import read_rules

LAYERS = {"zones": {"a", "b", "c"}}


def write(tmp_path, text):
    p = tmp_path / "rules.csv"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("old,new,match", [
    ("A-ALL,zones,a", "A-ALL,nowhere,a", "row 2.*unknown layer 'nowhere'"),
    ("A-ALL,zones,a", "A-ALL,zones,z", "row 2.*no class 'z'"),
    ("A-T12,zones,a,T12", "A-T12,zones,a,T99", "row 3.*unknown project type 'T99'"),
    ("in,,*,*,prohibited,禁止建设", "in,,*,*,forbidden,禁止建设", "row 2.*unknown verdict 'forbidden'"),
    ("near,500", "near,", "near rule needs a positive distance"),
    ("A-T12,", "A-ALL,", "repeated"),
])
def test_bad_tables_are_clear_errors(tmp_path, old, new, match):
    with pytest.raises(RuleError, match=match) as err:
        read_rules(write(tmp_path, TINY_RULES.replace(old, new, 1)), LAYERS)
    assert "\n" not in str(err.value)


def test_missing_column(tmp_path):
    with pytest.raises(RuleError, match="missing columns citation"):
        read_rules(write(tmp_path, TINY_RULES.replace(",citation", ",cite", 1)), LAYERS)


def test_aliases_are_accepted(tmp_path):
    t = read_rules(write(tmp_path, TINY_RULES.replace("T01;T02", "two_high;waste")), LAYERS)
    assert t.applicable("zones", "c", "T02", "near", distance_m=100).rule_id == "C-NEAR"


def test_specificity_then_severity(tmp_path):
    t = read_rules(write(tmp_path, TINY_RULES), LAYERS)
    assert t.applicable("zones", "a", "T03", "in").rule_id == "A-ALL"
    assert t.applicable("zones", "a", "T12", "in").rule_id == "A-T12"
    assert t.applicable("zones", "a", "T05", "in", nmp=True).rule_id == "A-NMP"
    assert t.applicable("zones", "b", "T05", "in", land_use="cross").rule_id == "B-CROSS"
    assert t.applicable("zones", "c", "T01", "near", distance_m=600) is None
    assert t.applicable("zones", "c", "T01", "in").rule_id == "C-NEAR"  # inside is within any distance
    assert t.zone_requirement("zones", "a").rule_id == "A-ALL"
    assert t.max_distance("zones") == 500


def test_short_row_and_blank_types_and_untyped_nmp(tmp_path):
    with pytest.raises(RuleError, match="row 2: row has"):
        read_rules(write(tmp_path, TINY_RULES.split("\n")[0] + "\nX,zones,a\n"), LAYERS)
    with pytest.raises(RuleError, match="types is empty"):
        read_rules(write(tmp_path, TINY_RULES.replace("A-ALL,zones,a,*", "A-ALL,zones,a,")), LAYERS)
    with pytest.raises(RuleError, match="nmp row must list"):
        read_rules(write(tmp_path, TINY_RULES.replace("A-NMP,zones,a,T05", "A-NMP,zones,a,*")), LAYERS)


def test_named_class_beats_star_class_at_equal_specificity(tmp_path):
    extra = "STAR,zones,*,*,in,,*,*,prohibited,全区禁止,all prohibited,条款,false\n"
    t = read_rules(write(tmp_path, TINY_RULES + extra), LAYERS)
    assert t.applicable("zones", "c", "T03", "in").rule_id == "C-ALL"


NETWORK_RULES = """\
A-CUTS,zones,a,*,cuts,,*,*,restricted,切断,cuts,测试条款八,true
A-CUTS-T05,zones,a,T05,cuts,,*,*,caution,线性横断,linear cut,测试条款九,true
A-ALONG,zones,a,*,along,,*,*,prohibited,纵向占用,along,测试条款十,true
"""


def test_cuts_and_along_rules_apply_to_those_findings_only(tmp_path):
    t = read_rules(write(tmp_path, TINY_RULES + NETWORK_RULES), LAYERS)
    assert t.applicable("zones", "a", "T03", "in").rule_id == "A-ALL"  # never an in finding's rule
    assert t.applicable("zones", "a", "T12", "in").rule_id == "A-T12"
    assert t.applicable("zones", "c", "T01", "near", distance_m=100).rule_id == "C-NEAR"
    assert t.applicable("zones", "a", "T03", "cuts").rule_id == "A-CUTS"  # beats the in rows of its zone
    assert t.applicable("zones", "a", "T12", "cuts").rule_id == "A-CUTS"  # even a typed in row
    assert t.applicable("zones", "a", "T05", "cuts").rule_id == "A-CUTS-T05"
    assert t.applicable("zones", "a", "T05", "along").rule_id == "A-ALONG"
    # no cuts rule for zone b: the finding takes the zone's in rule
    assert t.applicable("zones", "b", "T05", "cuts", land_use="cross").rule_id == "B-CROSS"
    assert t.zone_requirement("zones", "a").rule_id == "A-ALL"


def test_unknown_relation_names_the_four(tmp_path):
    with pytest.raises(RuleError, match="row 2.*unknown relation 'across'.*use in, near, cuts or along"):
        read_rules(write(tmp_path, TINY_RULES.replace(",in,", ",across,", 1)), LAYERS)


def test_a_cuts_rule_off_the_network_corridors_is_refused(tmp_path, tiny):
    import dataclasses
    import shutil

    from geo.check.rules import layerset_rules

    root = tmp_path / "tiny"
    shutil.copytree(tiny.root, root, ignore=shutil.ignore_patterns("build"))
    (root / "rules.csv").write_text(TINY_RULES + NETWORK_RULES, encoding="utf-8")
    ls = dataclasses.replace(tiny, root=root)
    with pytest.raises(RuleError, match=r"rules.csv, row 9, column relation: .*relation cuts applies to the corridor "
                                        r"layers of \[network\] links only; zones is not one.*has no \[network\]: use in"):
        layerset_rules(ls)
