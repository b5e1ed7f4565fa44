"""Rule tables: what a zone allows, for which project types, and on what clause.

A layer set's rule table (``rules.csv``, UTF-8) has one row per rule:

=============  ==============================================================
rule_id        unique id, e.g. ``WS-L1-T01``
layer          layer id of the set
zone_class     a class of that layer, or ``*``
types          ``*`` or project-type codes/aliases separated by ``;``
relation       ``in`` (the site meets the zone) or ``near`` (within
               ``distance_m`` of it, which includes meeting it)
distance_m     for ``near``: the distance in metres
land_use       ``*``, ``occupy`` or ``cross`` (lines crossing without taking land)
nmp            ``*``, ``true`` or ``false`` (national major project)
verdict        ``prohibited``, ``restricted``, ``caution`` or ``allowed``
condition_zh   the condition or prohibition, Chinese
condition_en   the same in English
citation       document and article (e.g. 水污染防治法第六十五条)
judgement      ``true`` where no clause squarely decides it (mark J in docs/legal-basis.md)
=============  ==============================================================

Which rule applies: among the rules that match a site's zone, type, relation,
land use and NMP flag, the most specific wins (an ``nmp`` value beats ``*``,
then a ``land_use`` value, then a type list, then a named zone class); among
equally specific rules the most severe. An NMP row must list its types, so it
relaxes a prohibition only for the types the table names.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RuleError
from ..text import VERDICT_ORDER, project_types, resolve_type

__all__ = ["Rule", "RuleTable", "read_rules", "layerset_rules", "rules_of", "SEVERITY", "LAND_USES"]

#: verdict -> severity (higher is more severe); unknown is handled apart
SEVERITY = {v: len(VERDICT_ORDER) - i for i, v in enumerate(VERDICT_ORDER)}
#: a site's land use: it occupies the land, or crosses it without taking any (a bridge, an overhead line)
LAND_USES = ("occupy", "cross")
COLUMNS = ["rule_id", "layer", "zone_class", "types", "relation", "distance_m", "land_use", "nmp",
           "verdict", "condition_zh", "condition_en", "citation", "judgement"]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    layer: str
    zone_class: str
    types: frozenset | None  # None = all types
    relation: str
    distance_m: float
    land_use: str
    nmp: str
    verdict: str
    condition_zh: str
    condition_en: str
    citation: str
    judgement: bool

    @property
    def specificity(self) -> int:
        return ((8 if self.nmp != "*" else 0) + (4 if self.land_use != "*" else 0) + (2 if self.types else 0)
                + (1 if self.zone_class != "*" else 0))

    def matches(self, zone_class: str, project_type: str | None, relation: str, land_use: str, nmp: bool) -> bool:
        # a site in the zone is also within any distance of it: "near" rules apply to it too
        if self.zone_class not in ("*", zone_class) or (relation == "near" and self.relation != "near"):
            return False
        if self.types is not None and project_type not in self.types:
            return False
        if self.land_use != "*" and self.land_use != land_use:
            return False
        if self.nmp != "*" and (self.nmp == "true") != bool(nmp):
            return False
        return True


class RuleTable:
    """The rules of one layer set, indexed by layer."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self.by_layer: dict[str, list[Rule]] = {}
        for r in rules:
            self.by_layer.setdefault(r.layer, []).append(r)
        #: the rules worked out for every zone of one zone table (:func:`geo.check.verdicts.rule_lookup`), kept for
        #: the next batch of sites: (zone table, RuleLookup)
        self.lookup_cache: tuple | None = None

    def __len__(self):
        return len(self.rules)

    def column(self, name: str, default) -> np.ndarray:
        """Each rule's ``name``, then ``default``: indexed by rule position, -1 (no rule) gives the default."""
        return np.array([getattr(r, name) for r in self.rules] + [default], dtype=object)

    def max_distance(self, layer: str) -> float:
        """The largest ``near`` distance of a layer's rules (0 when none)."""
        return max((r.distance_m for r in self.by_layer.get(layer, []) if r.relation == "near"), default=0.0)

    def near_layers(self) -> dict:
        return {lid: d for lid in self.by_layer if (d := self.max_distance(lid)) > 0}

    def applicable(self, layer: str, zone_class: str, project_type: str | None, relation: str,
                   land_use: str = "occupy", nmp: bool = False, distance_m: float = 0.0) -> Rule | None:
        """The rule that applies to one site–zone relation, or None."""
        best = None
        for r in self.by_layer.get(layer, ()):
            if not r.matches(zone_class, project_type, relation, land_use, nmp):
                continue
            if relation == "near" and distance_m > r.distance_m:
                continue
            key = (r.specificity, SEVERITY[r.verdict])
            if best is None or key > (best.specificity, SEVERITY[best.verdict]):
                best = r
        return best

    def zone_requirement(self, layer: str, zone_class: str) -> Rule | None:
        """The general rule of a zone (all types, ``in``): its control requirement for maps and exports."""
        cands = [r for r in self.by_layer.get(layer, ()) if r.relation == "in" and r.types is None
                 and r.zone_class in (zone_class, "*") and r.nmp == "*" and r.land_use == "*"]
        if not cands:
            return None
        return max(cands, key=lambda r: (r.zone_class == zone_class, SEVERITY[r.verdict]))


