"""The report's figures (:mod:`geo.figures`): a location figure per detailed site, with its legend as a table
beside it, and one overview map of every site by verdict."""
from __future__ import annotations

import numpy as np
import shapely

from ..figures import location_figure, overview_figure
from ..text import VERDICTS
from .parts import Figure, Table

__all__ = ["location", "overview", "FIGURE_MM", "POINT_DPI", "SHAPE_DPI"]

#: width and height of a location figure, mm (the legend is a table beside it, not drawn in it: faster)
FIGURE_MM = (120.0, 85.0)
#: resolution of location figures: a point's figure has little line work, so fewer pixels do
POINT_DPI, SHAPE_DPI = 110, 150


def _zones(ls, ctx: dict):
    """Every zone but the study area, in the measurement CRS, by zone id (made once per report)."""
    if "zones" not in ctx:
        import geopandas as gpd
        import pandas as pd

        cols = ["zone_id", "layer", "zone_class", "name_zh", "zone_code", "geometry"]
        frames = [ls.measured(lid)[cols] for lid in ls.layer_ids if lid != ctx.get("land") and len(ls.layer(lid))]
        ctx["zones"] = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ls.measure_crs).set_index("zone_id")
    return ctx["zones"]


def location(w, geom, detail, ls, ctx: dict):
    """The site over the zones it meets, in the manifest's colours; the legend and CRS as a table and caption."""

    zones = _zones(ls, ctx)
    met = [] if detail is None else [z for z in dict.fromkeys(detail["zone_id"]) if z in zones.index]
    met = zones.loc[met].reset_index()
    styles, rows, fills = {}, [[w("项目位置（黑色）", "Site (black)")]], ["#000000"]
    for layer, cls in dict.fromkeys(zip(met["layer"], met["zone_class"])):
        spec = ls.specs[layer]
        styles[(layer, cls)] = {"color": spec.color(cls), "label_zh": spec.class_label(cls, "zh"),
                                "label_en": spec.class_label(cls, "en")}
        rows.append([f"{w(spec.title_zh, spec.title_en)}：{w(spec.class_label(cls, 'zh'), spec.class_label(cls, 'en'))}"])
        fills.append(spec.color(cls))
    dpi = POINT_DPI if shapely.get_type_id(geom) == 0 else SHAPE_DPI
    png = location_figure(geom, met, styles=styles, crs_label="", width_mm=FIGURE_MM[0], height_mm=FIGURE_MM[1],
                          dpi=dpi, legend=False)
    caption = w(f"位置图：坐标格网为 {ctx['crs_name']}（米），指北针指向格网北",
                f"Location: grid in {ctx['crs_name']} (metres), north arrow to grid north")
    return Figure(png, FIGURE_MM[0], caption, Table([w("图例", "Legend")], rows, fills, fill_col=0))


def overview(w, digest, ls):
    """Every site of the batch at its representative point, by verdict, over the coverage."""

    m = ls.measure_crs
    crs_name = f"EPSG:{m.to_epsg()}" if m.to_epsg() else m.name
    if digest.marks:
        xy = np.concatenate([mk[0] for mk in digest.marks]).astype(float)
        codes = np.concatenate([mk[1] for mk in digest.marks])
        geoms = shapely.points(xy)
        verdicts = np.array(["prohibited", "restricted", "caution", "unknown", "allowed"])[codes]
    elif digest.kept is not None and len(digest.kept.sites):
        geoms = digest.kept.sites.geometry.to_crs(m).to_numpy()
        verdicts = digest.kept.sites["verdict"].astype(str).to_numpy()
    else:
        return None
    styles = {v: {"color": VERDICTS[v]["color"], "label_zh": VERDICTS[v]["zh"] if w.lang != "en" else "",
                  "label_en": VERDICTS[v]["en"] if w.lang != "zh" else ""} for v in VERDICTS}
    png = overview_figure(geoms, verdicts, ls.coverage, verdict_styles=styles, crs_label=crs_name, dpi=150)
    caption = w(f"总览图：全部 {digest.n:,} 个项目（代表点），按结论着色；{crs_name}",
                f"Overview: all {digest.n:,} sites (representative points) by verdict; {crs_name}")
    return Figure(png, 160.0, caption)
