"""Validation of a built layer set: geometry, CRS, coverage, ids, counts and the plan's logic.

Control units (layers of family ``control_units``, or ids in :data:`UNIT_LAYERS`)
must partition the land study area (三线一单, docs/legal-basis.md §6.2): within one
layer, no two units overlap and no land is left without a unit. Each overlap or
gap piece of :data:`PARTITION_KM2` or more is an error naming its area, its place
(lon/lat in EPSG:4490) and the units involved; smaller pieces are slivers (common
where units were digitised by hand) and give one warning with their count and
total; pieces nowhere wider than :data:`NOISE_WIDTH_M` are the rounding of
reprojection and are not reported.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import EcozoneError
from .builders.coast import coast_lines
from .manifest import REQUIRED_COLUMNS
from .read import LayerSet

__all__ = ["Finding", "validate_layerset", "format_findings", "is_unit_layer", "UNIT_LAYERS", "PARTITION_KM2"]

TOL_M = 1.0  # metres (lengths) or square metres (areas)
#: control-unit layers by id (besides any layer of family ``control_units``)
UNIT_LAYERS = ("control_units", "water_control_units", "air_control_units")
#: an overlap or gap piece of this area or more breaks the partition (error); smaller ones are slivers (warning)
PARTITION_KM2 = 0.01
#: pieces nowhere wider than this (they vanish when shrunk by half of it) are reprojection noise
NOISE_WIDTH_M = 1.0
#: pieces named in a message, at most
LISTED = 10


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | ok
    layer: str
    check: str
    message: str


def _check_layers(ls: LayerSet, out: list):
    seen_ids: dict = {}
    cover = ls.coverage.buffer(TOL_M)
    for spec in ls.manifest["layers"]:
        gdf = ls.layer(spec.id)
        if gdf.crs is None or not gdf.crs.equals(ls.storage_crs):
            out.append(Finding("error", spec.id, "crs", f"CRS {gdf.crs} is not the declared {ls.info['storage_crs']}"))
        missing = [c for c in REQUIRED_COLUMNS if c not in gdf.columns]
        if missing:
            out.append(Finding("error", spec.id, "attributes", f"missing columns {missing}"))
        else:
            blank = gdf[REQUIRED_COLUMNS].isna().any(axis=1) | (gdf[REQUIRED_COLUMNS].astype(str) == "").any(axis=1)
            if blank.any():
                out.append(Finding("error", spec.id, "attributes",
                                   f"{int(blank.sum())} feature(s) with empty required attributes: "
                                   f"{', '.join(gdf.loc[blank, 'zone_id'].astype(str)[:5])}"))
        bad = ~gdf.geometry.is_valid
        if bad.any():
            out.append(Finding("error", spec.id, "geometry", f"invalid geometry: {', '.join(gdf.loc[bad, 'zone_id'][:5])}"))
        m = ls.measured(spec.id)
        outside = ~m.geometry.covered_by(cover)
        if outside.any():
            out.append(Finding("error", spec.id, "coverage",
                               f"outside the coverage: {', '.join(m.loc[outside, 'zone_id'][:5])}"))
        for zid in gdf.get("zone_id", []):
            if zid in seen_ids:
                out.append(Finding("error", spec.id, "zone_id", f"zone_id {zid} also in {seen_ids[zid]}"))
            seen_ids[zid] = spec.id
        unknown = set(gdf["zone_class"]) - set(spec.classes)
        if unknown:
            out.append(Finding("error", spec.id, "classes", f"undeclared classes {sorted(unknown)}"))
        for zone_class, expected in spec.expect_count.items():
            n = int((gdf["zone_class"] == zone_class).sum())
            sev = "ok" if n == expected else "error"
            out.append(Finding(sev, spec.id, "count", f"{zone_class}: {n} features (declared {expected})"))


def _check_water(ls: LayerSet, lid: str, out: list):
    m = ls.measured(lid)
    levels = ["L1", "L2", "quasi"]
    geoms = list(zip(m["zone_id"], m["zone_class"], m.geometry))
    overlaps = []
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            a = shapely.intersection(geoms[i][2], geoms[j][2]).area
            if a > TOL_M:
                overlaps.append(f"{geoms[i][0]}~{geoms[j][0]} {a:.1f} m²")
    out.append(Finding("error" if overlaps else "ok", lid, "disjoint",
                       "zones overlap: " + "; ".join(overlaps[:5]) if overlaps else "all zones pairwise disjoint"))
    land = ls.coverage
    by_level = {lv: shapely.union_all(m.loc[m["zone_class"] == lv].geometry.values) for lv in levels}
    gaps = []
    for k in range(len(levels) - 1):
        inner = shapely.union_all([by_level[lv] for lv in levels[: k + 1]])
        outer = shapely.union_all([by_level[lv] for lv in levels[: k + 2]])
        ring = shapely.intersection(inner.buffer(10.0), land)
        gap = shapely.difference(ring, outer).area
        if gap > TOL_M:
            gaps.append(f"{levels[k + 1]} does not surround {levels[k]} ({gap:.1f} m² uncovered)")
    out.append(Finding("error" if gaps else "ok", lid, "nested", "; ".join(gaps) if gaps else "L1 ⊂ L2 ring ⊂ quasi ring"))


def _check_coastline(ls: LayerSet, lid: str, out: list):
    spec = ls.specs[lid]
    m = ls.measured(lid)
    land = ls.measured(ls.manifest.get("coverage", {}).get("land_layer", "study_area")).union_all()
    other = shapely.Polygon()
    if "neighbours" in ls.manifest.get("sources", {}):
        from .builders.context import BuildContext

        ctx = BuildContext(root=ls.root, sources=ls.manifest["sources"], measure_crs=ls.measure_crs)
        other = ctx.other_land
    coast = shapely.union_all(coast_lines(land, other, spec.params.get("shared_tolerance_m", 100.0)))
    segs = shapely.union_all(m.geometry.values)
    overlap = m.geometry.length.sum() - segs.length
    gap = shapely.difference(coast, segs.buffer(0.01)).length
    extra = shapely.difference(segs, coast.buffer(0.01)).length
    ok = overlap <= TOL_M and gap <= TOL_M and extra <= TOL_M
    out.append(Finding("ok" if ok else "error", lid, "partition",
                       f"classes partition the coastline: gap {gap:.2f} m, overlap {overlap:.2f} m, "
                       f"off-coast {extra:.2f} m ({coast.length / 1e3:.1f} km)"))


def _check_contains(ls: LayerSet, lid: str, parts, out: list):
    """Zones the layer must hold (a composed red line's parts, or a declared ``contains``): what lies outside."""
    outer = ls.measured(lid).union_all()
    shapely.prepare(outer)
    for part in parts:
        g = ls.measured(part["layer"])
        if part.get("classes"):
            g = g[g["zone_class"].isin(part["classes"])]
        if part.get("name_contains"):
            g = g[g["name_zh"].str.contains(part["name_contains"], regex=False)]
        left = shapely.area(shapely.difference(g.geometry.values, outer)) if len(g) else []
        bad = [(name, a) for name, a in zip(g["name_zh"], left) if a > TOL_M]
        what = f"{part['layer']}:{'|'.join(part.get('classes', [])) or part.get('name_contains', '')}"
        title = ls.specs[lid].title_zh
        if not bad:
            out.append(Finding("ok", lid, "contains", f"{what} inside {title}"))
            continue
        places = "; ".join(f"{name} {a / 1e6:.3f} km²" for name, a in bad[:10]) + (" …" if len(bad) > 10 else "")
        out.append(Finding("error", lid, "contains", f"{what} not inside {title}: {sum(a for _, a in bad) / 1e6:.3f} km² "
                                                     f"outside, in {len(bad)} zone(s): {places}"))


def _unit_labels(m: gpd.GeoDataFrame) -> np.ndarray:
    """Each unit as a message names it: its official code (its zone_id when it has none) and its name."""
    codes = m["zone_code"].fillna("").astype(str).str.strip() if "zone_code" in m else pd.Series("", index=m.index)
    ids = codes.where(codes != "", m["zone_id"].astype(str))
    return np.array([f"{c} {n}" for c, n in zip(ids, m["name_zh"].astype(str))], dtype=object)


def _polygon_parts(geoms) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of each geometry (collections and multi-polygons taken apart), and the index of their geometry."""
    parts, idx = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    sub, sub_idx = shapely.get_parts(parts, return_index=True)  # a collection may hold multi-polygons
    parts, idx = sub, idx[sub_idx]
    keep = (shapely.get_dimensions(parts) == 2) & ~shapely.is_empty(parts)
    return parts[keep], idx[keep]


def _places(pieces, crs) -> list[str]:
    """Each piece's representative point as lon,lat in EPSG:4490 (5 decimals)."""
    pts = gpd.GeoSeries(shapely.point_on_surface(pieces), crs=crs).to_crs("EPSG:4490")
    return [f"{p.x:.5f},{p.y:.5f}" for p in pts]


def _partition_findings(lid: str, check: str, what: tuple, pieces, involved: list, crs) -> list[Finding]:
    """Pieces (overlaps or gaps) as findings: an error listing the large ones, a warning counting the slivers."""
    out = []
    area = shapely.area(pieces)
    big = area >= PARTITION_KM2 * 1e6
    small = ~big & ~shapely.is_empty(shapely.buffer(pieces, -NOISE_WIDTH_M / 2))
    zh, en = what
    if big.any():
        order = np.flatnonzero(big)[np.argsort(-area[big], kind="stable")]
        places = _places(pieces[order[:LISTED]], crs)
        listed = "; ".join(f"{area[k] / 1e6:.3f} km² @ {p} ({involved[k]})" for k, p in zip(order, places))
        out.append(Finding("error", lid, check, f"{zh} / {en}: {len(order)} piece(s), {area[big].sum() / 1e6:.3f} km² "
                                                f"(lon,lat EPSG:4490): {listed}{' …' if len(order) > LISTED else ''}"))
    if small.any():
        k = np.flatnonzero(small)[np.argmax(area[small])]
        out.append(Finding("warning", lid, check,
                           f"{zh}碎片 / sliver {en}: {int(small.sum())} piece(s) under {PARTITION_KM2} km², "
                           f"{area[small].sum() / 1e6:.4f} km² in total; largest {area[k] / 1e6:.4f} km² @ "
                           f"{_places(pieces[[k]], crs)[0]} ({involved[k]})"))
    return out


def _check_units(ls: LayerSet, lid: str, out: list):
    """A control-unit layer partitions the land: no two units overlap, no land is left without a unit."""
    m = ls.measured(lid)
    if not len(m):
        return
    g, labels = m.geometry.values, _unit_labels(m)
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="intersects")
    i, j = i[i < j], j[i < j]
    pieces, k = _polygon_parts(shapely.intersection(g[i], g[j]))
    found = _partition_findings(lid, "overlap", ("单元重叠", "units overlap"), pieces,
                                [f"{labels[a]} ∩ {labels[b]}" for a, b in zip(i[k], j[k])], ls.measure_crs)
    out.extend(found or [Finding("ok", lid, "overlap", "单元互不重叠 / no two units overlap")])
    land = ls.measured(ls.manifest.get("coverage", {}).get("land_layer", "study_area")).union_all()
    gaps, _ = _polygon_parts([shapely.difference(land, shapely.union_all(g))])
    p, u = tree.query(gaps, predicate="intersects")  # the units around each gap
    near = [labels[u[p == n]] for n in range(len(gaps))]
    involved = [", ".join(x[:3]) + (" …" if len(x) > 3 else "") if len(x) else "no unit 无相邻单元" for x in near]
    found = _partition_findings(lid, "gap", ("陆域无单元", "land without a unit"), gaps, involved, ls.measure_crs)
    out.extend(found or [Finding("ok", lid, "gap", "单元覆盖全部陆域 / the units cover all the land")])


