"""Which rule applies, by look-up: the same answer as the rule table gives one relation at a time."""
from __future__ import annotations

import numpy as np

from geo.check.rules import LAND_USES, SEVERITY, layerset_rules
from geo.check.verdicts import UNKNOWN, VERDICT_OF_SEVERITY, rule_lookup
from geo.check.zones import zone_index

def _position(rules, rule):
    return -1 if rule is None else next(i for i, r in enumerate(rules.rules) if r is rule)


def _strictest(candidates):
    given = [r for r in candidates if r is not None]
    return max(given, key=lambda r: (SEVERITY[r.verdict], r.types is None)) if given else None


def inside_mismatches(ls) -> list:
    """The (zone key, type, land use, nmp) whose looked-up ``in`` rule differs from ``RuleTable.applicable``."""
    rules = layerset_rules(ls)
    lookup = rule_lookup(rules, zone_index(ls).attrs)
    wrong = []
    for k, (layer, zone_class, code) in enumerate(lookup.keys.itertuples(index=False)):
        for lu_i, lu in enumerate(LAND_USES):
            for nmp in (0, 1):
                per_type = [rules.applicable(layer, zone_class, t, "in", lu, bool(nmp), zone_code=code)
                            for t in lookup.codes]
                for t, rule in enumerate(per_type):
                    if lookup.inside[k, t, lu_i, nmp] != _position(rules, rule):
                        wrong.append((layer, zone_class, code, lookup.codes[t], lu, nmp))
                # no type: the strictest over every type and the general row
                general = rules.applicable(layer, zone_class, None, "in", lu, bool(nmp), zone_code=code)
                if lookup.inside[k, len(lookup.codes), lu_i, nmp] != _position(rules, _strictest(per_type + [general])):
                    wrong.append((layer, zone_class, code, None, lu, nmp))
    assert (lookup.inside >= 0).any()
    return wrong


def near_mismatches(ls) -> list:
    """Random (zone key, type, land use, nmp, distance) whose looked-up near rule differs from ``applicable``."""
    rules = layerset_rules(ls)  # a new table: nothing cached
    zones = zone_index(ls).attrs
    lookup = rule_lookup(rules, zones)
    assert lookup.near_bands == {}
    near_layers = rules.near_layers()
    keys = [k for k, (layer, *_) in enumerate(lookup.keys.itertuples(index=False)) if layer in near_layers]
    rng = np.random.default_rng(1)
    n = 3_000
    k = rng.choice(keys, n)
    t = rng.integers(0, len(lookup.codes) + 1, n)
    lu, nmp = rng.integers(0, 2, n), rng.integers(0, 2, n)
    dmax = np.array([near_layers[lookup.keys.iloc[i]["layer"]] for i in k])
    dist = np.where(rng.random(n) < 0.3, dmax, rng.uniform(0, 1.2, n) * dmax)  # rule distances exactly, and between
    got = lookup.near(k, t, lu, nmp, dist)
    wrong = []
    for i in range(n):
        layer, zone_class, code = lookup.keys.iloc[k[i]]
        codes = lookup.codes if t[i] == len(lookup.codes) else [lookup.codes[t[i]]]
        cands = [rules.applicable(layer, zone_class, c, "near", LAND_USES[lu[i]], bool(nmp[i]), distance_m=dist[i],
                                  zone_code=code) for c in codes]
        best = None
        for r in cands:  # the strictest; the first of equally strict ones
            if r is not None and (best is None or SEVERITY[r.verdict] > SEVERITY[best.verdict]):
                best = r
        if got[i] != _position(rules, best):
            wrong.append((layer, zone_class, code, codes, dist[i]))
    assert (got >= 0).any() and (got < 0).any()
    return wrong


def test_inside_lookup_matches_the_rule_table(jinpu):
    wrong = inside_mismatches(jinpu)
    assert not wrong, wrong[:5]


def test_near_lookup_on_a_fresh_table_matches_the_rule_table(jinpu):
    """The near answers need nothing worked out before (no earlier in-lookup, no earlier check)."""
    wrong = near_mismatches(jinpu)
    assert not wrong, wrong[:5]


def test_the_lookup_is_kept_with_the_rule_table_for_its_zone_table(jinpu):
    rules = layerset_rules(jinpu)
    zones = zone_index(jinpu).attrs
    first = rule_lookup(rules, zones)
    assert rule_lookup(rules, zones) is first
    assert rule_lookup(rules, zones.copy()) is not first  # another zone table: worked out again


def test_severity_zero_is_unknown_and_the_rest_follow_the_verdicts():
    assert VERDICT_OF_SEVERITY[UNKNOWN] == "unknown"
    assert all(VERDICT_OF_SEVERITY[s] == v for v, s in SEVERITY.items())


def test_network_lookup_matches_the_rule_table(jinpu):
    """cuts/along findings: the rule the look-up gives is the table's, per type and the strictest with none."""
    from geo.check.relations import Relation

    rules = layerset_rules(jinpu)
    lookup = rule_lookup(rules, zone_index(jinpu).attrs)
    keys = [k for k, (layer, *_) in enumerate(lookup.keys.itertuples(index=False)) if layer == "eco_corridors"]
    combos = [(rel, k, t, lu, nmp) for rel in (Relation.CUTS, Relation.ALONG) for k in keys
              for t in range(len(lookup.codes) + 1) for lu in (0, 1) for nmp in (0, 1)]
    rel, k, t, lu, nmp = (np.array(c, dtype=np.int64) for c in zip(*combos))
    got = lookup.network(rel, k, t, lu, nmp)
    wrong = []
    for i, (r, kk, tt, ll, nn) in enumerate(combos):
        layer, zone_class, code = lookup.keys.iloc[kk]
        label = Relation(r).label
        per_type = [rules.applicable(layer, zone_class, c, label, LAND_USES[ll], bool(nn), zone_code=code)
                    for c in lookup.codes]
        general = rules.applicable(layer, zone_class, None, label, LAND_USES[ll], bool(nn), zone_code=code)
        want = per_type[tt] if tt < len(lookup.codes) else _strictest(per_type + [general])
        if got[i] != _position(rules, want):
            wrong.append((label, layer, zone_class, tt, ll, nn))
    assert not wrong, wrong[:5]
    picked = {rules.rules[g].rule_id for g in got}
    assert {"COR-PRI-CUTS", "COR-PRI-CUTS-LINEAR", "COR-PRI-ALONG", "COR-PRI-ALONG-OK"} <= picked
    assert rules.rules[got[(rel == Relation.ALONG) & (t == len(lookup.codes))][0]].verdict == "prohibited"
