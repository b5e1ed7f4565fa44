"""The siting check: every zone a site meets, the rule that applies, and the site's verdict.

For each site and each zone it meets the check gives the relation
(``inside``, ``overlaps``, ``crosses``, ``touches``, ``near``), the overlap area
and share, the overlap length and chainage for lines, the distance for ``near``,
and the rule that applies. A site's verdict is the most severe of its findings
(prohibited > restricted > caution > allowed); a site with no part inside the
layer set's coverage is ``unknown``. All measures are taken in the layer set's
measurement CRS.

The overlay is vectorised: zones are cut into small indexed pieces
(:mod:`geo.zones`); points are located with one bulk STRtree query; parcels and
lines skip the intersection wherever a piece contains them wholly.
"""
from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..errors import CoverageWarning
from .rules import SEVERITY, RuleTable, layerset_rules
from ..text import RELATIONS, VERDICTS, project_types, summary_line
from .zones import in_threads, intersection, zone_index

log = logging.getLogger(__name__)

__all__ = ["check_sites", "CheckResult", "chainage", "overlay", "Overlay"]

REL_CODES = ["inside", "overlaps", "crosses", "touches", "near"]
#: an overlap under the contact tolerance is boundary contact only when it is also under this share of the site
TOUCH_SHARE = 0.01
_BY_SEV = np.array(["unknown"] + [v for v, _ in sorted(SEVERITY.items(), key=lambda kv: kv[1])], dtype=object)


class CheckResult:
    """Per-site verdicts (``sites``, a GeoDataFrame) and per-(site, zone) findings (``detail``).

    ``detail`` may be given as a function that builds the table: it is then
    built on first use (a batch written without its findings never pays for
    the table of every finding's texts).
    """

    def __init__(self, sites: gpd.GeoDataFrame, detail, layerset):
        self.sites = sites
        self._detail = detail
        self.layerset = layerset

    @property
    def detail(self) -> pd.DataFrame:
        if callable(self._detail):
            self._detail = self._detail()
        return self._detail

    def __getstate__(self):
        # between processes: the findings built, the layer set left behind (the receiver has it)
        return {"sites": self.sites, "_detail": self.detail, "layerset": None}

    def counts(self) -> dict:
        vc = self.sites["verdict"].value_counts()
        return {v: int(vc.get(v, 0)) for v in ["prohibited", "restricted", "caution", "allowed", "unknown"]}

    def summary_line(self) -> str:
        return summary_line(len(self.sites), self.layerset.name, self.counts())


def chainage(metres: float) -> str:
    """Chainage notation: 1240.4 m -> ``K1+240``."""
    m = int(round(metres))
    return f"K{m // 1000}+{m % 1000:03d}"


def _line_intervals(line, inter) -> str:
    """Chainage intervals of the parts of ``inter`` along ``line``."""
    parts = [p for p in shapely.get_parts(shapely.line_merge(inter) if inter.geom_type == "MultiLineString" else inter)
             if p.geom_type == "LineString" and p.length > 0]
    spans = []
    for p in parts:
        a = line.project(shapely.Point(p.coords[0]))
        b = line.project(shapely.Point(p.coords[-1]))
        spans.append((min(a, b), max(a, b)))
    spans.sort()
    return "; ".join(f"{chainage(a)}–{chainage(b)}" for a, b in spans)


def _rules_of(ls) -> RuleTable:
    """The layer set's own rule table, read once per layer set object."""
    if getattr(ls, "_rule_table", None) is None:
        ls._rule_table = layerset_rules(ls)
    return ls._rule_table


def _memo(rules: RuleTable, zones: pd.DataFrame) -> dict:
    """Answers worked out from a rule table for a zone table, kept with the rule table (batches reuse them)."""
    memo = getattr(rules, "_memo", None)
    if memo is None or memo["zones"] is not zones:
        memo = rules._memo = {"zones": zones, "near": {}}
    return memo


def _rule_lookup(rules: RuleTable, zones: pd.DataFrame):
    """Rule per (zone key, type, land use, nmp) for ``in`` relations, as an array of rule indices."""
    memo = _memo(rules, zones)
    if "lookup" not in memo:
        memo["lookup"] = _rule_table_lookup(rules, zones)
    return memo["lookup"]


def _rule_table_lookup(rules: RuleTable, zones: pd.DataFrame):
    codes = list(project_types())
    keys = zones[["layer", "zone_class"]].drop_duplicates().reset_index(drop=True)
    key_of_zone = zones.merge(keys.reset_index().rename(columns={"index": "_k"}),
                              on=["layer", "zone_class"], how="left")["_k"].to_numpy()
    rule_list = rules.rules
    pos = {id(r): i for i, r in enumerate(rule_list)}
    table = np.full((len(keys), len(codes) + 1, 2, 2), -1, dtype=np.int64)
    for k, (layer, zone_class) in enumerate(keys.itertuples(index=False)):
        for lu_i, lu in enumerate(("occupy", "cross")):
            for nmp_i in (0, 1):
                per_type = []
                for t_i, code in enumerate(codes):
                    r = rules.applicable(layer, zone_class, code, "in", lu, bool(nmp_i))
                    table[k, t_i, lu_i, nmp_i] = -1 if r is None else pos[id(r)]
                    per_type.append(r)
                # no type given: the strictest over all types (never a false clearance)
                given = [r for r in per_type if r is not None]
                general = rules.applicable(layer, zone_class, None, "in", lu, bool(nmp_i))
                if general is not None:
                    given.append(general)
                if given:  # ties go to the general row, whose text states the zone's requirement
                    top = max(given, key=lambda r: (SEVERITY[r.verdict], r.types is None))
                    table[k, len(codes), lu_i, nmp_i] = pos[id(top)]
    return table, key_of_zone, keys, codes


