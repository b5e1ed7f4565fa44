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
leading ``'``, see :func:`geo.results.spreadsheet_safe`). To get the layer back as
exported: rename the fields by ``fields.csv`` and put back the ``text.csv`` values, each
without its one leading ``'`` (the round-trip tests do so, ``tests/readback.py``). What a
DBF cannot carry at all: the difference between empty and missing text, and reals below
1e-15 (written as 0; reals keep 15 significant digits).
"""
from __future__ import annotations

import csv
import io
import shutil
import time
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyogrio

from ..results import spreadsheet_safe
from .common import GEOMETRY_TYPES, cut_to_bytes, layer_frame
from .formats import ENCODINGS

__all__ = ["shapefile_field_names", "write_shapefiles"]

DBF_NAME_BYTES = 10
DBF_TEXT_BYTES = 254


def _encodable(text: str, codec: str) -> str:
    return text.encode(codec, errors="replace").decode(codec)


def shapefile_field_names(columns, encoding: str = "gbk") -> dict:
    """Field names that fit a DBF: at most 10 bytes in ``encoding``, cut by whole characters, unique.

    Returns ``{full name: shapefile name}``. A name cut to a duplicate gets ``_1``, ``_2``…
    (DBF names compare case-insensitively). With GBK a Chinese name keeps 5 characters, with
    UTF-8 only 3. Blanks at the end of a cut name are dropped (a DBF pads names with them,
    so GDAL would rename the field and the mapping would miss it).
    """
    codec = ENCODINGS[encoding][1]
    out, used = {}, set()
    for col in columns:
        base = _encodable(str(col), codec).replace("?", "_") or "field"
        name = cut_to_bytes(base, DBF_NAME_BYTES, codec).rstrip() or "field"
        k = 1
        while name.upper() in used:
            suffix = f"_{k}"
            name = cut_to_bytes(base, DBF_NAME_BYTES - len(suffix), codec).rstrip() + suffix
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


def write_shapefiles(ls, ids, folder: Path, crs, *, encoding: str = "gbk") -> None:
    """Write ``<layer>.zip`` for each layer into ``folder`` (see the module docstring)."""
    gdal_enc, codec = ENCODINGS[encoding]
    build_day = str(ls.meta.get("build_date", ""))[:10] or None
    stamp = (int(build_day[:4]), int(build_day[5:7]), int(build_day[8:10]), 0, 0, 0) if build_day else None
    work = folder / ".shp"
    work.mkdir()
    for lid in ids:
        spec = ls.specs[lid]
        gdf = layer_frame(ls, lid, crs)
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
                    fit = cut_to_bytes(_encodable(v, codec), DBF_TEXT_BYTES, codec)
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
