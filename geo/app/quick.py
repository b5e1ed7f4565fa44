"""The interactive check: small uploads read and checked as ``ecozone check`` does, answered from the result.

:func:`read_small` reads a check's sites with the pipeline's own reader;
:class:`Together` checks the sites of several such checks with one call of
:func:`~geo.check.engine.check_sites` (the code ``ecozone check`` runs batch by
batch: a site's findings do not depend on the other sites of its batch);
:class:`Together` keeps the one result and answers each check from its share:
it writes only what the page reads, the drawing
(:func:`~geo.app.view.write_view`) and the panels' tables, from conversions
made once for all of them. The files a user downloads are written by
:func:`~geo.check.pipeline.run_check` itself the first time one is asked for
(:func:`geo.app.outputs.ensure_outputs`), so they are the command's own bytes.
More sites than :data:`QUICK_SITES` (or a file over :data:`QUICK_BYTES`) go to
``run_check`` at once, whose batches bound memory.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["read_small", "Together", "QUICK_SITES", "QUICK_BYTES"]

#: checks of at most this many sites are answered from the result (the downloads are written when asked for);
#: also the most sites checked together in one call
QUICK_SITES = 5_000
#: a site file larger than this goes straight to run_check
QUICK_BYTES = 4 << 20


def read_small(ls, params):
    """The sites of ``params`` as ``run_check`` reads them, or None when there are too many for the quick path."""
    from ..check.pipeline import read_check_sites

    if params.sites and os.path.getsize(params.sites) > QUICK_BYTES:
        return None
    sites = read_check_sites(ls, params)
    return sites if len(sites) <= QUICK_SITES else None


class Together:
    """The sites of several small checks (all in one CRS), checked in one call; each check's share on demand."""

    def __init__(self, frames: list, ls):
        import geopandas as gpd
        import pandas as pd

        from ..check.engine import check_sites

        joined = frames[0] if len(frames) == 1 else \
            gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        self.ls, self.frames = ls, frames
        self.result = check_sites(joined, ls)
        self.bounds = np.cumsum([0, *map(len, frames)])
        self._shared = None

    def _share(self, k: int):
        """Check ``k``'s sites and the rows of its findings in the whole."""
        lo, hi = self.bounds[k], self.bounds[k + 1]
        s = self.result.detail["_s"].to_numpy()
        return lo, hi, np.flatnonzero((s >= lo) & (s < hi))

    def part(self, k: int):
        """Check ``k``'s result, as ``check_sites`` of its sites alone gives it."""
        import geopandas as gpd

        from ..check.engine import CheckResult

        lo, hi, rows = self._share(k)
        d = self.result.detail.iloc[rows].reset_index(drop=True)
        d["_s"] = d["_s"].to_numpy() - lo
        sites = gpd.GeoDataFrame(self.result.sites.iloc[lo:hi].reset_index(drop=True), crs=self.result.sites.crs)
        return CheckResult(sites=sites, detail=d, layerset=self.ls)

    def answer(self, k: int, folder) -> dict:
        """Write check ``k``'s page files; its n_sites, counts and summary line."""
        import pandas as pd

        from ..check.engine import CheckResult
        from ..layerset.requirements import read_requirements
        from ..text import summary_line
        from .view import PAGE_COLUMNS, PANELS, draw_geojson, panel_tables, text_table, write_panels, write_view

        if self._shared is None:  # the conversions of every site at once
            sites = self.result.sites
            self._shared = (draw_geojson(sites.geometry.values), panel_tables(self.result),
                            pd.DataFrame(sites[[c for c in PAGE_COLUMNS if c in sites.columns]]))
        geometry, tables, listed = self._shared
        lo, hi, rows = self._share(k)
        sites = listed.iloc[lo:hi]
        mine = {"sites": tables["sites"].slice(lo, hi - lo), "findings": tables["findings"].take(rows)}
        if read_requirements(self.ls) is not None:
            mine["requirements"] = text_table(_requirements(self.ls, self.part(k), self.frames[k]))
        try:
            write_panels(folder, mine)
            write_view(folder, sites, geometry=geometry[lo:hi])
        except BaseException:  # nothing half-written stays
            for name in (*PANELS, "page_sites.json"):
                (folder / name).unlink(missing_ok=True)
            raise
        n, counts = len(sites), CheckResult(sites, None, self.ls).counts()
        return {"n_sites": n, "counts": counts, "summary": summary_line(n, self.ls.name, counts)}


def _requirements(ls, result, sites):
    """The compliance rows of the result, made as ``run_check`` makes them (the layer set has a requirement list)."""
    from ..compliance import compliance_rows, met_units, site_notes, zone_codes
    from ..layerset.manifest import requirements_config
    from ..layerset.requirements import read_requirements

    reqs = read_requirements(ls)
    layer = requirements_config(ls.manifest)["layer"]
    hits = met_units(result.detail, result.sites, layer=layer, codes=zone_codes(ls, layer))
    return compliance_rows(hits, reqs, ls, notes=site_notes(sites))
