"""What changed between two builds of a layer set: areas per layer and class, zones by code, sites' verdicts.

A bureau replaces its red line or its control units; planners need to know
what land went in or out, which zones were added, removed or redrawn, and which
of their sites now get another verdict. :func:`diff_builds` compares two builds
(a layer-set folder or its built GeoPackage), measuring in the NEW set's
measurement CRS: polygons in km², lines in km, points by count; per layer and
class the size only in OLD (lost), only in NEW (gained) and in both, so that two
sets differing in one layer (the plan's corridors and modelled ones) compare as
plan only / model only / both. Zones are
matched by their official ``zone_code`` when every zone of the layer has one on
both sides, else by ``zone_id``; a zone has changed when its name or class
changed or its geometry moved by more than :data:`TOL` (m² or m). Gained and
lost pieces smaller than :data:`TOL` are the rounding of reprojection and are
left out.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from ..atomic import atomic_path
from ..errors import ExportError, LayerSetError
from ..text import VERDICT_ORDER, VERDICTS
from .build import read_meta
from .manifest import COVERAGE_TABLE, META_TABLE, read_manifest

__all__ = ["Build", "LayerSetDiff", "open_build", "diff_builds", "site_changes", "format_diff", "write_diff", "TOL"]

TOL = 1.0  # m² (areas) or m (lengths)
#: how each dimension is measured: unit, divisor
_UNITS = {2: ("km²", 1e6), 1: ("km", 1e3), 0: ("个 points", 1.0)}
_PIECE_COLUMNS = ["layer", "zone_class", "class_zh", "class_en", "area_km2", "length_km"]


@dataclass
class Build:
    """One side of a diff: a build's layers (storage CRS) and where it came from."""

    path: Path
    name: str
    frames: dict  # layer id -> GeoDataFrame, in the build's order
    measure_crs: pyproj.CRS
    root: Path | None  # the layer-set folder the build belongs to (None: a GeoPackage on its own)
    opened: object = field(default=None, repr=False)  # the LayerSet, once opened

    def layerset(self):
        """The layer set (manifest, rules) this build belongs to, opened on this build; for checking sites."""
        from .read import read_layerset

        if self.opened is not None:
            return self.opened
        if self.root is None:
            raise LayerSetError("this build lies in no layer-set folder, so its rules are unknown", path=self.path,
                                hint="--sites 需要图层集目录 / with --sites give the layer-set folder (or its build/*.gpkg)")
        self.opened = read_layerset(self.root, build_path=self.path, rebuild="never")
        return self.opened


def open_build(path) -> Build:
    """A layer-set folder (built first when missing or stale) or a GeoPackage written by ``ecozone build``."""
    from .read import read_layerset

    p = Path(path)
    if p.is_dir():
        ls = read_layerset(p)
        return Build(p, ls.name, dict(ls.frames), ls.measure_crs, p, ls)
    if not p.is_file():
        raise LayerSetError("not found", path=p, hint="give a layer-set folder or its built .gpkg")
    meta = read_meta(p) if p.suffix.lower() == ".gpkg" else None
    if not meta or "measure_crs" not in meta:
        raise LayerSetError("not a layer-set build (no ecozone_meta table)", path=p,
                            hint="give a layer-set folder or a GeoPackage written by ecozone build")
    root = next((d for d in (p.parent, p.parent.parent) if (d / "manifest.toml").is_file()
                 and read_manifest(d)["layerset"]["name"] == meta.get("name")), None)
    names = [n for n, _ in pyogrio.list_layers(p) if n not in (META_TABLE, COVERAGE_TABLE)]
    frames = {n: pyogrio.read_dataframe(p, layer=n) for n in names}
    return Build(p, meta.get("name", p.stem), frames, pyproj.CRS.from_user_input(meta["measure_crs"]), root)


@dataclass
class LayerSetDiff:
    """The changes from ``old`` to ``new``; tables as :func:`diff_builds` describes them."""

    old: str
    new: str
    measure_crs: str
    layers_added: list
    layers_removed: list
    areas: pd.DataFrame  # layer, zone_class, class_zh, class_en, unit, old, new, gained, lost, both
    gained: gpd.GeoDataFrame  # one row per piece: layer, zone_class, class_zh, class_en, area_km2, length_km
    lost: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame  # change (added|removed|changed), layer, key, names, classes, what, gained, lost, unit
    sites: pd.DataFrame | None = field(default=None)  # site_id, name, verdict_old, verdict_new, zone


