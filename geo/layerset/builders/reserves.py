"""Nature reserves and parks with their functional zones."""
from __future__ import annotations

import geopandas as gpd
import shapely
from shapely.geometry import Polygon

from ...errors import LayerSetError
from .shapes import QUAD_SEGS, circle_of_area


def nested_zones(outline, experimental_m: float, buffer_m: float) -> dict:
    """Core, buffer and experimental zones as inward bands of a reserve outline.

    自然保护区条例 (2017) Art. 18: the buffer surrounds the core and the
    experimental zone surrounds the buffer. The band widths are parameters.
    """
    inner = outline.buffer(-experimental_m, quad_segs=QUAD_SEGS)
    core = inner.buffer(-buffer_m, quad_segs=QUAD_SEGS)
    if core.is_empty:
        raise LayerSetError("reserve too small for its bands: no core left",
                            hint="narrow the experimental or buffer band")
    return {"core": core, "buffer": shapely.difference(inner, core),
            "experimental": shapely.difference(outline, inner)}


def _outline(ctx, spec):
    out = spec["outline"]
    if "ring" in out:
        return shapely.make_valid(Polygon(ctx.river(out["ring"]).coords))
    if "place" in out:
        return circle_of_area(ctx.place(out["place"]), out["area_km2"] * 1e6)
    raise LayerSetError(f"reserve {spec['name_en']!r}: outline needs ring or place+area_km2")


def reserve_zones(ctx, *, reserves: list, clip: str = "none"):
    """Reserves and parks: zoned (nested bands), unzoned, or parks.

    Each spec: ``name_zh``, ``name_en``, ``outline`` (``ring`` vertex prefix, or
    ``place`` + ``area_km2``), ``zoning`` = ``nested`` (with ``bands_m`` =
    [experimental, buffer]), ``unzoned`` (managed as core and buffer, 自然保护区条例
    Art. 30, so classed ``core``) or ``park`` (forest park, geopark: class ``park``).
    """
    rows = []
    for spec in reserves:
        outline = ctx.clip(_outline(ctx, spec), spec.get("clip", clip))
        zoning = spec.get("zoning", "nested")
        if zoning == "nested":
            zones = nested_zones(outline, *spec["bands_m"])
        elif zoning == "unzoned":
            zones = {"core": outline}
        elif zoning == "park":
            zones = {"park": outline}
        else:
            raise LayerSetError(f"reserve {spec['name_en']!r}: zoning {zoning!r} unknown",
                                hint="use nested, unzoned or park")
        for zone_class, geom in zones.items():
            if geom.is_empty:
                continue
            rows.append({"zone_class": zone_class, "name_zh": f"{spec['name_zh']}{_ZH[zone_class]}",
                         "name_en": f"{spec['name_en']} {_EN[zone_class]}".strip(), "reserve_zh": spec["name_zh"],
                         "reserve_en": spec["name_en"], "zoning": zoning, "level": spec.get("level", ""),
                         "geometry": geom})
    return gpd.GeoDataFrame(rows, crs=ctx.measure_crs)


_ZH = {"core": "核心区", "buffer": "缓冲区", "experimental": "实验区", "park": ""}
_EN = {"core": "core zone", "buffer": "buffer zone", "experimental": "experimental zone", "park": ""}
