"""The manifest of a layer set, and the files its build depends on.

A layer set is a folder (``layers/<name>/``) holding ``manifest.toml``, small
text sources under ``data/``, a rule table and a README. ``build_layerset``
assembles it into one GeoPackage (``build/<name>.gpkg``); ``read_layerset``
opens that build (building it first when it is missing or stale).

The manifest declares the storage CRS (EPSG:4490 for Chinese sets), the
measurement CRS in which every area, length and buffer is computed, the
coverage (land plus the sea the set speaks for) and, per layer, its id, titles,
family, geometry type, zone classes with their control level, builder and
parameters, provenance and style.
"""
from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pyproj

from ..errors import LayerSetError

log = logging.getLogger(__name__)

__all__ = ["LayerSpec", "MapLayout", "map_layout", "group_of", "read_manifest", "source_files", "source_hash",
           "requirements_config", "REQUIREMENTS_KEYS",
           "REQUIRED_COLUMNS", "GEOMETRY_TYPES",
           "CONTROL_LEVELS", "META_TABLE", "COVERAGE_TABLE"]

#: Columns every built feature carries.
REQUIRED_COLUMNS = ["zone_id", "layer", "zone_class", "name_zh", "name_en", "clause", "params"]
GEOMETRY_TYPES = {"polygon", "line", "point"}
CONTROL_LEVELS = {"strict", "restrictive", "general", "info"}
META_TABLE = "ecozone_meta"
COVERAGE_TABLE = "ecozone_coverage"


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the manifest declares it."""

    id: str
    title_zh: str
    title_en: str
    family: str
    geometry: str
    classes: dict  # zone_class -> {zh, en, control, color}
    builder: str
    params: dict
    clause: str
    provenance: dict
    expect_count: dict = field(default_factory=dict)
    group: str = ""
    style: dict = field(default_factory=dict)
    check: bool = True  # sites are checked against this layer
    contains: tuple = ()  # ({layer, classes}, …): zones this layer must hold (validate checks it)

    def class_label(self, zone_class: str, lang: str = "zh") -> str:
        c = self.classes.get(zone_class, {})
        return c.get(lang, zone_class)

    def color(self, zone_class: str) -> str:
        return self.classes.get(zone_class, {}).get("color", self.style.get("color", "#888888"))


#: ids that reach maps, exports and file names: ASCII letters, digits, _ and -
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
#: the one colour syntax a manifest may use (it reaches SVG, CSS, KML and QGIS styles as it is)
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
#: style keys and their types (numbers only, or a colour)
_STYLE = {"color": "color", "weight": float, "fill_opacity": float, "line_width_mm": float, "map_show": bool}


def _check_color(value, where: str, path: Path) -> None:
    if value is not None and not (isinstance(value, str) and _COLOR.fullmatch(value)):
        raise LayerSetError(f"{where}: colour {value!r} is not #rrggbb", path=path,
                            hint="write colours as # and six hex digits, e.g. #1a9641")


def _check_style(style, lid: str, path: Path) -> None:
    if not isinstance(style, dict):
        raise LayerSetError(f"layer {lid}: style is not a table", path=path)
    for key, value in style.items():
        kind = _STYLE.get(key)
        if kind is None:
            raise LayerSetError(f"layer {lid}: unknown style key {key!r}", path=path,
                                hint=f"use {', '.join(_STYLE)}")
        if kind == "color":
            _check_color(value, f"layer {lid}: style", path)
        elif kind is bool and not isinstance(value, bool):
            raise LayerSetError(f"layer {lid}: style {key} must be true or false", path=path)
        elif kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise LayerSetError(f"layer {lid}: style {key} must be a number", path=path)


def _contains(value, lid: str, path: Path) -> tuple:
    """A layer's ``contains = [{ layer = "…", classes = ["…"] }, …]``: zones it must hold (e.g. reserves in the red line)."""
    if not isinstance(value, list) or not all(isinstance(v, dict) and isinstance(v.get("layer"), str) for v in value):
        raise LayerSetError(f"layer {lid}: contains is not a list of {{ layer = ..., classes = [...] }}", path=path,
                            hint='write e.g. contains = [{ layer = "nature_reserves", classes = ["core"] }]')
    for v in value:
        if set(v) - {"layer", "classes"} or not isinstance(v.get("classes", []), list):
            raise LayerSetError(f"layer {lid}: contains entry {v} takes layer and classes only", path=path)
    return tuple(value)


def _check_contains(specs: list, path: Path) -> None:
    by_id = {s.id: s for s in specs}
    for spec in specs:
        for part in spec.contains:
            other = by_id.get(part["layer"])
            if other is None:
                raise LayerSetError(f"layer {spec.id}: contains names unknown layer {part['layer']!r}", path=path)
            unknown = set(part.get("classes", [])) - set(other.classes)
            if unknown:
                raise LayerSetError(f"layer {spec.id}: contains names classes {sorted(unknown)} that "
                                    f"{other.id} does not declare", path=path)


