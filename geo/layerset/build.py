"""Assemble a layer set from its manifest into one GeoPackage."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .. import __version__
from .builders import BUILDERS, BuildContext
from ..errors import LayerSetError, LayerSetWarning
from .manifest import COVERAGE_TABLE, META_TABLE, read_manifest, source_hash

log = logging.getLogger(__name__)

__all__ = ["BUILD_FORMAT", "assemble", "coverage_of", "default_build_path", "read_meta", "write_meta", "zone_codes"]

_DIM = {"polygon": 2, "line": 1, "point": 0}
#: the layout of a build's tables; a build of another format is stale (2: every feature has ``zone_code``)
BUILD_FORMAT = 2


def zone_codes(values) -> list:
    """Official zone codes as stripped text ("" for none; a whole number stored as a real loses its ``.0``)."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            out.append("")
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip())
    return out


def keep_dimension(geom, dim: int):
    """Keep only the parts of ``geom`` of dimension ``dim`` (drops slivers of lower dimension)."""
    if geom is None or geom.is_empty:
        return geom
    parts = shapely.get_parts(geom)
    parts = [p for p in parts if shapely.get_dimensions(p) == dim and not p.is_empty]
    if not parts:
        return shapely.GeometryCollection()
    if dim == 1:
        return shapely.line_merge(shapely.MultiLineString(parts)) if len(parts) > 1 else parts[0]
    return shapely.union_all(parts)


def coverage_of(ctx: BuildContext, sea_m: float) -> shapely.Geometry:
    """The set's coverage: its land plus the sea within ``sea_m`` of it (not a neighbour's land)."""
    land = ctx.land
    if sea_m <= 0:
        return land
    sea = shapely.difference(land.buffer(sea_m, quad_segs=8), ctx.other_land)
    return shapely.union(land, sea)


def _feature_params(layer_params: dict, name_zh: str) -> str:
    out = {k: v for k, v in layer_params.items() if not isinstance(v, (list, dict))}
    for v in layer_params.values():
        if isinstance(v, list):
            for item in v:
                if isinstance(item, dict) and item.get("name_zh") and str(name_zh).startswith(item["name_zh"]):
                    out.update(item)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def clip_to(geoms, coverage) -> list:
    """``intersection(g, coverage)`` of each geometry.

    A feature the coverage holds properly inside is intersected with a box
    around it instead: the same overlay of the feature's own edges (the result is
    identical), without walking the coverage's possibly long boundary each time.
    """
    geoms = np.asarray(list(geoms), dtype=object)
    out = np.empty(len(geoms), dtype=object)
    if not len(geoms):
        return []
    shapely.prepare(coverage)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    inside = np.zeros(len(geoms), dtype=bool)
    inside[ok] = shapely.contains_properly(coverage, geoms[ok])
    for i, g in enumerate(geoms):
        if inside[i]:
            xmin, ymin, xmax, ymax = g.bounds
            w = max(xmax - xmin, ymax - ymin, 1.0)
            out[i] = shapely.intersection(g, shapely.box(xmin - w, ymin - w, xmax + w, ymax + w))
        else:
            out[i] = shapely.intersection(g, coverage)
    return list(out)


#: builders whose features come from files as they are (official data): what the build changes is a warning
FROM_FILES = {"from_source"}
#: a clip is reported when a feature loses more than this share of its area or length to the coverage
CLIP_SHARE = 0.001


def _size(geoms, dim: int) -> np.ndarray:
    return shapely.area(geoms) if dim == 2 else shapely.length(geoms) if dim == 1 else np.zeros(len(geoms))


def _report(spec, names, what: str, items: list) -> None:
    """One line naming the features a build repaired, clipped or dropped: a warning for data from files."""
    if not items:
        return
    text = f"layer {spec.id}: {len(items)} feature(s) {what}: " + "; ".join(f"{names[i]}{extra}" for i, extra in items[:20])
    if len(items) > 20:
        text += f"; … {len(items) - 20} more"
    if spec.builder in FROM_FILES:
        warnings.warn(text, LayerSetWarning, stacklevel=3)
    else:  # generated zones are cut to the coverage by design (a circle of area at the coast)
        log.info(text)


