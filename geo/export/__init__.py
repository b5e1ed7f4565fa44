"""Exporting the zoning layers in the formats planners exchange.

Modules: ``layers`` (:func:`export_layers`, GeoPackage, GeoJSON, FlatGeobuf, GeoParquet),
``shp`` (GBK shapefile zips), ``kml`` (KML/KMZ), ``cad`` (DXF), ``raster`` (GeoTIFF).
"""
from .layers import FORMATS, export_layers

__all__ = ["FORMATS", "export_layers"]
