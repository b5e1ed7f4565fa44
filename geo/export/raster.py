"""GeoTIFF export (rasterio): one class raster per layer, and a verdict raster for a project type.

* Grid: one grid for all layers of an export, in a projected CRS (default the measurement
  CRS), covering the layer set's coverage and every exported feature, its origin on a
  multiple of the resolution so rasters of the same resolution line up.
* Class raster: one band of class codes ``1..n`` in the order the manifest declares the
  classes, ``0`` outside every zone (nodata). Where zones of one layer overlap, the
  stricter control level wins (strict > restrictive > general > info). A colour table
  gives the map's colours; band tags ``CLASS_<code>``, ``CLASS_<code>_ZH``/``_EN``/
  ``_CONTROL`` and the dataset tag ``CLASSES`` (JSON) name the classes. Polygons take the
  pixels whose centre they contain; lines every pixel they touch.
* Verdict raster (``verdict_<type>.tif``): per pixel the verdict ``ecozone check`` gives a
  point site of one project type there: the most severe over the exported layers, 1 allowed
  (also where no rule applies), 2 caution, 3 restricted, 4 prohibited, 255 outside the
  coverage (unknown, nodata). Inside a zone the rule table's ``in`` lookup applies (which
  includes the zone's ``near`` rules); around it each ring between two ``near`` distances
  takes the rule that reaches it. It assumes a project that occupies land and is not a
  national major project.
* DEFLATE-compressed, tiled 512², with overviews (nearest, so codes stay codes) and a ``.tfw``.
* Each GeoTIFF is made in memory (``rasterio.MemoryFile``) and its bytes written by Python: GDAL's
  GTiff writer can end a file short on a full disk without an error (with several threads or
  overviews), Python's write reports it. For the same reason the world file is written here.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ..errors import ExportError
from ..text import VERDICTS, project_types
from .common import crs_label, export_metadata, hex_rgb, layer_frame
from .formats import DEFAULT_RESOLUTION_M

log = logging.getLogger(__name__)

__all__ = ["raster_grid", "class_codes", "class_raster", "verdict_raster", "write_rasters", "world_file"]

MAX_PIXELS = 1_500_000_000
CONTROL_ORDER = {"info": 0, "general": 1, "restrictive": 2, "strict": 3}
UNKNOWN = 255


def _origin(west, north, res):
    """The affine transform of a north-up grid (rasterio's from_origin without its deprecated product)."""
    from affine import Affine

    return Affine(res, 0.0, west, 0.0, -res, north)


class Grid:
    """A north-up raster grid: CRS, affine transform, shape."""

    def __init__(self, crs, west, south, east, north, res):
        self.crs, self.res = crs, res
        self.west, self.north = west, north
        self.width = int(round((east - west) / res))
        self.height = int(round((north - south) / res))
        self.transform = _origin(west, north, res)

    @property
    def shape(self):
        return self.height, self.width

    def window(self, bounds):
        """Row/column slices of the pixels that may touch ``bounds`` (clipped to the grid)."""
        minx, miny, maxx, maxy = bounds
        c0 = max(int(math.floor((minx - self.west) / self.res)) - 1, 0)
        c1 = min(int(math.ceil((maxx - self.west) / self.res)) + 1, self.width)
        r0 = max(int(math.floor((self.north - maxy) / self.res)) - 1, 0)
        r1 = min(int(math.ceil((self.north - miny) / self.res)) + 1, self.height)
        return slice(r0, r1), slice(c0, c1)


def raster_grid(ls, ids, crs, resolution_m: float) -> Grid:
    """The common grid of an export: coverage plus features, snapped to the resolution."""
    boxes = [gpd.GeoSeries([ls.coverage], crs=ls.measure_crs).to_crs(crs).total_bounds]
    boxes += [layer_frame(ls, lid, crs).total_bounds for lid in ids if len(ls.layer(lid))]
    b = np.array(boxes)
    res = resolution_m
    west, south = math.floor(b[:, 0].min() / res) * res, math.floor(b[:, 1].min() / res) * res
    east, north = math.ceil(b[:, 2].max() / res) * res, math.ceil(b[:, 3].max() / res) * res
    grid = Grid(crs, west, south, east, north, res)
    if grid.width * grid.height > MAX_PIXELS:
        raise ExportError(f"a {grid.width} x {grid.height} raster at {res:g} m is too large",
                          hint="choose a coarser --resolution")
    return grid


def class_codes(spec) -> dict:
    """``zone_class -> code`` (1..n in manifest order)."""
    return {c: i + 1 for i, c in enumerate(spec.classes)}


def _paint(out, grid, geoms, value, all_touched):
    """Burn ``value`` into ``out`` where the geometries are, keeping the larger value."""
    from rasterio.features import rasterize

    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return
    rows, cols = grid.window(shapely.total_bounds(geoms))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return
    transform = _origin(grid.west + cols.start * grid.res, grid.north - rows.start * grid.res, grid.res)
    burnt = rasterize([(g, value) for g in geoms], out_shape=(rows.stop - rows.start, cols.stop - cols.start),
                      transform=transform, fill=0, dtype="uint8", all_touched=all_touched)
    np.maximum(out[rows, cols], burnt, out=out[rows, cols])


def class_raster(ls, layer_id, grid) -> np.ndarray:
    """The class codes of one layer on the grid (0 outside every zone)."""
    spec = ls.specs[layer_id]
    codes = class_codes(spec)
    if len(codes) > 254:
        raise ExportError(f"layer {layer_id} has {len(codes)} classes; a byte raster holds 254")
    gdf = layer_frame(ls, layer_id, grid.crs)
    out = np.zeros(grid.shape, dtype="uint8")
    order = sorted(spec.classes, key=lambda c: (CONTROL_ORDER.get(spec.classes[c].get("control"), 0),
                                                list(spec.classes).index(c)))
    for zone_class in order:  # rank by paint order so the stricter class wins overlaps
        geoms = gdf.geometry[gdf["zone_class"] == zone_class].values
        rank = order.index(zone_class) + 1
        _paint(out, grid, geoms, rank, all_touched=spec.geometry != "polygon")
    lut = np.zeros(256, dtype="uint8")
    for i, zone_class in enumerate(order):
        lut[i + 1] = codes[zone_class]
    return lut[out]


def _coverage_mask(ls, grid) -> np.ndarray:
    cov = gpd.GeoSeries([ls.coverage], crs=ls.measure_crs).to_crs(grid.crs).iloc[0]
    mask = np.zeros(grid.shape, dtype="uint8")
    _paint(mask, grid, [cov], 1, all_touched=False)
    return mask.astype(bool)


def _paint_zones(out, grid, table, lid: str, zone_class: str, code: str, geoms, project_type: str, touched: bool):
    """Paint the verdicts of the zones ``geoms`` (one class and rule code) and of the rings around them."""
    from ..check.rules import SEVERITY

    rule = table.applicable(lid, zone_class, project_type, "in", zone_code=code)
    if rule is not None:
        _paint(out, grid, geoms, SEVERITY[rule.verdict], touched)
    distances = sorted({r.distance_m for r in table.by_layer.get(lid, ())
                        if r.relation == "near" and r.zone_class in ("*", zone_class) and r.zone_code in ("", code)})
    if not distances:
        return
    zone = shapely.union_all(geoms)
    inner = zone
    for d in distances:  # ring (previous distance, d]: the rules reaching at least d
        outer = zone.buffer(d)
        rule = table.applicable(lid, zone_class, project_type, "near", distance_m=d, zone_code=code)
        if rule is not None:
            _paint(out, grid, [outer.difference(inner)], SEVERITY[rule.verdict], False)
        inner = outer


def verdict_raster(ls, ids, grid, project_type: str) -> np.ndarray:
    """The most severe verdict code per pixel for ``project_type`` (see the module docstring).

    Raises
    ------
    RuleError
        When the layer set has no valid rule table.
    """
    from ..check.rules import SEVERITY, layerset_rules

    table = layerset_rules(ls)
    out = np.zeros(grid.shape, dtype="uint8")
    for lid in ids:
        spec = ls.specs[lid]
        gdf = layer_frame(ls, lid, grid.crs)
        touched = spec.geometry != "polygon"
        # zones of one class, apart where a rule names a zone's code
        codes = [table.code_key(lid, c) for c in gdf["zone_code"]] if "zone_code" in gdf else [""] * len(gdf)
        groups = gdf.groupby([gdf["zone_class"].to_numpy(), np.asarray(codes, dtype=object)], sort=False).indices
        for zone_class in spec.classes:
            for (cls, code), rows in groups.items():
                if cls == zone_class:
                    _paint_zones(out, grid, table, lid, zone_class, code, gdf.geometry.values[rows], project_type,
                                 touched)
    out[out == 0] = SEVERITY["allowed"]  # no rule: what the check says of such a site
    out[~_coverage_mask(ls, grid)] = UNKNOWN
    return out


def _rgba(color: str, alpha: int = 255) -> tuple:
    return (*hex_rgb(color), alpha)


def world_file(transform) -> str:
    """The ESRI world file (``.tfw``) of a north-up grid: pixel sizes, rotations, centre of the top-left pixel."""
    x, y = transform @ (0.5, 0.5)
    return "".join(f"{v:.10f}\n" for v in (transform.a, transform.d, transform.b, transform.e, x, y))


def _write(path, grid, data, *, nodata, colormap, tags, band_tags, description):
    """Write ``path`` (GeoTIFF made in memory, see the module docstring) and its ``.tfw``."""
    import rasterio
    from rasterio.crs import CRS
    from rasterio.enums import Resampling
    from rasterio.io import MemoryFile

    code = grid.crs.to_epsg()
    crs = CRS.from_epsg(code) if code else CRS.from_wkt(grid.crs.to_wkt())
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "uint8",
               "crs": crs, "transform": grid.transform, "nodata": nodata, "compress": "deflate", "tiled": True,
               "blockxsize": 512, "blockysize": 512, "num_threads": "ALL_CPUS"}
    factors = []
    f = 2
    while max(grid.width, grid.height) / f >= 256:
        factors.append(f)
        f *= 2
    path = Path(path)
    with rasterio.Env(COMPRESS_OVERVIEW="DEFLATE", GDAL_TIFF_OVR_BLOCKSIZE="512", GDAL_NUM_THREADS="ALL_CPUS"):
        with MemoryFile(filename=path.name) as mem:
            with mem.open(**profile) as dst:
                dst.write(data, 1)
                dst.write_colormap(1, colormap)
                dst.update_tags(**tags)
                dst.update_tags(1, **band_tags)
                dst.set_band_description(1, description)
                if factors:
                    dst.build_overviews(factors, Resampling.nearest)  # class codes: never blend
                    dst.update_tags(ns="rio_overview", resampling="nearest")
            path.write_bytes(mem.getbuffer())
    path.with_suffix(".tfw").write_text(world_file(grid.transform), encoding="ascii")