def _finish(spec, gdf: gpd.GeoDataFrame, coverage) -> gpd.GeoDataFrame:
    dim = _DIM[spec.geometry]
    source = np.asarray(gdf.geometry.values, dtype=object)
    names = [str(n) for n in (gdf["name_zh"] if "name_zh" in gdf else range(1, len(gdf) + 1))]
    invalid = np.flatnonzero(~shapely.is_valid(source) & ~shapely.is_missing(source))
    repaired = np.array([keep_dimension(shapely.make_valid(g), dim) for g in source], dtype=object)
    _report(spec, names, "repaired (invalid geometry: " + ", ".join(sorted({shapely.is_valid_reason(source[i]).split("[")[0]
                                                                           for i in invalid})) + ")",
            [(i, "") for i in invalid])
    geoms = np.array([keep_dimension(shapely.make_valid(g), dim) for g in clip_to(gdf.geometry, coverage)], dtype=object)
    before, after = _size(repaired, dim), _size(geoms, dim)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    unit, scale = ("km²", 1e6) if dim == 2 else ("km", 1e3)
    _report(spec, names, "outside the coverage, dropped", [(i, f" ({before[i] / scale:.3f} {unit})" if dim else "")
                                                          for i in np.flatnonzero(empty)])
    cut = np.flatnonzero(~empty & (before - after > CLIP_SHARE * before))
    _report(spec, names, "clipped to the coverage", [(i, f" (−{(before[i] - after[i]) / scale:.3f} {unit}, "
                                                        f"{100 * (before[i] - after[i]) / before[i]:.1f} %)") for i in cut])
    gdf = gdf.set_geometry(list(geoms))
    if empty.any():
        gdf = gdf[~empty]
    gdf = gdf.reset_index(drop=True)
    unknown = set(gdf["zone_class"]) - set(spec.classes)
    if unknown:
        shown = sorted(map(repr, unknown))[:10]
        raise LayerSetError(f"layer {spec.id}: classes {', '.join(shown)} are not declared (declared: "
                            f"{', '.join(spec.classes)})",
                            hint="declare them under the layer's classes, or map the source's values with class_map")
    codes = zone_codes(gdf.pop("zone_code") if "zone_code" in gdf else [None] * len(gdf))
    gdf.insert(0, "zone_id", [f"{spec.id}-{i + 1:02d}" for i in range(len(gdf))])
    gdf.insert(1, "zone_code", pd.Series(codes, index=gdf.index, dtype=object))
    gdf.insert(2, "layer", spec.id)
    gdf["class_zh"] = gdf["zone_class"].map(lambda c: spec.classes[c]["zh"])
    gdf["class_en"] = gdf["zone_class"].map(lambda c: spec.classes[c]["en"])
    gdf["control"] = gdf["zone_class"].map(lambda c: spec.classes[c]["control"])
    gdf["clause"] = spec.clause
    gdf["params"] = [_feature_params(spec.params, n) for n in gdf["name_zh"]]
    if dim == 2:
        gdf["area_km2"] = (gdf.geometry.area / 1e6).round(4)
    elif dim == 1:
        gdf["length_km"] = (gdf.geometry.length / 1e3).round(4)
    return gdf