def _need(table: dict, key: str, where: str, path: Path):
    if key not in table:
        raise LayerSetError(f"{where} has no {key!r}", path=path, hint="add it to the manifest")
    return table[key]


def read_manifest(root) -> dict:
    """Read and check ``manifest.toml`` of a layer-set folder.

    Returns the manifest as a dict with ``layers`` turned into
    :class:`LayerSpec` objects (in build order).
    """
    root = Path(root)
    path = root / "manifest.toml" if root.is_dir() else root
    if not path.exists():
        raise LayerSetError("no layer set here (manifest.toml not found)", path=root,
                            hint="give a folder such as layers/jinpu")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LayerSetError(f"manifest is not valid TOML ({exc})", path=path) from None
    meta = _need(data, "layerset", "manifest", path)
    for key in ("name", "title_zh", "title_en", "storage_crs", "measure_crs", "status"):
        _need(meta, key, "[layerset]", path)
    for key in ("storage_crs", "measure_crs"):
        try:
            crs = pyproj.CRS.from_user_input(meta[key])
        except pyproj.exceptions.CRSError:
            raise LayerSetError(f"[layerset] {key} {meta[key]!r} is not a CRS", path=path,
                                hint="give an EPSG code") from None
        if key == "measure_crs" and not crs.is_projected:
            raise LayerSetError(f"measure_crs {meta[key]} is not projected", path=path,
                                hint="areas and lengths need a projected CRS such as a CGCS2000 GK zone")
    specs = []
    seen = set()
    for i, lay in enumerate(_need(data, "layers", "manifest", path)):
        where = f"[[layers]] #{i + 1}"
        lid = _need(lay, "id", where, path)
        if not lid.isascii() or not lid.replace("_", "").isalnum() or lid in seen:
            raise LayerSetError(f"layer id {lid!r} is not a unique ASCII snake_case id", path=path)
        seen.add(lid)
        geom = _need(lay, "geometry", where, path)
        if geom not in GEOMETRY_TYPES:
            raise LayerSetError(f"layer {lid}: geometry {geom!r} unknown", path=path,
                                hint=f"use one of {sorted(GEOMETRY_TYPES)}")
        classes = _need(lay, "classes", where, path)
        for cname, cdef in classes.items():
            if not _ID.fullmatch(cname):
                raise LayerSetError(f"layer {lid}: class id {cname!r} is not an ASCII id", path=path,
                                    hint="use letters, digits, _ and - only (the Chinese name goes in zh)")
            if not isinstance(cdef, dict) or cdef.get("control") not in CONTROL_LEVELS:
                control = cdef.get("control") if isinstance(cdef, dict) else None
                raise LayerSetError(f"layer {lid}: class {cname} has control {control!r}",
                                    path=path, hint=f"use one of {sorted(CONTROL_LEVELS)}")
            _check_color(cdef.get("color"), f"layer {lid}: class {cname}", path)
        _check_style(lay.get("style", {}), lid, path)
        group = lay.get("group", lay.get("family", ""))
        if not isinstance(group, str) or not _ID.fullmatch(group):
            raise LayerSetError(f"layer {lid}: group {group!r} is not an ASCII id", path=path,
                                hint="use letters, digits, _ and - only")
        specs.append(LayerSpec(
            id=lid, title_zh=_need(lay, "title_zh", where, path), title_en=_need(lay, "title_en", where, path),
            family=_need(lay, "family", where, path), geometry=geom, classes=classes,
            builder=_need(lay, "builder", where, path), params=lay.get("params", {}),
            clause=_need(lay, "clause", where, path), provenance=_need(lay, "provenance", where, path),
            expect_count=lay.get("expect_count", {}), group=lay.get("group", lay["family"]),
            style=lay.get("style", {}), check=bool(lay.get("check", True)),
            contains=_contains(lay.get("contains", []), lid, path)))
    _check_contains(specs, path)
    requirements_config(data, path, layer_ids=[s.id for s in specs])
    data["layers"] = specs
    data["_root"] = path.parent
    data["_path"] = path
    map_layout(data)  # a wrong [map] table is a manifest error, found by build and validate too
    return data


#: keys of the ``[requirements]`` table: the normalised list, the layer of its units, the original file, the
#: industry keywords per project type (see geo/layerset/requirements.py)
REQUIREMENTS_KEYS = ("file", "layer", "source", "industries")


