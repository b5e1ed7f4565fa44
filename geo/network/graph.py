"""The graph of a layer set's ecological network: nodes (cores, sources) and links (corridors, contacts).

The manifest's ``[network]`` table says which layers are which::

    [network]
    nodes = ["eco_cores", "eco_sources"]   # polygon layers: habitat patches (their area is a_i)
    links = ["eco_corridors"]              # polygon layers: corridors, joined to the nodes they touch
    decay_m = 5000                         # distance at which the direct probability is `probability`
    probability = 0.5
    contact_m = 50                         # a corridor or node this close to a node touches it
    along_ratio = 3                        # a site runs along a corridor when its length inside ≥ ratio × width

A node's area is its own less what nodes listed before it hold (a core inside a source is not counted
twice); nodes that touch or overlap are joined by a ``contact`` link; a corridor joins every pair of the
nodes it touches. The distance of a link is the edge-to-edge distance of its nodes, and its direct
probability p = exp(−k·d) (:func:`geo.network.indices.decay_k`). A_L is the layer set's coverage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ..errors import LayerSetError
from .indices import Graph, decay_k, importance

__all__ = ["NetworkConfig", "network_config", "Network", "build_network", "network_of", "ranked"]

_KEYS = {"nodes", "links", "decay_m", "probability", "contact_m", "along_ratio"}


@dataclass(frozen=True)
class NetworkConfig:
    """The ``[network]`` table, checked (see the module's docstring)."""

    nodes: tuple
    links: tuple
    decay_m: float = 5000.0
    probability: float = 0.5
    contact_m: float = 50.0
    along_ratio: float = 3.0


def _number(conf: dict, key: str, default: float, path, *, upper: float | None = None) -> float:
    value = conf.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if not ok or (upper is not None and value >= upper):
        rng = f"between 0 and {upper}" if upper else "a positive number"
        raise LayerSetError(f"[network] {key} = {value!r} is not {rng} / [network] {key} 须为{'0到1之间' if upper else '正数'}",
                            path=path, hint=f"write e.g. {key} = {default}")
    return float(value)


def network_config(ls, *, decay_m: float | None = None) -> NetworkConfig | None:
    """The layer set's ``[network]`` table, checked against its layers; None when it has none."""
    conf = ls.manifest.get("network")
    if conf is None:
        return None
    path = Path(ls.root) / "manifest.toml"
    if not isinstance(conf, dict) or set(conf) - _KEYS:
        extra = sorted(set(conf) - _KEYS) if isinstance(conf, dict) else conf
        raise LayerSetError(f"[network] has unknown keys {extra} / [network] 含未知键", path=path,
                            hint=f"use {', '.join(sorted(_KEYS))}")
    specs = ls.specs
    lists = {}
    for key in ("nodes", "links"):
        ids = conf.get(key, [])
        if not isinstance(ids, list) or (key == "nodes" and not ids):
            raise LayerSetError(f"[network] {key} is not a list of layer ids / [network] {key} 须为图层编号列表",
                                path=path, hint=f'write e.g. {key} = ["eco_cores"]')
        for lid in ids:
            if lid not in specs or specs[lid].geometry != "polygon":
                raise LayerSetError(f"[network] {key}: {lid!r} is not a polygon layer of the set / "
                                    f"{lid!r} 不是本图层集的面图层", path=path,
                                    hint=f"use polygon layers among {', '.join(specs)}")
        lists[key] = tuple(ids)
    return NetworkConfig(
        nodes=lists["nodes"], links=lists["links"],
        decay_m=decay_m if decay_m is not None else _number(conf, "decay_m", 5000.0, path),
        probability=_number(conf, "probability", 0.5, path, upper=1.0),
        contact_m=_number(conf, "contact_m", 50.0, path), along_ratio=_number(conf, "along_ratio", 3.0, path))


@dataclass
class Network:
    """Nodes and links (measurement CRS), the landscape area A_L and the config.

    ``nodes``: node_id, layer, zone_id, name_zh, name_en, area_m2 (own area), geometry.
    ``links``: link_id, layer, zone_id ("" for a contact), kind (corridor, contact), name_zh, name_en, nodes
    (the node ids it joins, ``;``-separated), length_m, width_m, geometry (the corridor, or where the two patches meet).
    ``edges``: one row per node pair a link joins: link (row of ``links``), i, j, distance_m, p.
    """

    nodes: gpd.GeoDataFrame
    links: gpd.GeoDataFrame
    edges: dict
    landscape_m2: float
    config: NetworkConfig
    #: each node's own part (its geometry less the nodes before it, prepared): what its ``area_m2`` measures
    own: np.ndarray | None = None
    #: what :mod:`geo.network.impact` works out once per network (its corridors as arrays, p* per set of lost joins)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def graph(self) -> Graph:
        """The graph the indices are computed on."""
        e = self.edges
        return Graph(self.nodes["area_m2"].to_numpy(float), e["i"], e["j"], e["p"], self.landscape_m2)


def _nodes(ls, conf: NetworkConfig) -> tuple:
    """The nodes, and each one's own part (see :class:`Network`)."""
    rows, owns, taken = [], [], None
    for lid in conf.nodes:
        gdf = ls.measured(lid)
        for _, z in gdf.iterrows():
            own = z.geometry if taken is None else shapely.difference(z.geometry, taken)
            taken = z.geometry if taken is None else shapely.union(taken, z.geometry)
            rows.append({"layer": lid, "zone_id": z["zone_id"], "name_zh": z["name_zh"], "name_en": z["name_en"],
                         "area_m2": float(shapely.area(own)), "geometry": z.geometry})
            owns.append(own)
    nodes = gpd.GeoDataFrame(rows, geometry="geometry", crs=ls.measure_crs)
    nodes.insert(0, "node_id", [f"N{k + 1:02d}" for k in range(len(nodes))])
    own = np.array(owns, dtype=object)
    shapely.prepare(own)
    return nodes, own


def _widths(gdf: gpd.GeoDataFrame) -> tuple:
    """Length and width of corridor polygons: the builder's ``width_m`` where given, else the mean width 2A/P."""
    area, perim = gdf.geometry.area.to_numpy(), gdf.geometry.length.to_numpy()
    mean_w = np.divide(2 * area, perim, out=np.zeros(len(gdf)), where=perim > 0)
    given = gdf["width_m"].to_numpy(float) if "width_m" in gdf else np.full(len(gdf), np.nan)
    width = np.where(np.isfinite(given) & (given > 0), given, mean_w)
    return np.divide(area, width, out=np.zeros(len(gdf)), where=width > 0), width


def build_network(ls, *, decay_m: float | None = None) -> Network | None:
    """The network the layer set's ``[network]`` table declares (None without one)."""
    conf = network_config(ls, decay_m=decay_m)
    if conf is None:
        return None
    nodes, own = _nodes(ls, conf)
    geoms = nodes.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    links, edges = [], []
    for a, b in combinations(range(len(nodes)), 2):  # nodes in contact
        if shapely.dwithin(geoms[a], geoms[b], conf.contact_m):
            links.append({"layer": "", "zone_id": "", "kind": "contact", "name_zh": "斑块相接", "name_en": "contact",
                          "joins": [a, b], "length_m": 0.0, "width_m": np.nan,
                          "geometry": shapely.intersection(shapely.buffer(geoms[a], conf.contact_m / 2 + 0.01),
                                                                  shapely.buffer(geoms[b], conf.contact_m / 2 + 0.01))})
    for lid in conf.links:
        gdf = ls.measured(lid)
        length, width = _widths(gdf)
        for k, (_, z) in enumerate(gdf.iterrows()):
            met = sorted(tree.query(z.geometry, predicate="dwithin", distance=conf.contact_m).tolist())
            links.append({"layer": lid, "zone_id": z["zone_id"], "kind": "corridor", "name_zh": z["name_zh"],
                          "name_en": z["name_en"], "joins": met, "length_m": float(length[k]),
                          "width_m": float(width[k]), "geometry": z.geometry})
    k = decay_k(conf.decay_m, conf.probability)
    for m, link in enumerate(links):
        for a, b in combinations(link["joins"], 2):
            d = float(shapely.distance(geoms[a], geoms[b]))
            edges.append((m, a, b, d, float(np.exp(-k * d))))
    ids = nodes["node_id"].to_numpy()
    for link in links:
        link["nodes"] = ";".join(ids[link.pop("joins")])
    lk = gpd.GeoDataFrame(links, geometry="geometry", crs=ls.measure_crs) if links else \
        gpd.GeoDataFrame({"layer": [], "zone_id": [], "kind": [], "nodes": []}, geometry=[], crs=ls.measure_crs)
    lk.insert(0, "link_id", [f"L{m + 1:02d}" for m in range(len(lk))])
    e = np.array(edges, dtype=float).reshape(-1, 5)
    edge_cols = {"link": e[:, 0].astype(np.int64), "i": e[:, 1].astype(np.int64), "j": e[:, 2].astype(np.int64),
                 "distance_m": e[:, 3], "p": e[:, 4]}
    return Network(nodes=nodes, links=lk, edges=edge_cols, landscape_m2=float(shapely.area(ls.coverage)), config=conf,
                   own=own)


def network_of(ls) -> Network | None:
    """The layer set's network, built once per layer-set object (None without a ``[network]`` table)."""
    if not ls._network:
        ls._network = (build_network(ls),)
    return ls._network[0]


def ranked(net: Network) -> tuple:
    """Nodes and links with their importance (dIIC, dPC and dPC's parts, %) and rank, and the indices as a dict."""
    g = net.graph()
    groups = net.edges["link"]
    imp = importance(g, groups)
    nodes = net.nodes.copy()
    for col, v in (("dIIC", imp.node_diic), ("dPC", imp.node_dpc), ("dPC_intra", imp.node_intra),
                   ("dPC_flux", imp.node_flux), ("dPC_connector", imp.node_connector)):
        nodes[col] = np.round(v, 4)
    nodes["rank"] = nodes["dPC"].rank(ascending=False, method="min").astype(int)
    links = net.links.copy()
    dpc, diic = np.zeros(len(links)), np.zeros(len(links))
    uniq = np.unique(groups)
    dpc[uniq], diic[uniq] = imp.link_dpc, imp.link_diic
    links["dIIC"], links["dPC"] = np.round(diic, 4), np.round(dpc, 4)
    links["rank"] = links["dPC"].rank(ascending=False, method="min").astype(int) if len(links) else []
    c = net.config
    summary = {"IIC": imp.iic, "PC": imp.pc, "nodes": len(nodes), "links": len(links),
               "landscape_km2": net.landscape_m2 / 1e6, "decay_m": c.decay_m, "probability": c.probability,
               "contact_m": c.contact_m}
    return nodes, links, summary
