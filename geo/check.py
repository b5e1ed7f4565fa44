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
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CoverageWarning
from .rules import SEVERITY, RuleTable, layerset_rules
from .text import RELATIONS, VERDICTS, project_types
from .zones import zone_index

log = logging.getLogger(__name__)

__all__ = ["check_sites", "CheckResult", "chainage"]

REL_CODES = ["inside", "overlaps", "crosses", "touches", "near"]
_BY_SEV = np.array(["unknown"] + [v for v, _ in sorted(SEVERITY.items(), key=lambda kv: kv[1])], dtype=object)


@dataclass
class CheckResult:
    """Per-site verdicts (``sites``, a GeoDataFrame) and per-(site, zone) findings (``detail``)."""

    sites: gpd.GeoDataFrame
    detail: pd.DataFrame
    layerset: object

    def counts(self) -> dict:
        vc = self.sites["verdict"].value_counts()
        return {v: int(vc.get(v, 0)) for v in ["prohibited", "restricted", "caution", "allowed", "unknown"]}

    def summary_line(self) -> str:
        c = self.counts()
        return (f"checked {len(self.sites)} sites against {self.layerset.name}: "
                + ", ".join(f"{n} {v}" for v, n in c.items()))


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


def _rule_lookup(rules: RuleTable, zones: pd.DataFrame):
    """Rule per (zone key, type, land use, nmp) for ``in`` relations, as an array of rule indices."""
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


def _type_index(types: np.ndarray, codes: list) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(codes)}
    return np.array([lookup.get(t, len(codes)) for t in types], dtype=np.int64)