def _measured(gdf: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """The layer in ``crs``, with geometry reprojection left invalid repaired (as LayerSet.measured does)."""
    gdf = gdf.to_crs(crs)
    bad = ~gdf.geometry.is_valid
    if bad.any():
        gdf.loc[bad, "geometry"] = shapely.make_valid(gdf.geometry[bad].values)
    return gdf


def _dimension(*frames) -> int:
    dims = [int(shapely.get_dimensions(f.geometry.values).max()) for f in frames if len(f)]
    return max(dims, default=2)


def _size(geoms, dim: int) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    if dim == 2:
        return shapely.area(geoms)
    if dim == 1:
        return shapely.length(geoms)
    return shapely.get_num_geometries(geoms).astype(float)


def _pieces(geom, dim: int) -> np.ndarray:
    """The parts of ``geom`` of dimension ``dim`` at least :data:`TOL` in size."""
    parts = shapely.get_parts(shapely.get_parts(geom))
    parts = parts[(shapely.get_dimensions(parts) == dim) & ~shapely.is_empty(parts)]
    return parts[_size(parts, dim) >= TOL] if dim else parts


def _labels(*frames) -> dict:
    """zone_class -> (zh, en), from the class columns a build carries."""
    out = {}
    for f in frames:
        if "class_zh" in f:
            out.update({c: (zh, en) for c, zh, en in zip(f["zone_class"], f["class_zh"], f.get("class_en", f["class_zh"]))})
    return out


def _class_changes(lid: str, old, new, dim: int) -> tuple[list, list, list]:
    """Per class of one layer: the areas row, and the gained and lost pieces."""
    rows, gained, lost = [], [], []
    unit, scale = _UNITS[dim]
    labels = _labels(old, new)
    for cls in sorted(set(old["zone_class"]) | set(new["zone_class"])):
        a = shapely.union_all(old.geometry[old["zone_class"] == cls].values)
        b = shapely.union_all(new.geometry[new["zone_class"] == cls].values)
        plus, minus = _pieces(shapely.difference(b, a), dim), _pieces(shapely.difference(a, b), dim)
        zh, en = labels.get(cls, (cls, cls))
        rows.append({"layer": lid, "zone_class": cls, "class_zh": zh, "class_en": en, "unit": unit,
                     "old": _size([a], dim)[0] / scale, "new": _size([b], dim)[0] / scale,
                     "gained": _size(plus, dim).sum() / scale, "lost": _size(minus, dim).sum() / scale,
                     "both": _size([shapely.intersection(a, b)], dim)[0] / scale if dim else np.nan})
        for out, pieces in ((gained, plus), (lost, minus)):
            size = _size(pieces, dim)
            out += [{"layer": lid, "zone_class": cls, "class_zh": zh, "class_en": en,
                     "area_km2": s / 1e6 if dim == 2 else np.nan, "length_km": s / 1e3 if dim == 1 else np.nan,
                     "geometry": g} for g, s in zip(pieces, size)]
    return rows, gained, lost


def _zones_by_key(gdf: gpd.GeoDataFrame, by_code: bool) -> gpd.GeoDataFrame:
    """A layer's zones keyed by code (or zone_id), the features of one key united."""
    key = gdf["zone_code"].astype(str).str.strip() if by_code else gdf["zone_id"].astype(str)
    gdf = gdf[["zone_id", "name_zh", "zone_class", "geometry"]].assign(key=key.values)
    if key.is_unique:
        return gdf.set_index("key")
    return gdf.dissolve(by="key", aggfunc="first")


def _has_codes(gdf) -> bool:
    return "zone_code" in gdf and len(gdf) > 0 and bool((gdf["zone_code"].fillna("").astype(str).str.strip() != "").all())


def _zone_changes(lid: str, old, new, dim: int) -> list:
    """Zones of one layer added, removed or changed (name, class, or geometry by more than TOL)."""
    by_code = _has_codes(old) and _has_codes(new)
    a, b = _zones_by_key(old, by_code), _zones_by_key(new, by_code)
    unit, scale = _UNITS[dim]
    rows = []

    def row(change, key, za, zb, what="", plus=0.0, minus=0.0):
        z = zb if zb is not None else za
        return {"change": change, "layer": lid, "key": key, "zone_code": key if by_code else "",
                "zone_id_old": "" if za is None else za["zone_id"], "zone_id_new": "" if zb is None else zb["zone_id"],
                "name_zh_old": "" if za is None else za["name_zh"], "name_zh_new": "" if zb is None else zb["name_zh"],
                "zone_class_old": "" if za is None else za["zone_class"],
                "zone_class_new": "" if zb is None else zb["zone_class"],
                "what": what, "gained": plus / scale, "lost": minus / scale, "unit": unit, "geometry": z.geometry}

    rows += [row("removed", k, a.loc[k], None, minus=_size([a.geometry[k]], dim)[0]) for k in a.index.difference(b.index)]
    rows += [row("added", k, None, b.loc[k], plus=_size([b.geometry[k]], dim)[0]) for k in b.index.difference(a.index)]
    both = a.index.intersection(b.index)
    ga, gb = a.geometry[both].values, b.geometry[both].values
    plus, minus = _size(shapely.difference(gb, ga), dim), _size(shapely.difference(ga, gb), dim)
    for k, p, m in zip(both, plus, minus):
        what = [w for w, differs in (("geometry 几何", p + m > TOL), ("name 名称", a.at[k, "name_zh"] != b.at[k, "name_zh"]),
                                     ("class 类别", a.at[k, "zone_class"] != b.at[k, "zone_class"])) if differs]
        if what:
            rows.append(row("changed", k, a.loc[k], b.loc[k], "; ".join(what), p, m))
    return rows


def diff_builds(old, new, *, sites: gpd.GeoDataFrame | None = None) -> LayerSetDiff:
    """Compare two builds (layer-set folders, GeoPackages or :class:`Build`), measured in NEW's measurement CRS.

    ``sites`` (as :func:`geo.read_sites` gives them), when given, are checked against both (:func:`site_changes`).

    Returns
    -------
    LayerSetDiff
        ``areas``: one row per layer and class in both builds (old and new size, gained = only in new, lost = only
        in old, both = in both; in ``unit``);
        ``gained`` / ``lost``: the pieces (storage CRS, EPSG:4490), with ``area_km2`` or ``length_km``;
        ``zones``: zones added, removed or changed, by code; layers only in one build are listed apart;
        ``sites``: the sites whose verdict changes (None without ``sites``).
    """
    old = old if isinstance(old, Build) else open_build(old)
    new = new if isinstance(new, Build) else open_build(new)
    sets = None if sites is None else (old.layerset(), new.layerset())  # refused before the work when unknown
    crs = new.measure_crs
    common = [lid for lid in new.frames if lid in old.frames]
    areas, gained, lost, zones = [], [], [], []
    for lid in common:
        a, b = _measured(old.frames[lid], crs), _measured(new.frames[lid], crs)
        dim = _dimension(a, b)
        rows, plus, minus = _class_changes(lid, a, b, dim)
        areas += rows
        gained += plus
        lost += minus
        zones += _zone_changes(lid, a, b, dim)
    storage = next(iter(new.frames.values())).crs if new.frames else "EPSG:4490"

    def frame(rows, columns):
        gdf = gpd.GeoDataFrame(rows, columns=[*columns, "geometry"], geometry="geometry", crs=crs)
        return gdf.to_crs(storage)

    zone_cols = ["change", "layer", "key", "zone_code", "zone_id_old", "zone_id_new", "name_zh_old", "name_zh_new",
                 "zone_class_old", "zone_class_new", "what", "gained", "lost", "unit"]
    return LayerSetDiff(
        old=f"{old.name} ({old.path})", new=f"{new.name} ({new.path})", measure_crs=crs.to_string(),
        layers_added=[lid for lid in new.frames if lid not in old.frames],
        layers_removed=[lid for lid in old.frames if lid not in new.frames],
        areas=pd.DataFrame(areas, columns=["layer", "zone_class", "class_zh", "class_en", "unit", "old", "new",
                                           "gained", "lost", "both"]),
        gained=frame(gained, _PIECE_COLUMNS), lost=frame(lost, _PIECE_COLUMNS), zones=frame(zones, zone_cols),
        sites=None if sets is None else site_changes(sites, *sets))


def _severity(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else -1  # unknown: no coverage, ranks first


def _decisive(detail: pd.DataFrame, site: int, verdict: str) -> str:
    """The zones that gave a site its verdict, as ``layer:code-or-id name``."""
    if verdict == "unknown":
        return "覆盖范围外 / outside the coverage"
    d = detail[(detail["_s"] == site) & (detail["verdict"].astype(str) == verdict)]
    codes = d["zone_code"].astype(str) if "zone_code" in d else pd.Series("", index=d.index)
    ids = codes.where(codes != "", d["zone_id"].astype(str))
    zones = list(dict.fromkeys(f"{lay}:{i} {n}" for lay, i, n in zip(d["layer"], ids, d["zone_name_zh"])))
    return "; ".join(zones[:3]) + (" …" if len(zones) > 3 else "")


def site_changes(sites: gpd.GeoDataFrame, old, new) -> pd.DataFrame:
    """The sites whose verdict differs between two layer sets, with the zones that decided the more severe one.

    ``sites`` as :func:`geo.read_sites` gives them; each layer set (see :meth:`Build.layerset`) is checked
    as ``ecozone check`` checks (:func:`geo.check.engine.check_sites` with the layer set's own rules).
    """
    from ..check.engine import check_sites

    a, b = check_sites(sites, old), check_sites(sites, new)
    va, vb = a.sites["verdict"].astype(str).to_numpy(), b.sites["verdict"].astype(str).to_numpy()
    rows = []
    for i in np.flatnonzero(va != vb):
        side, result, verdict = ("old", a, va[i]) if _severity(va[i]) < _severity(vb[i]) else ("new", b, vb[i])
        rows.append({"site_id": str(a.sites["site_id"].iloc[i]), "name": str(a.sites["name"].iloc[i]),
                     "verdict_old": va[i], "verdict_new": vb[i], "side": side,
                     "zone": _decisive(result.detail, i, verdict)})
    return pd.DataFrame(rows, columns=["site_id", "name", "verdict_old", "verdict_new", "side", "zone"])


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as lines with columns padded to their display width (a Chinese character is two columns)."""
    widths = [max(_width(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths)).rstrip() for r in rows]


def _verdict(v: str) -> str:
    return f"{VERDICTS[v]['zh'].split('（')[0]} {v}" if v in VERDICTS else v


def format_diff(d: LayerSetDiff) -> str:
    """The diff as text tables in Chinese and English (changed classes, layers, zones and sites)."""
    lines = [f"旧 old: {d.old}", f"新 new: {d.new}", f"量算坐标系 / measured in {d.measure_crs}", ""]
    moved = d.areas[(d.areas["gained"] > 0) | (d.areas["lost"] > 0)]
    if len(moved):
        rows = [["图层 layer", "类别 class", "单位 unit", "旧 old", "新 new", "增加 gained", "减少 lost", "两者 both"]]
        rows += [[r.layer, f"{r.zone_class} {r.class_zh}", r.unit, f"{r.old:.3f}", f"{r.new:.3f}", f"+{r.gained:.3f}",
                  f"-{r.lost:.3f}", "—" if np.isnan(r.both) else f"{r.both:.3f}"] for r in moved.itertuples()]
        lines += _table(rows)
    lines.append(f"面积或长度变化的类别 / classes changed: {len(moved)} of {len(d.areas)}")
    for what, ids in (("新增图层 / layers added", d.layers_added), ("删除图层 / layers removed", d.layers_removed)):
        if ids:
            lines.append(f"{what}: {', '.join(ids)}")
    counts = d.zones["change"].value_counts()
    lines += ["", f"分区 / zones: 新增 added {counts.get('added', 0)}, 删除 removed {counts.get('removed', 0)}, "
                  f"变化 changed {counts.get('changed', 0)}"]
    if len(d.zones):
        labels = {"added": "新增 added", "removed": "删除 removed", "changed": "变化 changed"}
        lines += _table([["变化 change", "图层 layer", "编码 code", "名称 name", "内容 what", "增减 gained/lost"]]
                        + [[labels[z.change], z.layer, z.key, z.name_zh_new or z.name_zh_old, z.what,
                            f"+{z.gained:.3f} -{z.lost:.3f} {z.unit}"] for z in d.zones.itertuples()])
    if d.sites is not None:
        lines += ["", f"结论变化的项目 / sites whose verdict changes: {len(d.sites)}"]
        if len(d.sites):
            lines += _table([["编号 id", "名称 name", "旧结论 old", "新结论 new", "决定分区 deciding zone"]]
                            + [[s.site_id, s.name, _verdict(s.verdict_old), _verdict(s.verdict_new),
                                f"({'旧 old' if s.side == 'old' else '新 new'}) {s.zone}"] for s in d.sites.itertuples()])
    return "\n".join(lines)


def write_diff(d: LayerSetDiff, path, *, overwrite: bool = False) -> Path:
    """Write the diff as a GeoPackage with layers ``gained``, ``lost`` and ``zones`` (atomically)."""
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise ExportError(f"unknown format {path.suffix!r}", path=path,
                          hint=f"the diff is a GeoPackage: name it {path.stem}.gpkg")
    with atomic_path(path, overwrite=overwrite) as tmp:
        for layer, gdf in (("gained", d.gained), ("lost", d.lost), ("zones", d.zones)):
            pyogrio.write_dataframe(gdf, tmp, layer=layer, geometry_type="Unknown")
    return path
