"""Sites from files GDAL reads: GeoJSON, GeoPackage, Shapefile (or zipped), KML/KMZ (and 奥维 .ovkml), FlatGeobuf, GeoParquet.

What this adds to GDAL, because each one has given wrong verdicts silently:

* a shapefile needs its ``.shx`` and ``.dbf``; without ``.prj`` it has no CRS;
  without ``.cpg`` its text is decoded as detected (UTF-8 or GBK, with a warning)
  instead of as Latin-1;
* a zip is opened in place, never extracted; names that climb out of it
  (``../``, absolute paths) or a size that explodes are refused;
* a GeoPackage with several layers needs ``layer`` (in a zip too: ``layer``
  names a dataset of the zip or, when the zip holds one dataset, a layer in
  it); a KML's folders are all read;
* KML from 奥维 (Ovital ≥ 9.3 writes GCJ-02) gives a warning unless
  ``coord_sys`` says what it is; ``.ovkml``/``.ovkmz`` are GCJ-02 unless told otherwise.
"""
from __future__ import annotations

import functools
import logging
import re
import struct
import threading
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely

from ..coords import apply_coord_sys, reraise, shift_hint
from ...errors import SiteInputError, SiteInputWarning
from .textio import check_encoding_name

log = logging.getLogger(__name__)

__all__ = ["read_vector", "dbf_encoding", "quiet_library_notes", "PYOGRIO_NOTES"]

_PYOGRIO_ERRORS = tuple(getattr(pyogrio.errors, n) for n in ("DataSourceError", "DataLayerError", "CRSError",
                                                              "FeatureError", "FieldError", "GeometryError")
                        if hasattr(pyogrio.errors, n))
_DATASETS = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".fgb")
_ZIP_MAX_BYTES = 4 << 30
_ZIP_MAX_RATIO = 200


#: what pyogrio raises while it reads, not the user's business (ecozone checks what it reads itself): GDAL's notes
#: (an unclosed ring closed, extra coordinates ignored), raised as RuntimeWarning from pyogrio's modules; shapely's
#: on a damaged WKB; pyogrio's own on a JSON or date column left as text, raised at the reader's line that called it
PYOGRIO_NOTES = ((None, RuntimeWarning, r"pyogrio\."),
                 (r"invalid value encountered in from_wkb", RuntimeWarning, r"shapely\."),
                 (r"Could not parse column .* as JSON; leaving as string", UserWarning, r"geo\.sites\.readers\."),
                 (r"Error parsing datetimes, original strings are returned", UserWarning, r"geo\.sites\.readers\."))
_QUIET: set = set()  # every filter quiet_library_notes has added
_QUIET_LOCK = threading.Lock()


def quiet_library_notes(notes) -> None:
    """Ignore a library's ``notes`` — (message pattern or None, category, module pattern) — from now on.

    What ``warnings.catch_warnings`` would do around the call, without its harm:
    it swaps the process's filters and ``showwarning`` for every thread, so a
    warning raised meanwhile by another check (the web app runs several) is
    lost or lands in the wrong check. These filters match third-party notes
    only, never ecozone's warnings; they are added once, in front of the others
    (before a ``filterwarnings = error``). Called before each library call, as
    a ``catch_warnings`` that ended since (pytest's, one per test) puts the
    filters of before back.
    """
    wanted = _as_filters(notes)
    with _QUIET_LOCK:
        _QUIET.update(wanted)
        front = set()
        for f in warnings.filters:  # the run of these filters at the front (an earlier call's too) is in force
            if f not in _QUIET:
                break
            front.add(f)
        for _, m, c, mod, _ in wanted:
            if ("ignore", m, c, mod, 0) not in front:
                warnings.filterwarnings("ignore", m.pattern if m else "", c, mod.pattern if mod else "")


@functools.lru_cache(maxsize=None)
def _as_filters(notes) -> tuple:
    """``notes`` as the entries ``warnings.filterwarnings("ignore", …)`` puts in ``warnings.filters``."""
    return tuple(("ignore", re.compile(m, re.I) if m else None, c, re.compile(mod) if mod else None, 0)
                 for m, c, mod in notes)


def _cannot(path, exc, hint="check the file is complete and in the format its extension says"):
    return SiteInputError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path, hint=hint)


def dbf_encoding(data: bytes) -> str | None:
    """``utf-8`` or ``gbk`` for the text fields of a DBF (its bytes, or the first part), None if ASCII or unknown."""
    if len(data) < 32:
        return None
    try:
        nrec, hlen, rlen = struct.unpack("<IHH", data[4:12])
    except struct.error:
        return None
    fields, pos, off = [], 32, 1
    while pos + 32 <= min(hlen, len(data)) and data[pos] != 0x0D:
        ftype, flen = chr(data[pos + 11]), data[pos + 16]
        if ftype == "C":
            fields.append((off, flen))
        off += flen
        pos += 32
    if not fields or rlen <= 0:
        return None
    chunks = []
    for r in range(nrec):
        start = hlen + r * rlen
        if start + rlen > len(data):
            break
        for o, n in fields:
            chunks.append(data[start + o:start + o + n].rstrip(b" \x00"))
    text = b"\n".join(chunks)
    if all(b < 0x80 for b in text):
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            text.decode(enc)
        except UnicodeDecodeError:
            # the sample may end inside a character: retry without the last bytes of each value
            try:
                b"\n".join(c[:-1] if c and c[-1] >= 0x80 else c for c in chunks).decode(enc)
            except UnicodeDecodeError:
                continue
        return "utf-8" if enc == "utf-8" else "gbk"
    return None