def _type_index(types, codes: list) -> np.ndarray:
    """Position of each site's type in ``codes``; ``len(codes)`` for none or an unknown one."""
    ids, uniq = pd.factorize(pd.Series(types), use_na_sentinel=False)
    lookup = {c: i for i, c in enumerate(codes)}
    pos = np.array([lookup.get(t, len(codes)) for t in uniq], dtype=np.int64)
    return pos[ids] if len(ids) else np.zeros(0, dtype=np.int64)


def _col(values, idx):
    """``values[idx]`` as a categorical column when the values are strings, else as an array.

    A million findings that name a few hundred zones keep one copy of each
    name and an integer code per row: nothing is converted or copied per row
    (Arrow's writers encode it as a dictionary, pandas compares and prints it
    as the strings).
    """
    idx = np.asarray(idx, dtype=np.intp)
    if hasattr(values, "dictionary_encode"):  # an Arrow string array: encoded without Python strings
        enc = values.dictionary_encode()
        codes = enc.indices.to_numpy(zero_copy_only=False)
        cats = pd.Index(pd.array(enc.dictionary, dtype="str"))
        return pd.Categorical.from_codes(codes[idx], dtype=pd.CategoricalDtype(cats), validate=False)
    values = np.asarray(values, dtype=object)
    if not len(values) or not all(isinstance(v, str) for v in values):
        return values[idx]
    codes, cats = pd.factorize(values)
    return pd.Categorical.from_codes(codes[idx], dtype=pd.CategoricalDtype(pd.Index(cats, dtype="str")), validate=False)


@lru_cache(maxsize=16)
def _transformer(src, dst, thread: int):
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)  # one per thread: PROJ's state is not shared


def _project(src, dst, x, y) -> tuple:
    """Coordinates from ``src`` to ``dst`` (arrays), on several threads when there are many."""
    def run(xs, ys):
        return _transformer(src, dst, threading.get_ident()).transform(xs, ys)

    parts = in_threads(run, x, y, min_items=200_000)
    return tuple(np.concatenate([np.asarray(p[i], dtype=float) for p in parts]) for i in (0, 1))


def _site_geoms(sites: gpd.GeoDataFrame, crs, single: np.ndarray):
    """The sites' geometries in ``crs``, as ``GeoDataFrame.to_crs`` gives them, except 2D points.

    Points (``single``) are returned as coordinates only (``None`` in the array):
    most are answered from the grid and never need a geometry.
    """
    geoms = sites.geometry.values
    crs = pyproj.CRS.from_user_input(crs)
    data = np.asarray(geoms, dtype=object)
    out = np.empty(len(data), dtype=object)
    px = np.full(len(data), np.nan)
    py = np.full(len(data), np.nan)
    same = geoms.crs is None or geoms.crs.is_exact_same(crs)
    other = ~single
    if other.any():
        out[other] = data[other] if same else _to_crs(geoms[other], crs)
    if single.any():
        x, y = shapely.get_x(data[single]), shapely.get_y(data[single])
        if not same:
            x, y = _project(geoms.crs, crs, x, y)
        px[single], py[single] = x, y
    return out, px, py


def _cols(specs: dict) -> dict:
    """Several :func:`_col` columns."""
    return {k: _col(v, i) for k, (v, i) in specs.items()}


def _to_crs(geoms, crs, single: np.ndarray | None = None) -> np.ndarray:
    """Geometries (a GeoSeries or its values) in ``crs``, as ``GeoSeries.to_crs`` gives them.

    When the transformation leaves every coordinate as it is (an equivalent CRS
    spelt differently), the geometries are reused instead of rebuilt.
    """
    geoms = getattr(geoms, "values", geoms)
    crs = pyproj.CRS.from_user_input(crs)
    data = np.asarray(geoms, dtype=object)
    if geoms.crs is None or geoms.crs.is_exact_same(crs) or not len(data):
        return np.asarray(geoms.to_crs(crs), dtype=object) if geoms.crs is not None else data
    if geoms.crs.equals(crs):  # the same CRS spelt differently (PROJ finds them equivalent)
        return data.copy()
    if single is None:
        single = (shapely.get_type_id(data) == 0) & ~shapely.has_z(data)
    if not single.all():  # each thread reprojects a slice of the geometries
        if shapely.has_z(data).any():
            return np.asarray(geoms.to_crs(crs), dtype=object)
        src = geoms.crs

        def run(g):
            xy = shapely.get_coordinates(g)
            x, y = _transformer(src, crs, threading.get_ident()).transform(xy[:, 0], xy[:, 1])
            return shapely.set_coordinates(g.copy(), np.column_stack([x, y]))

        return np.concatenate(in_threads(run, data, min_items=20_000))
    x0, y0 = shapely.get_x(data), shapely.get_y(data)
    x, y = _project(geoms.crs, crs, x0, y0)
    if np.array_equal(x, x0) and np.array_equal(y, y0):  # an equivalent CRS: the same geometries
        return data.copy()
    return shapely.points(x, y)


