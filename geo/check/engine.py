"""The siting check: every zone a site meets, the rule that applies, and the site's verdict.

For each site and each zone it meets the check gives the relation
(``inside``, ``overlaps``, ``crosses``, ``touches``, ``near``), the overlap area
and share, the overlap length and chainage for lines, the distance for ``near``,
and the rule that applies. A site's verdict is the most severe of its findings
(prohibited > restricted > caution > allowed); a site with no part inside the
layer set's coverage is ``unknown``. All measures are taken in the layer set's
measurement CRS.

The steps live in their own modules: :mod:`~geo.check.overlay` (the zones met),
:mod:`~geo.check.verdicts` (the rules that apply), :mod:`~geo.check.frames`
and :mod:`~geo.check.reasons` (the tables).
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd

from ..text import VERDICT_ORDER
from .frames import detail_frame, site_frame
from .overlay import overlay
from .rules import RuleTable, rules_of
from .verdicts import judge
from .zones import zone_index

__all__ = ["check_sites", "CheckResult"]


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
        return {v: int(vc.get(v, 0)) for v in [*VERDICT_ORDER, "unknown"]}


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
    rules = rules if rules is not None else rules_of(ls)
    ov = overlay(sites, ls, rules=rules, touch_area_m2=touch_area_m2, touch_length_m=touch_length_m)
    zones = zone_index(ls).attrs
    judged = judge(ov, sites, rules, zones)
    tables = {"overlay": ov, "judged": judged, "zones": zones, "rules": rules}

    def detail():
        return detail_frame(sites, **tables)

    return CheckResult(sites=site_frame(sites, layerset=ls, **tables), detail=detail, layerset=ls)
