"""The layer sets an app serves, by name: opened and warmed at start, opened again when their files change."""
from __future__ import annotations

import io
import tempfile
import threading
import time
from pathlib import Path

from ..errors import AppError

__all__ = ["LayerSets", "RESTAMP_S"]

#: how often the files of a served layer set are looked at for changes (seconds)
RESTAMP_S = 2.0


def _stamp(root: Path) -> tuple:
    from ..layerset.manifest import source_files

    out = []
    for f in [*source_files(root), *sorted((root / "build").glob("*"))]:
        try:
            st = f.stat()
            out.append((str(f), st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(f),))
    return tuple(out)


def warm(ls) -> None:
    """Index the zones, read the rules, build the network and the CRS transformations, with one small check.

    The sites come in lon/lat (as most uploads do): a point, a parcel and a
    line, so that every path of the check and the page's drawing has run once
    before the first user waits for it.
    """
    import geopandas as gpd
    import pyarrow.parquet as pq
    import shapely

    from ..check.engine import check_sites
    from ..check.pipeline import CheckParams
    from ..network.graph import network_of
    from ..sites.read import read_sites
    from .view import page_view, panel_tables

    p = ls.coverage.representative_point()
    shapes = [p, p.buffer(50, quad_segs=2), shapely.LineString([(p.x - 50, p.y), (p.x + 50, p.y)])]
    sites = gpd.GeoDataFrame({"name": ["point", "parcel", "line"]}, crs=ls.measure_crs, geometry=shapes)
    with tempfile.TemporaryDirectory() as tmp:  # read from a file, as uploads are
        path = Path(tmp) / "warm-up.geojson"
        path.write_text(sites.to_crs(4326).to_json(), encoding="utf-8")
        result = check_sites(read_sites(path), ls)
    page_view(result.sites)
    for table in panel_tables(result).values():
        pq.write_table(table, io.BytesIO())
    network_of(ls)  # (built when a site first meets the network)
    CheckParams(wkts=("POINT (0 0)",), layers_dir=str(ls.root), out="warm-up.gpkg")  # (the pipeline's imports)


class LayerSets:
    """Layer sets by name (the first is the default)."""

    def __init__(self, roots):
        from ..layerset.read import read_layerset

        self._lock = threading.Lock()
        self._sets: dict = {}
        for root in roots:
            root = Path(root).resolve()
            ls = read_layerset(root)
            if ls.name in self._sets:
                raise AppError(f"两个图层集同名 {ls.name!r} / two layer sets are named {ls.name!r}", path=root,
                               hint="serve one of them, or rename one in its manifest.toml")
            warm(ls)
            self._sets[ls.name] = (root, ls, _stamp(root), time.monotonic())

    @property
    def names(self) -> list[str]:
        return list(self._sets)

    def get(self, name: str | None):
        """The layer set named ``name`` (None: the first), opened again if its files changed; None if unknown.

        Its files are looked at again at most every :data:`RESTAMP_S` seconds.
        """
        from ..layerset.read import read_layerset

        name = name or self.names[0]
        with self._lock:
            if name not in self._sets:
                return None
            root, ls, stamp, seen = self._sets[name]
            if time.monotonic() - seen < RESTAMP_S:  # (its files were looked at a moment ago)
                return ls
            now = _stamp(root)
            if now != stamp:
                ls = read_layerset(root)
                warm(ls)
            self._sets[name] = (root, ls, now, time.monotonic())
            return ls

    def warm_all(self) -> None:
        """Warm every layer set served in the calling thread (a check thread's first check is then not slower)."""
        for name in self.names:
            warm(self.get(name))

    @staticmethod
    def describe(ls) -> dict:
        """What the page shows of a layer set."""
        return {"name": ls.name, "title_zh": ls.info.get("title_zh", ls.name), "title_en": ls.info.get("title_en", ls.name),
                "status": ls.info.get("status"), "content_hash": ls.meta.get("content_hash"),
                "build_date": ls.meta.get("build_date"), "notice_zh": ls.info.get("notice_zh"),
                "notice_en": ls.info.get("notice_en")}
