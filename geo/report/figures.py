"""The report's figures (:mod:`geo.figures`): a location figure per detailed site, with its legend as a table
beside it, and one overview map of every site by verdict."""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import shapely

from ..errors import MapError
from ..figures import LocationSheet, overview_figure
from ..text import VERDICTS
from .parts import Figure, Table

__all__ = ["locations", "overview", "FIGURE_MM", "POINT_DPI", "SHAPE_DPI", "POOL_FROM", "FIGURE_WORKERS"]

#: width and height of a location figure, mm (the legend is a table beside it, not drawn in it: faster)
FIGURE_MM = (120.0, 85.0)
#: resolution of location figures: a point's figure has little line work, so fewer pixels do
POINT_DPI, SHAPE_DPI = 110, 150
#: location figures are drawn in worker processes from this many on (fewer: here, through one reused figure)
POOL_FROM = 16
#: worker processes drawing location figures, at most (and no more than the CPUs this process may use)
FIGURE_WORKERS = 2


def _zones(ls, ctx: dict):
    """Every zone but the study area, in the measurement CRS, by zone id (made once per report)."""
    if "zones" not in ctx:
        import geopandas as gpd
        import pandas as pd

        cols = ["zone_id", "layer", "zone_class", "name_zh", "zone_code", "geometry"]
        frames = [ls.measured(lid)[cols] for lid in ls.layer_ids if lid != ctx.get("land") and len(ls.layer(lid))]
        ctx["zones"] = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ls.measure_crs).set_index("zone_id")
    return ctx["zones"]


def _sheet(sheets: dict, dpi: float) -> LocationSheet:
    """The location figure at ``dpi`` from ``sheets``, made on first use and redrawn for each site."""
    if dpi not in sheets:
        sheets[dpi] = LocationSheet(crs_label="", width_mm=FIGURE_MM[0], height_mm=FIGURE_MM[1], dpi=dpi, legend=False)
    return sheets[dpi]


_WORKER_SHEETS: dict = {}  # in a worker process (one thread): its sheets


def _draw(job) -> bytes:
    """One location figure in a worker process."""
    geom, met, styles, dpi = job
    return _sheet(_WORKER_SHEETS, dpi).draw(geom, met, styles=styles)


def _workers(n: int) -> int:
    """Worker processes for ``n`` figures: 0 (draw here) below :data:`POOL_FROM`, on one CPU, or when this
    process runs other threads (a worker is forked: cheap to start, but safe only from a single thread)."""
    if n < POOL_FROM or threading.active_count() > 1 or "fork" not in mp.get_all_start_methods():
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(FIGURE_WORKERS, cpus) if cpus > 1 else 0


def _draw_all(jobs: list, ctx: dict) -> list:
    """The PNG of each job, in order: here through the report's sheets, or in worker processes.

    Each figure is independent of the others and a sheet draws the same bytes as a new figure, so the
    report is the same either way (tests/test_report.py).
    """
    workers = _workers(len(jobs))
    if not workers:
        sheets = ctx.setdefault("sheets", {})
        return [_sheet(sheets, dpi).draw(geom, met, styles=styles) for geom, met, styles, dpi in jobs]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        return list(pool.map(_draw, jobs, chunksize=max(1, len(jobs) // (4 * workers))))


def locations(w, items: list, ls, ctx: dict) -> list:
    """A :class:`Figure` for each (geometry, findings) of ``items``: the site over the zones it meets (``findings``:
    rows of the detail table, or None), in the manifest's colours; the legend and CRS as a table and caption.

    From :data:`POOL_FROM` figures on they are drawn in :data:`FIGURE_WORKERS` worker processes.
    """
    zones = _zones(ls, ctx)
    jobs, legends = [], []
    for geom, detail in items:
        if geom is None or shapely.is_empty(geom):
            raise MapError("项目位置为空，无法绘制位置图 / the site has no geometry to draw",
                           hint="give the site a point, line or parcel")
        met = [z for z in dict.fromkeys(f.zone_id for f in detail or []) if z in zones.index]
        met = zones.loc[met].reset_index()
        styles, rows, fills = {}, [[w("项目位置（黑色）", "Site (black)")]], ["#000000"]
        for layer, cls in dict.fromkeys(zip(met["layer"], met["zone_class"])):
            spec = ls.specs[layer]
            styles[(layer, cls)] = {"color": spec.color(cls), "label_zh": spec.class_label(cls, "zh"),
                                    "label_en": spec.class_label(cls, "en")}
            rows.append([f"{w(spec.title_zh, spec.title_en)}："
                         f"{w(spec.class_label(cls, 'zh'), spec.class_label(cls, 'en'))}"])
            fills.append(spec.color(cls))
        jobs.append((geom, met, styles, POINT_DPI if shapely.get_type_id(geom) == 0 else SHAPE_DPI))
        legends.append(Table([w("图例", "Legend")], rows, fills, fill_col=0))
    caption = w(f"位置图：坐标格网为 {ctx['crs_name']}（米），指北针指向格网北",
                f"Location: grid in {ctx['crs_name']} (metres), north arrow to grid north")
    return [Figure(png, FIGURE_MM[0], caption, legend) for png, legend in zip(_draw_all(jobs, ctx), legends)]


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