def check_sites(sites: gpd.GeoDataFrame, layerset, *, rules: RuleTable | None = None,
                touch_area_m2: float = 1.0, touch_length_m: float = 1.0) -> CheckResult:
    """Check sites against a layer set.

    Parameters
    ----------
    sites : from :func:`geo.read_sites` (any CRS).
    layerset : from :func:`geo.read_layerset`.
    rules : the rule table (default: the layer set's own).
    touch_area_m2, touch_length_m : contact below these (overlap area of a
        parcel, overlap length of a line) is ``touches``: ``caution``
        ("boundary contact, verify"), never ``prohibited``.

    Returns
    -------
    CheckResult
    """
    ls = layerset
    rules = rules if rules is not None else layerset_rules(ls)
    zi = zone_index(ls)
    zones = zi.zones
    n = len(sites)
    geom = sites.to_crs(ls.measure_crs).geometry.values
    radius = sites["radius_m"].to_numpy(dtype=float) if "radius_m" in sites else np.zeros(n)
    kind = sites["kind"].to_numpy() if "kind" in sites else np.where(
        shapely.get_dimensions(geom) == 0, "point", np.where(shapely.get_dimensions(geom) == 1, "line", "parcel"))
    foot = geom.copy()
    padded = (radius > 0) & (kind == "point")
    if padded.any():
        foot[padded] = shapely.buffer(geom[padded], radius[padded], quad_segs=16)
    dim = shapely.get_dimensions(foot)
    is_pt = dim == 0

    # -- coverage --------------------------------------------------------------
    cov = ls.coverage
    shapely.prepare(cov)
    covered = shapely.intersects(cov, foot)
    full = covered.copy()
    ext = covered & ~is_pt
    full[ext] = shapely.covers(cov, foot[ext])
    part = covered & ~full
    work = foot.copy()
    if part.any():
        work[part] = shapely.intersection(foot[part], cov)
        warnings.warn(f"{int(part.sum())} site(s) lie partly outside the coverage of {ls.name}; "
                      f"their verdict rests on the covered part: "
                      f"{', '.join(map(str, sites['site_id'].to_numpy()[part][:10]))}", CoverageWarning, stacklevel=2)
    measure = np.where(dim == 2, shapely.area(foot), np.where(dim == 1, shapely.length(foot), 0.0))

    # -- zones met ---------------------------------------------------------------
    rows = []  # (site, zone, relation code, overlap, distance)
    pt_idx = np.flatnonzero(covered & is_pt)
    if len(pt_idx):
        site_tree = shapely.STRtree(work[pt_idx])
        p_i, s_j = site_tree.query(zi.pieces, predicate="intersects")
        s = pt_idx[s_j]
        z = zi.piece_zone[p_i]
        inner = shapely.contains_properly(zi.pieces[p_i], work[s])
        pair = pd.DataFrame({"s": s, "z": z, "inner": inner}).groupby(["s", "z"], sort=False)["inner"].any().reset_index()
        rel = np.zeros(len(pair), dtype=np.int64)  # inside
        edge = ~pair["inner"].to_numpy()
        if edge.any():  # on a piece edge: inside unless on the zone's real boundary
            on_b = shapely.distance(zi.boundaries[pair["z"].to_numpy()[edge]], work[pair["s"].to_numpy()[edge]]) < 1e-6
            rel[np.flatnonzero(edge)[on_b]] = 3
        rows.append(pd.DataFrame({"s": pair["s"].to_numpy(), "z": pair["z"].to_numpy(), "rel": rel,
                                  "overlap": 0.0, "dist": 0.0}))
    ext_idx = np.flatnonzero(covered & ~is_pt)
    chain = {}
    if len(ext_idx):
        s_j, p_i = zi.tree.query(work[ext_idx], predicate="intersects")
        s = ext_idx[s_j]
        z = zi.piece_zone[p_i]
        whole = shapely.contains_properly(zi.pieces[p_i], work[s])
        ov = np.empty(len(s))
        d2 = dim[s] == 2
        ov[whole] = np.where(d2[whole], shapely.area(work[s[whole]]), shapely.length(work[s[whole]]))
        cut = ~whole
        inter = np.empty(len(s), dtype=object)
        if cut.any():
            inter[cut] = shapely.intersection(work[s[cut]], zi.pieces[p_i[cut]])
            ov[cut] = np.where(d2[cut], shapely.area(inter[cut]), shapely.length(inter[cut]))
        pair = pd.DataFrame({"s": s, "z": z, "ov": ov}).groupby(["s", "z"], sort=False)["ov"].sum().reset_index()
        ps, pz, pov = pair["s"].to_numpy(), pair["z"].to_numpy(), pair["ov"].to_numpy()
        share = np.divide(pov, measure[ps], out=np.zeros(len(ps)), where=measure[ps] > 0)
        is_line = dim[ps] == 1
        tol = np.where(is_line, touch_length_m, touch_area_m2)
        rel = np.where(pov < tol, 3, np.where(share >= 1 - 1e-9, 0, np.where(is_line, 2, 1)))
        rows.append(pd.DataFrame({"s": ps, "z": pz, "rel": rel, "overlap": pov, "dist": 0.0}))
        # chainage intervals along lines
        line_pairs = np.flatnonzero(dim[s] == 1)
        if len(line_pairs):
            lp = pd.DataFrame({"s": s[line_pairs], "z": z[line_pairs], "k": line_pairs})
            for (si, zj), grp in lp.groupby(["s", "z"], sort=False):
                ks = grp["k"].to_numpy()
                parts = [work[si] if whole[k] else inter[k] for k in ks]
                merged = shapely.union_all(parts)
                chain[(si, zj)] = _line_intervals(geom[si] if not padded[si] else work[si], merged)

    # -- near: zones within a rule distance ---------------------------------------
    near_layers = rules.near_layers()
    cov_idx = np.flatnonzero(covered)
    for lid, dmax in near_layers.items():
        if lid not in zi.layer_trees or not len(cov_idx):
            continue
        tree, pidx = zi.layer_trees[lid]
        s_j, p_i = tree.query(work[cov_idx], predicate="dwithin", distance=dmax)
        if not len(s_j):
            continue
        s = cov_idx[s_j]
        z = zi.piece_zone[pidx[p_i]]
        d = shapely.distance(work[s], zi.pieces[pidx[p_i]])
        near = pd.DataFrame({"s": s, "z": z, "dist": d}).groupby(["s", "z"], sort=False)["dist"].min().reset_index()
        rows.append(pd.DataFrame({"s": near["s"], "z": near["z"], "rel": 4, "overlap": 0.0, "dist": near["dist"]}))

    hits = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        {"s": pd.Series(dtype=np.int64), "z": pd.Series(dtype=np.int64), "rel": pd.Series(dtype=np.int64),
         "overlap": pd.Series(dtype=float), "dist": pd.Series(dtype=float)})
    # a zone met is not also "near"
    hits = hits.sort_values(["s", "z", "rel"], kind="stable").drop_duplicates(["s", "z"], keep="first")
    hits = hits.reset_index(drop=True)

    # -- rules --------------------------------------------------------------------------
    table, key_of_zone, keys, codes = _rule_lookup(rules, zones)
    t_idx = _type_index(sites["project_type"].to_numpy(), codes)
    lu = (sites["land_use"].to_numpy() == "cross").astype(np.int64) if "land_use" in sites else np.zeros(n, np.int64)
    nmp = sites["nmp"].to_numpy().astype(bool).astype(np.int64) if "nmp" in sites else np.zeros(n, np.int64)
    hs, hz, hrel = hits["s"].to_numpy(), hits["z"].to_numpy(), hits["rel"].to_numpy()
    rule_idx = np.full(len(hits), -1, dtype=np.int64)
    is_in = hrel != 4
    rule_idx[is_in] = table[key_of_zone[hz[is_in]], t_idx[hs[is_in]], lu[hs[is_in]], nmp[hs[is_in]]]
    near_rows = np.flatnonzero(~is_in)
    if len(near_rows):
        rule_pos = {id(r): i for i, r in enumerate(rules.rules)}
        grp = pd.DataFrame({"k": key_of_zone[hz[near_rows]], "t": t_idx[hs[near_rows]], "lu": lu[hs[near_rows]],
                            "nmp": nmp[hs[near_rows]], "row": near_rows})
        dist = hits["dist"].to_numpy()
        for (k, t, lu_i, nmp_i), g in grp.groupby(["k", "t", "lu", "nmp"], sort=False):
            layer, zone_class = keys.iloc[k]
            types = codes if t == len(codes) else [codes[t]]
            for row in g["row"].to_numpy():
                best = None
                for code in types:
                    r = rules.applicable(layer, zone_class, code, "near", ("occupy", "cross")[lu_i], bool(nmp_i),
                                         distance_m=dist[row])
                    if r is not None and (best is None or SEVERITY[r.verdict] > SEVERITY[best.verdict]):
                        best = r
                rule_idx[row] = -1 if best is None else rule_pos[id(best)]
    rule_arr = np.array(rules.rules + [None], dtype=object)
    applied = rule_arr[rule_idx]  # -1 picks the trailing None
    sev = np.array([SEVERITY[r.verdict] if r is not None else SEVERITY["allowed"] for r in applied], dtype=np.int64)
    touch = hrel == 3
    sev = np.where(touch, np.minimum(sev, SEVERITY["caution"]), sev)
    verdict = _BY_SEV[sev]

    detail = _detail_frame(sites, hits, zones, applied, verdict, measure, chain, dim)
    site_frame = _site_frame(sites, ls, detail, covered, full, hs, sev)
    return CheckResult(sites=site_frame, detail=detail, layerset=ls)


