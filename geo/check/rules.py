"""Rule tables: what a zone allows, for which project types, and on what clause.

A layer set's rule table (``rules.csv``, UTF-8) has one row per rule:

=============  ==============================================================
rule_id        unique id, e.g. ``WS-L1-T01``
layer          layer id of the set
zone_class     a class of that layer, or ``*``
types          ``*`` or project-type codes/aliases separated by ``;``
relation       ``in`` (the site meets the zone), ``near`` (within
               ``distance_m`` of it, which includes meeting it), or, for a
               corridor of the ``[network]``, ``cuts`` (the site cuts it
               across its whole width) or ``along`` (it runs along it:
               length inside ≥ ``along_ratio`` × width; docs/network.md)
distance_m     for ``near``: the distance in metres
land_use       ``*``, ``occupy`` or ``cross`` (lines crossing without taking land)
nmp            ``*``, ``true`` or ``false`` (national major project)
verdict        ``prohibited``, ``restricted``, ``caution`` or ``allowed``
condition_zh   the condition or prohibition, Chinese
condition_en   the same in English
citation       document and article (e.g. 水污染防治法第六十五条)
judgement      ``true`` where no clause squarely decides it (mark J in docs/legal-basis.md)
zone_code      optional column: the official code of one zone (e.g. a control
               unit's ``ZH21021320001``, the zone's ``zone_code``); blank or
               absent = any zone of the class
=============  ==============================================================

Which rule applies: among the rules that match a site's zone, type, relation,
land use and NMP flag, the most specific wins (a ``zone_code`` beats all, then an
``nmp`` value beats ``*``, then a ``land_use`` value, then a type list, then a
named zone class); among equally specific rules the most severe. A ``cuts`` or
``along`` rule applies to those findings only and beats every ``in`` rule there;
where none matches, such a finding takes the zone's ``in`` rule. A rule with a
``zone_code`` applies to that zone only (a unit's own 准入清单 line); tables
without the column work as before. An NMP row must list its types, so it
relaxes a prohibition only for the types the table names.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RuleError
from ..network.graph import network_config
from ..text import VERDICT_ORDER, project_types, resolve_type
from .relations import NETWORK

__all__ = ["Rule", "RuleTable", "read_rules", "layerset_rules", "rules_of", "SEVERITY", "LAND_USES"]

#: verdict -> severity (higher is more severe); unknown is handled apart
SEVERITY = {v: len(VERDICT_ORDER) - i for i, v in enumerate(VERDICT_ORDER)}
#: a site's land use: it occupies the land, or crosses it without taking any (a bridge, an overhead line)
LAND_USES = ("occupy", "cross")
#: the relations a rule may name
RELATIONS = ("in", "near", *NETWORK)
COLUMNS = ["rule_id", "layer", "zone_class", "types", "relation", "distance_m", "land_use", "nmp",
           "verdict", "condition_zh", "condition_en", "citation", "judgement"]
#: columns a table may have (blank or absent: any zone)
OPTIONAL_COLUMNS = ["zone_code"]


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
    zone_code: str = ""  # "" = any zone of the class

    @property
    def specificity(self) -> int:
        return ((32 if self.relation in NETWORK else 0) + (16 if self.zone_code else 0) + (8 if self.nmp != "*" else 0)
                + (4 if self.land_use != "*" else 0) + (2 if self.types else 0) + (1 if self.zone_class != "*" else 0))

    def matches(self, zone_class: str, project_type: str | None, relation: str, land_use: str, nmp: bool,
                zone_code: str = "") -> bool:
        # a site in the zone is also within any distance of it: "near" rules apply to it too
        if self.zone_class not in ("*", zone_class) or (relation == "near" and self.relation != "near"):
            return False
        if self.relation in NETWORK and self.relation != relation:  # a cuts/along rule: those findings only
            return False
        if self.zone_code and self.zone_code != zone_code:
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
        #: layer id -> the zone codes its rules name
        self.codes: dict[str, set] = {}
        for r in rules:
            self.by_layer.setdefault(r.layer, []).append(r)
            if r.zone_code:
                self.codes.setdefault(r.layer, set()).add(r.zone_code)
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

    def code_key(self, layer: str, zone_code) -> str:
        """``zone_code`` when a rule of ``layer`` names it, else "" (zones whose rules are those of their class)."""
        code = "" if zone_code is None or zone_code != zone_code else str(zone_code)
        return code if code in self.codes.get(layer, ()) else ""

    def applicable(self, layer: str, zone_class: str, project_type: str | None, relation: str,
                   land_use: str = "occupy", nmp: bool = False, distance_m: float = 0.0,
                   zone_code: str = "") -> Rule | None:
        """The rule that applies to one site–zone relation (the zone's class and official code), or None."""
        best = None
        for r in self.by_layer.get(layer, ()):
            if not r.matches(zone_class, project_type, relation, land_use, nmp, zone_code):
                continue
            if relation == "near" and distance_m > r.distance_m:
                continue
            key = (r.specificity, SEVERITY[r.verdict])
            if best is None or key > (best.specificity, SEVERITY[best.verdict]):
                best = r
        return best

    def zone_requirement(self, layer: str, zone_class: str, zone_code: str = "") -> Rule | None:
        """The general rule of a zone (all types, ``in``): its control requirement for maps and exports."""
        cands = [r for r in self.by_layer.get(layer, ()) if r.relation == "in" and r.types is None
                 and r.zone_class in (zone_class, "*") and r.nmp == "*" and r.land_use == "*"
                 and r.zone_code in ("", zone_code)]
        if not cands:
            return None
        return max(cands, key=lambda r: (bool(r.zone_code), r.zone_class == zone_class, SEVERITY[r.verdict]))


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
        columns = COLUMNS + [c for c in OPTIONAL_COLUMNS if c in reader.fieldnames]
        rules, seen = [], set()
        for i, raw in enumerate(reader, start=2):
            where = {"path": path, "row": i}
            if None in raw or any(raw.get(c) is None for c in columns):
                raise RuleError(f"row has {len(raw) - (None in raw)} of {len(columns)} fields", **where,
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
            if relation not in RELATIONS:
                raise RuleError(f"unknown relation {relation!r} / 未知关系 {relation!r}", **where, column="relation",
                                hint="use in, near, cuts or along / 填写 in、near、cuts 或 along")
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
                judgement=(row["judgement"] or "").strip().lower() in ("true", "1", "yes", "j"),
                zone_code=(row.get("zone_code") or "").strip()))
    return RuleTable(rules)


