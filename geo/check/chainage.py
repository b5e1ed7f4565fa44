"""Chainage: where along a line (``K1+240``, metres from its start) its parts in a zone lie."""
from __future__ import annotations

import numpy as np
import shapely

__all__ = ["chainage", "line_intervals", "chainages"]


def chainage(metres: float) -> str:
    """Chainage notation: 1240.4 m -> ``K1+240``."""
    m = int(round(metres))
    return f"K{m // 1000}+{m % 1000:03d}"


def line_intervals(line, inter) -> str:
    """Chainage intervals of the parts of ``inter`` along ``line``, in order: ``K0+500–K2+500; ...``."""
    parts = [p for p in shapely.get_parts(shapely.line_merge(inter) if inter.geom_type == "MultiLineString" else inter)
             if p.geom_type == "LineString" and p.length > 0]
    spans = []
    for p in parts:
        a = line.project(shapely.Point(p.coords[0]))
        b = line.project(shapely.Point(p.coords[-1]))
        spans.append((min(a, b), max(a, b)))
    spans.sort()
    return "; ".join(f"{chainage(a)}–{chainage(b)}" for a, b in spans)


def chainages(site: np.ndarray, zone: np.ndarray, met: np.ndarray, line: np.ndarray) -> dict:
    """(site, zone) -> the chainage intervals of a line's parts in a zone.

    One entry per (line, zone piece) met: ``site``, ``zone``, ``met`` (the part
    of the line in the piece) and ``line`` (the whole line, along which the
    chainage runs). The parts in the pieces of one zone are merged first.
    """
    o = np.lexsort((np.arange(len(site)), zone, site))  # by (site, zone), then in order
    first = np.r_[True, (site[o][1:] != site[o][:-1]) | (zone[o][1:] != zone[o][:-1])]
    bounds = np.r_[np.flatnonzero(first), len(o)]
    out = {}
    for g in np.argsort(o[first], kind="stable"):  # in order of first appearance
        ks = o[bounds[g]:bounds[g + 1]]
        out[(site[ks[0]], zone[ks[0]])] = line_intervals(line[ks[0]], shapely.union_all(list(met[ks])))
    return out