def requirements_config(manifest: dict, path=None, *, layer_ids=None) -> dict | None:
    """The manifest's ``[requirements]`` table, checked; None when the layer set has no requirement list.

    ``file`` (the normalised ``requirements.csv``) and ``layer`` (the layer of
    the control units, which must be declared) are required; ``source`` (the
    original workbook) and ``industries`` (``industries.csv``) are optional.
    """
    table = manifest.get("requirements")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise LayerSetError("[requirements] is not a table", path=path)
    unknown = set(table) - set(REQUIREMENTS_KEYS)
    if unknown:
        raise LayerSetError(f"[requirements]: unknown key(s) {sorted(unknown)}", path=path,
                            hint=f"use {', '.join(REQUIREMENTS_KEYS)}")
    for key in REQUIREMENTS_KEYS:
        value = table.get(key)
        if value is None and key in ("file", "layer"):
            raise LayerSetError(f"[requirements] has no {key!r}", path=path,
                                hint='write e.g. file = "requirements.csv", layer = "control_units"')
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise LayerSetError(f"[requirements] {key} is not a file name or id", path=path)
    if layer_ids is not None and table["layer"] not in layer_ids:
        raise LayerSetError(f"[requirements] layer {table['layer']!r} is not a layer of this set", path=path,
                            hint=f"use one of {', '.join(layer_ids)}")
    return table

def source_files(root) -> list:
    """The files a layer set's build depends on: manifest, ``data/``, rule tables and any file the manifest names."""
    root = Path(root)
    files = [root / "manifest.toml"] + sorted(p for p in (root / "data").rglob("*") if p.is_file())
    files += sorted(root.glob("rules*"))
    try:
        with open(root / "manifest.toml", "rb") as fh:
            manifest = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        manifest = {}
    named = [manifest.get("layerset", {}).get("rules")]
    requirements = manifest.get("requirements")
    if isinstance(requirements, dict):  # the requirement list, its original workbook and the industry keywords
        named += [requirements.get(k) for k in ("file", "source", "industries")]
    named += [s.get("file") for s in manifest.get("sources", {}).values() if isinstance(s, dict)]
    files += [root / n for n in named if isinstance(n, str)]
    return list(dict.fromkeys(f for f in files if f.is_file()))


def source_hash(root) -> str:
    """SHA-256 over a layer set's source files (:func:`source_files`) and ecozone's builder code."""
    root = Path(root)
    h = hashlib.sha256()
    for f in source_files(root):
        h.update((f.relative_to(root).as_posix() if f.is_relative_to(root) else str(f)).encode())
        h.update(f.read_bytes())
    code = Path(__file__).parent  # the builders are part of what a build depends on
    for f in [code / "build.py"] + sorted((code / "builders").glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()


#: the lists of the ``[map]`` table: layer control and legend order (top first), draw order of areas (bottom
#: first), groups hidden when a map opens
_LISTS = ("group_order", "draw_order", "hidden_groups")


@dataclass(frozen=True)
class MapLayout:
    """The manifest's ``[map]`` table, checked (see the module's docstring)."""

    group_order: tuple = ()
    draw_order: tuple = ()
    hidden_groups: frozenset = frozenset()
    group_titles: dict = field(default_factory=dict)  # group id -> {zh, en}


def group_of(spec) -> str:
    """The group a layer is shown in (its ``group``, else its family)."""
    return spec.group or spec.family


def map_layout(manifest: dict) -> MapLayout:
    """The ``[map]`` table of a manifest (how maps group and order its layers), checked, with defaults without one.

    Raises
    ------
    LayerSetError
        On an unknown key, a value of the wrong type, or a group id no layer has.
    """
    table = manifest.get("map", {})
    path = manifest.get("_path")
    if not isinstance(table, dict):
        raise LayerSetError("[map] is not a table", path=path)
    groups = list(dict.fromkeys(group_of(s) for s in manifest["layers"]))

    def check_group(gid, where: str) -> None:
        if gid not in groups:
            raise LayerSetError(f"[map] {where}: unknown group {gid!r}", path=path,
                                hint=f"use one of {', '.join(groups)}")

    for key in table:
        if key not in (*_LISTS, "group_titles"):
            raise LayerSetError(f"[map]: unknown key {key!r}", path=path,
                                hint=f"use {', '.join(_LISTS)} or group_titles")
    lists = {}
    for key in _LISTS:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise LayerSetError(f"[map] {key} is not a list of group ids", path=path)
        for gid in value:
            check_group(gid, key)
        lists[key] = tuple(value)
    titles = table.get("group_titles", {})
    if not isinstance(titles, dict):
        raise LayerSetError("[map] group_titles is not a table", path=path)
    for gid, title in titles.items():
        check_group(gid, "group_titles")
        if not (isinstance(title, dict) and all(isinstance(title.get(lang), str) for lang in ("zh", "en"))):
            raise LayerSetError(f"[map] group_titles.{gid} has no zh and en title", path=path,
                                hint='write it as { zh = "…", en = "…" }')
    return MapLayout(group_order=lists["group_order"], draw_order=lists["draw_order"],
                     hidden_groups=frozenset(lists["hidden_groups"]), group_titles=titles)