def assemble(root, *, out=None) -> Path:
    """Build every layer of a layer set and write them to one GeoPackage.

    Parameters
    ----------
    root : the layer-set folder.
    out : the GeoPackage to write (default ``<root>/build/<name>.gpkg``); written
        to a temporary file beside it and renamed, so a failed build leaves the
        previous one intact.

    Returns
    -------
    The path written.
    """
    root = Path(root)
    manifest = read_manifest(root)
    info = manifest["layerset"]
    out = Path(out) if out else default_build_path(root)
    ctx = BuildContext(root=root, sources=manifest.get("sources", {}), measure_crs=info["measure_crs"],
                       land_layer=manifest.get("coverage", {}).get("land_layer", "study_area"))
    if ctx.land_layer not in {s.id for s in manifest["layers"]}:
        raise LayerSetError(f"没有研究范围图层 / no study-area layer {ctx.land_layer!r} in the manifest",
                            path=root / "manifest.toml",
                            hint="添加行政区边界 / add the district boundary: ecozone add DIR 行政区.shp --layer study_area")
    coverage = None
    frames = {}
    for spec in manifest["layers"]:
        try:
            builder = BUILDERS[spec.builder]
        except KeyError:
            raise LayerSetError(f"layer {spec.id}: builder {spec.builder!r} unknown", path=root / "manifest.toml",
                                hint=f"use one of {', '.join(sorted(BUILDERS))}") from None
        try:
            gdf = builder(ctx, **spec.params)
        except LayerSetError as exc:  # a value the builder refuses: say which layer
            raise LayerSetError(f"layer {spec.id}: {exc.message}", path=root / "manifest.toml", hint=exc.hint) from None
        except (TypeError, ValueError) as exc:  # a parameter the builder does not take, or a value it refuses
            raise LayerSetError(f"layer {spec.id}: bad parameters for {spec.builder} ({' '.join(str(exc).split())})",
                                path=root / "manifest.toml", hint="fix the layer's params in the manifest") from None
        if coverage is None:
            ctx.built[spec.id] = gdf
            coverage = coverage_of(ctx, float(manifest.get("coverage", {}).get("sea_m", 0)))
        gdf = _finish(spec, gdf, coverage)
        ctx.built[spec.id] = gdf
        frames[spec.id] = gdf
        log.info("built %s: %d features", spec.id, len(gdf))

    manifest_specs = {s.id: s for s in manifest["layers"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=out.parent, prefix=".building-")
    os.close(fd)
    os.unlink(tmp)
    try:
        digest = hashlib.sha256()
        for lid, gdf in frames.items():
            stored = gdf.to_crs(info["storage_crs"])
            dim = _DIM[manifest_specs[lid].geometry]
            stored["geometry"] = [keep_dimension(shapely.make_valid(g), dim) for g in stored.geometry]
            digest.update(lid.encode())
            digest.update(b"".join(shapely.to_wkb(stored.geometry.values)))
            digest.update(pd.util.hash_pandas_object(stored.drop(columns="geometry"), index=False).values.tobytes())
            pyogrio.write_dataframe(stored, tmp, layer=lid, promote_to_multi=True)
        cov = gpd.GeoDataFrame({"name": [info["name"]]}, geometry=[coverage], crs=info["measure_crs"])
        pyogrio.write_dataframe(cov.to_crs(info["storage_crs"]), tmp, layer=COVERAGE_TABLE, promote_to_multi=True)
        write_meta(Path(tmp), {
            "name": info["name"], "title_zh": info["title_zh"], "title_en": info["title_en"],
            "status": info["status"], "storage_crs": info["storage_crs"], "measure_crs": info["measure_crs"],
            "build_date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source_hash": source_hash(root), "content_hash": digest.hexdigest(),
            "ecozone_version": __version__, "build_format": str(BUILD_FORMAT),
        })
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def default_build_path(root) -> Path:
    root = Path(root)
    name = read_manifest(root)["layerset"]["name"]
    return root / "build" / f"{name}.gpkg"


def read_meta(gpkg: Path) -> dict | None:
    try:
        df = pyogrio.read_dataframe(gpkg, layer=META_TABLE)
    except Exception:
        return None
    return dict(zip(df["key"], df["value"]))


def write_meta(gpkg: Path, meta: dict) -> None:
    df = pd.DataFrame({"key": list(meta), "value": [json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
                                                     for v in meta.values()]})
    pyogrio.write_dataframe(df, gpkg, layer=META_TABLE)