def layerset_rules(ls) -> RuleTable:
    """The rule table a layer set declares (``[layerset] rules``), checked against its layers."""
    name = ls.info.get("rules", "rules.csv")
    layers = {s.id: set(s.classes) for s in ls.manifest["layers"]}
    table = read_rules(Path(ls.root) / name, layers)
    _check_codes(table, ls, Path(ls.root) / name)
    _check_network(table, ls, Path(ls.root) / name)
    return table


def _check_network(table: RuleTable, ls, path: Path) -> None:
    """Refuse a ``cuts``/``along`` rule on a layer that is not a corridor layer of ``[network]``: it would never apply."""
    rows = [(row, r) for row, r in enumerate(table.rules, start=2) if r.relation in NETWORK]
    if not rows:
        return
    conf = network_config(ls)
    links = conf.links if conf is not None else ()
    for row, r in rows:
        if r.layer not in links:
            raise RuleError(f"关系 {r.relation} 只适用于 [network] links 中的廊道图层，图层 {r.layer} 不在其中，此规则永不适用 / "
                            f"relation {r.relation} applies to the corridor layers of [network] links only; "
                            f"{r.layer} is not one, so the rule would never apply", path=path, row=row, column="relation",
                            hint=f"用于 {', '.join(links)} 或改用 in / use it on {', '.join(links)}, or use in" if links
                            else "图层集没有 [network]，改用 in / the layer set has no [network]: use in")


def _check_codes(table: RuleTable, ls, path: Path) -> None:
    """Refuse a rule whose ``zone_code`` names no zone of its layer (of its class): it would never apply."""
    for row, r in enumerate(table.rules, start=2):
        if not r.zone_code:
            continue
        zones = ls.layer(r.layer)
        codes = zones["zone_code"].astype(str) if "zone_code" in zones else zones.iloc[:0, 0]
        classes = set(zones.loc[codes == r.zone_code, "zone_class"])
        if not classes:
            raise RuleError(f"图层 {r.layer} 中没有编码为 {r.zone_code} 的区域，此规则永不适用 / zone_code "
                            f"{r.zone_code!r} matches no zone of layer {r.layer}, so the rule would never apply",
                            path=path, row=row, column="zone_code",
                            hint="核对编码或留空 / check the code against the layer's zone_code, or leave it blank")
        if r.zone_class != "*" and r.zone_class not in classes:
            have = ", ".join(sorted(map(str, classes)))
            raise RuleError(f"区域 {r.zone_code} 的类别是 {have}，不是 {r.zone_class} / zone {r.zone_code} of layer "
                            f"{r.layer} is of class {have}, not {r.zone_class}", path=path, row=row, column="zone_class",
                            hint="填写该区域的类别或 * / write the zone's class or *")


def rules_of(ls) -> RuleTable:
    """The layer set's rule table as the check uses it: read once per layer set object (``ls._rule_table``)."""
    if ls._rule_table is None:
        ls._rule_table = layerset_rules(ls)
    return ls._rule_table
