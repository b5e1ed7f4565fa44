"""What a builder can see: the sources, the places and the layers built before it."""
from __future__ import annotations

import codecs
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from shapely.geometry import LineString, Point

from ...errors import LayerSetError, LayerSetWarning
from ...sites.readers.vector import dbf_encoding

log = logging.getLogger(__name__)


@dataclass
class BuildContext:
    """Sources and built layers of one layer set, all in the measurement CRS.

    Parameters
    ----------
    root : the layer-set folder.
    sources : the manifest's ``[sources]`` table: name -> {file, layer, encoding, crs, ...}; without
        ``encoding`` a shapefile without ``.cpg`` is read as its DBF's text shows (UTF-8 or GBK).
    measure_crs : the projected CRS of every geometry handed to a builder.
    land_layer : id of the layer that is the land study area.
    """

    root: Path
    sources: dict
    measure_crs: pyproj.CRS
    land_layer: str = "study_area"
    built: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    # -- sources -----------------------------------------------------------
    def source(self, name: str):
        """A vector source as a GeoDataFrame (or places CSV as a DataFrame with x, y) in the measurement CRS."""
        if name in self._cache:
            return self._cache[name]
        try:
            spec = self.sources[name]
        except KeyError:
            raise LayerSetError(f"source {name!r} is not declared", path=self.root / "manifest.toml",
                                hint="add it under [sources]") from None
        path = self.root / spec["file"]
        if not path.exists():
            raise LayerSetError("source file not found", path=path, hint="run the layer set's derive script")
        encoding = _encoding_of(spec, name, self.root)
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path, dtype={"id": str}, encoding=encoding or "utf-8")
            tr = pyproj.Transformer.from_crs(spec.get("crs", "EPSG:4490"), self.measure_crs, always_xy=True)
            df["x"], df["y"] = tr.transform(df["lon"].to_numpy(), df["lat"].to_numpy())
            out = df.set_index("id", drop=False)
        else:
            gdf = _read_vector(path, encoding, spec.get("layer"))
            if gdf.crs is None and spec.get("crs"):
                gdf = gdf.set_crs(spec["crs"])
            if gdf.crs is None:
                raise LayerSetError("数据源没有坐标系 / source has no CRS", path=path,
                                    hint="在文件中声明（.prj），或在 [sources] 中写 crs = \"EPSG:4529\" / declare it in "
                                         "the file, or give crs in the manifest's [sources] entry")
            out = gdf.to_crs(self.measure_crs)
            geoms = out.geometry.values
            invalid = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
            if len(invalid):  # repaired, and said so: the file is what the bureau handed over
                reasons = sorted({shapely.is_valid_reason(geoms[i]).split("[")[0] for i in invalid})
                rows = ", ".join(str(i + 1) for i in invalid[:20]) + (" …" if len(invalid) > 20 else "")
                warnings.warn(f"{path}: {len(invalid)} feature(s) with invalid geometry repaired ({', '.join(reasons)}): "
                              f"feature(s) {rows}", LayerSetWarning, stacklevel=2)
            out["geometry"] = shapely.make_valid(geoms)
        self._cache[name] = out
        return out

    def place(self, place_id: str, source: str = "places") -> Point:
        """A named place (point) from the places source."""
        df = self.source(source)
        if place_id not in df.index:
            raise LayerSetError(f"place {place_id!r} not in source {source!r}", path=self.root / "manifest.toml",
                                hint="check the id against the places file")
        row = df.loc[place_id]
        return Point(float(row["x"]), float(row["y"]))

    def river(self, prefix: str, source: str = "places") -> LineString:
        """A polyline from the vertices ``<prefix>_1 … <prefix>_n`` (ordered by ``seq``)."""
        df = self.source(source)
        rows = df[df["id"].str.match(rf"^{prefix}_\d+$")].sort_values("seq")
        if len(rows) < 2:
            raise LayerSetError(f"line {prefix!r} has fewer than 2 vertices in {source!r}",
                                path=self.root / "manifest.toml")
        return LineString(np.column_stack([rows["x"], rows["y"]]))

    # -- built layers --------------------------------------------------------
    def layer(self, layer_id: str) -> gpd.GeoDataFrame:
        try:
            return self.built[layer_id]
        except KeyError:
            raise LayerSetError(f"layer {layer_id!r} is needed before it is built",
                                path=self.root / "manifest.toml", hint="order the [[layers]] so it comes first") from None

    def union(self, layer_id: str, classes=None, name_contains=None) -> shapely.Geometry:
        """Dissolve a built layer, optionally only some classes or names (zh or en)."""
        gdf = self.layer(layer_id)
        if classes:
            gdf = gdf[gdf["zone_class"].isin(classes)]
        if name_contains:
            gdf = gdf[gdf["name_zh"].str.contains(name_contains, regex=False)
                      | gdf["name_en"].str.contains(name_contains, regex=False)]
        return shapely.union_all(gdf.geometry.values)

    @property
    def land(self) -> shapely.Geometry:
        """The land study area."""
        if "_land" not in self._cache:
            self._cache["_land"] = self.union(self.land_layer)
        return self._cache["_land"]

    @property
    def other_land(self) -> shapely.Geometry:
        """Land of the neighbouring units (empty when no ``neighbours`` source)."""
        if "_other" not in self._cache:
            if "neighbours" in self.sources:
                self._cache["_other"] = shapely.union_all(self.source("neighbours").geometry.values)
            else:
                self._cache["_other"] = shapely.Polygon()
        return self._cache["_other"]

    @property
    def sea(self) -> shapely.Geometry:
        """Everything that is neither the study area nor a neighbour's land (unbounded ops clip it)."""
        return shapely.union(self.land, self.other_land)

    def clip(self, geom, where: str):
        """Clip a geometry to ``land``, ``sea`` (outside any land) or ``none``."""
        if where == "land":
            return shapely.intersection(geom, self.land)
        if where == "sea":
            return shapely.difference(geom, self.sea)
        if where in ("none", None, "coverage"):
            return geom
        raise LayerSetError(f"clip {where!r} unknown", path=self.root / "manifest.toml",
                            hint="use land, sea or none")