def _types(value: str, where: dict) -> frozenset | None:
    value = (value or "").strip()
    if value == "*":
        return None
    if not value:
        raise RuleError("types is empty", **where, column="types", hint="write * for all types or list codes")
    out = set()
    for part in value.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code = resolve_type(part)
        if code is None:
            raise RuleError(f"unknown project type {part!r}", **where,
                            hint=f"use codes {', '.join(project_types())} or their aliases")
        out.add(code)
    return frozenset(out)


def read_rules(path, layers: dict | None = None) -> RuleTable:
    """Read and validate a rule table.

    Parameters
    ----------
    path : the CSV file.
    layers : layer id -> set of zone classes, to check the table against (optional).

    Raises
    ------
    RuleError
        On an unknown layer, class, project type, relation or verdict, a missing
        column, a duplicate rule id or a ``near`` rule without a distance.
    """
    path = Path(path)
    if not path.exists():
        raise RuleError("rule table not found", path=path, hint="add rules.csv to the layer set")
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RuleError(f"missing columns {', '.join(missing)}", path=path, row=1,
                            hint=f"the header must have {', '.join(COLUMNS)}")
        rules, seen = [], set()
        for i, raw in enumerate(reader, start=2):
            where = {"path": path, "row": i}
            if None in raw or any(raw.get(c) is None for c in COLUMNS):
                raise RuleError(f"row has {len(raw) - (None in raw)} of {len(COLUMNS)} fields", **where,
                                hint="check commas and quotes")
            row = {k: (v or "") for k, v in raw.items()}
            rid = (row["rule_id"] or "").strip()
            if not rid or rid in seen:
                raise RuleError(f"rule_id {rid!r} is empty or repeated", **where)
            seen.add(rid)
            layer, zone_class = row["layer"].strip(), (row["zone_class"] or "*").strip()
            if layers is not None:
                if layer not in layers:
                    raise RuleError(f"unknown layer {layer!r}", **where, column="layer",
                                    hint=f"use one of {', '.join(sorted(layers))}")
                if zone_class != "*" and zone_class not in layers[layer]:
                    raise RuleError(f"layer {layer} has no class {zone_class!r}", **where, column="zone_class",
                                    hint=f"use one of {', '.join(sorted(layers[layer]))} or *")
            verdict = row["verdict"].strip()
            if verdict not in SEVERITY:
                raise RuleError(f"unknown verdict {verdict!r}", **where, column="verdict",
                                hint=f"use one of {', '.join(VERDICT_ORDER)}")
            relation = row["relation"].strip()
            if relation not in ("in", "near"):
                raise RuleError(f"unknown relation {relation!r}", **where, column="relation", hint="use in or near")
            try:
                distance = float(row["distance_m"] or 0)
            except ValueError:
                raise RuleError(f"distance_m {row['distance_m']!r} is not a number", **where) from None
            if relation == "near" and distance <= 0:
                raise RuleError("a near rule needs a positive distance_m", **where, column="distance_m")
            land_use = (row["land_use"] or "*").strip()
            nmp = (row["nmp"] or "*").strip().lower()
            if land_use not in ("*", *LAND_USES):
                raise RuleError(f"land_use {land_use!r} unknown", **where, hint="use *, occupy or cross")
            if nmp not in ("*", "true", "false"):
                raise RuleError(f"nmp {nmp!r} unknown", **where, hint="use *, true or false")
            if nmp != "*" and (row["types"] or "").strip() in ("", "*"):
                raise RuleError("an nmp row must list its project types", **where, column="types",
                                hint="name the types the national-major-project route covers")
            for col in ("condition_zh", "condition_en", "citation"):
                if not (row[col] or "").strip():
                    raise RuleError(f"{col} is empty", **where, column=col, hint="every rule needs its text and citation")
            rules.append(Rule(
                rule_id=rid, layer=layer, zone_class=zone_class, types=_types(row["types"], where),
                relation=relation, distance_m=distance, land_use=land_use, nmp=nmp, verdict=verdict,
                condition_zh=row["condition_zh"].strip(), condition_en=row["condition_en"].strip(),
                citation=row["citation"].strip(),
                judgement=(row["judgement"] or "").strip().lower() in ("true", "1", "yes", "j")))
    return RuleTable(rules)


def layerset_rules(ls) -> RuleTable:
    """The rule table a layer set declares (``[layerset] rules``), checked against its layers."""
    name = ls.info.get("rules", "rules.csv")
    layers = {s.id: set(s.classes) for s in ls.manifest["layers"]}
    return read_rules(Path(ls.root) / name, layers)


def rules_of(ls) -> RuleTable:
    """The layer set's rule table as the check uses it: read once per layer set object (``ls._rule_table``)."""
    if ls._rule_table is None:
        ls._rule_table = layerset_rules(ls)
    return ls._rule_table
