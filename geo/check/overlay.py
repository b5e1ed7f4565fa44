"""The geometric part of a check: every zone each site meets or is near, before any rule.

The overlay is vectorised, in steps: the sites' footprints in the measurement
CRS; the grid look-up, which answers sites lying in clean cells without
geometry; the coverage; the zones met by points, then by lines and parcels
(whose chainage is taken along the line); the zones near each site. Zones are
cut into small indexed pieces (:mod:`geo.check.zones`); points are located
with one bulk STRtree query; parcels and lines skip the intersection wherever a
piece contains them wholly. Sites meeting the layer set's ecological network
then get its findings (:func:`geo.network.impact.site_impacts`): rows ``cuts``
and ``along`` beside their finding of the corridor, and ΔPC on each.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from ..errors import CoverageWarning
from ..network.graph import network_config, network_of
from ..network.impact import point_delta_pc, site_impacts
from .chainage import chainages
from .footprints import Footprints
from .relations import Relation, relation_of_overlap
from .rules import RuleTable, rules_of
from .zones import ZoneGrid, ZoneIndex, intersection, zone_index

__all__ = ["Overlay", "overlay"]


@dataclass
class Overlay:
    """Every zone each site meets, and the zones it is near, before any rule.

    One entry per (site, zone): ``site`` (row of the sites), ``zone`` (row of
    ``zone_index(layerset).attrs``), ``relation`` (a :class:`Relation` code),
    ``overlap`` (m² or m), ``distance`` (m, for ``near``); sorted by site and zone.
    Per site: ``covered``, ``full`` (wholly inside the coverage), ``measure``
    (area or length), ``dim``, ``single`` (2D points); ``chain`` holds the chainage
    text of line findings by (site, zone). Network findings: ``CUTS`` and
    ``ALONG`` rows (overlap: the length inside the corridor, m) with
    ``width_left`` (m, NaN on other rows), and ``delta_pc`` (ΔPC of the site, %)
    on them and on the site's findings of network layers (NaN elsewhere).
    """

    site: np.ndarray
    zone: np.ndarray
    relation: np.ndarray
    overlap: np.ndarray
    distance: np.ndarray
    covered: np.ndarray
    full: np.ndarray
    measure: np.ndarray
    dim: np.ndarray
    single: np.ndarray
    chain: dict
    delta_pc: np.ndarray
    width_left: np.ndarray


class Findings(NamedTuple):
    """(site, zone) entries of one step: relation code, overlap (m² or m), distance (m)."""

    site: np.ndarray
    zone: np.ndarray
    relation: np.ndarray
    overlap: np.ndarray
    distance: np.ndarray

    @classmethod
    def met(cls, site, zone, relation, overlap=None) -> Findings:
        """Zones met (distance 0); no overlap measured for points."""
        return cls(site, zone, relation, np.zeros(len(site)) if overlap is None else overlap, np.zeros(len(site)))

    @classmethod
    def combined(cls, steps: list) -> Findings:
        """The findings of all steps, one per (site, zone) (the smallest relation code: a zone met is not also near),
        sorted by site and zone."""
        if steps:
            site, zone, rel, ov, dist = (np.concatenate([f[i] for f in steps]) for i in range(5))
        else:
            site, zone, rel = (np.zeros(0, dtype=np.int64) for _ in range(3))
            ov, dist = np.zeros(0), np.zeros(0)
        keep = _first_of_pairs(site, zone, rel)
        return cls(*(a[keep].astype(t, copy=False) for a, t in zip((site, zone, rel, ov, dist),
                                                                  (np.int64, np.int64, np.int64, float, float))))


class Coverage(NamedTuple):
    """Per site: ``covered`` (some of it inside the coverage), ``full`` (all of it)."""

    covered: np.ndarray
    full: np.ndarray


class PiecePairs(NamedTuple):
    """Sites and the zone pieces they meet: whether the piece holds the site wholly, the overlap (m² or m) and,
    where the piece cuts the site, their intersection."""

    site: np.ndarray
    piece: np.ndarray
    whole: np.ndarray
    overlap: np.ndarray
    part: np.ndarray


def overlay(sites, layerset, *, rules: RuleTable | None = None,
            touch_area_m2: float = 1.0, touch_length_m: float = 1.0) -> Overlay:
    """The zones each site meets or is near (the rule table gives the ``near`` distances); see :class:`Overlay`."""
    ls = layerset
    rules = rules if rules is not None else rules_of(ls)
    zi = zone_index(ls)
    fp = Footprints(sites, ls.measure_crs)
    combo = _grid_combinations(zi.grid, fp)
    known = combo >= 0
    cov = _coverage(fp, zi, ls.coverage, combo)
    part = cov.covered & ~cov.full
    if part.any():
        _clip_to_coverage(fp, zi, ls.coverage, part)
        warnings.warn(f"{int(part.sum())} site(s) lie partly outside the coverage of {ls.name}; "
                      f"their verdict rests on the covered part: "
                      f"{', '.join(map(str, sites['site_id'].to_numpy()[part][:10]))}", CoverageWarning, stacklevel=2)
    measure = _measures(fp)
    is_pt = fp.dim == 0
    steps = [_points_in_clean_cells(zi.grid, np.flatnonzero(cov.covered & is_pt & known), combo),
             _points_by_geometry(zi, fp, np.flatnonzero(cov.covered & is_pt & ~known))]
    extents = np.flatnonzero(cov.covered & ~is_pt)
    pairs = _pieces_met(zi, fp, extents[~known[extents]])
    steps += [_lines_and_parcels(zi, fp, extents[known[extents]], combo, pairs, measure,
                                 touch_area_m2=touch_area_m2, touch_length_m=touch_length_m),
              *_near_zones(zi, fp, np.flatnonzero(cov.covered), rules.near_layers())]
    found = Findings.combined([s for s in steps if s is not None])
    found, delta_pc, width_left = _network_findings(ls, zi, fp, found)
    return Overlay(site=found.site, zone=found.zone, relation=found.relation, overlap=found.overlap,
                   distance=found.distance, covered=cov.covered, full=cov.full, measure=measure, dim=fp.dim,
                   single=fp.single, chain=_line_chainages(zi, fp, pairs), delta_pc=delta_pc, width_left=width_left)


# -- grid, coverage, measures ---------------------------------------------------------------------

def _grid_combinations(grid: ZoneGrid | None, fp: Footprints) -> np.ndarray:
    """The zone combination of the clean cells each site lies in wholly, -1 where it does not.

    Points by their cell; parcels, discs and other points by their bounding box;
    lines always go to the exact tests.
    """
    combo = np.full(len(fp), -1, dtype=np.int64)
    if grid is None or not len(fp):
        return combo
    if fp.bare.any():
        combo[fp.bare] = grid.locate(fp.x[fp.bare], fp.y[fp.bare])
    boxed = np.flatnonzero((fp.dim == 2) | ((fp.dim == 0) & ~fp.bare))
    geoms = fp.whole(boxed)
    boxed, geoms = boxed[~shapely.is_empty(geoms)], geoms[~shapely.is_empty(geoms)]
    if len(boxed):
        combo[boxed] = grid.locate_boxes(shapely.bounds(geoms))
    return combo


def _coverage(fp: Footprints, zi: ZoneIndex, cov, combo: np.ndarray) -> Coverage:
    """Which sites the coverage holds in part or whole: from the zone grid, else the coarser coverage grid, else exactly."""
    shapely.prepare(cov)
    known = combo >= 0
    covered = np.zeros(len(fp), dtype=bool)
    if known.any():
        covered[known] = zi.grid.combo_covered[combo[known]]
    full = covered.copy()  # a site in clean covered cells lies wholly inside the coverage
    unknown = np.flatnonzero(~known)
    cg = zi.cov_grid
    if cg is not None and len(unknown):
        state = np.full(len(unknown), -1, dtype=np.int64)
        upt = fp.bare[unknown]
        if upt.any():
            state[upt] = cg.locate(fp.x[unknown[upt]], fp.y[unknown[upt]])
        ubox = np.flatnonzero(~upt)
        geoms = fp.whole(unknown[ubox])
        ubox, geoms = ubox[~shapely.is_empty(geoms)], geoms[~shapely.is_empty(geoms)]
        if len(ubox):
            state[ubox] = cg.locate_boxes(shapely.bounds(geoms))
        sure = state >= 0
        covered[unknown[sure]] = full[unknown[sure]] = cg.combo_covered[state[sure]]
        unknown = unknown[~sure]
    covered[unknown] = shapely.intersects(cov, fp.whole(unknown))
    full[unknown] = covered[unknown]
    ext = unknown[covered[unknown] & (fp.dim[unknown] != 0)]
    full[ext] = shapely.covers(cov, fp.whole(ext))
    return Coverage(covered, full)


def _clip_to_coverage(fp: Footprints, zi: ZoneIndex, cov, part: np.ndarray) -> None:
    """Cut the sites ``part`` (a mask) to the coverage: polygons through the coverage's small pieces, others whole."""
    cut = part & (fp.dim == 2)
    if cut.any():
        fp.clip(np.flatnonzero(cut), zi.clip_to_coverage(fp.whole(cut), cov))
    rest = part & ~cut
    if rest.any():
        fp.clip(np.flatnonzero(rest), shapely.intersection(fp.whole(rest), cov))