def _check_requirements(ls: LayerSet, out: list):
    """The 准入清单's own findings (units without a list row, rows without a unit), when the layer set has one."""
    try:
        from .requirements import requirement_problems
    except ImportError:  # the requirements module is optional to validate
        return
    layer = ls.manifest.get("requirements", {}).get("layer", "*")
    try:
        problems = requirement_problems(ls)
    except EcozoneError as exc:  # an unreadable list is a validation error, reported as a finding
        out.append(Finding("error", layer, "requirements", str(exc)))
        return
    for severity, message in problems:
        out.append(Finding(severity if severity in ("error", "warning", "ok") else "warning", layer, "requirements",
                           message))


def is_unit_layer(spec) -> bool:
    """Whether a layer holds control units (family ``control_units`` or an id of :data:`UNIT_LAYERS`)."""
    return spec.family == "control_units" or spec.id in UNIT_LAYERS


def validate_layerset(ls: LayerSet) -> list[Finding]:
    """Run every check; returns findings (severity ``error``, ``warning`` or ``ok``)."""
    out: list[Finding] = []
    _check_layers(ls, out)
    for spec in ls.manifest["layers"]:
        if spec.builder == "reservoir_zones":
            _check_water(ls, spec.id, out)
        elif spec.builder == "coastline":
            _check_coastline(ls, spec.id, out)
        parts = [*(spec.params.get("parts", []) if spec.builder == "compose" else []), *spec.contains]
        if parts:  # what a composed layer is made of, and what the manifest says a layer holds
            _check_contains(ls, spec.id, parts, out)
        if is_unit_layer(spec) and spec.geometry == "polygon":
            _check_units(ls, spec.id, out)
    _check_requirements(ls, out)
    try:
        from ..check.rules import layerset_rules

        n = len(layerset_rules(ls))
        out.append(Finding("ok", "*", "rules", f"rule table loads: {n} rules"))
    except Exception as exc:  # a broken rule table is a validation error, reported as a finding
        out.append(Finding("error", "*", "rules", str(exc)))
    if not any(f.severity == "error" for f in out):
        out.append(Finding("ok", "*", "summary", "no errors"))
    return out


def format_findings(findings: list[Finding]) -> str:
    """Findings as an aligned text table, errors first."""
    order = {"error": 0, "warning": 1, "ok": 2}
    rows = sorted(findings, key=lambda f: order[f.severity])
    width = max((len(f.layer) for f in rows), default=5)
    lines = [f"{'severity':8}  {'layer':{width}}  {'check':10}  message"]
    lines += [f"{f.severity:8}  {f.layer:{width}}  {f.check:10}  {f.message}" for f in rows]
    n_err = sum(f.severity == "error" for f in rows)
    lines.append(f"{n_err} error(s), {sum(f.severity == 'warning' for f in rows)} warning(s)")
    return "\n".join(lines)
