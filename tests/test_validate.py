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


def test_declared_containment_is_checked_whatever_the_builder(tmp_path):
    """An official red line that no longer holds a reserve: validate names the zone and the area outside."""
    import re

    import pytest

    from geo.errors import LayerSetError

    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    # the study area must hold every zone (it does); the zones must hold the study area (they do not)
    text = text.replace('params = { source = "area", name_zh = "测试区", name_en = "Test area" }',
                        'params = { source = "area", name_zh = "测试区", name_en = "Test area" }\n'
                        'contains = [{ layer = "zones" }]')
    (root / "manifest.toml").write_text(text, encoding="utf-8")
    findings = validate_layerset(read_layerset(root))
    (held,) = [f for f in findings if f.check == "contains"]
    assert held.severity == "ok" and held.message == "zones: inside 范围"
    (root / "manifest.toml").write_text(text.replace('contains = [{ layer = "zones" }]', '') .replace(
        'clause = "test clause"', 'clause = "test clause"\ncontains = [{ layer = "study_area", classes = ["land"] }]'),
        encoding="utf-8")
    (bad,) = [f for f in validate_layerset(read_layerset(root)) if f.check == "contains"]
    assert bad.severity == "error"
    assert re.fullmatch(r"study_area:land not inside 管控区: 88\.8\d\d km² outside, in 1 zone\(s\): 测试区 88\.8\d\d km²",
                        bad.message), bad.message
    (root / "manifest.toml").write_text(text.replace('contains = [{ layer = "zones" }]',
                                                     'contains = [{ layer = "roads" }]'), encoding="utf-8")
    with pytest.raises(LayerSetError, match="contains names unknown layer 'roads'"):
        read_layerset(root)