def write_rasters(ls, ids, folder, crs, *, resolution_m: float = DEFAULT_RESOLUTION_M, verdict_for=None) -> None:
    """Write ``<layer>.tif`` per layer (and ``verdict_<type>.tif``) into ``folder``."""
    grid = raster_grid(ls, ids, crs, resolution_m)
    base = {k.upper(): v for k, v in export_metadata(ls, crs).items()}
    base["RESOLUTION_M"] = f"{resolution_m:g}"
    log.info("raster grid %d x %d at %g in %s", grid.width, grid.height, resolution_m, crs_label(crs))
    for lid in ids:
        spec = ls.specs[lid]
        codes = class_codes(spec)
        data = class_raster(ls, lid, grid)
        cmap = {0: (0, 0, 0, 0)}
        band_tags, classes = {}, {}
        for zone_class, code in codes.items():
            c = spec.classes[zone_class]
            cmap[code] = _rgba(spec.color(zone_class))
            band_tags.update({f"CLASS_{code}": zone_class, f"CLASS_{code}_ZH": c.get("zh", zone_class),
                              f"CLASS_{code}_EN": c.get("en", zone_class),
                              f"CLASS_{code}_CONTROL": c.get("control", "")})
            classes[str(code)] = {"zone_class": zone_class, "zh": c.get("zh"), "en": c.get("en"),
                                  "control": c.get("control"), "color": spec.color(zone_class)}
        tags = {**base, "LAYER": lid, "LAYER_TITLE_ZH": spec.title_zh, "LAYER_TITLE_EN": spec.title_en,
                "CLASSES": json.dumps(classes, ensure_ascii=False),
                "OVERLAPS": "stricter control level wins: strict > restrictive > general > info"}
        _write(folder / f"{lid}.tif", grid, data, nodata=0, colormap=cmap, tags=tags, band_tags=band_tags,
               description=f"zone_class ({spec.title_zh} {spec.title_en})")
    if verdict_for:
        _write_verdict_raster(ls, ids, grid, folder / f"verdict_{verdict_for}.tif", verdict_for, base)


