"""Export a layer set in the formats planners exchange, atomically and without loss: :func:`export_layers`.

Every export is written beside its target first (a hidden temporary file or folder, see
:mod:`geo.export.staging`) and moved into place only when complete, so a failure leaves
nothing half-written; an existing output is replaced only with ``overwrite=True``. A failed
write (a full disk, a quota, a folder that cannot be written) is one
:class:`~geo.errors.ExportError` naming the output. Writers whose library can end a file
short without an error on a full disk (GDAL's GeoJSON, FlatGeobuf and GTiff) write into
memory and the finished bytes are written by Python, which reports it.
"""
from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

from ..atomic import WRITE_ERRORS, make_parents, remove_folders, write_failed
from ..errors import EcozoneError, ExportError
from . import cad, gpkg, kml, raster, shp, vector
from .common import crs_label, resolve_export_crs
from .formats import FORMATS, check_options
from .staging import check_target, commit, planned_outputs, remove_staged, staging_path

log = logging.getLogger(__name__)

__all__ = ["export_layers", "WRITERS"]

#: format -> writer(ls, layer ids, staged file or folder, CRS, **format options)
WRITERS = {
    "gpkg": gpkg.write_gpkg,
    "shp": shp.write_shapefiles,
    "geojson": vector.write_geojson,
    "fgb": vector.write_fgb,
    "parquet": vector.write_parquet,
    "kml": functools.partial(kml.write_kml, kmz=False),
    "kmz": functools.partial(kml.write_kml, kmz=True),
    "dxf": cad.write_dxf,
    "tif": raster.write_rasters,
}


def export_layers(ls, fmt: str, out, *, crs=None, layers=None, encoding: str | None = None,
                  overwrite: bool = False, dxf_version: str | None = None, resolution_m: float | None = None,
                  verdict_for: str | None = None) -> list[Path]:
    """Write a layer set's layers in one exchange format.

    Parameters
    ----------
    ls : the layer set (:func:`geo.layerset.read.read_layerset`).
    fmt : one of :data:`~geo.export.formats.FORMATS`.
    out : the file (``gpkg``, ``kml``, ``kmz``, ``dxf``) or the folder (the others) to write.
    crs : the output CRS (see :func:`~geo.export.common.resolve_export_crs`); default: the
        storage CRS, WGS84 for GeoJSON/KML, ``auto-gk`` for DXF, the measurement CRS for GeoTIFF.
    layers : layer ids to export (default all, in manifest order).
    encoding : ``gbk`` (default) or ``utf-8`` for shapefiles; for DXF ``gbk`` means R2000
        with ANSI_936 and ``utf-8`` R2010. Other formats are UTF-8 by definition.
    overwrite : replace existing outputs.
    dxf_version : ``R2000``…``R2018`` (default R2010, or R2000 with ``encoding="gbk"``).
    resolution_m : GeoTIFF pixel size in CRS units (default 10).
    verdict_for : GeoTIFF only: also write the most severe verdict for this project type.

    Returns
    -------
    The files written, in order.

    Raises
    ------
    ExportError
        On a bad option, an existing output without ``overwrite`` or a failed write (a
        full disk…: one line naming ``out``); a failure leaves neither a partial output
        nor a temporary file.
    CRSError, LayerSetError, RuleError
        On an unsuitable CRS, an unknown layer, or (``verdict_for``) a missing rule table.
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    ids = list(dict.fromkeys(layers or ls.layer_ids))
    for lid in ids:
        ls.layer(lid)  # LayerSetError naming the known layers
    opts = check_options(fmt, encoding=encoding, dxf_version=dxf_version, resolution_m=resolution_m,
                         verdict_for=verdict_for)
    target_crs = resolve_export_crs(ls, fmt, crs, ids)
    out = Path(out)
    planned = planned_outputs(fmt, out, ids, opts.get("verdict_for"))
    check_target(fmt, out, planned, overwrite)

    started = time.perf_counter()
    staged = staging_path(fmt, out)
    created = []
    try:
        created = make_parents(out.parent)
        if FORMATS[fmt][0] == "folder":
            staged.mkdir()
        WRITERS[fmt](ls, ids, staged, target_crs, **opts)
        commit(fmt, out, staged, planned)
    except BaseException as exc:
        remove_staged(staged)
        remove_folders(created)
        if isinstance(exc, (EcozoneError, KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, WRITE_ERRORS):
            raise write_failed(exc, out) from exc
        if isinstance(exc, Exception):
            raise ExportError(f"{fmt} export failed ({type(exc).__name__}: {' '.join(str(exc).split())})",
                              path=out) from exc
        raise
    n = sum(len(ls.layer(lid)) for lid in ids)
    log.info("exported %d layers (%d features) as %s in %s to %s in %.1f s", len(ids), n, fmt,
             crs_label(target_crs), out, time.perf_counter() - started)
    return planned