def _measures(fp: Footprints) -> np.ndarray:
    """Each site's area (parcels, discs) or length (lines); 0 for points."""
    measure = np.zeros(len(fp))
    d2, d1 = np.flatnonzero(fp.dim == 2), np.flatnonzero(fp.dim == 1)
    measure[d2] = shapely.area(fp.whole(d2))
    measure[d1] = shapely.length(fp.whole(d1))
    return measure


# -- zones met -------------------------------------------------------------------------------------

def _per_pair(s: np.ndarray, z: np.ndarray, v: np.ndarray, how: str) -> tuple:
    """Per distinct (site, zone): any (bool), sum or min (float) of ``v`` (first-seen order)."""
    g = pd.DataFrame({"s": s, "z": z, "v": v}).groupby(["s", "z"], sort=False)["v"]
    pair = getattr(g, how)().reset_index()
    return pair["s"].to_numpy(), pair["z"].to_numpy(), pair["v"].to_numpy()


def _points_in_clean_cells(grid: ZoneGrid | None, rows: np.ndarray, combo: np.ndarray) -> Findings | None:
    """Points ``rows`` in clean cells: inside every zone of the cell, on no boundary."""
    if not len(rows):
        return None
    s, z = grid.expand(rows, combo[rows])
    return Findings.met(s, z, np.full(len(s), Relation.INSIDE, dtype=np.int64))


