"""What a site does to the ecological network: cuts a corridor, runs along it, the width left, ΔPC.

For each site that meets a node or a corridor (a ``links`` layer of ``[network]``), in the measurement CRS:

* the site as a barrier: a parcel's footprint, a line or point widened to ``BARRIER_M`` (a road, a fence);
* ``severed``: the corridor less the barrier falls into another number of pieces than it had (cut across its
  whole width, or a piece taken whole; pieces under a square of the corridor's width are not counted) → relation
  ``cuts``;
* ``length_inside_m``: a line's length inside the corridor, or the long side of the smallest rectangle round a
  parcel's part inside; ``along`` when it is at least ``along_ratio`` × the corridor's width → relation ``along``;
* ``width_left_m``: 0 when severed, else the width less the occupied part's mean cross-width
  (area inside / length inside);
* ``delta_pc``: 100·(PC − PC with the site)/PC (%), where the site removes the corridor links whose two nodes
  no piece of the corridor it severs still joins, and takes its area off the nodes' own parts it occupies.

A point (a 1 m disc) neither cuts nor runs along a corridor: only lines and parcels are tested for it; it takes
the disc's area off the first node it lies in (the one whose own part holds it). PC with the site is
Σ a'_i a'_j p*_ij / A_L² (a' the areas left), with p* recomputed only for the joins a site severs, once per
distinct set of lost joins: all sites at once, whatever their number.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from .graph import Network
from .indices import pstar

__all__ = ["BARRIER_M", "barriers", "met_pairs", "point_delta_pc", "site_impacts"]

#: the width (m) of a line or point site as a barrier
BARRIER_M = 1.0
_COLUMNS = ["site", "link", "layer", "zone_id", "relation", "severed", "width_left_m", "length_inside_m"]


class _Corridors(NamedTuple):
    """A network's corridors as arrays indexed by link row (NaN/empty for contact links)."""

    is_corridor: np.ndarray
    geom: np.ndarray
    width: np.ndarray
    joins: list
    pieces: np.ndarray
    layer: np.ndarray
    zone_id: np.ndarray
    nodes: np.ndarray


def _corridors_of(net: Network) -> _Corridors:
    if "corridors" not in net.cache:
        links = net.links
        geom = links.geometry.to_numpy()
        width = links["width_m"].to_numpy(float) if "width_m" in links else np.full(len(links), np.nan)
        joins = [[int(k[1:]) - 1 for k in str(v).split(";") if k] for v in links["nodes"]]
        is_corr = (links["kind"] == "corridor").to_numpy()
        pieces = np.array([_n_pieces(g, w) if c else 0 for g, w, c in zip(geom, width, is_corr)], dtype=np.int64)
        shapely.prepare(geom)
        net.cache["corridors"] = _Corridors(is_corr, geom, width, joins, pieces, links["layer"].to_numpy(),
                                            links["zone_id"].to_numpy(), net.nodes.geometry.to_numpy())
    return net.cache["corridors"]


def _n_pieces(geom, width: float) -> int:
    return int((shapely.area(shapely.get_parts(geom)) >= width ** 2).sum())


def barriers(geoms: np.ndarray) -> np.ndarray:
    """Sites as barriers: parcels as they are, lines and points widened to :data:`BARRIER_M`."""
    out = np.asarray(geoms, dtype=object).copy()
    thin = shapely.get_dimensions(out) < 2
    if thin.any():
        out[thin] = shapely.buffer(out[thin], BARRIER_M / 2)
    return out


def met_pairs(net: Network, geoms: np.ndarray) -> tuple:
    """The (site, node row) and (site, corridor link row) pairs where sites meet the network."""
    c = _corridors_of(net)
    out = []
    for tree_geoms, keep in ((net.nodes.geometry.to_numpy(), None), (c.geom, c.is_corridor)):
        shapely.prepare(tree_geoms)
        s, k = shapely.STRtree(tree_geoms).query(geoms)
        hit = shapely.intersects(tree_geoms[k], geoms[s]) & (True if keep is None else keep[k])
        out.append((s[hit], k[hit]))
    return tuple(out)


