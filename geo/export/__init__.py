"""Exporting the zoning layers in the formats planners exchange: :func:`export_layers`.

Modules: ``formats`` (the formats and their options), ``write`` (:func:`export_layers`:
options, CRS, staging, the format's writer), ``staging`` (written beside the target, moved
into place when complete), ``common`` (the output CRS, frames, provenance, colours), and one
module per format family: ``gpkg`` (GeoPackage with QGIS styles), ``vector`` (GeoJSON,
FlatGeobuf, GeoParquet), ``shp`` (shapefile zips), ``kml`` (KML/KMZ), ``cad`` (DXF),
``raster`` (GeoTIFF). :func:`export_layers` is imported when first used, so that the
command line can read :data:`FORMATS` without the geometry libraries.
"""
import importlib

from .formats import FORMATS

__all__ = ["FORMATS", "export_layers"]


def __getattr__(name: str):
    if name != "export_layers":
        raise AttributeError(f"module 'geo.export' has no attribute {name!r}")
    value = importlib.import_module(".write", __name__).export_layers
    globals()[name] = value
    return value
