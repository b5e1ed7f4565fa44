"""What a site does to the ecological network: cuts a corridor, runs along it, the width left, ΔPC.

For each site that meets a corridor (a ``links`` layer of ``[network]``), in the measurement CRS:

* the site as a barrier: a parcel's footprint, a line or point widened to ``BARRIER_M`` (a road, a fence);
* ``severed``: the corridor less the barrier falls into more pieces than it had (cut across its whole
  width; pieces under a square of the corridor's width are not counted) → relation ``cuts``;
* ``length_inside_m``: a line's length inside the corridor, or the long side of the smallest rectangle round a
  parcel's part inside; ``along`` when it is at least ``along_ratio`` × the corridor's width → relation ``along``;
* ``width_left_m``: 0 when severed, else the width less the occupied part's mean cross-width
  (area inside / length inside);
* ``delta_pc``: 100·(PC − PC with the site)/PC (%), where the site removes the links whose two nodes no
  piece of a severed corridor still joins and takes its area off the nodes it occupies.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import shapely

from .graph import Network
from .indices import pc

__all__ = ["BARRIER_M", "site_impacts"]

#: the width (m) of a line or point site as a barrier
BARRIER_M = 1.0


def _pieces(geom, min_area: float) -> list:
    parts = shapely.get_parts(geom)
    return [p for p in parts if p.area >= min_area]


def _length_inside(part) -> float:
    if shapely.get_dimensions(part) == 1:
        return float(part.length)
    if part.is_empty:
        return 0.0
    rect = shapely.oriented_envelope(part)
    xy = shapely.get_coordinates(rect)
    if len(xy) < 4:
        return float(shapely.length(rect))
    return float(max(np.hypot(*(xy[1] - xy[0])), np.hypot(*(xy[2] - xy[1]))))


def _corridor_effect(net: Network, row: int, site, barrier) -> dict:
    """Severed, width left, length inside, along, and the node pairs no longer joined, for one site and corridor."""
    link = net.links.iloc[row]
    corridor, width = link.geometry, float(link["width_m"])
    inside = shapely.intersection(site, corridor)
    length = _length_inside(inside)
    before = _pieces(corridor, width ** 2)
    after = _pieces(shapely.difference(corridor, barrier), width ** 2)
    severed = len(after) > len(before)
    lost = []
    if severed:
        geoms = net.nodes.geometry.to_numpy()
        for a, b in combinations([int(k[1:]) - 1 for k in str(link["nodes"]).split(";") if k], 2):
            joined = any(shapely.dwithin(p, geoms[a], net.config.contact_m)
                         and shapely.dwithin(p, geoms[b], net.config.contact_m) for p in after)
            if not joined:
                lost.append((a, b))
    area_in = float(shapely.area(shapely.intersection(barrier, corridor)))
    occupied = area_in / length if length > 0 else 0.0
    return {"severed": severed, "length_inside_m": length, "along": length >= net.config.along_ratio * width,
            "width_left_m": 0.0 if severed else max(width - occupied, 0.0), "lost": lost}


def _delta_pc(net: Network, lost_pairs: set, barrier, base: float) -> float:
    g = net.graph()
    area = g.area.astype(float).copy()
    geoms = net.nodes.geometry.to_numpy()
    hit = shapely.intersects(geoms, barrier)
    area[hit] = np.maximum(area[hit] - shapely.area(shapely.intersection(geoms[hit], barrier)), 0.0)
    e = net.edges
    drop = np.array([(min(i, j), max(i, j)) in lost_pairs and net.links.iloc[m]["kind"] == "corridor"
                     for m, i, j in zip(e["link"], e["i"], e["j"])], dtype=bool)
    after = g.without(edges=drop, area=area)
    return 100.0 * (base - pc(after)) / base if base > 0 else 0.0


def site_impacts(net: Network, geoms) -> tuple:
    """Network findings of sites (``geoms`` in the measurement CRS, one per site).

    Returns ``(rows, delta_pc)``: ``rows`` one per (site, corridor, relation) for ``cuts`` and ``along``
    (site, link row, layer, zone_id, relation, severed, width_left_m, length_inside_m); ``delta_pc`` per site
    (%, NaN for a site that meets no node or corridor).
    """
    geoms = np.asarray(geoms, dtype=object)
    delta = np.full(len(geoms), np.nan)
    node_tree = shapely.STRtree(net.nodes.geometry.to_numpy())
    corr = np.flatnonzero((net.links["kind"] == "corridor").to_numpy())
    link_tree = shapely.STRtree(net.links.geometry.to_numpy()[corr])
    s_l, l_i = link_tree.query(geoms, predicate="intersects")
    s_n, _ = node_tree.query(geoms, predicate="intersects")
    base = pc(net.graph())
    rows, lost = [], {}
    for s, k in zip(s_l, l_i):
        row = int(corr[k])
        site = geoms[s]
        barrier = site if shapely.get_dimensions(site) == 2 else shapely.buffer(site, BARRIER_M / 2)
        eff = _corridor_effect(net, row, site, barrier)
        lost.setdefault(int(s), set()).update((min(a, b), max(a, b)) for a, b in eff.pop("lost"))
        link = net.links.iloc[row]
        for rel in ("cuts", "along"):
            if eff["severed" if rel == "cuts" else "along"]:
                rows.append({"site": int(s), "link": row, "layer": link["layer"], "zone_id": link["zone_id"],
                             "relation": rel, **{k2: v for k2, v in eff.items() if k2 != "along"}})
    for s in np.unique(np.concatenate([s_l, s_n])).astype(int):
        site = geoms[s]
        barrier = site if shapely.get_dimensions(site) == 2 else shapely.buffer(site, BARRIER_M / 2)
        delta[s] = _delta_pc(net, lost.get(s, set()), barrier, base)
    cols = ["site", "link", "layer", "zone_id", "relation", "severed", "width_left_m", "length_inside_m"]
    return pd.DataFrame(rows, columns=cols), delta