def _check_zip(path: Path, layer):
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise _cannot(path, exc, "check the zip is complete") from None
    total = 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise SiteInputError(f"the zip holds an unsafe file name {info.filename[:60]!r}", path=path,
                                 hint="zip the site files again without folders that climb out (../) or absolute paths")
        total += info.file_size
        if info.compress_size and info.file_size / max(info.compress_size, 1) > _ZIP_MAX_RATIO and \
                info.file_size > 64 << 20:
            raise SiteInputError(f"{info.filename[:60]!r} expands {info.file_size // max(info.compress_size, 1)}-fold",
                                 path=path, hint="this does not look like site data; unzip and check it")
    if total > _ZIP_MAX_BYTES:
        raise SiteInputError(f"the zip expands to {total / 2**30:.1f} GB", path=path,
                             hint="give the site files unzipped, or a smaller zip")
    names = [i.filename for i in infos if not i.is_dir() and not PurePosixPath(i.filename).name.startswith((".", "__MACOSX"))
             and "__MACOSX" not in i.filename]
    data = [n for n in names if PurePosixPath(n).suffix.lower() in _DATASETS]
    if not data:
        raise SiteInputError("the zip holds no site data (.shp, .gpkg, .geojson, .kml, .fgb)", path=path,
                             hint="zip the shapefile parts (.shp .shx .dbf .prj) together")
    inner_layer = None
    if layer:
        pick = [n for n in data if PurePosixPath(n).stem == layer or n == layer]
        if pick:
            data = pick
        elif len(data) == 1:  # a layer of the one dataset (a GeoPackage with several)
            inner_layer = layer
        else:
            raise SiteInputError(f"no dataset {layer!r} in the zip", path=path,
                                 hint=f"give --layer with one of {', '.join(data[:5])}")
    if len(data) > 1:
        raise SiteInputError(f"the zip holds {len(data)} datasets ({', '.join(data[:5])})", path=path,
                             hint="give --layer with the one to read")
    return data[0], names, inner_layer


def _zip_read(path: Path, name: str, limit: int) -> bytes:
    with zipfile.ZipFile(path) as zf, zf.open(name) as f:
        return f.read(limit)


def _shapefile_parts(path: Path, inner=None, names=None):
    """Check a shapefile's parts; return (has .prj, the DBF's first bytes when there is no .cpg, else None)."""
    if inner is None:
        stem = path.with_suffix("")
        present = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*") if p.with_suffix("") == stem}
    else:
        stem = str(PurePosixPath(inner).with_suffix(""))
        present = {PurePosixPath(n).suffix.lower(): n for n in names if str(PurePosixPath(n).with_suffix("")) == stem}
    missing = [ext for ext in (".shx", ".dbf") if ext not in present]
    if missing:
        raise SiteInputError(f"the shapefile has no {' and no '.join(missing)}", path=path,
                             hint="copy all its parts together (.shp .shx .dbf .prj .cpg), or zip them")
    head = None
    if ".cpg" not in present:
        try:
            if inner is None:
                with open(present[".dbf"], "rb") as f:
                    head = f.read(8 << 20)
            else:
                head = _zip_read(path, present[".dbf"], 8 << 20)
        except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
            raise _cannot(path, exc) from None
    return ".prj" in present, head


def _kml_head(path: Path) -> str:
    """The first 64 kB of a KML (or of the KML inside a KMZ), for the marks of a shifted export."""
    try:
        if path.suffix.lower() in (".kmz", ".ovkmz") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                kml = next((n for n in zf.namelist() if n.lower().endswith(".kml")), None)
                return zf.open(kml).read(65536).decode("utf-8", "replace") if kml else ""
        with open(path, "rb") as f:
            return f.read(65536).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, KeyError):
        return ""


def _read(src, path, **kwargs):
    quiet_library_notes(PYOGRIO_NOTES)
    try:
        return pyogrio.read_dataframe(src, **kwargs)
    except _PYOGRIO_ERRORS as exc:
        raise _cannot(path, exc) from None
    except UnicodeError as exc:
        raise _cannot(path, exc, "the text is not in that encoding; try another --encoding or leave it out") from None
    except (OSError, ValueError, TypeError, KeyError, IndexError, OverflowError, RuntimeError,
            pyproj.exceptions.CRSError, shapely.errors.ShapelyError) as exc:
        raise _cannot(path, exc, "check the file is complete") from None


