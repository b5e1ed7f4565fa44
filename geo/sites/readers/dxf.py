"""Sites from a CAD drawing (DXF): closed polylines, circles and hatches are parcels, open polylines lines, POINTs points.

A DXF has no coordinate system, so ``crs`` is required (``--crs EPSG:4550``
for CGCS2000 GK CM 123°E metres; an 8-digit x switches to the prefixed code of
the same zone). CAD x is the easting; a drawing made in survey order (x =
north) is detected and swapped with a warning. Arcs (bulges, ARC, CIRCLE,
ELLIPSE, SPLINE, hatch edges) are flattened to within 1 cm (or 1e-7° in
degrees). Only model space is read. Geometry is never dropped without a word:

* Blocks (INSERT) are exploded by ezdxf at any depth, every copy of a MINSERT
  array included; an entity on layer 0 inside a block takes the layer of its
  block reference, as CAD draws it. Refused, naming the block: a block that
  inserts itself, blocks nested more than 64 deep, block references that
  expand to more than 100,000 entities in all (checked on the block
  definitions, before anything is exploded), an external reference
  (XREF), a missing block definition, and an entity ezdxf cannot place (such
  as a polyline with arcs in a block scaled unevenly, which would fall apart
  into lines).
* A HATCH or MPOLYGON is a parcel: the area its boundary paths enclose as CAD
  fills it (its hatch style; nested paths alternate, so islands are holes). A
  hatch covering the same area as a parcel polyline (its usual boundary) is
  that parcel and is not counted twice (an info line says how many).
* A polyline or spline without the closed flag whose last point lies within
  1 mm of its first (1e-8° in degrees) and has at least 3 distinct points is a
  parcel, with an info line counting them: CAD users close rings by snapping as
  often as by the flag, and read as a line the ring would be checked along its
  outline only, so a zone inside it would go unseen.
* Entities with geometry that are not read as sites (SOLID, 3DFACE, REGION,
  MESH, MLINE, proxy objects, ...) are named with their counts in one warning;
  labels and annotation (TEXT, MTEXT, ATTRIB, DIMENSION, LEADER, tables, images,
  construction lines) are not sites and pass quietly.

A TEXT, MTEXT or block ATTRIB that lies inside exactly one parcel names it.
``layer`` keeps only the given CAD layers (comma separated). Rows are entity
numbers in model-space order, entities of exploded blocks numbered in place (a
block reference refused before exploding: its place in model space);
``dxf_handle`` is the entity's handle or that of its top-level block reference,
``dxf_block`` the blocks it came from (outermost first).
"""
from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..coords import apply_coord_sys, reraise, resolve_projected
from ...errors import SiteInputError, SiteInputWarning
from .vector import quiet_library_notes

log = logging.getLogger(__name__)

__all__ = ["read_dxf"]

#: entity types read as sites
_READ = frozenset({"POINT", "LINE", "LWPOLYLINE", "POLYLINE", "ARC", "CIRCLE", "SPLINE", "ELLIPSE", "HATCH", "MPOLYGON"})
#: labels, annotation and construction entities: never a site, ignored without a word
_LABELS = frozenset({"TEXT", "MTEXT", "ATTRIB", "ATTDEF", "DIMENSION", "ARC_DIMENSION", "LARGE_RADIAL_DIMENSION",
                     "LEADER", "MULTILEADER", "MLEADER", "TOLERANCE", "ACAD_TABLE", "SHAPE", "VIEWPORT", "XLINE",
                     "RAY", "IMAGE", "WIPEOUT", "OLE2FRAME"})
_MAX_NESTING = 64          # blocks within blocks
_MAX_EXPLODED = 100_000    # entities made by exploding blocks, for the whole drawing (ezdxf: ~6,000 a second)
_CLOSE_M = 0.001           # a polyline ending this near its first point is a closed ring (metres)
_CLOSE_DEG = 1e-8          # the same in degrees (~1 mm)


class _Item(NamedTuple):
    entity: object
    layer: str
    handle: str   # the entity's own handle, or that of its top-level block reference
    block: str    # blocks it came from, outermost first ("" in model space)


