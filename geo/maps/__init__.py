"""Interactive web maps of a layer set and checked sites (one self-contained HTML file)."""
from .draw import build_map, read_map_sites, render_map, write_map

__all__ = ["build_map", "read_map_sites", "render_map", "write_map"]
