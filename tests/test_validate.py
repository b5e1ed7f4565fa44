"""Validating a layer set: the Jinpu set is clean, a broken one is named finding by finding."""
from __future__ import annotations

from conftest import make_tiny_layerset
from geo import read_layerset, validate_layerset


def test_jinpu_validates_clean(jinpu):
    findings = validate_layerset(jinpu)
    errors = [f for f in findings if f.severity == "error"]
    assert not errors, errors
    checks = {f.check for f in findings}
    assert {"count", "partition", "nested", "disjoint", "contains", "rules"} <= checks


def test_a_declared_count_that_does_not_hold_is_an_error(tmp_path):
    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    (root / "manifest.toml").write_text(text.replace('clause = "test clause"',
                                                     'clause = "test clause"\nexpect_count = { a = 5 }'), encoding="utf-8")
    errors = [f for f in validate_layerset(read_layerset(root)) if f.severity == "error"]
    assert [f.check for f in errors] == ["count"]
    assert "declared 5" in str(errors[0])