def _lengths_inside(parts: np.ndarray) -> np.ndarray:
    """A line's length; else the long side of the smallest rectangle round the part."""
    out = shapely.length(parts)
    areal = np.flatnonzero(shapely.get_dimensions(parts) == 2)
    if len(areal):
        xy, idx = shapely.get_coordinates(shapely.oriented_envelope(parts[areal]), return_index=True)
        count = np.bincount(idx, minlength=len(areal))
        box = np.flatnonzero(count >= 4)
        start = (np.cumsum(count) - count)[box]
        side = np.maximum(np.hypot(*(xy[start + 1] - xy[start]).T), np.hypot(*(xy[start + 2] - xy[start + 1]).T))
        out[areal[box]] = side
    return out


def _lost_joins(net: Network, row: int, rest) -> list:
    """(link row, node, node) joins of corridor ``row`` that no piece of ``rest`` (what is left of it) still makes."""
    c = _corridors_of(net)
    pieces = [p for p in shapely.get_parts(rest) if p.area >= c.width[row] ** 2]
    nodes = c.nodes[c.joins[row]]
    touch = shapely.dwithin(np.array(pieces, dtype=object)[:, None], nodes[None, :], net.config.contact_m)
    return [(row, min(c.joins[row][a], c.joins[row][b]), max(c.joins[row][a], c.joins[row][b]))
            for a in range(len(nodes)) for b in range(a + 1, len(nodes)) if not (touch[:, a] & touch[:, b]).any()]


def _corridor_rows(net: Network, geoms: np.ndarray, s: np.ndarray, rows: np.ndarray) -> tuple:
    """Cuts and along of lines and parcels ``s`` in corridors ``rows`` (pairs), and each severing site's lost joins."""
    c = _corridors_of(net)
    site, corridor, width = geoms[s], c.geom[rows], c.width[rows]
    walls = barriers(site)
    inside = shapely.intersection(site, corridor)
    length = _lengths_inside(inside)
    thin = shapely.get_dimensions(site) < 2  # a parcel is its own barrier: its area inside is already known
    area_in = shapely.area(inside)
    area_in[thin] = shapely.area(shapely.intersection(walls[thin], corridor[thin]))
    rest = shapely.difference(corridor, walls)
    parts, idx = shapely.get_parts(rest, return_index=True)
    after = np.bincount(idx[shapely.area(parts) >= width[idx] ** 2], minlength=len(s))
    severed = after != c.pieces[rows]  # cut in two, or a piece taken whole
    along = length >= net.config.along_ratio * width
    left = np.where(severed, 0.0, np.maximum(width - np.divide(area_in, length, out=np.zeros(len(s)),
                                                                where=length > 0), 0.0))
    lost = {}
    for k in np.flatnonzero(severed & np.array([len(c.joins[r]) > 1 for r in rows], dtype=bool)):
        joins = _lost_joins(net, int(rows[k]), rest[k])
        if joins:
            lost.setdefault(int(s[k]), set()).update(joins)
    out = []
    for rel, flag in (("cuts", severed), ("along", along)):
        for k in np.flatnonzero(flag):
            out.append({"site": int(s[k]), "link": int(rows[k]), "layer": c.layer[rows[k]],
                        "zone_id": c.zone_id[rows[k]], "relation": rel, "severed": bool(severed[k]),
                        "width_left_m": float(left[k]), "length_inside_m": float(length[k])})
    return out, lost