def _detail_frame(sites, hits, zones, applied, verdict, measure, chain, dim) -> pd.DataFrame:
    hs, hz, hrel = hits["s"].to_numpy(), hits["z"].to_numpy(), hits["rel"].to_numpy()
    ov = hits["overlap"].to_numpy()
    is_area = dim[hs] == 2
    is_line = dim[hs] == 1
    share = np.divide(ov, measure[hs], out=np.zeros(len(hs)), where=(measure[hs] > 0) & (hrel != 4))
    share = np.where(dim[hs] == 0, np.where(hrel == 4, 0.0, 1.0), share)
    attr = lambda name: np.array([getattr(r, name) if r is not None else "" for r in applied], dtype=object)  # noqa: E731
    return pd.DataFrame({
        "site_id": sites["site_id"].to_numpy()[hs],
        "layer": zones["layer"].to_numpy()[hz],
        "zone_id": zones["zone_id"].to_numpy()[hz],
        "zone_class": zones["zone_class"].to_numpy()[hz],
        "zone_name_zh": zones["name_zh"].to_numpy()[hz],
        "zone_name_en": zones["name_en"].to_numpy()[hz],
        "relation": np.array(REL_CODES, dtype=object)[hrel],
        "overlap_area_m2": np.where(is_area & (hrel != 4), np.round(ov, 2), np.nan),
        "overlap_share": np.round(share, 6),
        "overlap_length_m": np.where(is_line & (hrel != 4), np.round(ov, 2), np.nan),
        "chainage": [chain.get((s, z), "") for s, z in zip(hs, hz)] if chain else "",
        "distance_m": np.round(hits["dist"].to_numpy(), 1),
        "rule_id": attr("rule_id"),
        "verdict": verdict,
        "condition_zh": attr("condition_zh"),
        "condition_en": attr("condition_en"),
        "citation": attr("citation"),
        "judgement": np.array([bool(r.judgement) if r is not None else False for r in applied]),
        "_s": hs,
    })


