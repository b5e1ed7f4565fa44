"""The layer sets an app serves, by name: opened and warmed at start, opened again when their files change."""
from __future__ import annotations

import threading
from pathlib import Path

from ..errors import AppError

__all__ = ["LayerSets"]


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
    """Index the zones and read the rules with one check, so the first user does not wait for it."""
    import geopandas as gpd

    from ..check.engine import check_sites
    from ..sites.read import normalize_sites

    p = ls.coverage.representative_point()
    sites = gpd.GeoDataFrame({"name": ["point"]}, crs=ls.measure_crs, geometry=[p])
    check_sites(normalize_sites(sites.to_crs(ls.storage_crs), path="warm-up"), ls)


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
            self._sets[ls.name] = (root, ls, _stamp(root))

    @property
    def names(self) -> list[str]:
        return list(self._sets)

    def get(self, name: str | None):
        """The layer set named ``name`` (None: the first), opened again if its files changed; None if unknown."""
        from ..layerset.read import read_layerset

        name = name or self.names[0]
        with self._lock:
            if name not in self._sets:
                return None
            root, ls, stamp = self._sets[name]
            now = _stamp(root)
            if now != stamp:
                ls = read_layerset(root)
                warm(ls)
                self._sets[name] = (root, ls, now)
            return ls

    @staticmethod
    def describe(ls) -> dict:
        """What the page shows of a layer set."""
        return {"name": ls.name, "title_zh": ls.info.get("title_zh", ls.name), "title_en": ls.info.get("title_en", ls.name),
                "status": ls.info.get("status"), "content_hash": ls.meta.get("content_hash"),
                "build_date": ls.meta.get("build_date"), "notice_zh": ls.info.get("notice_zh"),
                "notice_en": ls.info.get("notice_en")}
