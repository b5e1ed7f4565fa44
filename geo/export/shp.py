"""Shapefile export: one zip per layer, GBK (or UTF-8) with a ``.cpg``, nothing lost.

A zip ``<layer>.zip`` holds ``<layer>.shp/.shx/.dbf/.prj/.cpg`` and:

* ``<layer>.fields.csv`` (UTF-8 with BOM): ``shp_field, field, dtype``. DBF field names
  have at most 10 bytes; ecozone cuts them by whole characters (5 Chinese characters in
  GBK, 3 in UTF-8) and makes them unique (``_1``, ``_2``…, case-insensitively).
* ``<layer>.text.csv`` (only when needed): ``fid, zone_id, field, value`` with the full
  value of every text a DBF cannot hold as it is: longer than 254 bytes (cut by whole
  characters), characters the encoding lacks (written as ``?``), trailing blanks (DBF
  pads with blanks, so readers strip them).

Both CSVs guard their text against spreadsheet formulas as the check results do (a
leading ``'``, see :func:`geo.results.spreadsheet_safe`). :func:`read_shapefile_zip` takes
the guard off, applies both and gives back the layer as exported. What a DBF cannot carry
at all: the difference between empty and missing text, and reals below
1e-15 (written as 0; reals keep 15 significant digits).
"""
from __future__ import annotations

import csv
import io
import shutil
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio

from ..results import spreadsheet_safe

__all__ = ["SHP_ENCODINGS", "shapefile_field_names", "write_shapefiles", "read_shapefile_zip"]

SHP_ENCODINGS = {"gbk": ("GBK", "gbk"), "utf-8": ("UTF-8", "utf-8")}  # option -> (GDAL name, Python codec)
DBF_NAME_BYTES = 10
DBF_TEXT_BYTES = 254


def _cut(text: str, max_bytes: int, codec: str) -> str:
    """``text`` cut to at most ``max_bytes`` in ``codec``, by whole characters."""
    out, used = [], 0
    for ch in text:
        n = len(ch.encode(codec))
        if used + n > max_bytes:
            break
        out.append(ch)
        used += n
    return "".join(out)


def _encodable(text: str, codec: str) -> str:
    return text.encode(codec, errors="replace").decode(codec)


def shapefile_field_names(columns, encoding: str = "gbk") -> dict:
    """Field names that fit a DBF: at most 10 bytes in ``encoding``, cut by whole characters, unique.

    Returns ``{full name: shapefile name}``. A name cut to a duplicate gets ``_1``, ``_2``…
    (DBF names compare case-insensitively). With GBK a Chinese name keeps 5 characters, with
    UTF-8 only 3. Blanks at the end of a cut name are dropped (a DBF pads names with them,
    so GDAL would rename the field and the mapping would miss it).
    """
    codec = SHP_ENCODINGS[encoding][1]
    out, used = {}, set()
    for col in columns:
        base = _encodable(str(col), codec).replace("?", "_") or "field"
        name = _cut(base, DBF_NAME_BYTES, codec).rstrip() or "field"
        k = 1
        while name.upper() in used:
            suffix = f"_{k}"
            name = _cut(base, DBF_NAME_BYTES - len(suffix), codec).rstrip() + suffix
            k += 1
        used.add(name.upper())
        out[col] = name
    return out


def _csv_bytes(rows: list, header: list) -> bytes:
    """A small CSV (UTF-8 with BOM, CRLF) whose text cells are guarded against formulas."""
    def column(values):
        numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        return pa.array(values if numbers else [None if v is None else str(v) for v in values])

    table = spreadsheet_safe(pa.table({name: column([r[i] for r in rows]) for i, name in enumerate(header)}))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(zip(*(table.column(name).to_pylist() for name in header)))
    return buf.getvalue().encode("utf-8-sig")  # a BOM so Excel reads the Chinese right


def _unguarded(rows: list) -> list:
    """CSV rows with the formula guard of :func:`_csv_bytes` taken off (one leading ``'``)."""
    return [{k: v[1:] if v.startswith("'") else v for k, v in row.items()} for row in rows]


def write_shapefiles(ls, ids, folder: Path, crs, *, encoding: str = "gbk") -> None:
    """Write ``<layer>.zip`` for each layer into ``folder`` (see the module docstring)."""
    from .layers import GEOMETRY_TYPES, _frame

    gdal_enc, codec = SHP_ENCODINGS[encoding]
    build_day = str(ls.meta.get("build_date", ""))[:10] or None
    stamp = (int(build_day[:4]), int(build_day[5:7]), int(build_day[8:10]), 0, 0, 0) if build_day else None
    work = folder / ".shp"
    work.mkdir()
    for lid in ids:
        spec = ls.specs[lid]
        gdf = _frame(ls, lid, crs)
        attrs = [c for c in gdf.columns if c != gdf.geometry.name]
        names = shapefile_field_names(attrs, encoding)
        df = gdf.copy()
        cut_rows = []
        for col in attrs:
            if not (pd.api.types.is_string_dtype(df[col]) or df[col].dtype == object):
                continue
            values = []
            for i, v in enumerate(df[col]):
                if isinstance(v, str):
                    fit = _cut(_encodable(v, codec), DBF_TEXT_BYTES, codec)
                    if fit != v or fit != fit.rstrip(" "):  # DBF pads with spaces: trailing ones are lost
                        cut_rows.append([i, gdf["zone_id"].iloc[i] if "zone_id" in gdf else "", col, v])
                    v = fit
                values.append(v)
            df[col] = pd.Series(values, index=df.index, dtype=df[col].dtype)
        df = df.rename(columns=names)
        layer_opts = {"DBF_DATE_LAST_UPDATE": build_day} if build_day else {}
        pyogrio.write_dataframe(df, work / f"{lid}.shp", driver="ESRI Shapefile", encoding=gdal_enc,
                                promote_to_multi=spec.geometry != "point",
                                geometry_type=GEOMETRY_TYPES[spec.geometry], layer_options=layer_opts)
        members = {f"{lid}{ext}": (work / f"{lid}{ext}").read_bytes()
                   for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")}
        members[f"{lid}.fields.csv"] = _csv_bytes(
            [[names[c], c, str(gdf[c].dtype)] for c in attrs], ["shp_field", "field", "dtype"])
        if cut_rows:
            members[f"{lid}.text.csv"] = _csv_bytes(cut_rows, ["fid", "zone_id", "field", "value"])
        with zipfile.ZipFile(folder / f"{lid}.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                info = zipfile.ZipInfo(name, date_time=stamp or time.localtime()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
    shutil.rmtree(work)


def read_shapefile_zip(path) -> gpd.GeoDataFrame:
    """Read a shapefile zip written by :func:`export_layers` back with its full field names and text.

    The ``.cpg`` tells GDAL the DBF encoding; ``<layer>.fields.csv`` maps the 10-byte names
    to the full ones and ``<layer>.text.csv`` restores values that were cut or not encodable.
    """
    path = Path(path)
    stem = path.stem
    gdf = pyogrio.read_dataframe(f"/vsizip/{path.resolve()}/{stem}.shp")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        fields = _unguarded(csv.DictReader(io.StringIO(zf.read(f"{stem}.fields.csv").decode("utf-8-sig"))))
        texts = (_unguarded(csv.DictReader(io.StringIO(zf.read(f"{stem}.text.csv").decode("utf-8-sig"))))
                 if f"{stem}.text.csv" in names else [])
    gdf = gdf.rename(columns={f["shp_field"]: f["field"] for f in fields})
    for row in texts:
        gdf.loc[int(row["fid"]), row["field"]] = row["value"]
    return gdf
