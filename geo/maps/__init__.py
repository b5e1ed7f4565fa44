"""Interactive web maps of a layer set and checked sites: one self-contained HTML file.

Modules: :mod:`~geo.maps.page` builds, renders and writes the page;
:mod:`~geo.maps.plan` reads the manifest's ``[map]`` table (group order, draw
order, hidden groups, group titles); :mod:`~geo.maps.layers` draws zones and
sites; :mod:`~geo.maps.labels` and :mod:`~geo.maps.legend` write the HTML of
popups, tooltips and legend; :mod:`~geo.maps.styles` the styles;
:mod:`~geo.maps.geometry` the display geometry; :mod:`~geo.maps.basemaps` the
tile basemaps; :mod:`~geo.maps.assets` the vendored scripts;
:mod:`~geo.maps.sites` the sites drawn.
"""
from .basemaps import BASEMAPS
from .geometry import DISPLAY_TOLERANCE_M, simplify_polygons
from .page import SIZE_BUDGET_BYTES, build_map, render_map, write_map
from .sites import read_map_sites

__all__ = ["build_map", "render_map", "write_map", "read_map_sites", "simplify_polygons", "BASEMAPS",
           "SIZE_BUDGET_BYTES", "DISPLAY_TOLERANCE_M"]