def _points_by_geometry(zi: ZoneIndex, fp: Footprints, rows: np.ndarray) -> Findings | None:
    """Points ``rows``: inside the zones whose pieces hold them, touching where on a zone's boundary."""
    if not len(rows):
        return None
    site_tree = shapely.STRtree(fp.in_coverage(rows))
    p_i, s_j = site_tree.query(zi.pieces, predicate="intersects")
    s = rows[s_j]
    inner = shapely.contains_properly(zi.pieces[p_i], fp.in_coverage(s))
    ps, pz, pinner = _per_pair(s, zi.piece_zone[p_i], inner, "any")
    rel = np.full(len(ps), Relation.INSIDE, dtype=np.int64)
    edge = ~pinner.astype(bool)
    if edge.any():  # on a piece edge: inside unless on the zone's real boundary
        on_b = shapely.distance(zi.boundary(pz[edge]), fp.in_coverage(ps[edge])) < 1e-6
        rel[np.flatnonzero(edge)[on_b]] = Relation.TOUCHES
    return Findings.met(ps, pz, rel)


def _size(geoms: np.ndarray, is_area: np.ndarray) -> np.ndarray:
    """Area where ``is_area``, else length."""
    return np.where(is_area, shapely.area(geoms), shapely.length(geoms))


def _pieces_met(zi: ZoneIndex, fp: Footprints, rows: np.ndarray) -> PiecePairs:
    """The zone pieces lines and parcels ``rows`` meet, and the overlap with each."""
    s_j, p_i = zi.tree.query(fp.in_coverage(rows))  # pieces whose box meets the site's
    s = rows[s_j]
    work = fp.in_coverage(s)
    d2 = fp.dim[s] == 2
    whole = shapely.contains_properly(zi.pieces[p_i], work)  # the pieces are prepared
    ov = np.full(len(s), np.nan)  # stays NaN where site and piece do not meet
    ov[whole] = _size(work[whole], d2[whole])
    inter = np.empty(len(s), dtype=object)
    cut = np.flatnonzero(~whole)
    cut = cut[shapely.intersects(zi.pieces[p_i[cut]], work[cut])]
    if len(cut):  # cut by the piece: the intersection (its length is also the chainage of lines)
        inter[cut] = intersection(work[cut], zi.pieces[p_i[cut]])
        ov[cut] = _size(inter[cut], d2[cut])
    meet = ~np.isnan(ov)
    return PiecePairs(s[meet], p_i[meet], whole[meet], ov[meet], inter[meet])


