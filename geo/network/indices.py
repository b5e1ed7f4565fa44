"""Connectivity indices of a habitat graph: IIC, PC and the importance (dIIC, dPC) of its nodes and links.

Definitions (docs/network.md): Pascual-Hortal & Saura 2006 (IIC), Saura & Pascual-Hortal 2007 (PC),
Saura & Rubio 2010 (dPC = dPC_intra + dPC_flux + dPC_connector). The graph is small (tens of nodes):
shortest paths by :func:`scipy.sparse.csgraph.shortest_path`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

__all__ = ["decay_k", "Graph", "iic", "pstar", "pc", "Importance", "importance"]


def decay_k(decay_m: float, probability: float = 0.5) -> float:
    """The decay constant k of p = exp(−k·d) that gives ``probability`` at ``decay_m`` metres."""
    return -math.log(probability) / decay_m


@dataclass(frozen=True)
class Graph:
    """Node attributes ``area`` (m²), edges ``i``–``j`` with direct probability ``p`` (undirected), ``landscape`` (A_L, m²)."""

    area: np.ndarray
    i: np.ndarray
    j: np.ndarray
    p: np.ndarray
    landscape: float

    def without(self, *, node: int | None = None, edges: np.ndarray | None = None, area: np.ndarray | None = None):
        """The graph less a node (area 0, edges gone) or some edges (a boolean mask), or with other areas."""
        keep = np.ones(len(self.i), dtype=bool)
        a = self.area.astype(float).copy() if area is None else np.asarray(area, dtype=float)
        if node is not None:
            a[node] = 0.0
            keep &= (self.i != node) & (self.j != node)
        if edges is not None:
            keep &= ~edges
        return Graph(a, self.i[keep], self.j[keep], self.p[keep], self.landscape)


def _dense(g: Graph, weight: np.ndarray) -> np.ndarray:
    n = len(g.area)
    w = np.full((n, n), np.inf)
    for a, b, v in zip(g.i, g.j, weight):  # several edges between one pair: the best
        w[a, b] = w[b, a] = min(w[a, b], v)
    return w


def _paths(g: Graph, weight: np.ndarray, *, unweighted: bool = False) -> np.ndarray:
    """All-pairs shortest path lengths (inf where unconnected); zero-weight edges are edges."""
    n = len(g.area)
    if not len(g.i):
        d = np.full((n, n), np.inf)
        np.fill_diagonal(d, 0.0)
        return d
    graph = csgraph_from_dense(_dense(g, weight), null_value=np.inf)
    return shortest_path(graph, method="D", directed=False, unweighted=unweighted)


def iic(g: Graph) -> float:
    """Integral Index of Connectivity: Σ_i Σ_j a_i a_j / (1 + nl_ij) / A_L² (nl_ij: links on the shortest path)."""
    nl = _paths(g, np.ones(len(g.i)), unweighted=True)
    with np.errstate(divide="ignore"):
        frac = np.where(np.isfinite(nl), 1.0 / (1.0 + nl), 0.0)
    return float(g.area @ frac @ g.area) / g.landscape ** 2


def pstar(g: Graph) -> np.ndarray:
    """p*_ij: the maximum product of direct probabilities over all paths (shortest paths on −log p)."""
    with np.errstate(divide="ignore"):
        w = -np.log(np.clip(g.p, 0.0, 1.0))
    return np.exp(-_paths(g, w))


def pc(g: Graph) -> float:
    """Probability of Connectivity: Σ_i Σ_j a_i a_j p*_ij / A_L²."""
    return float(g.area @ pstar(g) @ g.area) / g.landscape ** 2


@dataclass
class Importance:
    """Each node's dIIC, dPC and the parts of dPC; each link group's dIIC and dPC (all %)."""

    iic: float
    pc: float
    node_diic: np.ndarray
    node_dpc: np.ndarray
    node_intra: np.ndarray
    node_flux: np.ndarray
    node_connector: np.ndarray
    link_diic: np.ndarray
    link_dpc: np.ndarray


def _delta(before: float, after: float) -> float:
    return 100.0 * (before - after) / before if before > 0 else 0.0


def importance(g: Graph, link_groups: np.ndarray) -> Importance:
    """dI_k = 100·(I − I_without k)/I for every node and every link group (edges sharing a group id, e.g. one corridor).

    dPC of a node splits (Saura & Rubio 2010) into intra = a_k²/num, flux = 2·a_k·Σ_{i≠k} a_i p*_ik/num
    (num = Σ Σ a_i a_j p*_ij, both ×100) and connector = dPC − intra − flux.
    """
    i0, p0 = iic(g), pc(g)
    ps = pstar(g)
    num = float(g.area @ ps @ g.area)
    n = len(g.area)
    node_diic, node_dpc = np.zeros(n), np.zeros(n)
    for k in range(n):
        h = g.without(node=k)
        node_diic[k], node_dpc[k] = _delta(i0, iic(h)), _delta(p0, pc(h))
    a = g.area.astype(float)
    intra = 100.0 * a ** 2 / num if num > 0 else np.zeros(n)
    cross = ps @ a - np.diag(ps) * a
    flux = 200.0 * a * cross / num if num > 0 else np.zeros(n)
    groups = np.unique(link_groups)
    link_diic, link_dpc = np.zeros(len(groups)), np.zeros(len(groups))
    for m, grp in enumerate(groups):
        h = g.without(edges=link_groups == grp)
        link_diic[m], link_dpc[m] = _delta(i0, iic(h)), _delta(p0, pc(h))
    return Importance(i0, p0, node_diic, node_dpc, intra, flux, node_dpc - intra - flux, link_diic, link_dpc)
