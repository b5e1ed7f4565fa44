"""Sites from files GDAL reads: GeoJSON, GeoPackage, Shapefile (or zipped), KML/KMZ, FlatGeobuf, GeoParquet."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from ..errors import SiteInputError


def read_vector(path: Path, *, crs=None, layer=None, encoding=None, **_ignored) -> gpd.GeoDataFrame:
    """Read one layer of a vector file; a CRS from ``crs`` only when the file declares none."""
    path = Path(path)
    src = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        if path.suffix.lower() == ".parquet":
            gdf = gpd.read_parquet(path)
        else:
            kwargs = {"layer": layer} if layer else {}
            if encoding:
                kwargs["encoding"] = encoding
            gdf = pyogrio.read_dataframe(src, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SiteInputError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path,
                             hint="check the file is complete and in the format its extension says") from None
    except (OSError, ValueError) as exc:
        raise SiteInputError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path,
                             hint="check the file is complete") from None
    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(crs)
    return gdf
