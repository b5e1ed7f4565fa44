"""Project sites: files and inline input turned into points, lines and parcels with their attributes.

Modules: ``read`` (:func:`read_sites`, :func:`sites_from_inline`, :func:`normalize_sites`),
``coords`` (coordinates as planners write them: Gauss-Krüger zones, DMS, GCJ-02),
``readers/`` (one module per file family).
"""
from .read import normalize_sites, read_sites, sites_from_inline

__all__ = ["normalize_sites", "read_sites", "sites_from_inline"]