def read_vector(path: Path, *, crs=None, layer=None, encoding=None, coord_sys=None, **_ignored) -> gpd.GeoDataFrame:
    """Read a vector file's sites; ``crs`` only labels files that declare none."""
    path = Path(path)
    ext = path.suffix.lower()
    kwargs = {}
    if encoding:
        kwargs["encoding"] = check_encoding_name(encoding, path)
    if ext == ".parquet":
        gdf = _read_parquet(path)
        return _finish(gdf, path, crs=crs, coord_sys=coord_sys)
    quiet_library_notes(PYOGRIO_NOTES)  # (GDAL's notes on opening too)
    src = str(path)
    if ext == ".zip":
        named = layer
        inner, names, layer = _check_zip(path, layer)  # layer: one inside the dataset, or None
        src = f"/vsizip/{path}/{inner}"
        if inner.lower().endswith(".shp"):
            kwargs.update(_shapefile_options(path, crs, encoding, inner, names))
        if layer is None and named:  # it named the dataset; also a layer of that name inside it, if there is one
            try:
                inner_names = [str(n) for n in pyogrio.list_layers(src)[:, 0]]
            except (pyogrio.errors.DataSourceError, OSError, ValueError, RuntimeError, UnicodeError) as exc:
                raise _cannot(path, exc) from None
            layer = named if len(inner_names) > 1 and named in inner_names else None
    elif ext == ".shp":
        kwargs.update(_shapefile_options(path, crs, encoding))
    try:
        layers = pyogrio.list_layers(src)
    except (pyogrio.errors.DataSourceError, OSError, ValueError, RuntimeError, UnicodeError) as exc:
        raise _cannot(path, exc) from None
    kml = ext in (".kml", ".kmz", ".ovkml", ".ovkmz")
    names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if layer and layer not in names:
        raise SiteInputError(f"no layer {layer!r}", path=path, hint=f"layers are {', '.join(names[:10]) or '(none)'}")
    if layer:
        gdf = _read(src, path, layer=layer, **kwargs)
    elif kml and len(names) > 1:
        frames = []
        for name in names:
            part = _read(src, path, layer=name, **kwargs)
            if len(part):
                part["kml_folder"] = name
                frames.append(part)
        if not frames:
            raise SiteInputError("no placemarks in the KML", path=path, hint="export the sites again")
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    elif len(names) > 1:
        raise SiteInputError(f"the file has {len(names)} layers ({', '.join(names[:6])})", path=path,
                             hint="give --layer with the one that holds the sites")
    elif not names:
        raise SiteInputError("the file has no layers", path=path, hint="export the sites again")
    else:
        gdf = _read(src, path, **kwargs)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise SiteInputError("the file has no geometry", path=path,
                             hint="give a file with points, lines or polygons (for tables use .csv with lon/lat)")
    if kml:  # KML altitudes are for display (clampToGround, 0); not a 3D site
        gdf = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=shapely.force_2d(gdf.geometry.values),
                               crs=gdf.crs)
        cs = coord_sys
        if cs is None and ext in (".ovkml", ".ovkmz"):
            log.info("%s: 奥维 .ovkml is GCJ-02; converted to WGS84 (give --coord-sys wgs84 if it is not)", path)
            cs = "gcj02"
        elif cs is None:
            hint = shift_hint(path.name, _kml_head(path))
            if hint:
                warnings.warn(f"{path}: looks like {hint[1]} but was read as WGS84 as KML says; if the sites sit "
                              f"a few hundred metres off, give --coord-sys {hint[0]}", SiteInputWarning, stacklevel=3)
        return _finish(gdf, path, crs=crs, coord_sys=cs)
    return _finish(gdf, path, crs=crs, coord_sys=coord_sys)


def _shapefile_options(path, crs, encoding, inner=None, names=None) -> dict:
    """Check a shapefile's parts and .prj; the encoding to read it with when it has no .cpg."""
    has_prj, head = _shapefile_parts(path, inner, names)
    if not has_prj and crs is None:
        raise SiteInputError("the shapefile has no .prj, so its coordinate system is unknown", path=path,
                             hint="copy the .prj along, or give --crs (e.g. EPSG:4490, EPSG:4550)")
    return _guess_encoding(head, path) if head is not None and not encoding else {}


def _guess_encoding(head: bytes, path: Path) -> dict:
    enc = dbf_encoding(head)
    if enc is None:
        return {}
    if enc == "utf-8":  # valid UTF-8 with non-ASCII text is UTF-8 beyond reasonable doubt
        log.info("%s: no .cpg; attribute text read as UTF-8 (detected)", path)
        return {"encoding": enc}
    warnings.warn(f"{path}: no .cpg; attribute text read as {enc.upper()} (detected); give --encoding if it is "
                  f"garbled", SiteInputWarning, stacklevel=5)
    return {"encoding": enc}


def _read_parquet(path: Path) -> gpd.GeoDataFrame:
    import pyarrow

    try:
        return gpd.read_parquet(path)
    except (pyarrow.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError,
            UnicodeError, pyproj.exceptions.CRSError, shapely.errors.ShapelyError) as exc:
        raise _cannot(path, exc) from None


def _finish(gdf, path, *, crs, coord_sys):
    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(crs)
    if coord_sys is not None:
        try:
            geoms, new_crs = apply_coord_sys(gdf.geometry.values, gdf.crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
        gdf = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=geoms, crs=new_crs)
    return gdf