#: ezdxf's own warnings on the drawings it recovers (what it repairs it logs, and the auditor counts)
EZDXF_NOTES = ((None, Warning, r"ezdxf\."),)


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
    quiet_library_notes(EZDXF_NOTES)
    try:
        doc, auditor = recover.readfile(str(path))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - ezdxf raises many types on damaged files; all mean "unreadable"
        raise SiteInputError(f"not a readable DXF ({type(exc).__name__}: {' '.join(str(exc).split())[:100]})",
                             path=path, hint="save the drawing again as DXF (R2010 or later) from CAD") from None
    if auditor.has_errors:
        log.info("%s: %d DXF error(s) found while reading", path, len(auditor.errors))
    return doc, auditor


def _text(value) -> str:
    """Text from the drawing, valid UTF-8 (ezdxf keeps undecodable bytes as surrogates)."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def _has_arcs(e) -> bool:
    kind = e.dxftype()
    if kind == "LWPOLYLINE":
        return any(abs(b) > 1e-12 for *_, b in e.get_points("xyb"))
    if kind == "POLYLINE":
        return any(abs(v.dxf.get("bulge", 0.0)) > 1e-12 for v in e.vertices)
    return False


class _Explode:
    """Model-space entities with blocks exploded by ezdxf, refusing what cannot be exploded faithfully."""

    def __init__(self, doc, path, layers):
        self.doc, self.path, self.layers = doc, path, layers
        self.sizes: dict[str, tuple[int, bool, int]] = {}  # block -> (entities exploded, arc polylines, depth)
        self.unread: list[tuple[str, str]] = []  # (type, handle) of entities of blocks ezdxf could not copy
        self.n = 0  # row of the last entity given

    def _refuse(self, message, hint):
        raise SiteInputError(message, path=self.path, row=self.n + 1, hint=hint)

    def _size(self, name: str, chain: tuple) -> tuple[int, bool]:
        """Entities block ``name`` becomes when exploded, and whether it holds polylines with arcs; from the block
        definitions, before anything is exploded."""
        if name in self.sizes:
            count, arcs, depth = self.sizes[name]
        else:
            if name in chain:
                loop = " > ".join((*chain[chain.index(name):], name))
                self._refuse(f"block {_text(name)!r} inserts itself ({_text(loop)}), which would never end",
                             "remove the block's reference to itself in CAD (块编辑 BEDIT) and save again")
            if len(chain) >= _MAX_NESTING:
                self._refuse(f"blocks are nested more than {_MAX_NESTING} deep ({_text(chain[0])} > ... > "
                             f"{_text(name)})", "explode the outer blocks in CAD (分解 EXPLODE) and save again")
            block = self.doc.blocks.get(name)
            if block is None:
                self._refuse(f"a block reference names block {_text(name)!r}, which the drawing does not define",
                             "save the drawing again from CAD with its blocks, or explode the reference (分解 EXPLODE)")
            if block.block.is_xref:
                self._refuse(f"block {_text(name)!r} is an external reference (XREF) to "
                             f"{_text(block.block.dxf.get('xref_path', '?'))!r}, whose drawing is not in this file",
                             "bind it in CAD (外部参照 XREF > 绑定 Bind) and save again")
            count, arcs, depth = 0, False, 1
            for e in block:
                kind = e.dxftype()
                if kind == "INSERT":
                    inner_name = e.dxf.get("name", "")
                    inner, inner_arcs = self._size(inner_name, (*chain, name))
                    count += max(e.mcount, 1) * inner
                    arcs = arcs or inner_arcs
                    depth = max(depth, 1 + self.sizes[inner_name][2])
                elif kind != "ATTDEF":  # attribute definitions are templates, not drawn
                    count += 1
                    arcs = arcs or _has_arcs(e)
            self.sizes[name] = (count, arcs, depth)
        if len(chain) + depth > _MAX_NESTING:  # a block measured before, met deeper down
            self._refuse(f"blocks are nested more than {_MAX_NESTING} deep ({_text(chain[0] if chain else name)} > ... "
                         f"> {_text(name)})", "explode the outer blocks in CAD (分解 EXPLODE) and save again")
        return count, arcs

    def check(self, msp) -> None:
        """Refuse, before exploding anything, block references that never end or make too many entities."""
        exploded = 0
        for row, e in enumerate(msp, start=1):
            if e.dxftype() != "INSERT":
                continue
            self.n = row - 1  # refusals name the reference's place in model space
            name = e.dxf.get("name", "")
            copies = e.mcount if e.mcount > 1 else 1
            made = copies * self._size(name, ())[0]
            exploded += made
            if exploded > _MAX_EXPLODED:
                what = f"{copies} copies of " if copies > 1 else ""
                self._refuse(f"block reference {_text(e.dxf.get('handle', '?'))} ({what}block {_text(name)!r}) expands "
                             f"to {made} entities; ecozone explodes at most {_MAX_EXPLODED} in a drawing"
                             + (f" ({exploded} with the blocks before it)" if made < exploded else ""),
                             "explode the blocks in CAD (分解 EXPLODE) or split the drawing into several files")
        self.n = 0

    def items(self, entities, layer="0", handle="", chain=()):
        for e in entities:
            kind = e.dxftype()
            own = _text(e.dxf.get("layer", "0"))
            eff = layer if chain and own == "0" else own
            if kind != "INSERT":
                if not self.layers or eff in self.layers:
                    self.n += 1
                    yield _Item(e, eff, handle or _text(e.dxf.get("handle", "")), "/".join(map(_text, chain)))
                continue
            name = e.dxf.get("name", "")
            _count, arcs = self._size(name, chain)
            top = handle or _text(e.dxf.get("handle", "?"))
            if arcs and not math.isclose(abs(e.dxf.xscale), abs(e.dxf.yscale), rel_tol=1e-9):
                self._refuse(f"block {_text(name)!r} (reference {top}) is scaled unevenly (x {e.dxf.xscale:g}, "
                             f"y {e.dxf.yscale:g}) and holds polylines with arcs, which cannot be placed as drawn",
                             "give the block reference equal x and y scales, or explode it in CAD and save again")
            for ins in (e.multi_insert() if e.mcount > 1 else [e]):
                for a in ins.attribs:  # attribute values label parcels like TEXT
                    self.n += 1
                    yield _Item(a, eff, top, "/".join(map(_text, (*chain, name))))
                skipped = []
                parts = ins.virtual_entities(skipped_entity_callback=lambda x, why, s=skipped: s.append((x.dxftype(), why)))
                yield from self.items(parts, eff, top, (*chain, name))
                lost = [(k, why) for k, why in skipped if k in _READ]
                if lost:
                    self._refuse(f"block {_text(name)!r} (reference {top}): {len(lost)} {lost[0][0]} cannot be placed "
                                 f"({_text(lost[0][1])})", "explode the block in CAD (分解 EXPLODE) and save again")
                for k, _why in skipped:  # not read anyway: counted with the other entities not read
                    if k not in _LABELS:
                        self.unread.append((k, top))


def _distinct(xy, tol) -> int:
    return len(np.unique(np.round(np.asarray(xy, dtype="float64") / tol), axis=0))


def _areal(g):
    """The polygonal part of a geometry (make_valid may add lines or points)."""
    parts = [p for p in shapely.get_parts(g) if shapely.get_dimensions(p) == 2]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _fill(e, tol, close):
    """The area a HATCH or MPOLYGON fills: its boundary paths for its hatch style, combined even-odd."""
    from ezdxf import path as dxfpath

    ocs, elevation = e.ocs(), e.dxf.elevation.z
    boundaries = list(e.paths.rendering_paths(e.dxf.get("hatch_style", 0))) or list(e.paths)
    area = shapely.Polygon()
    for boundary in boundaries:
        p = dxfpath.from_hatch_boundary_path(boundary, ocs, elevation)
        for sub in (p.sub_paths() if p.has_sub_paths else [p]):
            xy = [(v.x, v.y) for v in sub.flattening(distance=tol)]
            if len(xy) >= 3 and _distinct(xy, close) >= 3:
                area = shapely.symmetric_difference(area, _areal(shapely.make_valid(shapely.Polygon(xy))))
    return _areal(area)


def _geometry(e, kind, handle, tol, close):
    """(kind, shapely geometry in drawing coordinates, closed by snapping) of one entity; None: a mesh."""
    from ezdxf import path as dxfpath

    if kind == "POINT":
        p = e.dxf.location
        return "point", shapely.Point(p.x, p.y), False
    if kind == "LINE":
        a, b = e.dxf.start, e.dxf.end
        xy, closed = [(a.x, a.y), (b.x, b.y)], False
    elif kind in ("HATCH", "MPOLYGON"):
        return "polygon", _fill(e, tol, close), False
    elif kind == "POLYLINE" and (e.is_poly_face_mesh or e.is_polygon_mesh):
        return None
    else:
        xy = None
        if kind == "LWPOLYLINE" and tuple(e.dxf.extrusion) == (0, 0, 1):
            pts = e.get_points("xyb")
            if not any(abs(b) > 1e-12 for *_, b in pts):
                xy = [(x, y) for x, y, _ in pts]
        if xy is None:
            xy = [(v.x, v.y) for v in dxfpath.make_path(e).flattening(distance=tol)]
        closed = {"LWPOLYLINE": lambda: e.closed, "POLYLINE": lambda: e.is_closed, "CIRCLE": lambda: True,
                  "SPLINE": lambda: e.closed}.get(kind, lambda: False)()
    closed = bool(closed)
    snapped = False
    if (not closed and kind != "LINE" and len(xy) > 3 and math.dist(xy[0], xy[-1]) <= close
            and _distinct(xy[:-1], close) >= 3):
        closed, snapped = True, kind != "ELLIPSE"  # a full ellipse is closed by nature
        xy = [*xy[:-1], xy[0]]
    if closed:
        distinct = _distinct(xy, close)
        if distinct < 3:
            raise SiteInputError(f"closed polyline {handle} has {distinct} distinct point(s); "
                                 f"a parcel needs 3", hint="redraw it or open it (a line)")
        if xy[0] != xy[-1]:
            xy = [*xy, xy[0]]
        return "polygon", shapely.Polygon(xy), snapped
    if _distinct(xy, close) < 2:
        raise SiteInputError(f"polyline {handle} has fewer than 2 distinct points",
                             hint="redraw it or delete it")
    return "line", shapely.LineString(xy), False


def _label(it: _Item):
    """(x, y, text) of a TEXT, MTEXT or ATTRIB, or None."""
    e, kind = it.entity, it.entity.dxftype()
    try:
        if kind == "MTEXT":
            p, label = e.dxf.insert, e.plain_text()
        else:  # TEXT and ATTRIB place their insertion point in the entity's own coordinate system
            p, label = e.ocs().to_wcs(e.dxf.insert), e.dxf.text
        return p.x, p.y, " ".join(_text(label).split())
    except Exception:  # noqa: BLE001 - an unreadable label is only a label
        return None


def _preview(values, n=5) -> str:
    values = list(values)
    return ", ".join(values[:n]) + (f" and {len(values) - n} more" if len(values) > n else "")


def read_dxf(path, *, crs=None, layer=None, coord_sys=None, **_ignored) -> gpd.GeoDataFrame:
    """Read a DXF's model space as sites (see the module docstring)."""
    path = Path(path)
    if crs is None:
        raise SiteInputError("a DXF drawing has no coordinate system", path=path,
                             hint="give --crs, e.g. EPSG:4550 (CGCS2000 GK CM 123°E) or EPSG:4529 (zone 41 with prefix)")
    user = pyproj.CRS.from_user_input(crs)
    doc, auditor = _load(path)
    layers = {s.strip() for s in str(layer).split(",") if s.strip()} if layer else set()
    explode = _Explode(doc, path, layers)
    try:
        msp = doc.modelspace()
        explode.check(msp)
        items = list(explode.items(msp))
    except SiteInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - as in _load
        raise SiteInputError(f"not a readable DXF ({type(exc).__name__})", path=path,
                             hint="save the drawing again as DXF from CAD") from None
    if user.is_geographic:
        tol, close = 1e-7, _CLOSE_DEG
    else:
        tol, close = 0.01, _CLOSE_M / (user.axis_info[0].unit_conversion_factor if user.axis_info else 1.0)
    feats, texts, snapped = [], [], []
    unread: dict[str, list[str]] = {}  # type -> handles of entities with geometry that are not read as sites
    for kind, handle in explode.unread:
        unread.setdefault(kind, []).append(handle)
    for n, it in enumerate(items, start=1):
        kind = it.entity.dxftype()
        if kind in ("TEXT", "MTEXT", "ATTRIB"):
            if (label := _label(it)) is not None:
                texts.append(label)
            continue
        if kind not in _READ:
            if kind not in _LABELS:
                unread.setdefault(kind, []).append(it.handle)
            continue
        try:
            got = _geometry(it.entity, kind, it.handle or '?', tol, close)
        except SiteInputError as exc:
            raise SiteInputError(exc.message, path=path, row=n, hint=exc.hint) from None
        except Exception as exc:  # noqa: BLE001 - a damaged entity is reported, not a traceback
            raise SiteInputError(f"entity {it.handle or '?'} ({kind}) cannot be read ({type(exc).__name__})",
                                 path=path, row=n, hint="redraw it, or leave its layer out with --layer") from None
        if got is None:
            unread.setdefault("POLYLINE mesh", []).append(it.handle)
            continue
        gkind, geom, snap = got
        if geom.is_empty:  # a hatch whose boundaries are degenerate or cancel out: said, not dropped quietly
            unread.setdefault(f"{kind} without area", []).append(it.handle)
            continue
        if snap:
            snapped.append(it.handle)
        feats.append((n, it, gkind, geom))
    unread_text = ", ".join(f"{len(h)} {k}" for k, h in sorted(unread.items()))
    if not feats:
        where = f" on layer(s) {', '.join(sorted(layers))}" if layers else ""
        if auditor.has_errors:
            where += f" (ezdxf dropped {len(auditor.errors)} damaged record(s))"
        if unread:
            where += f" (it holds {unread_text}, which ecozone does not read as sites)"
        raise SiteInputError(f"no polylines, lines or points in the drawing's model space{where}", path=path,
                             hint="draw the sites as closed polylines (parcels), polylines (lines) or points")
    feats = _drop_repeated_hatches(feats, tol, path)

    # one CRS decision for all coordinates (zone prefix, swapped axes)
    geoms = np.array([f[3] for f in feats], dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    try:
        res = resolve_projected(coords[:, 0], coords[:, 1], crs=user, order_hint="x,y")
    except SiteInputError as exc:
        raise reraise(exc, path=path, row_of=lambda r: feats[owner[r]][0]) from None
    geoms = shapely.set_coordinates(geoms, np.column_stack([res.east, res.north]))
    records = [{"name": "", "dxf_layer": it.layer, "dxf_handle": it.handle, "dxf_block": it.block,
                "dxf_type": it.entity.dxftype(), "_row": n} for n, it, _, _ in feats]
    if texts:  # label parcels with the one text inside them
        tx = shapely.points([(t[1], t[0]) if res.swapped else (t[0], t[1]) for t in texts])
        for i, g in enumerate(geoms):
            if shapely.get_type_id(g) in (3, 6):
                inside = [texts[j][2] for j in np.flatnonzero(shapely.contains(g, tx))]
                if len(inside) == 1:
                    records[i]["name"] = inside[0]
    out_crs = res.crs
    if coord_sys is not None:  # a drawing in lon/lat picked from a web map
        try:
            geoms, out_crs = apply_coord_sys(geoms, out_crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    for note in res.notes:  # warnings after every error, so an error stays the one line printed
        warnings.warn(f"{path}: {note}", SiteInputWarning, stacklevel=2)
    if unread:
        handles = sorted({h for hs in unread.values() for h in hs})
        warnings.warn(f"{path}: {unread_text} in the drawing not read as sites (handle(s) {_preview(handles)}; "
                      f"ecozone reads points, lines, polylines, arcs, circles, ellipses, splines and hatches); "
                      f"if they mark sites, redraw them as closed polylines", SiteInputWarning, stacklevel=2)
    if snapped:
        log.info("%s: %d polyline(s) ending within %s of their first point without the closed flag read as "
                 "parcels (%s)", path, len(snapped), f"{close:g}°" if user.is_geographic else "1 mm", _preview(snapped))
    log.info("%s: %d site(s) from DXF in %s", path, len(records), out_crs.name)
    return gpd.GeoDataFrame(records, geometry=geoms, crs=out_crs)


def _drop_repeated_hatches(feats, tol, path):
    """Leave out hatches that fill the same area as a parcel polyline (the hatch's boundary), with an info line."""
    fills = [i for i, f in enumerate(feats) if f[1].entity.dxftype() in ("HATCH", "MPOLYGON")]
    parcels = [i for i, f in enumerate(feats) if f[2] == "polygon" and f[1].entity.dxftype() not in ("HATCH", "MPOLYGON")]
    if not fills or not parcels:
        return feats
    tree = shapely.STRtree([feats[i][3] for i in parcels])
    repeated = set()
    for i in fills:
        h = feats[i][3]
        for j in tree.query(h, predicate="intersects"):
            p = feats[parcels[j]][3]
            if shapely.area(shapely.symmetric_difference(h, p)) <= 2 * tol * max(h.length, p.length):
                repeated.add(i)
                break
    if repeated:
        log.info("%s: %d hatch(es) filling the same area as a parcel polyline counted once (%s)", path,
                 len(repeated), _preview([feats[i][1].handle for i in sorted(repeated)]))
    return [f for i, f in enumerate(feats) if i not in repeated]