def _reason(row_zh: bool, rel, name, verdict, cond, cite, dist, chain_txt):
    v = VERDICTS[verdict]["zh" if row_zh else "en"]
    r = RELATIONS[rel]["zh" if row_zh else "en"]
    if row_zh:
        where = f"距{name}{dist:.0f}米" if rel == "near" else f"{r}{name}"
        if rel == "touches":
            cond = "边界接触，需核实；" + cond
        text = f"{v}：{where}{('（' + chain_txt + '）') if chain_txt else ''}——{cond}（{cite}）"
    else:
        where = f"{dist:.0f} m from {name}" if rel == "near" else f"{r} {name}"
        if rel == "touches":
            cond = "boundary contact, verify; " + cond
        text = f"{v}: {where}{(' (' + chain_txt + ')') if chain_txt else ''} — {cond} [{cite}]"
    return text


def _site_frame(sites, ls, detail, covered, full, hs, sev) -> gpd.GeoDataFrame:
    n = len(sites)
    site_sev = np.full(n, SEVERITY["allowed"], dtype=np.int64)
    if len(hs):
        np.maximum.at(site_sev, hs, sev)
    verdict = _BY_SEV[site_sev]
    verdict[~covered] = "unknown"
    n_hits = np.bincount(hs, minlength=n) if len(hs) else np.zeros(n, dtype=np.int64)
    # reasons: every finding that is not plainly allowed, most severe first
    notable = detail[detail["verdict"] != "allowed"]
    if len(notable):
        order = notable.assign(_sev=notable["verdict"].map(SEVERITY)).sort_values(["_s", "_sev"], ascending=[True, False])
        zh = [_reason(True, r.relation, r.zone_name_zh, r.verdict, r.condition_zh, r.citation, r.distance_m, r.chainage)
              for r in order.itertuples(index=False)]
        en = [_reason(False, r.relation, r.zone_name_en, r.verdict, r.condition_en, r.citation, r.distance_m, r.chainage)
              for r in order.itertuples(index=False)]
        agg = pd.DataFrame({"_s": order["_s"].to_numpy(), "zh": zh, "en": en, "cite": order["citation"].to_numpy()})
        g = agg.groupby("_s", sort=False)
        rz = g["zh"].agg("；".join)
        re_ = g["en"].agg("; ".join)
        rc = g["cite"].agg(lambda c: "；".join(dict.fromkeys(c)))
    else:
        rz = re_ = rc = pd.Series(dtype=object)
    reasons_zh = np.array([rz.get(i, "未涉及限制性管控区域") for i in range(n)], dtype=object)
    reasons_en = np.array([re_.get(i, "no restrictive zone met") for i in range(n)], dtype=object)
    citations = np.array([rc.get(i, "") for i in range(n)], dtype=object)
    reasons_zh[~covered] = f"位于图层集“{ls.info['title_zh']}”覆盖范围之外，无法判定"
    reasons_en[~covered] = f"outside the coverage of layer set {ls.name}: cannot be judged"
    coverage = np.where(~covered, "outside", np.where(full, "full", "partial"))
    partial = coverage == "partial"
    reasons_zh[partial] = np.char.add("部分位于覆盖范围之外，结论仅依据覆盖部分；", reasons_zh[partial].astype(str))
    reasons_en[partial] = np.char.add("partly outside the coverage, verdict from the covered part; ",
                                      reasons_en[partial].astype(str))
    types = project_types()
    out = gpd.GeoDataFrame({
        "site_id": sites["site_id"].to_numpy(),
        "name": sites["name"].to_numpy(),
        "project_type": sites["project_type"].to_numpy(),
        "project_type_zh": [types[t]["name_zh"] if t in types else "未指定（按最严格类型）" for t in sites["project_type"]],
        "kind": sites["kind"].to_numpy() if "kind" in sites else "",
        "verdict": verdict,
        "verdict_zh": [VERDICTS[v]["zh"] for v in verdict],
        "reasons_zh": reasons_zh,
        "reasons_en": reasons_en,
        "citations": citations,
        "n_hits": n_hits,
        "coverage": coverage,
    }, geometry=sites.to_crs(ls.storage_crs).geometry.values, crs=ls.storage_crs)
    return out
