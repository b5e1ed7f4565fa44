"""Zones drawn from named places: circles of a given area, corridors of a given width."""
from __future__ import annotations

import math

import geopandas as gpd
import shapely
from shapely.geometry import LineString
from shapely.ops import nearest_points

from ...errors import LayerSetError

QUAD_SEGS = 16


def circle_of_area(center, area_m2: float):
    """A disc around ``center`` whose polygon has exactly ``area_m2`` (inscribed-polygon corrected)."""
    n = 4 * QUAD_SEGS
    # area of a regular n-gon with circumradius r is n/2 r^2 sin(2π/n)
    r = math.sqrt(2.0 * area_m2 / (n * math.sin(2.0 * math.pi / n)))
    return center.buffer(r, quad_segs=QUAD_SEGS)


def corridor(line, width_m: float, *, cap: str = "flat"):
    """A band of ``width_m`` centred on ``line`` (half the width each side).

    Rule: corridor widths are layer-set parameters; docs/legal-basis.md §8.4 (朱强 et al.
    2005; no national standard fixes them).
    """
    if width_m <= 0:
        raise LayerSetError(f"corridor width must be positive, got {width_m}", hint="give width_m > 0 in the manifest")
    return line.buffer(width_m / 2.0, quad_segs=QUAD_SEGS, cap_style=cap, join_style="round")


def study_area(ctx, *, source: str, name_zh: str, name_en: str, zone_class: str = "land", code: str = ""):
    """The land study area: the administrative polygon of the district, dissolved."""
    gdf = ctx.source(source)
    geom = shapely.make_valid(shapely.union_all(gdf.geometry.values))
    return gpd.GeoDataFrame([{"zone_class": zone_class, "name_zh": name_zh, "name_en": name_en,
                              "admin_code": code, "geometry": geom}], crs=ctx.measure_crs)


def _line(ctx, spec):
    if "river" in spec:
        line = ctx.river(spec["river"])
    else:
        pts = [ctx.place(p) for p in spec["points"]]
        line = LineString([(p.x, p.y) for p in pts]) if len(pts) > 1 else None
        if "to_nearest" in spec:
            target = ctx.union(spec["to_nearest"], spec.get("to_classes"))
            start = pts[-1]
            if target.contains(start):
                target = target.boundary
            end = nearest_points(start, target)[1]
            coords = list(line.coords) if line is not None else [(start.x, start.y)]
            line = LineString(coords + [(end.x, end.y)])
    if line is None or line.length == 0:
        raise LayerSetError(f"feature {spec.get('name_en')!r} has no line", hint="give 2+ points or to_nearest")
    return line


def _islands(ctx, spec):
    parts = [p for p in getattr(ctx.land, "geoms", [ctx.land])]
    main = max(parts, key=lambda p: p.area)
    found = []
    for pid in spec["places"]:
        pt = ctx.place(pid)
        cands = [p for p in parts if p is not main]
        best = min(cands, key=lambda p: p.distance(pt))
        if best.distance(pt) > spec.get("max_snap_m", 3000):
            raise LayerSetError(f"no island within {spec.get('max_snap_m', 3000)} m of place {pid}",
                                hint="check the place or raise max_snap_m")
        found.append(best)
    geom = shapely.union_all(found)
    if spec.get("buffer_m"):
        geom = shapely.union(geom, shapely.difference(geom.buffer(spec["buffer_m"]), ctx.sea))
    return geom


def _shape(ctx, spec):
    kind = spec.get("shape")
    if kind == "circle":
        discs = []
        for pid in spec.get("places", [spec.get("place")]):
            center = ctx.place(pid)
            if "area_km2" in spec:
                discs.append(circle_of_area(center, spec["area_km2"] * 1e6))
            else:
                discs.append(center.buffer(spec["radius_m"], quad_segs=QUAD_SEGS))
        return shapely.union_all(discs)
    if kind == "line":
        return corridor(_line(ctx, spec), spec["width_m"], cap=spec.get("cap", "flat"))
    if kind == "islands":
        return _islands(ctx, spec)
    if kind == "layer":
        geom = ctx.union(spec["layer"], spec.get("classes"), spec.get("name_contains"))
        return geom.buffer(spec["buffer_m"]) if spec.get("buffer_m") else geom
    raise LayerSetError(f"shape {kind!r} unknown", hint="use circle, line, islands or layer")


