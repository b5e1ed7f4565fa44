"""Sites from a CAD drawing (DXF): closed polylines are parcels, open ones lines, POINTs points.

A DXF has no coordinate system, so ``crs`` is required (``--crs EPSG:4550``
for CGCS2000 GK CM 123°E metres; an 8-digit x switches to the prefixed code of
the same zone). CAD x is the easting; a drawing made in survey order (x =
north) is detected and swapped with a warning. Arcs (bulges, ARC, CIRCLE,
SPLINE) are flattened to within 1 cm (or 1e-7° in degrees). Blocks (INSERT)
are exploded. A TEXT or MTEXT that lies inside exactly one parcel names it.
``layer`` keeps only the given CAD layers (comma separated).
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..coords import apply_coord_sys, reraise, resolve_projected
from ..errors import SiteInputError
from . import SiteInputWarning

log = logging.getLogger(__name__)

__all__ = ["read_dxf"]

_LINEAR = {"LWPOLYLINE", "POLYLINE", "LINE", "ARC", "CIRCLE", "SPLINE", "ELLIPSE"}
_MAX_DEPTH = 4


def _sniff(path: Path) -> None:
    """Refuse what is not DXF at all (ezdxf's recover mode would return an empty drawing)."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"AutoCAD Binary DXF"):
        return
    if head[:6] in (b"AC1015", b"AC1018", b"AC1021", b"AC1024", b"AC1027", b"AC1032") or head[:4] == b"AC10":
        raise SiteInputError("this is a DWG drawing named .dxf", path=path,
                             hint="save it as DXF in CAD (另存为 DXF)")
    lines = [ln.strip() for ln in head.decode("latin-1").splitlines() if ln.strip()]
    if not lines or lines[0] not in ("0", "999"):
        raise SiteInputError("not a DXF file (it does not start with a DXF group code)", path=path,
                             hint="save the drawing as DXF from CAD, or give the file its real extension")


def _load(path: Path):
    from ezdxf import recover

    _sniff(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc, auditor = recover.readfile(str(path))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - ezdxf raises many types on damaged files; all mean "unreadable"
        raise SiteInputError(f"not a readable DXF ({type(exc).__name__}: {' '.join(str(exc).split())[:100]})",
                             path=path, hint="save the drawing again as DXF (R2010 or later) from CAD") from None
    if auditor.has_errors:
        log.info("%s: %d DXF error(s) fixed while reading", path, len(auditor.errors))
    return doc, auditor


def _entities(space, layers, depth=0):
    for e in space:
        kind = e.dxftype()
        if kind == "INSERT" and depth < _MAX_DEPTH:
            try:
                yield from _entities(list(e.virtual_entities()), layers, depth + 1)
            except Exception as exc:  # noqa: BLE001 - a broken block is skipped, not fatal
                log.info("block %s skipped: %s", e.dxf.get("name", "?"), exc)
            continue
        if layers and e.dxf.get("layer", "0") not in layers:
            continue
        yield e


def _flat(e, tol):
    from ezdxf import path as dxfpath

    return [(v.x, v.y) for v in dxfpath.make_path(e).flattening(distance=tol)]


def _geometry(e, tol):
    """(kind, coordinates, closed) of one entity, or None for what is not a site."""
    kind = e.dxftype()
    if kind == "POINT":
        p = e.dxf.location
        return "point", [(p.x, p.y)], False
    if kind == "LINE":
        a, b = e.dxf.start, e.dxf.end
        return "line", [(a.x, a.y), (b.x, b.y)], False
    if kind == "LWPOLYLINE":
        closed = bool(e.closed)
        pts = e.get_points("xyb")
        if any(abs(b) > 1e-12 for *_, b in pts):
            xy = _flat(e, tol)
        else:
            xy = [(x, y) for x, y, _ in pts]
        return ("polygon" if closed else "line"), xy, closed
    if kind == "POLYLINE":
        if e.is_poly_face_mesh or e.is_polygon_mesh:
            return None
        closed = bool(e.is_closed)
        xy = _flat(e, tol) if any(abs(v.dxf.get("bulge", 0.0)) > 1e-12 for v in e.vertices) else \
            [(v.dxf.location.x, v.dxf.location.y) for v in e.vertices]
        return ("polygon" if closed else "line"), xy, closed
    if kind == "CIRCLE":
        return "polygon", _flat(e, tol), True
    if kind in ("ARC", "SPLINE", "ELLIPSE"):
        xy = _flat(e, tol)
        closed = kind == "ELLIPSE" and len(xy) > 3 and xy[0] == xy[-1]
        return ("polygon" if closed else "line"), xy, closed
    return None


def _text(value) -> str:
    """Text from the drawing, valid UTF-8 (ezdxf keeps undecodable bytes as surrogates)."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def read_dxf(path, *, crs=None, layer=None, coord_sys=None, **_ignored) -> gpd.GeoDataFrame:
    """Read a DXF's model space as sites (see the module docstring)."""
    path = Path(path)
    if crs is None:
        raise SiteInputError("a DXF drawing has no coordinate system", path=path,
                             hint="give --crs, e.g. EPSG:4550 (CGCS2000 GK CM 123°E) or EPSG:4529 (zone 41 with prefix)")
    user = pyproj.CRS.from_user_input(crs)
    doc, auditor = _load(path)
    layers = {s.strip() for s in str(layer).split(",") if s.strip()} if layer else set()
    try:
        msp = doc.modelspace()
        items = list(_entities(msp, layers))
    except Exception as exc:  # noqa: BLE001 - as in _load
        raise SiteInputError(f"not a readable DXF ({type(exc).__name__})", path=path,
                             hint="save the drawing again as DXF from CAD") from None
    tol = 1e-7 if user.is_geographic else 0.01
    feats, texts = [], []
    for n, e in enumerate(items, start=1):
        kind = e.dxftype()
        if kind in ("TEXT", "MTEXT"):
            try:
                p = e.dxf.insert
                label = e.plain_text() if kind == "MTEXT" else e.dxf.text
                texts.append((p.x, p.y, " ".join(_text(label).split())))
            except Exception:  # noqa: BLE001 - an unreadable label is only a label
                pass
            continue
        if kind not in _LINEAR | {"POINT"}:
            continue
        try:
            got = _geometry(e, tol)
        except Exception as exc:  # noqa: BLE001 - a damaged entity is reported, not a traceback
            raise SiteInputError(f"entity {_text(e.dxf.get('handle', '?'))} ({kind}) cannot be read "
                                 f"({type(exc).__name__})", path=path, row=n,
                                 hint="redraw it, or leave its layer out with --layer") from None
        if got is None:
            continue
        gkind, xy, _closed = got
        feats.append((n, e, gkind, xy))
    if not feats:
        where = f" on layer(s) {', '.join(sorted(layers))}" if layers else ""
        if auditor.has_errors:
            where += f" (ezdxf dropped {len(auditor.errors)} damaged record(s))"
        raise SiteInputError(f"no polylines, lines or points in the drawing's model space{where}", path=path,
                             hint="draw the sites as closed polylines (parcels), polylines (lines) or points")
    # one CRS decision for all coordinates (zone prefix, swapped axes)
    allxy = np.array([c for f in feats for c in f[3]], dtype="float64")
    owner = np.repeat(np.arange(len(feats)), [len(f[3]) for f in feats])
    try:
        res = resolve_projected(allxy[:, 0], allxy[:, 1], crs=user, order_hint="x,y")
    except SiteInputError as exc:
        raise reraise(exc, path=path, row_of=lambda r: feats[owner[r]][0]) from None
    for note in res.notes:
        warnings.warn(f"{path}: {note}", SiteInputWarning, stacklevel=2)
    e_all, n_all = res.east, res.north
    records, geoms, k = [], [], 0
    for n, e, gkind, xy in feats:
        pts = list(zip(e_all[k:k + len(xy)], n_all[k:k + len(xy)]))
        k += len(xy)
        handle = e.dxf.get("handle", "")
        distinct = len({(round(a, 6), round(b, 6)) for a, b in pts})
        if gkind == "polygon":
            if distinct < 3:
                raise SiteInputError(f"closed polyline {_text(handle)} has {distinct} distinct point(s); a parcel needs 3",
                                     path=path, row=n, hint="redraw it or open it (a line)")
            if pts[0] != pts[-1]:
                pts.append(pts[0])
            geom = shapely.Polygon(pts)
        elif gkind == "line":
            if distinct < 2:
                raise SiteInputError(f"polyline {_text(handle)} has fewer than 2 distinct points", path=path, row=n,
                                     hint="redraw it or delete it")
            geom = shapely.LineString(pts)
        else:
            geom = shapely.Point(pts[0])
        geoms.append(geom)
        records.append({"name": "", "dxf_layer": _text(e.dxf.get("layer", "0")), "dxf_handle": _text(handle),
                        "dxf_type": e.dxftype(), "_row": n})
    geoms_arr = np.array(geoms, dtype=object)
    if texts:  # label parcels with the one text inside them
        tx = shapely.points([(t[0], t[1]) for t in texts])
        if res.swapped:
            tx = shapely.points([(t[1], t[0]) for t in texts])
        for i, g in enumerate(geoms_arr):
            if records[i]["dxf_type"] and shapely.get_type_id(g) == 3:
                inside = [texts[j][2] for j in np.flatnonzero(shapely.contains(g, tx))]
                if len(inside) == 1:
                    records[i]["name"] = inside[0]
    out_crs = res.crs
    if coord_sys is not None:  # a drawing in lon/lat picked from a web map
        try:
            geoms_arr, out_crs = apply_coord_sys(geoms_arr, out_crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    log.info("%s: %d site(s) from DXF in %s", path, len(records), out_crs.name)
    return gpd.GeoDataFrame(records, geometry=geoms_arr, crs=out_crs)