def _first_node(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Of (site, node) pairs, the positions of each site's first node (the one whose own part holds a point)."""
    order = np.lexsort((n, s))
    return order[np.r_[True, s[order][1:] != s[order][:-1]]] if len(s) else order


def _taken(net: Network, geoms: np.ndarray, s: np.ndarray, n: np.ndarray):
    """The area (m²) each site takes off each node's own part (pairs ``s``, ``n``): a sparse sites × nodes matrix."""
    area = np.zeros(len(s))
    point = shapely.get_dimensions(geoms[s]) == 0
    if point.any():
        ps = np.flatnonzero(point)
        area[ps[_first_node(s[ps], n[ps])]] = math.pi * (BARRIER_M / 2) ** 2
    wide = np.flatnonzero(~point)
    if len(wide):
        own, wall = net.own[n[wide]], barriers(geoms[s[wide]])
        whole = shapely.contains_properly(own, wall)
        area[wide[whole]] = shapely.area(wall[whole])
        part = np.flatnonzero(~whole)
        part = part[shapely.intersects(own[part], wall[part])]
        area[wide[part]] = shapely.area(shapely.intersection(own[part], wall[part]))
    area = np.minimum(area, net.nodes["area_m2"].to_numpy(float)[n])
    return sparse.csr_matrix((area, (s, n)), shape=(len(geoms), len(net.nodes)))


def point_delta_pc(net: Network, n_points: int, met: tuple) -> np.ndarray:
    """ΔPC (%) of points (1 m discs) from the (point, node row) and (point, link row) pairs where they meet the
    network: a disc off the first node's own part, d·(2·(p*a)_k − d·p*_kk)/num; NaN where they meet nothing."""
    (sn, nn), (sl, _) = met
    out = np.full(n_points, np.nan)
    out[sl] = 0.0
    if len(sn):
        a = net.nodes["area_m2"].to_numpy(float)
        p = _pstar_without(net, frozenset())
        num = float(a @ p @ a)
        d = np.minimum(math.pi * (BARRIER_M / 2) ** 2, a)
        per_node = 100.0 * d * (2 * (p @ a) - d * np.diag(p)) / num if num > 0 else np.zeros(len(a))
        first = _first_node(sn, nn)
        out[sn[first]] = per_node[nn[first]]
    return out


def _pstar_without(net: Network, lost: frozenset) -> np.ndarray:
    """p* of the network less the corridor joins ``lost`` ((link row, i, j)), worked out once per set."""
    key = ("pstar", lost)
    if key not in net.cache:
        e = net.edges
        drop = np.array([(m, min(i, j), max(i, j)) in lost for m, i, j in zip(e["link"], e["i"], e["j"])], dtype=bool)
        net.cache[key] = pstar(net.graph().without(edges=drop if len(drop) else None))
    return net.cache[key]


def _delta_pc(net: Network, taken, sites: np.ndarray, lost: dict) -> np.ndarray:
    """ΔPC (%) of ``sites``: 100·(num − num')/num with num = aᵀp*a and num' = (a − d)ᵀp*'(a − d)."""
    a = net.nodes["area_m2"].to_numpy(float)
    p = _pstar_without(net, frozenset())
    num = float(a @ p @ a)
    if num <= 0:
        return np.zeros(len(sites))
    d = taken[sites]
    out = 100.0 * (2 * (d @ (p @ a)) - np.asarray(d.multiply(d @ p).sum(axis=1)).ravel()) / num
    for k, s in enumerate(sites):  # severing sites: p* without the joins they cut
        if s in lost:
            left = a - taken[s].toarray().ravel()
            out[k] = 100.0 * (num - float(left @ _pstar_without(net, frozenset(lost[s])) @ left)) / num
    return out


def site_impacts(net: Network, geoms, *, met: tuple | None = None) -> tuple:
    """Network findings of sites (``geoms`` in the measurement CRS, one per site).

    ``met``: the (site, node row) and (site, link row) pairs where they meet the network, when the caller knows
    them (the check does), else :func:`met_pairs`. Returns ``(rows, delta_pc)``: ``rows`` one per (site,
    corridor, relation) for ``cuts`` and ``along`` (site, link row, layer, zone_id, relation, severed,
    width_left_m, length_inside_m); ``delta_pc`` per site (%, NaN for a site that meets no node or corridor).
    """
    geoms = np.asarray(geoms, dtype=object)
    delta = np.full(len(geoms), np.nan)
    (sn, nn), (sl, ll) = met if met is not None else met_pairs(net, geoms)
    if not len(sn) and not len(sl):
        return pd.DataFrame([], columns=_COLUMNS), delta
    wide = shapely.get_dimensions(geoms[sl]) >= 1
    rows, lost = _corridor_rows(net, geoms, sl[wide], ll[wide]) if wide.any() else ([], {})
    sites = np.unique(np.concatenate([sn, sl])).astype(np.int64)
    delta[sites] = _delta_pc(net, _taken(net, geoms, sn, nn), sites, lost)
    return pd.DataFrame(rows, columns=_COLUMNS), delta