def _encoding_of(spec: dict, name: str, root: Path) -> str | None:
    """The source's declared ``encoding`` (checked), or None."""
    enc = spec.get("encoding")
    if enc is None:
        return None
    try:
        return codecs.lookup(str(enc)).name
    except LookupError:
        raise LayerSetError(f"数据源 {name} 的编码 {enc!r} 未知 / source {name}: unknown encoding {enc!r}",
                            path=root / "manifest.toml", hint="use gbk or utf-8") from None


def _read_vector(path: Path, encoding: str | None, layer: str | None = None) -> gpd.GeoDataFrame:
    """A vector file (its ``layer``, when named) read with ``encoding``; a shapefile without ``.cpg`` as its DBF's text
    shows (UTF-8 or GBK)."""
    if encoding is None and path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
        if dbf is not None:
            with open(dbf, "rb") as f:
                encoding = dbf_encoding(f.read(8 << 20))
            if encoding:
                log.info("%s: no .cpg; attribute text read as %s (detected)", path, encoding.upper())
    try:
        return pyogrio.read_dataframe(path, **{k: v for k, v in (("encoding", encoding), ("layer", layer)) if v})
    except UnicodeError as exc:
        raise LayerSetError(f"文本不是 {encoding} 编码 / the text is not in {encoding} ({exc.reason})", path=path,
                            hint="give the source's encoding in the manifest (encoding = \"gbk\" or \"utf-8\")") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise LayerSetError(f"无法读取数据源 / cannot read the source ({' '.join(str(exc).split())[:160]})", path=path,
                            hint="check the file is complete and in the format its extension says") from None
