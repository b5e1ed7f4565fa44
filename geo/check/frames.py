"""The tables of a check: one row per site (verdict, reasons) and one per finding (site × zone)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..text import VERDICTS, project_types
from .overlay import Overlay
from .reasons import site_reasons
from .relations import LABELS, Relation
from .reproject import to_crs
from .rules import RuleTable
from .verdicts import VERDICT_OF_SEVERITY, Judged, site_severity

__all__ = ["detail_frame", "site_frame"]


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


def _site_col(col: pd.Series, idx=None):
    """A column of the sites (all rows, or rows ``idx``) as ``col.to_numpy()[idx]`` would be stored."""
    values = col.array if idx is None else col.array.take(np.asarray(idx, dtype=np.intp))
    if isinstance(col.dtype, pd.CategoricalDtype):
        return values
    if isinstance(col.dtype, pd.StringDtype) and len(values) and not pd.isna(values).all():
        return values  # a string column stays a string column: no round trip through Python objects
    return col.to_numpy() if idx is None else col.to_numpy()[idx]


def _chainage_column(ov: Overlay, is_line: np.ndarray):
    """The chainage of each finding of a line ("" elsewhere), or "" for all when no line has one."""
    if not ov.chain:
        return ""
    out = np.full(len(ov.site), "", dtype=object)
    for i in np.flatnonzero(is_line):
        out[i] = ov.chain.get((ov.site[i], ov.zone[i]), "")
    return list(out)


def detail_frame(sites: gpd.GeoDataFrame, *, overlay: Overlay, judged: Judged, zones: pd.DataFrame,
                 rules: RuleTable) -> pd.DataFrame:
    """One row per finding: the zone (with its official ``zone_code``), relation, overlap, chainage, distance, the
    network's width left and ΔPC, and the rule (``cuts``/``along`` rows: the length inside the corridor, no share)."""
    ov, rule = overlay, judged.rule
    hs, hz, hrel = ov.site, ov.zone, ov.relation
    dim = ov.dim[hs]
    net = hrel >= Relation.CUTS
    met = (hrel != Relation.NEAR) & ~net
    share = np.divide(ov.overlap, ov.measure[hs], out=np.zeros(len(hs)), where=(ov.measure[hs] > 0) & met)
    share = np.where(dim == 0, np.where(met, 1.0, 0.0), share)
    share = np.where(net, np.nan, share)
    judgement = np.array([bool(r.judgement) for r in rules.rules] + [False], dtype=bool)
    zone = {c: _col(zones[c].to_numpy(), hz) for c in ("layer", "zone_id", "zone_code", "zone_class", "name_zh",
                                                        "name_en")}
    text = {c: _col(rules.column(c, ""), rule) for c in ("rule_id", "condition_zh", "condition_en", "citation")}
    return pd.DataFrame({
        "site_id": _site_col(sites["site_id"], hs),
        "layer": zone["layer"],
        "zone_id": zone["zone_id"],
        "zone_code": zone["zone_code"],
        "zone_class": zone["zone_class"],
        "zone_name_zh": zone["name_zh"],
        "zone_name_en": zone["name_en"],
        "relation": _col(LABELS, hrel),
        "overlap_area_m2": np.where((dim == 2) & met, np.round(ov.overlap, 2), np.nan),
        "overlap_share": np.round(share, 6),
        "overlap_length_m": np.where(((dim == 1) & met) | net, np.round(ov.overlap, 2), np.nan),
        "chainage": _chainage_column(ov, dim == 1),
        "distance_m": np.round(ov.distance, 1),
        "width_left_m": ov.width_left,
        "delta_pc": ov.delta_pc,
        "rule_id": text["rule_id"],
        "verdict": _col(VERDICT_OF_SEVERITY, judged.severity),
        "condition_zh": text["condition_zh"],
        "condition_en": text["condition_en"],
        "citation": text["citation"],
        "judgement": judgement[rule] if len(rule) else np.array([]),
        "_s": hs,
    })


def site_frame(sites: gpd.GeoDataFrame, *, overlay: Overlay, judged: Judged, zones: pd.DataFrame, rules: RuleTable,
               layerset) -> gpd.GeoDataFrame:
    """One row per site: its verdict, reasons and citations, the number of findings and the coverage (storage CRS)."""
    ov = overlay
    n = len(sites)
    severity = site_severity(ov, judged, n)
    reasons = site_reasons(ov, judged, zones=zones, rules=rules, layerset=layerset)
    n_hits = np.bincount(ov.site, minlength=n) if len(ov.site) else np.zeros(n, dtype=np.int64)
    coverage = np.where(~ov.covered, 0, np.where(ov.full, 1, 2))
    types = project_types()
    pt = sites["project_type"]
    pt_codes, pt_uniq = pd.factorize(pt, use_na_sentinel=False)
    pt_zh = [types[t]["name_zh"] if t in types else "未指定（按最严格类型）" for t in pt_uniq]
    return gpd.GeoDataFrame({
        "site_id": _site_col(sites["site_id"]),
        "name": _site_col(sites["name"]),
        "project_type": _site_col(pt),
        "project_type_zh": _col(pt_zh, pt_codes),
        "kind": _site_col(sites["kind"]) if "kind" in sites else "",
        "verdict": _col(VERDICT_OF_SEVERITY, severity),
        "verdict_zh": _col([VERDICTS[v]["zh"] for v in VERDICT_OF_SEVERITY], severity),
        "reasons_zh": _col(reasons.texts["zh"], reasons.which),
        "reasons_en": _col(reasons.texts["en"], reasons.which),
        "citations": _col(reasons.texts["cite"], reasons.which),
        "n_hits": n_hits,
        "coverage": _col(["outside", "full", "partial"], coverage),
    }, geometry=to_crs(sites.geometry, layerset.storage_crs, ov.single), crs=layerset.storage_crs)