def _lines_and_parcels(zi: ZoneIndex, fp: Footprints, in_grid: np.ndarray, combo: np.ndarray, pairs: PiecePairs,
                       measure: np.ndarray, *, touch_area_m2: float, touch_length_m: float) -> Findings | None:
    """Lines and parcels (discs too): the zones they meet, and how.

    Sites ``in_grid`` lie in clean cells, wholly inside each zone of the cell;
    the others met the zone ``pairs``. The relation follows from the overlap
    (:func:`~geo.check.relations.relation_of_overlap`).
    """
    if not len(in_grid) and not len(pairs.site):
        return None
    gs, gz = zi.grid.expand(in_grid, combo[in_grid]) if len(in_grid) else (np.zeros(0, np.int64),) * 2
    gov = _size(fp.in_coverage(gs), fp.dim[gs] == 2) if len(gs) else np.zeros(0)
    ps, pz, pov = _per_pair(pairs.site, zi.piece_zone[pairs.piece], pairs.overlap, "sum")
    ps, pz, pov = np.concatenate([gs, ps]), np.concatenate([gz, pz]), np.concatenate([gov, pov])
    share = np.divide(pov, measure[ps], out=np.zeros(len(ps)), where=measure[ps] > 0)
    rel = relation_of_overlap(pov, share, fp.dim[ps] == 1, touch_area_m2=touch_area_m2, touch_length_m=touch_length_m)
    return Findings.met(ps, pz, rel, pov)


def _line_chainages(zi: ZoneIndex, fp: Footprints, pairs: PiecePairs) -> dict:
    """(site, zone) -> the chainage intervals of each line's parts in each zone it meets."""
    lines = np.flatnonzero(fp.dim[pairs.site] == 1)
    if not len(lines):
        return {}
    s = pairs.site[lines]
    met = np.where(pairs.whole[lines], fp.in_coverage(s), pairs.part[lines])
    return chainages(s, zi.piece_zone[pairs.piece[lines]], met, fp.whole(s))


# -- near ------------------------------------------------------------------------------------------

