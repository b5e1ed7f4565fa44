"""Validation of a built layer set: geometry, CRS, coverage, ids, counts and the plan's logic."""
from __future__ import annotations

from dataclasses import dataclass

import shapely

from .builders.coast import coast_lines
from .manifest import REQUIRED_COLUMNS
from .read import LayerSet

__all__ = ["Finding", "validate_layerset", "format_findings"]

TOL_M = 1.0  # metres (lengths) or square metres (areas)


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