def _write_verdict_raster(ls, ids, grid, path, project_type, base) -> None:
    """Write the verdict raster of ``project_type`` with its labels, colours and assumptions."""
    from ..check.rules import SEVERITY

    data = verdict_raster(ls, ids, grid, project_type)
    ptype = project_types().get(project_type, {})
    labels = {UNKNOWN: ("unknown", VERDICTS["unknown"]["zh"], VERDICTS["unknown"]["en"],
                        _rgba(VERDICTS["unknown"]["color"]))}
    for verdict, code in SEVERITY.items():
        v = VERDICTS[verdict]
        labels[code] = (verdict, v["zh"], v["en"], _rgba(v["color"]))
    band_tags = {}
    for code, (key, zh, en, _) in labels.items():
        band_tags.update({f"VERDICT_{code}": key, f"VERDICT_{code}_ZH": zh, f"VERDICT_{code}_EN": en})
    tags = {**base, "PROJECT_TYPE": project_type, "PROJECT_TYPE_ZH": ptype.get("name_zh", ""),
            "PROJECT_TYPE_EN": ptype.get("name_en", ""), "LAYERS": ",".join(ids),
            "ASSUMES": "point site; land_use=occupy; national major project=false; no rule = allowed",
            "VERDICTS": json.dumps({str(c): v[0] for c, v in labels.items()})}
    _write(path, grid, data, nodata=UNKNOWN, colormap={c: v[3] for c, v in labels.items()}, tags=tags,
           band_tags=band_tags, description=f"verdict for {project_type}")