def _site_col(col: pd.Series, idx=None):
    """A column of the sites (all rows, or rows ``idx``) as ``col.to_numpy()[idx]`` would be stored."""
    values = col.array if idx is None else col.array.take(np.asarray(idx, dtype=np.intp))
    if isinstance(col.dtype, pd.CategoricalDtype):
        return values
    if isinstance(col.dtype, pd.StringDtype) and len(values) and not pd.isna(values).all():
        return values  # a string column stays a string column: no round trip through Python objects
    return col.to_numpy() if idx is None else col.to_numpy()[idx]


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


def _hash_ids(h: np.ndarray):
    """Number the distinct values of a hash: (id of each row, first row of each id)."""
    ids, uniq = pd.factorize(h)
    ids = np.asarray(ids, dtype=np.int64)
    rep = np.zeros(len(uniq), dtype=np.int64)
    rep[ids[::-1]] = np.arange(len(ids))[::-1]
    return ids, rep


def _sequence_ids(group: np.ndarray, value: np.ndarray, n_groups: int):
    """Number the distinct sequences of values of contiguous, sorted groups.

    Returns (id of each group, first group of each id). Hashed, then checked
    exactly; should two sequences ever share a hash, they are numbered in Python.
    """
    count = np.bincount(group, minlength=n_groups)
    start = np.cumsum(count) - count
    pos = np.arange(len(group)) - np.repeat(start, count)
    h = np.zeros(n_groups, dtype=np.uint64)
    with np.errstate(over="ignore"):
        v = value.astype(np.uint64) + np.uint64(1)
        p = pos.astype(np.uint64)
        mixed = (v * (np.uint64(0x9E3779B97F4A7C15) * (p + np.uint64(1)) | np.uint64(1))) ^ (v << np.uint64(31))
        np.add.at(h, group, mixed ^ (mixed >> np.uint64(29)))
        h = h * np.uint64(0xC2B2AE3D27D4EB4F) + count.astype(np.uint64)
    ids, rep = _hash_ids(h)
    same = np.array_equal(count[rep][ids], count)
    if same:
        same = np.array_equal(value[np.repeat(start[rep][ids], count) + pos], value)
    if not same:  # a hash collision: number the sequences exactly
        keys = [tuple(value[a:a + c]) for a, c in zip(start, count)]
        ids, uniq = pd.factorize(pd.Series(keys, dtype=object))
        ids = np.asarray(ids, dtype=np.int64)
        rep = np.zeros(len(uniq), dtype=np.int64)
        rep[ids[::-1]] = np.arange(n_groups)[::-1]
    return ids, rep


def _group_pairs(s: np.ndarray, z: np.ndarray, v: np.ndarray, how: str):
    """Per distinct (site, zone): any (bool) or sum (float) of ``v`` (pandas groupby, first-seen order)."""
    g = pd.DataFrame({"s": s, "z": z, "v": v}).groupby(["s", "z"], sort=False)["v"]
    pair = (g.any() if how == "any" else g.sum()).reset_index()
    return pair["s"].to_numpy(), pair["z"].to_numpy(), pair["v"].to_numpy()


