"""What the page reads of a check: compact rows and light geometry to draw, and the tables of its site panels.

:func:`page_view` makes ``page_sites.json`` straight from a check's sites (no
feature-by-feature GeoJSON): the columns the list shows as one table and each
site's geometry in lon/lat, simplified and rounded to 1e-6° (~0.1 m) for
drawing only. :func:`write_panels` keeps what a site's panel shows (its
reasons, the zones it meets, the unit requirements) as Parquet tables, which
the app reads back per site.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

__all__ = ["page_view", "write_view", "write_panels", "panel_tables", "text_table", "draw_geojson", "MAP_SITES",
           "PAGE_COLUMNS", "DRAW_DEGREES", "PANELS"]

#: the page draws at most this many sites (the most severe first); the downloads hold every site
MAP_SITES = 20_000
#: the columns of each site the page lists (its reasons and zones come with its panel)
PAGE_COLUMNS = ["site_id", "name", "project_type", "kind", "verdict", "n_hits"]
#: the panels' tables a small check leaves
PANELS = ("sites.parquet", "findings.parquet", "requirements.parquet")
#: geometry sent for drawing is simplified and rounded to this (degrees; ~0.1 m)
DRAW_DEGREES = 1e-6


def _severity_order(verdicts: pd.Series) -> np.ndarray:
    from ..text import VERDICT_ORDER

    rank = pd.Categorical(verdicts, categories=VERDICT_ORDER + ["unknown"]).codes.astype(np.int64)
    rank[rank < 0] = len(VERDICT_ORDER) + 1
    return np.argsort(rank, kind="stable")


def draw_geojson(geoms) -> list[str]:
    """Each geometry as GeoJSON text in lon/lat, simplified and rounded for drawing (``null`` when missing)."""
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs(4326)
    arr = shapely.simplify(np.asarray(geoms, dtype=object), DRAW_DEGREES)
    arr = shapely.transform(arr, lambda xy: np.round(xy, 6))
    return ["null" if s is None else s for s in shapely.to_geojson(arr)]


def page_view(sites, n_sites: int | None = None, geometry: list[str] | None = None) -> bytes:
    """``page_sites.json``: {n_sites, shown, table: {columns, data}, geometry: [...]}, the most severe sites first.

    ``geometry`` is :func:`draw_geojson` of the sites when already made (``sites`` may then be a plain table).
    """
    columns = [c for c in PAGE_COLUMNS if c in sites.columns]
    table = pd.DataFrame(sites[columns])
    order = _severity_order(table["verdict"])[:MAP_SITES]
    drawn = draw_geojson(sites.geometry.values[order]) if geometry is None else [geometry[i] for i in order]
    head = {"n_sites": len(sites) if n_sites is None else int(n_sites), "shown": len(order)}
    rows = table.iloc[order].to_json(orient="values", force_ascii=False)
    text = (json.dumps(head, separators=(",", ":"))[:-1] + ',"table":{"columns":' + json.dumps(columns)
            + ',"data":' + rows + '},"geometry":[' + ",".join(drawn) + "]}")
    return text.encode("utf-8")


def write_view(folder: Path, sites, n_sites: int | None = None, geometry: list[str] | None = None) -> None:
    """Write ``page_sites.json`` of ``sites`` into the check's folder."""
    from ..atomic import atomic_path

    with atomic_path(folder / "page_sites.json") as tmp:
        tmp.write_bytes(page_view(sites, n_sites, geometry))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the outputs hold (``_``-columns are the check's own)."""
    return pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c.startswith("_")]))


def panel_tables(result) -> dict:
    """The panels' tables of a check's result as Arrow tables: sites (no geometry) and findings."""
    import pyarrow as pa

    sites = _plain(result.sites.drop(columns=result.sites.geometry.name))
    return {name: pa.Table.from_pandas(frame, preserve_index=False)
            for name, frame in (("sites", sites), ("findings", _plain(result.detail)))}


def text_table(frame: pd.DataFrame):
    """A table (the unit requirements) as an Arrow table of text, blanks for missing values."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame.astype(object).where(frame.notna(), "").astype(str), preserve_index=False)


def write_panels(folder: Path, tables: dict) -> None:
    """``<name>.parquet`` of each Arrow table (sites, findings, requirements) into the check's folder."""
    import pyarrow.parquet as pq

    from ..atomic import atomic_path

    for name, table in tables.items():
        with atomic_path(folder / f"{name}.parquet") as tmp:
            pq.write_table(table, tmp)
