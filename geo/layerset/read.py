"""Opening a layer set's build: its layers, coverage and metadata (building it first when missing or stale)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely

from ..errors import LayerSetError
from .build import BUILD_FORMAT, assemble, default_build_path, read_meta
from .manifest import COVERAGE_TABLE, read_manifest, source_hash

if TYPE_CHECKING:
    from ..check.rules import RuleTable
    from ..check.zones import ZoneIndex

log = logging.getLogger(__name__)

__all__ = ["LayerSet", "read_layerset", "build_layerset"]


@dataclass
class LayerSet:
    """A built layer set: manifest, layers (GeoDataFrames in the storage CRS), coverage."""

    root: Path
    manifest: dict
    frames: dict  # layer id -> GeoDataFrame (storage CRS)
    coverage: shapely.Geometry  # in the measurement CRS
    meta: dict  # build metadata: build_date, content_hash, ecozone_version
    _measured: dict = field(default_factory=dict, repr=False)
    # the check's caches (geo.check), filled on first use; dataclasses.replace() starts them afresh
    _rule_table: RuleTable | None = field(default=None, init=False, repr=False, compare=False)
    _zone_index: ZoneIndex | None = field(default=None, init=False, repr=False, compare=False)
    #: the ecological network (geo.network.graph.network_of): () until built, then (Network,) or (None,)
    _network: tuple = field(default=(), init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.manifest["layerset"]["name"]

    @property
    def info(self) -> dict:
        return self.manifest["layerset"]

    @property
    def storage_crs(self) -> pyproj.CRS:
        return pyproj.CRS.from_user_input(self.info["storage_crs"])

    @property
    def measure_crs(self) -> pyproj.CRS:
        return pyproj.CRS.from_user_input(self.info["measure_crs"])

    @property
    def illustrative(self) -> bool:
        return self.info.get("status") == "illustrative"

    @property
    def specs(self) -> dict:
        return {s.id: s for s in self.manifest["layers"]}

    @property
    def layer_ids(self) -> list:
        return [s.id for s in self.manifest["layers"]]

    def layer(self, layer_id: str) -> gpd.GeoDataFrame:
        """The layer's features in the storage CRS."""
        try:
            return self.frames[layer_id]
        except KeyError:
            raise LayerSetError(f"layer {layer_id!r} is not in layer set {self.name}", path=self.root,
                                hint=f"known layers: {', '.join(self.frames)}") from None

    def measured(self, layer_id: str) -> gpd.GeoDataFrame:
        """The layer's features in the measurement CRS (cached)."""
        if layer_id not in self._measured:
            gdf = self.layer(layer_id).to_crs(self.measure_crs)
            invalid = ~gdf.geometry.is_valid
            if invalid.any():  # reprojection can leave sub-millimetre self-touches
                polygonal = shapely.get_dimensions(gdf.geometry[invalid].values) == 2
                fixed = shapely.make_valid(gdf.geometry[invalid].values, method="structure", keep_collapsed=False)
                fixed[~polygonal] = shapely.make_valid(gdf.geometry[invalid].values[~polygonal])
                gdf.loc[invalid, "geometry"] = fixed
            self._measured[layer_id] = gdf
        return self._measured[layer_id]

    def all_features(self) -> gpd.GeoDataFrame:
        """Every feature of every layer in one frame (storage CRS)."""
        frames = [f for f in self.frames.values() if len(f)]
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=self.storage_crs)


def read_layerset(root, *, build_path=None, rebuild: str = "auto") -> LayerSet:
    """Open a layer set, building it first if its build is missing or stale.

    Parameters
    ----------
    root : the layer-set folder (holding ``manifest.toml``).
    build_path : the GeoPackage to read (default ``<root>/build/<name>.gpkg``).
    rebuild : ``"auto"`` (build when missing, when the sources changed or when
        the build is of another format, :data:`~geo.layerset.build.BUILD_FORMAT`),
        ``"never"`` or ``"always"``.

    Raises
    ------
    LayerSetError
        When the folder is not a layer set or the build cannot be read.
    """
    root = Path(root)
    manifest = read_manifest(root)
    gpkg = Path(build_path) if build_path else default_build_path(root)
    current = source_hash(root)
    meta = read_meta(gpkg) if gpkg.exists() else None
    stale = meta is None or meta.get("source_hash") != current or meta.get("build_format") != str(BUILD_FORMAT)
    if rebuild == "always" or (rebuild == "auto" and stale):
        log.info("building layer set %s into %s", manifest["layerset"]["name"], gpkg)
        build_layerset(root, out=gpkg)
        meta = read_meta(gpkg)
    elif meta is None:
        raise LayerSetError("layer set is not built", path=gpkg, hint=f"run: ecozone build {root}")
    frames = {}
    for spec in manifest["layers"]:
        try:
            frames[spec.id] = pyogrio.read_dataframe(gpkg, layer=spec.id)
        except Exception as exc:  # pyogrio raises several types for a missing table
            raise LayerSetError(f"cannot read layer {spec.id} ({exc})", path=gpkg,
                                hint=f"rebuild with: ecozone build {root}") from None
        frames[spec.id]["params"] = frames[spec.id]["params"].astype(str)
        if "zone_code" not in frames[spec.id]:  # a build of format 1 (read with rebuild="never"): no codes
            frames[spec.id].insert(1, "zone_code", "")
    cov = pyogrio.read_dataframe(gpkg, layer=COVERAGE_TABLE)
    coverage = cov.to_crs(manifest["layerset"]["measure_crs"]).geometry.iloc[0]
    return LayerSet(root=root, manifest=manifest, frames=frames, coverage=coverage, meta=meta)


def build_layerset(root, *, out=None) -> Path:
    """Assemble a layer set into its GeoPackage (:func:`geo.layerset.build.assemble`).

    For the default build (``LAYERSET/build/<name>.gpkg``) the zones are also cut
    and indexed now and kept beside it, so the first check does not pay for it.
    """
    from ..check.zones import zone_index

    root = Path(root)
    out = assemble(root, out=out)
    if out == default_build_path(root):
        try:
            zone_index(read_layerset(root, build_path=out, rebuild="never"))
        except Exception as exc:  # noqa: BLE001  the build stands; the check will index the zones itself
            log.warning("zone index not prepared for %s (%s)", root, exc)
    return out