@dataclass
class Overlay:
    """Every zone each site meets, and the zones it is near, before any rule: the geometric part of a check.

    One entry per (site, zone): ``site`` (row of the sites), ``zone`` (row of
    ``zone_index(layerset).attrs``), ``relation`` (index into ``REL_CODES``),
    ``overlap`` (m² or m), ``distance`` (m, for ``near``); sorted by site and zone.
    Per site: ``covered``, ``full`` (wholly inside the coverage), ``measure``
    (area or length), ``dim``; ``chain`` holds the chainage text of line findings.
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


def check_sites(sites: gpd.GeoDataFrame, layerset, *, rules: RuleTable | None = None,
                touch_area_m2: float = 1.0, touch_length_m: float = 1.0) -> CheckResult:
    """Check sites against a layer set.

    Parameters
    ----------
    sites : from :func:`geo.read_sites` (any CRS).
    layerset : from :func:`geo.read_layerset`.
    rules : the rule table (default: the layer set's own).
    touch_area_m2, touch_length_m : contact below these (overlap area of a
        parcel, overlap length of a line) that is also under 1 % of the site
        is ``touches``: ``caution`` ("boundary contact, verify"), never
        ``prohibited``. A site wholly inside a zone is inside, however small.

    Returns
    -------
    CheckResult
    """
    ls = layerset
    rules = rules if rules is not None else _rules_of(ls)
    ov = overlay(sites, ls, rules=rules, touch_area_m2=touch_area_m2, touch_length_m=touch_length_m)
    zones = zone_index(ls).attrs
    n = len(sites)
    hs, hz, hrel, hdist = ov.site, ov.zone, ov.relation, ov.distance

    # -- rules --------------------------------------------------------------------------
    table, key_of_zone, keys, codes = _rule_lookup(rules, zones)
    t_idx = _type_index(sites["project_type"], codes)
    lu = (sites["land_use"] == "cross").to_numpy(dtype=bool).astype(np.int64) if "land_use" in sites else np.zeros(n, np.int64)
    nmp = sites["nmp"].to_numpy().astype(bool).astype(np.int64) if "nmp" in sites else np.zeros(n, np.int64)
    rule_idx = np.full(len(hs), -1, dtype=np.int64)
    is_in = hrel != 4
    rule_idx[is_in] = table[key_of_zone[hz[is_in]], t_idx[hs[is_in]], lu[hs[is_in]], nmp[hs[is_in]]]
    near_rows = np.flatnonzero(~is_in)
    if len(near_rows):
        rule_idx[near_rows] = _near_rules(rules, keys, codes, key_of_zone[hz[near_rows]], t_idx[hs[near_rows]],
                                          lu[hs[near_rows]], nmp[hs[near_rows]], hdist[near_rows])
    rule_sev = np.array([SEVERITY[r.verdict] for r in rules.rules] + [SEVERITY["allowed"]], dtype=np.int64)
    sev = rule_sev[rule_idx]  # -1 picks the trailing "no rule": allowed
    touch = hrel == 3
    sev = np.where(touch, np.minimum(sev, SEVERITY["caution"]), sev)

    hits = (hs, hz, hrel, ov.overlap, hdist)
    def detail():
        return _detail_frame(sites, hits, zones, rules, rule_idx, sev, ov.measure, ov.chain, ov.dim)

    site_frame = _site_frame(sites, ls, hits, zones, rules, rule_idx, sev, ov.chain, ov.covered, ov.full, ov.single)
    return CheckResult(sites=site_frame, detail=detail, layerset=ls)


def overlay(sites: gpd.GeoDataFrame, layerset, *, rules: RuleTable | None = None,
            touch_area_m2: float = 1.0, touch_length_m: float = 1.0) -> Overlay:
    """The zones each site meets or is near (the rule table gives the ``near`` distances); see :class:`Overlay`."""
    ls = layerset
    rules = rules if rules is not None else _rules_of(ls)
    zi = zone_index(ls)
    n = len(sites)
    src = np.asarray(sites.geometry.values, dtype=object)
    single = shapely.get_type_id(src) == 0
    if single.any():
        single[single] = ~shapely.has_z(src[single])
    geom, px, py = _site_geoms(sites, ls.measure_crs, single)
    built = ~single
    views = [geom]

    def materialize(idx):
        """Build the point geometries of sites ``idx`` that are not built yet (in geom, foot and work)."""
        idx = np.asarray(idx, dtype=np.intp)
        miss = idx[~built[idx]]
        if len(miss):
            pts = shapely.points(px[miss], py[miss])
            for v in views:
                v[miss] = pts
            built[miss] = True

    src_dim = shapely.get_dimensions(src)
    radius = sites["radius_m"].to_numpy(dtype=float) if "radius_m" in sites else np.zeros(n)
    padded = radius > 0
    if padded.any():
        kind = sites["kind"].to_numpy()[padded] if "kind" in sites else np.where(
            src_dim[padded] == 0, "point", np.where(src_dim[padded] == 1, "line", "parcel"))
        padded[padded] = kind == "point"
    materialize(np.flatnonzero(padded))
    foot = geom.copy()
    views.append(foot)
    if padded.any():
        foot[padded] = shapely.buffer(geom[padded], radius[padded], quad_segs=16)
    dim = src_dim.copy()
    dim[padded] = shapely.get_dimensions(foot[padded])
    is_pt = dim == 0

    # -- the grid: sites wholly in clean cells are answered without geometry ----------------
    grid = zi.grid
    combo = np.full(n, -1, dtype=np.int64)
    if grid is not None and n:
        sp = single & is_pt
        if sp.any():
            combo[sp] = grid.locate(px[sp], py[sp])
        boxed = np.flatnonzero((dim == 2) | (is_pt & ~sp))
        boxed = boxed[~shapely.is_empty(foot[boxed])]
        if len(boxed):
            combo[boxed] = grid.locate_boxes(shapely.bounds(foot[boxed]))
    known = combo >= 0
    materialize(np.flatnonzero(~known))

    # -- coverage --------------------------------------------------------------
    # from the zone grid, else from the coarser coverage grid, else exactly
    cov = ls.coverage
    shapely.prepare(cov)
    covered = np.zeros(n, dtype=bool)
    if known.any():
        covered[known] = grid.combo_covered[combo[known]]
    full = covered.copy()  # a site in clean covered cells lies wholly inside the coverage
    unknown = np.flatnonzero(~known)
    cg = zi.cov_grid
    if cg is not None and len(unknown):
        state = np.full(len(unknown), -1, dtype=np.int64)
        upt = single[unknown] & is_pt[unknown]
        if upt.any():
            state[upt] = cg.locate(px[unknown[upt]], py[unknown[upt]])
        ubox = np.flatnonzero(~upt)
        ubox = ubox[~shapely.is_empty(foot[unknown[ubox]])]
        if len(ubox):
            state[ubox] = cg.locate_boxes(shapely.bounds(foot[unknown[ubox]]))
        sure = state >= 0
        covered[unknown[sure]] = full[unknown[sure]] = cg.combo_covered[state[sure]]
        unknown = unknown[~sure]
    covered[unknown] = shapely.intersects(cov, foot[unknown])
    full[unknown] = covered[unknown]
    ext = unknown[covered[unknown] & ~is_pt[unknown]]
    full[ext] = shapely.covers(cov, foot[ext])
    part = covered & ~full
    work = foot.copy()
    views.append(work)
    if part.any():
        cut = part & (dim == 2)  # polygons through the coverage's small pieces, others whole
        if cut.any():
            work[cut] = zi.clip_to_coverage(foot[cut], cov)
        if (part & ~cut).any():
            work[part & ~cut] = shapely.intersection(foot[part & ~cut], cov)
        warnings.warn(f"{int(part.sum())} site(s) lie partly outside the coverage of {ls.name}; "
                      f"their verdict rests on the covered part: "
                      f"{', '.join(map(str, sites['site_id'].to_numpy()[part][:10]))}", CoverageWarning, stacklevel=2)
    measure = np.zeros(n)
    d2, d1 = np.flatnonzero(dim == 2), np.flatnonzero(dim == 1)
    measure[d2] = shapely.area(foot[d2])
    measure[d1] = shapely.length(foot[d1])

    # -- zones met ---------------------------------------------------------------
    rows = []  # (site, zone, relation code, overlap, distance)
    grid_pt = np.flatnonzero(covered & is_pt & known)
    if len(grid_pt):  # in a clean cell: inside every zone of the cell, on no boundary
        s, z = grid.expand(grid_pt, combo[grid_pt])
        rows.append((s, z, np.zeros(len(s), dtype=np.int64), np.zeros(len(s)), np.zeros(len(s))))
    pt_idx = np.flatnonzero(covered & is_pt & ~known)
    if len(pt_idx):
        site_tree = shapely.STRtree(work[pt_idx])
        p_i, s_j = site_tree.query(zi.pieces, predicate="intersects")
        s = pt_idx[s_j]
        z = zi.piece_zone[p_i]
        inner = shapely.contains_properly(zi.pieces[p_i], work[s])
        ps, pz, pinner = _group_pairs(s, z, inner, "any")
        rel = np.zeros(len(ps), dtype=np.int64)  # inside
        edge = ~pinner.astype(bool)
        if edge.any():  # on a piece edge: inside unless on the zone's real boundary
            on_b = shapely.distance(zi.boundary(pz[edge]), work[ps[edge]]) < 1e-6
            rel[np.flatnonzero(edge)[on_b]] = 3
        rows.append((ps, pz, rel, np.zeros(len(ps)), np.zeros(len(ps))))
    ext_idx = np.flatnonzero(covered & ~is_pt)
    chain = {}
    if len(ext_idx):
        grid_ext = ext_idx[known[ext_idx]]  # parcels in clean cells: wholly inside each zone of the cell
        gs, gz = grid.expand(grid_ext, combo[grid_ext]) if len(grid_ext) else (np.zeros(0, np.int64),) * 2
        gov = np.where(dim[gs] == 2, shapely.area(work[gs]), shapely.length(work[gs])) if len(gs) else np.zeros(0)
        exact = ext_idx[~known[ext_idx]]
        s_j, p_i = zi.tree.query(work[exact])  # pieces whose box meets the site's
        s = exact[s_j]
        whole = shapely.contains_properly(zi.pieces[p_i], work[s])  # the pieces are prepared
        ov = np.full(len(s), np.nan)  # stays NaN where site and piece do not meet
        d2 = dim[s] == 2
        ov[whole] = np.where(d2[whole], shapely.area(work[s[whole]]), shapely.length(work[s[whole]]))
        inter = np.empty(len(s), dtype=object)
        part = np.flatnonzero(~whole)
        part = part[shapely.intersects(zi.pieces[p_i[part]], work[s[part]])]
        if len(part):  # cut by the piece: the intersection (its length is also the chainage of lines)
            inter[part] = intersection(work[s[part]], zi.pieces[p_i[part]])
            ov[part] = np.where(d2[part], shapely.area(inter[part]), shapely.length(inter[part]))
        meet = ~np.isnan(ov)
        s, p_i, whole, ov, inter = s[meet], p_i[meet], whole[meet], ov[meet], inter[meet]
        z = zi.piece_zone[p_i]
        ps, pz, pov = _group_pairs(s, z, ov, "sum")
        ps, pz, pov = np.concatenate([gs, ps]), np.concatenate([gz, pz]), np.concatenate([gov, pov])
        share = np.divide(pov, measure[ps], out=np.zeros(len(ps)), where=measure[ps] > 0)
        is_line = dim[ps] == 1
        tol = np.where(is_line, touch_length_m, touch_area_m2)
        # boundary contact: an overlap under the tolerance that is also a sliver of the site (under 1 %);
        # a small site inside or across a zone is inside or overlapping, whatever its size
        touch = (pov < tol) & (share < TOUCH_SHARE)
        rel = np.where(share >= 1 - 1e-9, 0, np.where(touch, 3, np.where(is_line, 2, 1)))
        rows.append((ps, pz, rel, pov, np.zeros(len(ps))))
        # chainage intervals along lines
        line_pairs = np.flatnonzero(dim[s] == 1)
        if len(line_pairs):
            o = line_pairs[np.lexsort((line_pairs, z[line_pairs], s[line_pairs]))]  # by (site, zone)
            first = np.r_[True, (s[o][1:] != s[o][:-1]) | (z[o][1:] != z[o][:-1])]
            bounds = np.r_[np.flatnonzero(first), len(o)]
            for g in np.argsort(o[first], kind="stable"):  # in order of first appearance
                ks = o[bounds[g]:bounds[g + 1]]
                si, zj = s[ks[0]], z[ks[0]]
                parts = [work[si] if whole[k] else inter[k] for k in ks]
                merged = shapely.union_all(parts)
                chain[(si, zj)] = _line_intervals(geom[si] if not padded[si] else work[si], merged)

    # -- near: zones within a rule distance ---------------------------------------
    cov_idx = np.flatnonzero(covered)
    for lid, dmax in rules.near_layers().items():
        if lid not in zi.layer_trees or not len(cov_idx):
            continue
        tree, pidx = zi.layer_trees[lid]
        cand = cov_idx
        bare = single[cand] & ~built[cand]  # points without a geometry: first a cheap test of their position
        if bare.any():
            close = _near_boxes(shapely.bounds(zi.pieces[pidx]), dmax, px[cand[bare]], py[cand[bare]])
            bare[bare] = ~close
            cand = cand[~bare]
        materialize(cand)
        s_j, p_i = tree.query(work[cand], predicate="dwithin", distance=dmax)
        if not len(s_j):
            continue
        s = cand[s_j]
        z = zi.piece_zone[pidx[p_i]]
        d = shapely.distance(work[s], zi.pieces[pidx[p_i]])
        near = pd.DataFrame({"s": s, "z": z, "dist": d}).groupby(["s", "z"], sort=False)["dist"].min().reset_index()
        k = len(near)
        rows.append((near["s"].to_numpy(), near["z"].to_numpy(), np.full(k, 4, dtype=np.int64), np.zeros(k),
                     near["dist"].to_numpy()))

    if rows:
        hs, hz, hrel, hov, hdist = (np.concatenate([r[i] for r in rows]) for i in range(5))
    else:
        hs, hz, hrel = (np.zeros(0, dtype=np.int64) for _ in range(3))
        hov, hdist = np.zeros(0), np.zeros(0)
    # a zone met is not also "near"
    keep = _first_of_pairs(hs, hz, hrel)
    hs, hz, hrel, hov, hdist = (a[keep].astype(t, copy=False) for a, t in zip((hs, hz, hrel, hov, hdist),
                                                                    (np.int64, np.int64, np.int64, float, float)))

    return Overlay(site=hs, zone=hz, relation=hrel, overlap=hov, distance=hdist, covered=covered, full=full,
                   measure=measure, dim=dim, single=single, chain=chain)


def _near_boxes(boxes: np.ndarray, d: float, x: np.ndarray, y: np.ndarray, cells: int = 512) -> np.ndarray:
    """Which points lie within ``d`` of one of ``boxes`` (minx, miny, maxx, maxy), or may: never a miss.

    The boxes widened by ``d`` are marked on a raster of at most ``cells`` × ``cells``;
    a point in an unmarked cell is farther than ``d`` from every box, so from
    everything inside them.
    """
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


def _near_rules(rules: RuleTable, keys, codes, k, t, lu, nmp, dist) -> np.ndarray:
    """The near rule of each (zone key, type, land use, nmp, distance): the strictest over all types when none is given.

    A near rule applies up to its distance, so between two rule distances the
    answer is constant: it is worked out once per distance band and looked up.
    """
    out = np.full(len(k), -1, dtype=np.int64)
    rule_pos = {id(r): i for i, r in enumerate(rules.rules)}
    memo = rules._memo["near"]  # per (zone key, type, land use, nmp): (bands, rule per band)
    grp = pd.DataFrame({"k": k, "t": t, "lu": lu, "nmp": nmp})
    for (kk, tt, lu_i, nmp_i), g in grp.groupby(["k", "t", "lu", "nmp"], sort=False).indices.items():
        if (kk, tt, lu_i, nmp_i) in memo:
            bands, picks = memo[kk, tt, lu_i, nmp_i]
            out[g] = picks[np.searchsorted(bands, dist[g], side="left")]
            continue
        layer, zone_class = keys.iloc[kk]
        types = codes if tt == len(codes) else [codes[tt]]
        bands = np.unique([r.distance_m for r in rules.by_layer.get(layer, ()) if r.relation == "near"])
        picks = []
        for d in list(bands) + [np.inf]:  # a distance in (bands[j-1], bands[j]] is answered at bands[j]
            best = None
            for code in types:
                r = rules.applicable(layer, zone_class, code, "near", ("occupy", "cross")[lu_i], bool(nmp_i),
                                     distance_m=d)
                if r is not None and (best is None or SEVERITY[r.verdict] > SEVERITY[best.verdict]):
                    best = r
            picks.append(-1 if best is None else rule_pos[id(best)])
        memo[kk, tt, lu_i, nmp_i] = bands, np.asarray(picks, dtype=np.int64)
        out[g] = memo[kk, tt, lu_i, nmp_i][1][np.searchsorted(bands, dist[g], side="left")]
    return out


def _rule_attr(rules: RuleTable, name: str, default):
    return np.array([getattr(r, name) for r in rules.rules] + [default], dtype=object)


def _detail_frame(sites, hits, zones, rules, rule_idx, sev, measure, chain, dim) -> pd.DataFrame:
    hs, hz, hrel, ov, dist = hits
    is_area = dim[hs] == 2
    is_line = dim[hs] == 1
    share = np.divide(ov, measure[hs], out=np.zeros(len(hs)), where=(measure[hs] > 0) & (hrel != 4))
    share = np.where(dim[hs] == 0, np.where(hrel == 4, 0.0, 1.0), share)
    judgement = np.array([bool(r.judgement) for r in rules.rules] + [False], dtype=bool)
    if chain:
        chain_col = np.full(len(hs), "", dtype=object)
        for i in np.flatnonzero(is_line):
            chain_col[i] = chain.get((hs[i], hz[i]), "")
        chain_col = list(chain_col)
    else:
        chain_col = ""
    specs = {f"zone_{c}" if c.startswith("name") else c: (zones[c].to_numpy(), hz)
             for c in ("layer", "zone_id", "zone_class", "name_zh", "name_en")}
    specs["relation"] = (REL_CODES, hrel)
    specs["verdict"] = (_BY_SEV, sev)
    for c in ("rule_id", "condition_zh", "condition_en", "citation"):
        specs[c] = (_rule_attr(rules, c, ""), rule_idx)  # -1: no rule
    col = _cols(specs)
    return pd.DataFrame({
        "site_id": _site_col(sites["site_id"], hs),
        "layer": col["layer"],
        "zone_id": col["zone_id"],
        "zone_class": col["zone_class"],
        "zone_name_zh": col["zone_name_zh"],
        "zone_name_en": col["zone_name_en"],
        "relation": col["relation"],
        "overlap_area_m2": np.where(is_area & (hrel != 4), np.round(ov, 2), np.nan),
        "overlap_share": np.round(share, 6),
        "overlap_length_m": np.where(is_line & (hrel != 4), np.round(ov, 2), np.nan),
        "chainage": chain_col,
        "distance_m": np.round(dist, 1),
        "rule_id": col["rule_id"],
        "verdict": col["verdict"],
        "condition_zh": col["condition_zh"],
        "condition_en": col["condition_en"],
        "citation": col["citation"],
        "judgement": judgement[rule_idx] if len(rule_idx) else np.array([]),
        "_s": hs,
    })


def _reason_parts(zh: bool, rel: str, name: str, verdict: str, cond: str, cite: str) -> tuple:
    """A finding's reason as (head, tail): the distance (near) or the chainage (lines) goes between."""
    v = VERDICTS[verdict]["zh" if zh else "en"]
    r = RELATIONS[rel]["zh" if zh else "en"]
    if rel == "touches":
        cond = ("边界接触，需核实；" if zh else "boundary contact, verify; ") + cond
    if zh:
        return (f"{v}：距{name}", f"米——{cond}（{cite}）") if rel == "near" else (f"{v}：{r}{name}", f"——{cond}（{cite}）")
    return (f"{v}: ", f" m from {name} — {cond} [{cite}]") if rel == "near" else (f"{v}: {r} {name}", f" — {cond} [{cite}]")


def _citation_parts(citations) -> tuple:
    """The distinct clauses the rules cite, and each rule's clauses as indices into them.

    A rule's citation may name several clauses separated by ``；`` or ``;``;
    each is one entry (``第六十五条、第六十四条`` stays one).
    """
    words: dict = {}
    parts = []
    for text in citations:
        items = [w.strip() for w in str(text or "").replace(";", "；").split("；")]
        parts.append([words.setdefault(w, len(words)) for w in items if w])
    return list(words), parts


def _joined(lists: np.ndarray, offsets: np.ndarray, parts: list, sep: str):
    """Per list, its rows' texts joined by ``sep``: each text is the concatenation of ``parts``.

    ``lists`` are the rows to take, in order; ``parts`` are (words, codes per
    row) pairs or Arrow string arrays per row. All in Arrow, no Python string per row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for part in parts:
        if isinstance(part, tuple):
            words, codes = part
            part = pa.DictionaryArray.from_arrays(pa.array(codes[lists].astype(np.int32)),
                                                  pa.array(list(words), type=pa.large_string()))
        cols.append(part.cast(pa.large_string()))
    text = pc.binary_join_element_wise(*cols, pa.scalar("", pa.large_string())) if len(cols) > 1 else cols[0]
    return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), text),
                          pa.scalar(sep, pa.large_string()))


def _site_frame(sites, ls, hits, zones, rules, rule_idx, sev, chain, covered, full, single) -> gpd.GeoDataFrame:
    import pyarrow as pa

    n = len(sites)
    hs, hz, hrel, _, dist = hits
    site_sev = np.full(n, SEVERITY["allowed"], dtype=np.int64)
    if len(hs):
        np.maximum.at(site_sev, hs, sev)
    site_sev[~covered] = 0  # unknown
    n_hits = np.bincount(hs, minlength=n) if len(hs) else np.zeros(n, dtype=np.int64)

    # reasons: every finding that is not plainly allowed, most severe first; sites with the same
    # findings share one text, so each distinct list of findings is written once
    fixed_zh = ["未涉及限制性管控区域", f"位于图层集“{ls.info['title_zh']}”覆盖范围之外，无法判定"]
    fixed_en = ["no restrictive zone met", f"outside the coverage of layer set {ls.name}: cannot be judged"]
    texts = {k: [pa.array(v, type=pa.large_string())] for k, v in (("zh", fixed_zh), ("en", fixed_en), ("cite", ["", ""]))}
    which = np.zeros(n, dtype=np.int64)  # index into the texts
    notable = np.flatnonzero(sev != SEVERITY["allowed"])
    if len(notable):
        # by site, most severe first, else in finding order (hs is sorted: timsort on a nearly sorted key)
        order = notable[np.argsort(hs[notable] * 8 + (7 - sev[notable]), kind="stable")]
        os_ = hs[order]
        # a finding's text: head + varying part + tail; head and tail depend on relation, zone, rule and verdict
        n_rules = len(rules.rules) + 1
        base = ((hrel[order] * len(zones) + hz[order]) * n_rules + (rule_idx[order] + 1)) * 8 + sev[order]
        base_id, base_uniq = pd.factorize(base)
        first = np.zeros(len(base_uniq), dtype=np.int64)
        first[base_id[::-1]] = np.arange(len(order))[::-1]
        names = {"zh": zones["name_zh"].to_numpy(), "en": zones["name_en"].to_numpy()}
        conds = {"zh": _rule_attr(rules, "condition_zh", ""), "en": _rule_attr(rules, "condition_en", "")}
        r_cite = _rule_attr(rules, "citation", "")
        heads, tails = {"zh": [], "en": []}, {"zh": [], "en": []}
        for j in first:
            row = order[j]
            z, ri = hz[row], rule_idx[row]
            for lang in ("zh", "en"):
                h, t = _reason_parts(lang == "zh", REL_CODES[hrel[row]], names[lang][z], _BY_SEV[sev[row]],
                                     conds[lang][ri], r_cite[ri])
                heads[lang].append(h)
                tails[lang].append(t)
        # the varying part: a near finding's distance (as the findings show it), a line's chainage
        near = hrel[order] == 4
        var = {"zh": np.full(len(order), "", dtype=object), "en": np.full(len(order), "", dtype=object)}
        if near.any():
            metres = np.round(np.round(dist[order[near]], 1)).astype(np.int64).astype(str)
            var["zh"][near] = var["en"][near] = metres
        own = near.copy()  # findings with a varying part are their own key
        if chain:
            for i in np.flatnonzero(hrel[order] != 4):
                ch = chain.get((os_[i], hz[order[i]]))
                if ch:
                    own[i] = True
                    var["zh"][i], var["en"][i] = f"（{ch}）", f" ({ch})"
        key = np.where(own, -1 - np.arange(len(order)), base_id)
        key_id, _ = pd.factorize(key)
        # distinct lists of findings per site (os_ is sorted)
        first_row = np.ones(len(os_), dtype=bool)
        first_row[1:] = os_[1:] != os_[:-1]
        sites_with = os_[first_row]
        grp = np.cumsum(first_row) - 1
        seq_id, rep = _sequence_ids(grp, key_id.astype(np.int64), len(sites_with))
        count = np.bincount(grp, minlength=len(sites_with))
        start = np.cumsum(count) - count
        cnt = count[rep]
        offsets = np.concatenate([[0], np.cumsum(cnt)])
        rows = np.repeat(start[rep] - offsets[:-1], cnt) + np.arange(offsets[-1])  # the lists' findings, in order
        for lang, sep in (("zh", "；"), ("en", "; ")):
            varr = pa.array(var[lang][rows], type=pa.large_string())
            texts[lang].append(_joined(rows, offsets, [(heads[lang], base_id), varr, (tails[lang], base_id)], sep))
        # citations: each clause once per list, in order of first mention (a rule may cite several, "A；B")
        words, rule_parts = _citation_parts(r_cite)
        n_parts = np.array([len(p) for p in rule_parts], dtype=np.int64)
        part_start = np.cumsum(n_parts) - n_parts
        part_flat = np.array([w for p in rule_parts for w in p], dtype=np.int64)
        row_rule = rule_idx[order][rows]
        k = n_parts[row_rule]
        cite_id = part_flat[np.repeat(part_start[row_rule], k) + np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)]
        list_of = np.repeat(np.repeat(np.arange(len(rep)), cnt), k)
        _, once = np.unique(list_of * (len(words) + 1) + cite_id, return_index=True)
        once = np.sort(once)
        c_off = np.concatenate([[0], np.cumsum(np.bincount(list_of[once], minlength=len(rep)))])
        texts["cite"].append(_joined(once, c_off, [(words, cite_id)], "；"))
        which[sites_with] = len(fixed_zh) + seq_id
    which[~covered] = 1
    coverage = np.where(~covered, 0, np.where(full, 1, 2))
    partial = np.flatnonzero(coverage == 2)
    texts = {k: pa.concat_arrays(v) for k, v in texts.items()}
    if len(partial):  # partly covered sites are few: their own texts
        add = {"zh": "部分位于覆盖范围之外，结论仅依据覆盖部分；",
               "en": "partly outside the coverage, verdict from the covered part; ", "cite": ""}
        was = pa.array(which[partial])
        texts = {k: pa.concat_arrays([v, pa.array([add[k] + t for t in v.take(was).to_pylist()], type=pa.large_string())])
                 for k, v in texts.items()}
        which[partial] = len(texts["zh"]) - len(partial) + np.arange(len(partial))
    types = project_types()
    pt = sites["project_type"]
    pt_codes, pt_uniq = pd.factorize(pt, use_na_sentinel=False)
    pt_zh = [types[t]["name_zh"] if t in types else "未指定（按最严格类型）" for t in pt_uniq]
    col = _cols({"project_type_zh": (pt_zh, pt_codes), "verdict": (_BY_SEV, site_sev),
                 "verdict_zh": ([VERDICTS[v]["zh"] for v in _BY_SEV], site_sev), "reasons_zh": (texts["zh"], which),
                 "reasons_en": (texts["en"], which), "citations": (texts["cite"], which),
                 "coverage": (["outside", "full", "partial"], coverage)})
    out = gpd.GeoDataFrame({
        "site_id": _site_col(sites["site_id"]),
        "name": _site_col(sites["name"]),
        "project_type": _site_col(pt),
        "project_type_zh": col["project_type_zh"],
        "kind": _site_col(sites["kind"]) if "kind" in sites else "",
        "verdict": col["verdict"],
        "verdict_zh": col["verdict_zh"],
        "reasons_zh": col["reasons_zh"],
        "reasons_en": col["reasons_en"],
        "citations": col["citations"],
        "n_hits": n_hits,
        "coverage": col["coverage"],
    }, geometry=_to_crs(sites.geometry, ls.storage_crs, single), crs=ls.storage_crs)
    return out