def shapes(ctx, *, features: list, clip: str = "land", zone_class: str | None = None, subtract: list | None = None):
    """Zones drawn from named places, one feature per spec.

    Each spec has ``name_zh``, ``name_en``, optional ``zone_class``, ``code`` (the official
    ``zone_code``) and ``attrs``, and a
    ``shape``: ``circle`` (``place`` or ``places`` + ``area_km2`` or ``radius_m`` each), ``line``
    (``points`` or ``river``, optional ``to_nearest`` layer, ``width_m``), ``islands``
    (``places``, optional seaward ``buffer_m``) or ``layer`` (another layer's
    ``classes``, optional ``buffer_m``). ``clip`` (``land``/``sea``/``none``, per
    feature or for all) keeps the part where the zone applies; ``subtract`` lists
    layer ids whose area is removed (to keep zones disjoint).
    """
    rows = []
    minus = shapely.union_all([ctx.union(lid) for lid in (subtract or [])]) if subtract else None
    for spec in features:
        geom = ctx.clip(_shape(ctx, spec), spec.get("clip", clip))
        if minus is not None:
            geom = shapely.difference(geom, minus)
        if geom.is_empty:
            raise LayerSetError(f"feature {spec.get('name_en')!r} is empty after clipping",
                                hint="check its place and clip")
        row = {"zone_class": spec.get("zone_class", zone_class), "name_zh": spec["name_zh"],
               "name_en": spec["name_en"], "geometry": geom}
        if spec.get("code"):
            row["zone_code"] = spec["code"]
        if spec.get("width_m"):
            row["width_m"] = float(spec["width_m"])
        row.update(spec.get("attrs", {}))
        rows.append(row)
    return gpd.GeoDataFrame(rows, crs=ctx.measure_crs)


def from_source(ctx, *, source: str, zone_class: str | None = None, class_field: str | None = None,
                class_map: dict | None = None, name_zh_field: str = "name_zh", name_en_field: str | None = None,
                code_field: str | None = None, keep: list | None = None, clip: str = "none"):
    """Zones taken as they are from a source file (official boundaries, survey data).

    The class is ``zone_class`` for all features, or read from ``class_field``
    (mapped through ``class_map`` when given); names come from ``name_zh_field``
    and ``name_en_field``; the official code (``zone_code``, e.g. ``HJZHGKDYBM``
    of a control unit) from ``code_field``; ``keep`` lists other attributes to carry over.
    """
    gdf = ctx.source(source)
    fields = [c for c in gdf.columns if c != "geometry"]
    for what, field in (("class_field", class_field), ("name_zh_field", name_zh_field), ("name_en_field", name_en_field),
                        ("code_field", code_field), *(("keep", k) for k in keep or [])):
        if field and field not in gdf.columns and not (what == "name_zh_field" and field == "name_zh"):
            raise LayerSetError(f"source {source!r} has no field {field!r} ({what}); its fields: {', '.join(fields)}",
                                hint="check the field name; garbled Chinese names mean a GBK file read as UTF-8 "
                                     "(add a .cpg with GBK or set the source's encoding)")
    rows = []
    for i, rec in enumerate(gdf.itertuples(index=False)):
        rec = rec._asdict()
        if class_field:
            value = rec.get(class_field)
            cls = (class_map or {}).get(str(value), value) if class_map is not None or value is not None else None
        else:
            cls = zone_class
        name_zh = str(rec.get(name_zh_field) or f"{source} {i + 1}")
        name_en = str(rec.get(name_en_field) or name_zh) if name_en_field else name_zh
        geom = ctx.clip(rec["geometry"], clip)
        if geom.is_empty:
            continue
        row = {"zone_class": cls, "name_zh": name_zh, "name_en": name_en, "geometry": geom}
        if code_field:
            row["zone_code"] = rec.get(code_field)
        for k in keep or []:
            row[k] = rec.get(k)
        rows.append(row)
    if not rows:
        raise LayerSetError(f"source {source!r} gave no features", hint="check the file and the clip")
    return gpd.GeoDataFrame(rows, crs=ctx.measure_crs)
