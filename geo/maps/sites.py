"""The sites a map draws: checked results as given or read back, or plain sites checked now."""
from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from ..errors import MapError, SiteInputError
from ..results import read_results
from ..text import VERDICTS

log = logging.getLogger(__name__)

__all__ = ["read_map_sites", "sites_frame"]


def sites_frame(ls, sites) -> gpd.GeoDataFrame | None:
    """Checked sites (a GeoDataFrame with ``verdict``) from a CheckResult, checked or plain sites (checked now)."""
    if sites is None:
        return None
    if hasattr(sites, "sites") and hasattr(sites, "detail"):
        return sites.sites
    if not isinstance(sites, gpd.GeoDataFrame):
        raise MapError(f"sites must be a CheckResult or a GeoDataFrame, not {type(sites).__name__}")
    if "verdict" in sites.columns:
        bad = sorted(set(sites["verdict"].astype(str)) - set(VERDICTS))
        if bad:
            raise MapError(f"sites have an unknown verdict {bad[0]!r}", hint=f"use one of {', '.join(VERDICTS)}")
        return sites
    from ..check.engine import check_sites
    from ..sites.read import normalize_sites

    if "kind" not in sites.columns:
        sites = normalize_sites(sites)
    return check_sites(sites, ls).sites


def read_map_sites(path, ls, *, project_type=None, **options) -> gpd.GeoDataFrame:
    """Sites to draw: checked results as ``ecozone check`` wrote them, or a sites file checked now.

    Parameters
    ----------
    path : a results file of ``ecozone check`` (.csv, .json, .geojson, .gpkg; recognised
        by its ``verdict`` column, see :func:`geo.results.read_results`) or any sites
        file :func:`geo.read_sites` reads.
    ls : the layer set to check plain sites against.
    project_type : type of sites that name none (plain sites only).
    options : passed to :func:`geo.read_sites` (``crs``, ``encoding``, ...).

    Raises
    ------
    SiteInputError
        When the file cannot be read or holds an unknown verdict.
    """
    path = Path(path)
    if not path.exists():
        raise SiteInputError("file not found", path=path, hint="check the path")
    checked = read_results(path)
    if checked is None:
        from ..check.engine import check_sites
        from ..sites.read import read_sites

        return check_sites(read_sites(path, project_type=project_type, **options), ls).sites
    if project_type:
        log.info("%s holds checked results: --type is not used", path)
    return checked
