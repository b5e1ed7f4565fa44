"""Check results: site verdicts and per-zone findings, written atomically and read back.

Every output is written beside its target and renamed into place when complete.
A write that fails (a full disk, a quota, a folder that cannot be written) is
one :class:`~geo.errors.ExportError` naming the output, and leaves neither the
output nor a temporary file. CSV cells are guarded against spreadsheet formulas
(:func:`spreadsheet_safe`). :func:`read_results` reads the sites of any results
file back (the map draws them).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from . import __version__
from .atomic import (atomic_path, discard, gdal_errors_as_exceptions, make_parents, remove_folders,
                     write_in_memory, writing)
from .threads import in_threads
from .errors import ExportError, SiteInputError
from .text import FORMULA_CHARS, FORMULA_GUARD, VERDICTS

__all__ = ["write_results", "read_results", "ResultWriter", "Batch", "BatchPreparer", "RESULT_FORMATS",
           "spreadsheet_safe", "FORMULA_CHARS", "PART_NAME", "write_part"]

RESULT_FORMATS = (".csv", ".json", ".geojson", ".gpkg", ".txt", ".parquet")
#: formats written whole at the end (the others stream batch by batch)
_WHOLE = (".json", ".geojson", ".txt")
#: formats written as a folder of parts, one per batch (a GeoParquet dataset)
_DATASET = (".parquet",)
#: the name of the k-th part of a dataset output (zero-padded: name order is input order)
PART_NAME = "part-{:05d}.parquet"


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def _site_table(result) -> pd.DataFrame:
    """The sites without geometry, with a representative lon/lat (WGS84) of each."""
    sites = result.sites
    geoms = sites.geometry.values
    data = np.asarray(geoms, dtype=object)
    pts = shapely.get_type_id(data) == 0
    rep = data.copy()
    if not pts.all():  # points are their own representative point
        rep[~pts] = np.concatenate(in_threads(shapely.point_on_surface, data[~pts]))
    x, y = shapely.get_x(rep), shapely.get_y(rep)
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        x, y = (np.asarray(v, dtype=float) for v in _to_lonlat(geoms.crs).transform(x, y))
    out = pd.DataFrame(sites.drop(columns="geometry"))
    out["lon"] = np.round(x, 7)
    out["lat"] = np.round(y, 7)
    return out


@lru_cache(maxsize=8)
def _to_lonlat(crs):
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def write_results(result, out, *, overwrite: bool = True, name: str | None = None) -> Path:
    """Write site-level results; the format follows the extension (.csv, .json, .geojson, .gpkg, .txt).

    CSV is UTF-8 with a BOM (opens in Excel with Chinese intact) and gives each
    site's representative lon/lat; its text cells are guarded against
    spreadsheet formulas: a text that starts with ``=``, ``+``, ``-``, ``@``, a
    tab, a carriage return or ``'`` gets a leading ``'``, so Excel and WPS show
    it as text (see :func:`spreadsheet_safe`; numbers stay numbers). GeoJSON is
    RFC 7946 (WGS84), its collection named ``name`` (default the file's stem);
    ``.parquet`` is a GeoParquet dataset, a folder of parts (see :class:`ResultWriter`);
    GeoPackage holds ``sites`` and ``findings``; JSON nests each site's findings;
    TXT is the land-survey 界址点 coordinate file (GBK, CGCS2000 Gauss-Krüger of
    the sites' zone, 8-digit Y), each site's verdict as its 地块用途, for the
    surveying and land software that reads such files.

    Raises
    ------
    ExportError
        On an unknown extension, an existing ``out`` without ``overwrite``, or a
        failed write (a full disk…); nothing is left behind then.
    """
    out = Path(out)
    ext = out.suffix.lower()
    if ext not in RESULT_FORMATS:
        raise ExportError(f"unknown output format {ext!r}", path=out, hint=f"use one of {', '.join(RESULT_FORMATS)}")
    if ext in _DATASET:
        with ResultWriter(out, overwrite=overwrite) as writer:
            writer.add(result)
        return out
    with atomic_path(out, overwrite=overwrite) as tmp:
        _write_results(result, tmp, ext, name or out.stem)
    return out


def _write_results(result, path: Path, ext: str, name: str) -> None:
    """Write ``result`` to ``path`` as ``ext`` (the body of :func:`write_results`)."""
    if ext == ".csv":
        with open(path, "wb") as fh:
            fh.write(BOM)
            write_csv(_site_table(result), fh, header=True)
    elif ext == ".geojson":
        write_in_memory(result.sites.to_crs(4326), path, layer=name, driver="GeoJSON",
                        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7})
    elif ext == ".gpkg":
        pyogrio.write_dataframe(result.sites, path, layer="sites", promote_to_multi=False)
        pyogrio.write_dataframe(_plain(result.detail), path, layer="findings")
    elif ext == ".txt":
        from .sites.readers.jzd import write_jzd_txt

        write_jzd_txt(result.sites, path)
    else:
        ls = result.layerset
        table = _site_table(result)
        detail = _plain(result.detail)
        by_site = {k: g.drop(columns="site_id").to_dict("records") for k, g in detail.groupby("site_id", sort=False)}
        doc = {
            "ecozone_version": __version__,
            "layerset": {"name": ls.name, "title_zh": ls.info["title_zh"], "title_en": ls.info["title_en"],
                         "status": ls.info.get("status"), "build_date": ls.meta.get("build_date"),
                         "content_hash": ls.meta.get("content_hash")},
            "counts": result.counts(),
            "sites": [dict(rec, findings=by_site.get(rec["site_id"], [])) for rec in table.to_dict("records")],
        }
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=_json_default), encoding="utf-8")


def _json_default(v):
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def read_results(path) -> gpd.GeoDataFrame | None:
    """The checked sites in a file :func:`write_results` wrote, or None when it holds no results.

    A file holds results when it has a ``verdict`` column (CSV, GeoJSON, the
    ``sites`` layer of a GeoPackage) or a ``sites`` list (JSON); CSV and JSON
    sites become points at their ``lon``/``lat`` (EPSG:4326).

    Raises
    ------
    SiteInputError
        When results lack ``lon``/``lat`` or a CRS, or hold an unknown verdict.
    """
    path = Path(path)
    sites = _read_results(path)
    if sites is not None:
        bad = sorted(set(sites["verdict"].astype(str)) - set(VERDICTS))
        if bad:
            raise SiteInputError(f"unknown verdict {bad[0]!r}", path=path, column="verdict",
                                 hint=f"use one of {', '.join(VERDICTS)}")
    return sites


def _read_results(path: Path) -> gpd.GeoDataFrame | None:
    suffix = path.suffix.lower()
    if suffix in _DATASET:
        try:
            gdf = gpd.read_parquet(path)
        except (pa.ArrowException, OSError, ValueError, TypeError, KeyError):  # not GeoParquet: not results
            return None
        return gdf if "verdict" in gdf.columns else None
    if suffix in (".csv", ".txt"):
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
        if "verdict" not in [h.strip().strip('"') for h in header.split(",")]:
            return None
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        return _sites_from_table(df, path)
    if suffix == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(doc, dict) and isinstance(doc.get("sites"), list):
            return _sites_from_table(pd.DataFrame(doc["sites"]), path)
        if not (isinstance(doc, dict) and doc.get("type") == "FeatureCollection"):
            return None
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        layer = "sites" if "sites" in layers else None
        fields = list(pyogrio.read_info(path, layer=layer)["fields"])
    except Exception:  # not a vector file GDAL knows: not results
        return None
    if "verdict" not in fields:
        return None
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is None:
        raise SiteInputError("checked results have no CRS", path=path, hint="write them with ecozone check")
    return gdf


def _sites_from_table(df: pd.DataFrame, path: Path) -> gpd.GeoDataFrame:
    """Sites as points from the ``lon``/``lat`` columns of a results table."""
    for col in ("lon", "lat"):
        if col not in df.columns:
            raise SiteInputError(f"checked results have no {col} column", path=path,
                                 hint="give the file ecozone check wrote, or the sites file itself")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    bad = lon.isna() | lat.isna()
    if bad.any():
        raise SiteInputError("lon/lat is not a number", path=path, row=int(np.flatnonzero(bad)[0]) + 2)
    return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=4326)


BOM = "\ufeff".encode("utf-8")

#: first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"),
#: and the quote that guards them
_GUARD = FORMULA_GUARD
_NEEDS_GUARD = "^([" + FORMULA_CHARS.replace("-", "\\-") + _GUARD + "])"


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that a spreadsheet would take for a formula made plain text.

    Following OWASP's advice on CSV injection, a text that starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``; so does
    a text that already starts with ``'``, so removing one leading ``'`` always
    gives the text back. Number, boolean and date columns are left as they are
    (``-1.5`` stays a number). Vectorised: one Arrow kernel per text column
    (on the dictionary of a categorical one).
    """
    def guard(arr):
        if pa.types.is_string_view(arr.type):
            arr = arr.cast(pa.large_string())
        if not pc.any(pc.match_substring_regex(arr, _NEEDS_GUARD)).as_py():
            return arr  # the usual case: nothing to guard, nothing copied
        return pc.replace_substring_regex(arr, pattern=_NEEDS_GUARD, replacement=_GUARD + "\\1")

    columns = []
    for col in table.columns:
        t = col.type
        if pa.types.is_dictionary(t) and _is_text(t.value_type):
            col = pa.chunked_array([pa.DictionaryArray.from_arrays(c.indices, guard(c.dictionary)) for c in col.chunks],
                                   type=pa.dictionary(t.index_type, pa.large_string() if pa.types.is_string_view(
                                       t.value_type) else t.value_type, t.ordered))
        elif _is_text(t):
            col = guard(col)
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def write_csv(df: pd.DataFrame, fh, *, header: bool) -> None:
    """Append a frame as CSV to a binary file (Arrow's vectorised writer; quotes only where needed; text guarded)."""
    _write_table(pa.Table.from_pandas(df, preserve_index=False), fh, header=header)


def _write_table(table: pa.Table, sink, *, header: bool) -> None:
    pacsv.write_csv(spreadsheet_safe(table), sink,
                    write_options=pacsv.WriteOptions(include_header=header, quoting_style="needed"))


@dataclass
class Batch:
    """One batch of results as a :class:`ResultWriter` writes it: verdict counts, Arrow tables, kept result."""

    counts: dict
    n: int
    tables: list
    gpkg: tuple | None = None
    result: object = None
    parquet: object = None  # the sites with their verdicts, for a dataset output
    part: tuple | None = None  # (name, rows) of the dataset part written where the batch was prepared
    files: list | None = None  # ("out" | "detail", path) of the CSV parts written where the batch was prepared


def write_part(sites: gpd.GeoDataFrame, folder, number: int) -> tuple[str, int]:
    """Write the ``number``-th part of a dataset into ``folder`` (it must exist): ``(name, rows)``.

    Written under a hidden temporary name in ``folder`` and renamed to its
    :data:`PART_NAME`: a part is whole or absent, and writing it again (a task
    run again after its worker died) replaces it with the same bytes. The
    folder is never created here, so a write after the run was abandoned (its
    folder removed) fails instead of leaving one behind.
    """
    name = PART_NAME.format(number)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        sites.to_parquet(tmp, index=False)
        os.replace(tmp, Path(folder) / name)
    except BaseException:
        discard(tmp)
        raise
    return name, len(sites)


def write_csv_part(table: pa.Table, folder, key: str, number: int) -> str:
    """Write one batch's CSV rows (with the header line, without BOM) as ``{key}-{number:05d}.csv`` in ``folder``.

    Written under a temporary name and renamed, as :func:`write_part`: whole or absent. Returns its path.
    """
    path = Path(folder) / f"{key}-{number:05d}.csv"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        _write_table(table, tmp, header=True)
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    return str(path)


def _append_bytes(src: int, dst: int, start: int, end: int) -> None:
    """Append bytes ``start:end`` of file descriptor ``src`` to ``dst`` (at its position): in the kernel
    (``copy_file_range``) where it can, else read and written here."""
    try:
        while start < end:
            done = os.copy_file_range(src, dst, end - start, start)
            if not done:
                break
            start += done
    except (AttributeError, OSError):  # (no copy_file_range here, or not between these files)
        pass
    while start < end:
        chunk = os.pread(src, min(end - start, 1 << 23), start)
        if not chunk:
            raise OSError(f"a CSV part ended {end - start} bytes short")
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
        start += len(chunk)


class BatchPreparer:
    """:meth:`ResultWriter.prepare` of a writer to ``out`` and ``detail``, made where it runs (it pickles).

    Called with ``number=k`` (the batch's number), it writes what it can where it runs, so that only names
    travel back: with a dataset output, the batch's part into ``folder``, the writer's hidden folder
    (:func:`write_part`); with CSV outputs (results, detail), the batch's rows into ``scratch``
    (:func:`write_csv_part`), which the writer appends in order (:meth:`ResultWriter.add`).
    """

    def __init__(self, out, detail, keep: bool, folder: str | None = None, scratch: str | None = None):
        self.args = (str(out), None if detail is None else str(detail), keep)
        self.folder = folder
        self.scratch = scratch

    def __call__(self, result, number: int | None = None) -> Batch:
        out, detail, keep = self.args
        batch = ResultWriter(out, detail=detail, overwrite=True, keep=keep).prepare(result)
        if number is None:
            return batch
        if self.folder is not None and batch.parquet is not None:
            with writing(out):
                batch.part = write_part(batch.parquet, self.folder, number)
            batch.parquet = None
        if self.scratch is not None and batch.tables:
            files = []
            for key, table in batch.tables:
                with writing(out if key == "out" else detail):
                    files.append((key, write_csv_part(table, self.scratch, key, number)))
            batch.files, batch.tables = files, []
        return batch


class ResultWriter:
    """Write the results of a check batch by batch, so memory stays bounded on large batches.

    CSV outputs (results and ``detail``) and GeoPackage stream each batch to a
    temporary file; JSON and GeoJSON gather the batches and are written at the
    end; ``.parquet`` is a GeoParquet dataset, a folder holding one part per
    batch (``part-00000.parquet``, … in input order: :data:`PART_NAME`), made
    as a hidden folder beside the target and renamed into place whole (its
    parts may be written where the batches are checked: :meth:`remote`).
    Everything is renamed into place only when :meth:`close` succeeds; on
    an error nothing is left behind. Keeps the verdict counts.

    A batch is written by a background thread while the caller checks the
    next one (Arrow and GDAL write without holding the GIL); one batch at a
    time is in flight, in order. A failed write (a full disk…) is one
    :class:`ExportError` naming the output (:func:`write_failed`); CSV text is
    guarded as in :func:`write_results`.
    """

    def __init__(self, out, *, detail=None, overwrite: bool = True, keep: bool = False):
        self.out = Path(out)
        self.ext = self.out.suffix.lower()
        if self.ext not in RESULT_FORMATS:
            raise ExportError(f"unknown output format {self.ext!r}", path=self.out,
                              hint=f"use one of {', '.join(RESULT_FORMATS)}")
        self.detail = Path(detail) if detail else None
        for target in filter(None, (self.out, self.detail)):
            if target.exists() and not overwrite:
                raise ExportError("output exists", path=target, hint="give --overwrite to replace it")
        self.keep = keep or self.ext in _WHOLE
        self.parts: list = []
        self.counts: dict = {}
        self.n = 0
        self._tmps: dict = {}
        self._fh: dict = {}
        self._created: list = []  # folders made for the outputs
        self._pool = None
        self._pending = None
        self._parts = 0  # parts of a dataset output written or in flight
        self._scratch: Path | None = None  # CSV parts written by workers (:meth:`remote`)

    def _tmp(self, target: Path) -> Path:
        if target not in self._tmps:
            self._created += make_parents(target.parent)
            if target.suffix.lower() in _DATASET:
                self._tmps[target] = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                                           dir=target.parent))
                return self._tmps[target]
            fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
            os.close(fd)
            os.unlink(tmp)
            self._tmps[target] = Path(tmp)
        return self._tmps[target]

    def _append_csv(self, target: Path, table: pa.Table):
        first = target not in self._fh
        if first:
            self._fh[target] = pa.OSFile(str(self._tmp(target)), "wb")
            self._fh[target].write(BOM)
        _write_table(table, self._fh[target], header=first)

    def _append_file(self, target: Path, path: str) -> None:
        """Append a CSV part (:func:`write_csv_part`) to ``target``'s file, its header line only the first time,
        and remove it."""
        first = target not in self._fh
        if first:
            self._fh[target] = pa.OSFile(str(self._tmp(target)), "wb")
            self._fh[target].write(BOM)
        with open(path, "rb") as src:
            start = 0 if first else len(src.readline())  # the header (column names hold no line break)
            _append_bytes(src.fileno(), self._fh[target].fileno(), start, os.fstat(src.fileno()).st_size)
        os.unlink(path)

    def _write(self, tables: list, sites, findings, part=None, files=()) -> None:
        """Write one batch (in the background thread); ``part`` is (folder, number, sites) for a dataset,
        ``files`` (target, path) CSV parts written elsewhere."""
        for target, table in tables:
            with writing(target):
                self._append_csv(target, table)
        for target, path in files:
            with writing(target):
                self._append_file(target, path)
        if part is not None:
            with writing(self.out):
                write_part(part[2], part[0], part[1])
        if sites is not None:
            with writing(self.out):
                tmp = self._tmp(self.out)
                append = tmp.exists()
                pyogrio.write_dataframe(sites, tmp, layer="sites", promote_to_multi=False, append=append)
                pyogrio.write_dataframe(findings, tmp, layer="findings", append=append)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def prepare(self, result) -> Batch:
        """What this writer needs of one batch's result (may run in another process)."""
        tables = []
        if self.ext == ".csv":
            tables.append(("out", pa.Table.from_pandas(_site_table(result), preserve_index=False)))
        if self.detail is not None:
            tables.append(("detail", pa.Table.from_pandas(_plain(result.detail), preserve_index=False)))
        gpkg = (result.sites, _plain(result.detail)) if self.ext == ".gpkg" else None
        if self.keep:
            _ = result.detail  # built now: the kept result travels without its builder
        return Batch(counts=result.counts(), n=len(result.sites), tables=tables, gpkg=gpkg,
                     result=result if self.keep else None,
                     parquet=_dataset_part(result.sites) if self.ext in _DATASET else None)

    def remote(self) -> BatchPreparer:
        """:meth:`prepare` as an object that pickles, for a batch checked in another process or on a Dask worker.

        With a dataset output it names this writer's hidden folder, with CSV outputs a hidden scratch folder
        beside ``out`` (both made now): given ``number=``, the worker writes the batch's part or CSV rows there
        (:class:`BatchPreparer`); the folders must then be at the same paths there.
        """
        folder = str(self._tmp(self.out)) if self.ext in _DATASET else None
        if self._scratch is None and (self.ext == ".csv" or self.detail is not None):
            self._created += make_parents(self.out.parent)
            self._scratch = Path(tempfile.mkdtemp(prefix=f".{self.out.stem}.parts.", dir=self.out.parent))
        return BatchPreparer(self.out, self.detail, self.keep, folder,
                             None if self._scratch is None else str(self._scratch))

    def add(self, result) -> None:
        """Write (or keep) one batch: a check's result, or :meth:`prepare`'s batch."""
        batch = result if isinstance(result, Batch) else self.prepare(result)
        for verdict, k in batch.counts.items():
            self.counts[verdict] = self.counts.get(verdict, 0) + k
        self.n += batch.n
        if batch.result is not None:
            self.parts.append(batch.result)
        if batch.part is not None:  # written where it was prepared: it must be the next part, whole
            self._took_part(batch)
        if not batch.tables and not batch.files and batch.gpkg is None and batch.parquet is None:
            return
        self._wait()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecozone-writer",
                                            initializer=gdal_errors_as_exceptions)
        tables = [(self.out if k == "out" else self.detail, t) for k, t in batch.tables]
        sites, findings = batch.gpkg if batch.gpkg is not None else (None, None)
        part = None
        if batch.parquet is not None:
            part = (self._tmp(self.out), self._parts, batch.parquet)
            self._parts += 1
        files = [(self.out if k == "out" else self.detail, p) for k, p in batch.files or ()]
        self._pending = self._pool.submit(self._write, tables, sites, findings, part, files)

    def _took_part(self, batch: Batch) -> None:
        name, rows = batch.part
        if name != PART_NAME.format(self._parts) or rows != batch.n:
            raise ExportError(f"数据集分片次序错误 / dataset part {name} ({rows} rows) came where "
                              f"{PART_NAME.format(self._parts)} ({batch.n} rows) was due; nothing was written",
                              path=self.out, hint="run the check again")
        self._parts += 1

    def _stop(self) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def result(self):
        """All batches joined (only when kept)."""
        return concat_results(self.parts) if len(self.parts) > 1 else self.parts[0]

    def close(self) -> None:
        """Finish the files and move them into place (on a failure, remove them and raise)."""
        try:
            self._stop()
            for target, fh in list(self._fh.items()):
                with writing(target):
                    fh.close()
                del self._fh[target]
            if self.ext in _WHOLE:
                with writing(self.out):
                    _write_results(self.result(), self._tmp(self.out), self.ext, self.out.stem)
            if self.ext in _DATASET:
                _drop_hidden(self._tmp(self.out))  # (an empty dataset when no batch came)
            for target, tmp in list(self._tmps.items()):
                with writing(target):
                    _replace(tmp, target)
                del self._tmps[target]
            self._drop_scratch()
        except BaseException:
            self.abort()
            raise
        self._created = []

    def abort(self) -> None:
        """Remove every temporary file."""
        try:
            self._stop()
        except Exception:  # the error being handled is the one that counts
            pass
        for fh in self._fh.values():
            try:
                fh.close()
            except OSError:  # a full disk refusing the last bytes: the file goes anyway
                pass
        self._fh.clear()
        for tmp in self._tmps.values():
            if tmp.is_dir():
                _remove_folder(tmp)
            else:
                discard(tmp)
        self._tmps.clear()
        self._drop_scratch()
        remove_folders(self._created)
        self._created = []

    def _drop_scratch(self) -> None:
        if self._scratch is not None:
            _remove_folder(self._scratch)
            self._scratch = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def _dataset_part(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``sites`` as a dataset part stores them: its bytes depend on its rows only, so the parts agree.

    Text columns blank in every row are typed as text (Arrow gives an all-blank object column the null type,
    which the parts where the column holds text cannot be read into); a categorical column keeps the
    categories its rows use, sorted (a batch checked in partitions and joined has the same categories as
    one checked whole, so the same bytes: its categories do not depend on the check's inner tables).
    """
    blank = [c for c in sites.columns if c != sites.geometry.name and sites[c].dtype == object
             and sites[c].isna().all()]
    sites = sites.astype(dict.fromkeys(blank, "str")) if blank else sites
    cats = {c: sites[c].cat for c in sites.columns if isinstance(sites[c].dtype, pd.CategoricalDtype)}
    if not cats:
        return sites
    sites = sites.copy(deep=False)
    for c, cat in cats.items():
        used = cat.remove_unused_categories()
        sites[c] = used.cat.reorder_categories(used.cat.categories.sort_values())
    return sites


def _drop_hidden(folder: Path) -> None:
    """Remove what a dataset's hidden folder holds beside its parts: the temporary files of writes cut short
    (a Dask worker killed mid-write; its task was run again and wrote the part whole)."""
    for entry in os.scandir(folder):
        if entry.name.startswith("."):
            discard(entry.path)


def _remove_folder(folder: Path) -> None:
    """Remove a dataset's hidden folder: first renamed, so a worker still writing a part cannot add a file to it
    (its path is gone), then removed."""
    gone = Path(tempfile.mkdtemp(prefix=f"{folder.name}.gone.", dir=folder.parent))
    try:
        os.replace(folder, gone / "x")
    except OSError:  # (gone already, or not to be moved: removed where it is)
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(gone, ignore_errors=True)


def _replace(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` over ``target``; a folder (a dataset) swaps with what is there, which is then removed."""
    if not tmp.is_dir() or not os.path.lexists(target):
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.stem}.old.", dir=target.parent))
    try:
        os.replace(target, old / "x")
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old / "x", target)  # the previous output back in place
            raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def concat_results(parts: list):
    """Join the results of several batches of one layer set."""
    from .check.engine import CheckResult

    sites = gpd.GeoDataFrame(pd.concat([p.sites for p in parts], ignore_index=True), crs=parts[0].sites.crs)
    detail = pd.concat([p.detail for p in parts], ignore_index=True)
    return CheckResult(sites=sites, detail=detail, layerset=parts[0].layerset)
