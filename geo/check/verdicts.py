"""The rule that applies to each finding, its severity, and each site's verdict.

Which rule applies depends on the zone's layer, class and (where a rule names
it) official code, the site's project type, land use and NMP flag, and for
``near`` the distance: every combination met is worked out once from the rule
table (:class:`RuleLookup`) and looked up for the findings as arrays. Network
findings (``cuts``, ``along``) take their own rules, else the zone's ``in`` rule
(:mod:`geo.check.rules`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..text import project_types
from .overlay import Overlay
from .relations import Relation
from .rules import LAND_USES, SEVERITY, RuleTable

__all__ = ["RuleLookup", "Judged", "UNKNOWN", "VERDICT_OF_SEVERITY", "judge", "rule_lookup", "site_severity"]

#: the severity of a site outside the coverage (below every verdict's)
UNKNOWN = 0
#: the verdict of each severity, ``unknown`` first
VERDICT_OF_SEVERITY = np.array(["unknown"] + [v for v, _ in sorted(SEVERITY.items(), key=lambda kv: kv[1])],
                               dtype=object)


@dataclass
class RuleLookup:
    """The rules of a rule table for the zones of one zone table, by array look-up.

    ``inside[k, t, lu, nmp]`` is the ``in`` rule (position in ``rules.rules``,
    -1 for none) of zone key ``k`` (a distinct (layer, zone class, zone code),
    ``keys``; the code is "" unless a rule names it),
    type ``t`` (position in ``codes``; ``len(codes)`` for none given), land use
    ``lu`` (0 occupy, 1 cross) and NMP flag. ``key_of_zone`` maps zone rows to keys.
    ``near`` rules are worked out on demand, per distance band (``near_bands``), and
    the rules of network findings per combination met (``network_picks``).
    """

    rules: RuleTable
    inside: np.ndarray
    key_of_zone: np.ndarray
    keys: pd.DataFrame
    codes: list
    #: (key, type, land use, nmp) -> (rule distances, rule per distance band)
    near_bands: dict = field(default_factory=dict)
    #: (relation code, key, type, land use, nmp) -> rule of a network finding
    network_picks: dict = field(default_factory=dict)

    def network(self, rel, k, t, lu, nmp) -> np.ndarray:
        """The rule of each network finding (relation code, zone key, type, land use, nmp); no type: the strictest."""
        out = np.full(len(k), -1, dtype=np.int64)
        grp = pd.DataFrame({"rel": rel, "k": k, "t": t, "lu": lu, "nmp": nmp})
        position = {id(r): i for i, r in enumerate(self.rules.rules)}
        for combo, rows in grp.groupby(["rel", "k", "t", "lu", "nmp"], sort=False).indices.items():
            if combo not in self.network_picks:
                r_code, key, t_i, lu_i, nmp_i = (int(c) for c in combo)
                layer, zone_class, zone_code = self.keys.iloc[key]
                types = self.codes if t_i == len(self.codes) else [self.codes[t_i]]
                picked = [self.rules.applicable(layer, zone_class, code, Relation(r_code).label, LAND_USES[lu_i],
                                                bool(nmp_i), zone_code=zone_code) for code in types]
                general = (self.rules.applicable(layer, zone_class, None, Relation(r_code).label, LAND_USES[lu_i],
                                                 bool(nmp_i), zone_code=zone_code) if t_i == len(self.codes) else None)
                best = _strictest(picked, general)
                self.network_picks[combo] = -1 if best is None else position[id(best)]
            out[rows] = self.network_picks[combo]
        return out

    def near(self, k, t, lu, nmp, dist) -> np.ndarray:
        """The near rule of each (zone key, type, land use, nmp, distance): the strictest over all types when none is given.

        A near rule applies up to its distance, so between two rule distances the
        answer is constant: it is worked out once per distance band and looked up.
        """
        out = np.full(len(k), -1, dtype=np.int64)
        grp = pd.DataFrame({"k": k, "t": t, "lu": lu, "nmp": nmp})
        for combo, rows in grp.groupby(["k", "t", "lu", "nmp"], sort=False).indices.items():
            if combo not in self.near_bands:
                self.near_bands[combo] = self._near_bands(*combo)
            bands, picks = self.near_bands[combo]
            out[rows] = picks[np.searchsorted(bands, dist[rows], side="left")]
        return out

    def _near_bands(self, k: int, t: int, lu: int, nmp: int) -> tuple:
        layer, zone_class, zone_code = self.keys.iloc[k]
        types = self.codes if t == len(self.codes) else [self.codes[t]]
        rules = self.rules
        position = {id(r): i for i, r in enumerate(rules.rules)}
        bands = np.unique([r.distance_m for r in rules.by_layer.get(layer, ()) if r.relation == "near"])
        picks = []
        for d in list(bands) + [np.inf]:  # a distance in (bands[j-1], bands[j]] is answered at bands[j]
            best = None
            for code in types:
                r = rules.applicable(layer, zone_class, code, "near", LAND_USES[lu], bool(nmp), distance_m=d,
                                     zone_code=zone_code)
                if r is not None and (best is None or SEVERITY[r.verdict] > SEVERITY[best.verdict]):
                    best = r
            picks.append(-1 if best is None else position[id(best)])
        return bands, np.asarray(picks, dtype=np.int64)


def _strictest(per_type: list, general):
    """The rule of a site of no given type: the strictest of each type's and the general row's (ties to the general,
    whose text states the zone's requirement); never a false clearance."""
    given = [r for r in [*per_type, general] if r is not None]
    return max(given, key=lambda r: (SEVERITY[r.verdict], r.types is None)) if given else None


def _inside_rules(rules: RuleTable, keys: pd.DataFrame, codes: list) -> np.ndarray:
    """The ``in`` rule of every (zone key, type, land use, nmp); see :class:`RuleLookup`."""
    position = {id(r): i for i, r in enumerate(rules.rules)}
    table = np.full((len(keys), len(codes) + 1, 2, 2), -1, dtype=np.int64)
    for k, (layer, zone_class, zone_code) in enumerate(keys.itertuples(index=False)):
        for lu_i, lu in enumerate(LAND_USES):
            for nmp_i in (0, 1):
                per_type = []
                for t_i, code in enumerate(codes):
                    r = rules.applicable(layer, zone_class, code, "in", lu, bool(nmp_i), zone_code=zone_code)
                    table[k, t_i, lu_i, nmp_i] = -1 if r is None else position[id(r)]
                    per_type.append(r)
                # no type given: the strictest over all types (never a false clearance)
                general = rules.applicable(layer, zone_class, None, "in", lu, bool(nmp_i), zone_code=zone_code)
                top = _strictest(per_type, general)
                if top is not None:
                    table[k, len(codes), lu_i, nmp_i] = position[id(top)]
    return table


def rule_lookup(rules: RuleTable, zones: pd.DataFrame) -> RuleLookup:
    """The :class:`RuleLookup` of a rule table for a zone table, kept in ``rules.lookup_cache`` (batches reuse it)."""
    cached = rules.lookup_cache
    if cached is not None and cached[0] is zones:
        return cached[1]
    codes = list(project_types())
    zone_codes = zones["zone_code"] if "zone_code" in zones else pd.Series("", index=zones.index)
    named = [rules.code_key(lid, c) for lid, c in zip(zones["layer"], zone_codes)] if rules.codes else ""
    keyed = pd.DataFrame({"layer": zones["layer"].to_numpy(), "zone_class": zones["zone_class"].to_numpy(),
                          "zone_code": named})
    keys = keyed.drop_duplicates().reset_index(drop=True)
    key_of_zone = keyed.merge(keys.reset_index().rename(columns={"index": "_k"}), on=list(keyed.columns),
                              how="left")["_k"].to_numpy()
    lookup = RuleLookup(rules=rules, inside=_inside_rules(rules, keys, codes), key_of_zone=key_of_zone, keys=keys,
                        codes=codes)
    rules.lookup_cache = (zones, lookup)
    return lookup


def _type_index(types, codes: list) -> np.ndarray:
    """Position of each site's type in ``codes``; ``len(codes)`` for none or an unknown one."""
    ids, uniq = pd.factorize(pd.Series(types), use_na_sentinel=False)
    lookup = {c: i for i, c in enumerate(codes)}
    pos = np.array([lookup.get(t, len(codes)) for t in uniq], dtype=np.int64)
    return pos[ids] if len(ids) else np.zeros(0, dtype=np.int64)


class Judged(NamedTuple):
    """Per finding of an overlay: the rule that applies (position in ``rules.rules``, -1 for none) and its severity."""

    rule: np.ndarray
    severity: np.ndarray


def judge(ov: Overlay, sites, rules: RuleTable, zones: pd.DataFrame) -> Judged:
    """The rule and severity of each finding; boundary contact is at most ``caution``."""
    lookup = rule_lookup(rules, zones)
    n = len(sites)
    hs, hz, hrel = ov.site, ov.zone, ov.relation
    t_idx = _type_index(sites["project_type"], lookup.codes)
    lu = (sites["land_use"] == LAND_USES[1]).to_numpy(dtype=bool) if "land_use" in sites else np.zeros(n, bool)
    nmp = sites["nmp"].to_numpy().astype(bool) if "nmp" in sites else np.zeros(n, bool)
    lu, nmp = lu.astype(np.int64), nmp.astype(np.int64)
    rule = np.full(len(hs), -1, dtype=np.int64)
    is_net = hrel >= Relation.CUTS
    is_in = (hrel != Relation.NEAR) & ~is_net
    rule[is_in] = lookup.inside[lookup.key_of_zone[hz[is_in]], t_idx[hs[is_in]], lu[hs[is_in]], nmp[hs[is_in]]]
    net = np.flatnonzero(is_net)
    if len(net):
        rule[net] = lookup.network(hrel[net], lookup.key_of_zone[hz[net]], t_idx[hs[net]], lu[hs[net]], nmp[hs[net]])
    near = np.flatnonzero(hrel == Relation.NEAR)
    if len(near):
        rule[near] = lookup.near(lookup.key_of_zone[hz[near]], t_idx[hs[near]], lu[hs[near]], nmp[hs[near]],
                                 ov.distance[near])
    rule_sev = np.array([SEVERITY[r.verdict] for r in rules.rules] + [SEVERITY["allowed"]], dtype=np.int64)
    sev = rule_sev[rule]  # -1 picks the trailing "no rule": allowed
    sev = np.where(hrel == Relation.TOUCHES, np.minimum(sev, SEVERITY["caution"]), sev)
    return Judged(rule=rule, severity=sev)


def site_severity(ov: Overlay, judged: Judged, n: int) -> np.ndarray:
    """Each site's severity: the most severe of its findings, ``allowed`` without any, :data:`UNKNOWN` outside the coverage."""
    out = np.full(n, SEVERITY["allowed"], dtype=np.int64)
    if len(ov.site):
        np.maximum.at(out, ov.site, judged.severity)
    out[~ov.covered] = UNKNOWN
    return out
