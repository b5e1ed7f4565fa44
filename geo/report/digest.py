"""What a report needs of a check, gathered batch by batch in bounded memory."""
from __future__ import annotations

import numpy as np

__all__ = ["ReportDigest", "DETAIL_LIMIT", "DETAIL_MODES"]

#: sites detailed in a report by default at most (the most severe first); the rest are summarised
DETAIL_LIMIT = 200
#: which sites a report details: ``auto`` (every site up to :data:`DETAIL_LIMIT`, else the most severe),
#: ``all``, ``flagged`` (every site not ``allowed``) or ``none``
DETAIL_MODES = ("auto", "all", "flagged", "none")
#: order in which sites are picked for detail: most severe first, ``unknown`` before ``allowed``
_RANK = {"prohibited": 0, "restricted": 1, "caution": 2, "unknown": 3, "allowed": 4}
_ZONE_KEYS = ["layer", "zone_id", "zone_name_zh", "zone_name_en"]


def _default(limit: int | None) -> int:
    """``limit``, or :data:`DETAIL_LIMIT` as it is when called (so a test may lower it for every batch)."""
    return DETAIL_LIMIT if limit is None else limit


def _limit(mode: str, limit: int) -> int | None:
    return {"auto": limit, "none": 0}.get(mode)  # all, flagged: no limit


def _worst(sites, mode: str, limit: int | None) -> np.ndarray:
    """Positions of the sites to keep, in input order: flagged ones only for ``flagged``, the most severe first."""
    verdicts = sites["verdict"].astype(str)
    rank = verdicts.map(_RANK).to_numpy()
    order = np.argsort(rank, kind="stable")
    if mode == "flagged":
        order = order[verdicts.to_numpy()[order] != "allowed"]
    return np.sort(order[:limit] if limit is not None else order)


def _marks(sites, ls) -> tuple | None:
    """Each site's representative point in the measurement CRS (float32 metres) and its verdict: 9 bytes a site,
    what the overview map of a large batch needs."""
    import shapely

    if ls is None or not len(sites):
        return None
    geoms = sites.geometry.to_crs(ls.measure_crs).to_numpy()
    single = shapely.get_type_id(geoms) == 0
    pts = geoms.copy()
    pts[~single] = shapely.point_on_surface(geoms[~single])
    xy = shapely.get_coordinates(pts)
    if len(xy) != len(sites):  # an empty geometry has no point
        return None
    codes = sites["verdict"].astype(str).map(_RANK).to_numpy(dtype=np.int8)
    return xy.astype(np.float32) if np.abs(xy).max() < 1e7 else xy, codes


class ReportDigest:
    """What a report needs of a check, gathered batch by batch in bounded memory.

    Keeps the verdict counts, the number of sites per zone met and per rule
    applied, and the sites to detail with their findings (in their order in
    the input): by default (``detail="auto"``) the ``limit`` most severe, so
    memory stays bounded; ``all`` and ``flagged`` keep every (flagged) site.
    :meth:`part` runs on one batch's result (in a worker process too) and
    :meth:`add` merges it. ``source`` describes the input for the report
    (``file``, ``crs``, ``coord_sys``), set by whoever read it.
    """

    def __init__(self, layerset, *, limit: int | None = None, detail: str = "auto", source: dict | None = None):
        if detail not in DETAIL_MODES:
            raise ValueError(f"detail must be one of {DETAIL_MODES}, not {detail!r}")
        self.layerset, self.limit, self.detail = layerset, _default(limit), detail
        self.source = dict(source or {})
        self.n = 0
        self.counts: dict = {}
        self.kept = None
        self.by_zone = None
        self.by_rule = None
        self.marks: list = []  # per batch: (x, y of each site's representative point, measurement CRS; verdicts)

    @classmethod
    def of(cls, result, *, limit: int | None = None, detail: str = "auto", source: dict | None = None) -> "ReportDigest":
        """The digest of one whole result."""
        digest = cls(result.layerset, limit=limit, detail=detail, source=source)
        digest.add(cls.part(result, limit=limit, detail=detail))
        return digest

    @staticmethod
    def part(result, *, limit: int | None = None, detail: str = "auto") -> dict:
        """One batch's share of the digest (small and picklable)."""
        import pandas as pd

        from ..check.engine import CheckResult

        sites, detail_rows = result.sites, result.detail
        keep = _worst(sites, detail, _limit(detail, _default(limit)))
        kept_sites = sites.iloc[keep] if len(keep) < len(sites) else sites
        kept_detail = (detail_rows[detail_rows["site_id"].isin(set(kept_sites["site_id"]))]
                       if len(keep) < len(sites) else detail_rows)
        d = pd.DataFrame({k: detail_rows[k].astype(str) for k in [*_ZONE_KEYS, "rule_id", "verdict"]})
        d["site_id"] = detail_rows["site_id"].to_numpy()
        by_zone = d.groupby(_ZONE_KEYS + ["verdict"], sort=False)["site_id"].nunique()
        by_rule = d[d["rule_id"] != ""].groupby(["rule_id", "verdict"], sort=False)["site_id"].nunique()
        kept = CheckResult(sites=kept_sites, detail=kept_detail.reset_index(drop=True), layerset=None)
        return {"n": len(sites), "counts": result.counts(), "kept": kept, "by_zone": by_zone, "by_rule": by_rule,
                "marks": _marks(sites, result.layerset)}

    def add(self, part: dict) -> None:
        """Merge one batch's share."""
        import geopandas as gpd
        import pandas as pd

        from ..check.engine import CheckResult

        self.n += part["n"]
        for v, k in part["counts"].items():
            self.counts[v] = self.counts.get(v, 0) + k
        self.by_zone = part["by_zone"] if self.by_zone is None else self.by_zone.add(part["by_zone"], fill_value=0)
        self.by_rule = part["by_rule"] if self.by_rule is None else self.by_rule.add(part["by_rule"], fill_value=0)
        if part.get("marks") is not None:
            self.marks.append(part["marks"])
        new = part["kept"]
        if self.kept is None:
            sites, detail = new.sites, new.detail
        else:
            sites = gpd.GeoDataFrame(pd.concat([self.kept.sites, new.sites.to_crs(self.kept.sites.crs)],
                                               ignore_index=True), crs=self.kept.sites.crs)
            detail = pd.concat([self.kept.detail, new.detail], ignore_index=True)
        limit = _limit(self.detail, self.limit)
        if limit is not None and len(sites) > limit:
            sites = sites.iloc[_worst(sites, self.detail, limit)]
            detail = detail[detail["site_id"].isin(set(sites["site_id"]))]
        self.kept = CheckResult(sites=sites.reset_index(drop=True), detail=detail.reset_index(drop=True),
                                layerset=self.layerset)

    @property
    def partial(self) -> bool:
        """Whether some sites are not detailed."""
        return self.kept is None or len(self.kept.sites) < self.n