def _near_zones(zi: ZoneIndex, fp: Footprints, rows: np.ndarray, distances: dict) -> list:
    """Per layer with ``near`` rules (layer id -> largest distance, m): the zones within that distance of sites ``rows``."""
    out = []
    for lid, dmax in distances.items():
        if lid not in zi.layer_trees or not len(rows):
            continue
        tree, pidx = zi.layer_trees[lid]
        cand = rows
        bare = fp.bare[cand]  # points: first a cheap test of their position
        if bare.any():
            close = _near_boxes(shapely.bounds(zi.pieces[pidx]), dmax, fp.x[cand[bare]], fp.y[cand[bare]])
            bare[bare] = ~close
            cand = cand[~bare]
        geoms = fp.in_coverage(cand)
        s_j, p_i = tree.query(geoms, predicate="dwithin", distance=dmax)
        if not len(s_j):
            continue
        d = shapely.distance(geoms[s_j], zi.pieces[pidx[p_i]])
        s, z, dist = _per_pair(cand[s_j], zi.piece_zone[pidx[p_i]], d, "min")
        out.append(Findings(s, z, np.full(len(s), Relation.NEAR, dtype=np.int64), np.zeros(len(s)), dist))
    return out


def _near_boxes(boxes: np.ndarray, d: float, x: np.ndarray, y: np.ndarray, cells: int = 512) -> np.ndarray:
    """Which points lie within ``d`` of one of ``boxes`` (minx, miny, maxx, maxy), or may: never a miss.

    The boxes widened by ``d`` are marked on a raster of at most ``cells`` × ``cells``;
    a point in an unmarked cell is farther than ``d`` from every box, so from
    everything inside them.
    """
    if not len(boxes):  # no zone of the layer here: nothing is near
        return np.zeros(len(x), dtype=bool)
    pad = d * (1 + 1e-9) + 1e-6
    lo = boxes[:, :2] - pad
    hi = boxes[:, 2:] + pad
    x0, y0 = lo.min(axis=0)
    size = max(float((hi.max(axis=0) - (x0, y0)).max()), 1e-9) / cells
    mask = np.zeros((cells + 1, cells + 1), dtype=bool)
    a = np.floor((lo - (x0, y0)) / size).astype(np.int64)
    b = np.floor((hi - (x0, y0)) / size).astype(np.int64) + 1
    for (i0, j0), (i1, j1) in zip(np.clip(a, 0, cells), np.clip(b, 0, cells + 1)):
        mask[j0:j1, i0:i1] = True
    i = np.floor((x - x0) / size)
    j = np.floor((y - y0) / size)
    inside = (i >= 0) & (j >= 0) & (i <= cells) & (j <= cells)
    out = np.zeros(len(x), dtype=bool)
    out[inside] = mask[j[inside].astype(np.int64), i[inside].astype(np.int64)]
    return out


# -- the ecological network ------------------------------------------------------------------------

def _network_findings(ls, zi: ZoneIndex, fp: Footprints, found: Findings) -> tuple:
    """The findings with the network's (cuts, along) inserted in order, and per finding ΔPC and the width left.

    Points are answered from the nodes they lie in (:func:`~geo.network.impact.point_delta_pc`), without
    geometry; lines and parcels by :func:`~geo.network.impact.site_impacts`.
    """
    delta, width = np.full(len(found.site), np.nan), np.full(len(found.site), np.nan)
    conf = network_config(ls)
    if conf is None or not len(found.site):
        return found, delta, width
    layers = zi.attrs["layer"].to_numpy()
    on_net = np.isin(layers, [*conf.nodes, *conf.links])[found.zone] & (found.relation != Relation.NEAR)
    if not on_net.any():
        return found, delta, width
    net = network_of(ls)
    hit = found.site[on_net]  # sorted
    sites = hit[np.r_[True, hit[1:] != hit[:-1]]]
    node_of, link_of = _network_rows(net, zi.attrs)
    rows_hit = [of_zone[found.zone[on_net]] for of_zone in (node_of, link_of)]
    pairs = tuple((hit[row >= 0], row[row >= 0]) for row in rows_hit)  # (site, node row), (site, link row)
    site_delta = np.full(len(sites), np.nan)
    bare = fp.bare[sites]
    if bare.any():
        site_delta[bare] = point_delta_pc(net, int(bare.sum()), _pairs_of(pairs, sites[bare], fp.bare))
    rows = pd.DataFrame({"site": np.zeros(0, dtype=np.int64)})
    if not bare.all():
        rest = sites[~bare]
        rows, site_delta[~bare] = site_impacts(net, fp.in_coverage(rest), met=_pairs_of(pairs, rest, ~fp.bare))
        rows["site"] = rest[rows["site"].to_numpy(np.int64)]
    delta[on_net] = np.round(site_delta[np.searchsorted(sites, hit)], 4)
    if rows.empty:
        return found, delta, width
    z = np.full(len(net.links), -1, dtype=np.int64)
    z[link_of[link_of >= 0]] = np.flatnonzero(link_of >= 0)
    z = z[rows["link"].to_numpy(np.int64)]
    s = rows["site"].to_numpy(np.int64)
    rel = np.where(rows["relation"].to_numpy() == Relation.CUTS.label, Relation.CUTS, Relation.ALONG).astype(np.int64)
    extra = Findings(s, z, rel, rows["length_inside_m"].to_numpy(float), np.zeros(len(s)))
    order = np.lexsort((extra.relation, extra.zone, extra.site))
    extra = Findings(*(a[order] for a in extra))
    at = _insertion_points(found, extra)
    merged = Findings(*(np.insert(a, at, b) for a, b in zip(found, extra)))
    return (merged, np.insert(delta, at, np.round(site_delta[np.searchsorted(sites, extra.site)], 4)),
            np.insert(width, at, np.round(rows["width_left_m"].to_numpy(float)[order], 1)))


def _network_rows(net, attrs: pd.DataFrame) -> tuple:
    """Per zone of the zone table, its node row and its corridor's link row in the network (-1: none); kept in
    ``net.cache`` for the zone table."""
    cached = net.cache.get("zone_rows")
    if cached is not None and cached[0] is attrs:
        return cached[1]
    zone_row = {key: i for i, key in enumerate(zip(attrs["layer"].to_numpy(), attrs["zone_id"].to_numpy()))}
    out = []
    for table, keep in ((net.nodes, None), (net.links, (net.links["kind"] == "corridor").to_numpy())):
        of_zone = np.full(len(attrs), -1, dtype=np.int64)
        for k, key in enumerate(zip(table["layer"], table["zone_id"])):
            if key in zone_row and (keep is None or keep[k]):
                of_zone[zone_row[key]] = k
        out.append(of_zone)
    net.cache["zone_rows"] = (attrs, tuple(out))
    return tuple(out)


def _pairs_of(pairs: tuple, sites: np.ndarray, mask: np.ndarray) -> tuple:
    """The pairs of ``sites`` (sorted; ``mask`` marks them among all sites), sites as positions in ``sites``."""
    return tuple((np.searchsorted(sites, s[mask[s]]), k[mask[s]]) for s, k in pairs)


def _insertion_points(found: Findings, extra: Findings) -> np.ndarray:
    """Where rows ``extra`` go among ``found`` (both sorted by site, zone, relation) to keep that order."""
    def keys(f: Findings) -> np.ndarray:  # compared field by field
        out = np.empty(len(f.site), dtype=[("s", np.int64), ("z", np.int64), ("r", np.int64)])
        out["s"], out["z"], out["r"] = f.site, f.zone, f.relation
        return out

    return np.searchsorted(keys(found), keys(extra), side="right")


def _first_of_pairs(s: np.ndarray, z: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Row order sorted by (site, zone, relation), keeping the first row of each (site, zone)."""
    if len(s) and s.max() < (1 << 32) and z.max() < (1 << 24) and rel.max() < 8 and min(s.min(), z.min(), rel.min()) >= 0:
        order = np.argsort((s.astype(np.int64) << 27) | (z.astype(np.int64) << 3) | rel, kind="stable")
    else:
        order = np.lexsort((rel, z, s))
    ss, zz = s[order], z[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (ss[1:] != ss[:-1]) | (zz[1:] != zz[:-1])
    return order[keep]
