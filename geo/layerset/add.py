"""Adding a bureau's file to a layer set: read its fields, recognise its schema, copy it into ``data/``, write the manifest.

:func:`plan_add` reads the file (a shapefile without ``.cpg`` is decoded as
detected, UTF-8 or GBK, as the site readers do) and recognises its layer and
mapping (:mod:`geo.layerset.schemas`); :func:`apply_add` copies the file (every
part of a shapefile) into ``data/`` and writes the ``[sources.<layer>]`` and
``[[layers]]`` entries with tomlkit, keeping the rest of the manifest and its
comments, and the layer's rows of the national rule table when the set's
``rules.csv`` has none for it. Nothing is written when anything is refused.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyogrio
import pyproj
import tomlkit

from ..atomic import atomic_path
from ..errors import LayerSetError
from ..sites.readers.vector import dbf_encoding
from .schemas import LAYER_ORDER, LAYERS, Mapping, recognise

log = logging.getLogger(__name__)

__all__ = ["AddPlan", "plan_add", "plan_file", "read_source", "apply_add", "national_rules", "write_manifest", "load_manifest"]

_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
_GEOMETRY = {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line", "MultiLineString": "line",
             "Point": "point", "MultiPoint": "point"}
#: contains declared on the red line when these layers are in the set (docs/legal-basis.md §2.6)
RED_LINE_HOLDS = {"nature_reserves": ["core", "buffer"], "water_source": ["L1"]}


@dataclass
class AddPlan:
    """What ``add`` will do: the file, its mapping, encoding, CRS and geometry, and the manifest entries to write."""

    root: Path
    file: Path
    mapping: Mapping
    encoding: str | None
    encoding_how: str  # given | detected | .cpg | ascii
    crs: str
    crs_given: bool
    geometry: str
    features: int
    names: list = field(default_factory=list)  # the first values of the name field
    codes: list = field(default_factory=list)  # the first values of the code field

    def describe(self) -> list:
        """The lines ``add`` prints: layer, class field and value→class map with counts, fields, encoding, CRS."""
        m = self.mapping
        how = {"recognised": "识别 / recognised", "given": "指定 / given"}[m.how]
        lines = [f"{self.file.name}: {self.features} 个要素 / features, {self.geometry}",
                 f"  图层 / layer: {m.layer} ({LAYERS[m.layer]['title_zh']} / {LAYERS[m.layer]['title_en']}) [{how}]"]
        if m.class_field:
            lines.append(f"  类别字段 / class field: {m.class_field}")
            lines += [f"    {v} → {m.class_map[v]} ({n})" for v, n in m.counts.items()]
        else:
            lines.append(f"  类别 / class: {m.zone_class} (全部要素 / all features)")
        lines.append(f"  名称字段 / name field: {m.name_field or '—'}")
        lines.append(f"  编码字段 / code field: {m.code_field or '—'}")
        lines.append(f"  保留字段 / kept fields: {', '.join(m.keep) or '—'}")
        enc = {"given": "指定 / given", "detected": "检测 / detected (no .cpg)", ".cpg": ".cpg",
               "ascii": "ASCII"}[self.encoding_how]
        lines.append(f"  字符编码 / encoding: {self.encoding or 'utf-8'} ({enc})")
        lines.append(f"  坐标系 / CRS: {self.crs}{' (指定 / given)' if self.crs_given else ''}")
        return lines


def _parts(path: Path) -> list:
    """The files that make up a dataset: every part of a shapefile, else the file."""
    if path.suffix.lower() != ".shp":
        return [path]
    stem = path.with_suffix("")
    parts = [p for p in path.parent.glob(path.stem + ".*") if p.with_suffix("") == stem
             and p.suffix.lower() in _SHAPEFILE_PARTS]
    missing = [e for e in (".shx", ".dbf") if e not in {p.suffix.lower() for p in parts}]
    if missing:
        raise LayerSetError(f"the shapefile has no {' and no '.join(missing)}", path=path,
                            hint="把各部分文件放在一起 / copy all its parts together (.shp .shx .dbf .prj .cpg)")
    return sorted(parts)


def _encoding(path: Path, parts: list, given: str | None) -> tuple:
    if given:
        return given.lower(), "given"
    if path.suffix.lower() != ".shp":
        return None, "ascii"
    if any(p.suffix.lower() == ".cpg" for p in parts):
        return None, ".cpg"
    dbf = next(p for p in parts if p.suffix.lower() == ".dbf")
    with open(dbf, "rb") as fh:
        found = dbf_encoding(fh.read(8 << 20))
    if found:
        log.info("%s: no .cpg; attribute text read as %s (detected)", path, found.upper())
    return found, "detected" if found else "ascii"


def _read(path: Path, encoding: str | None):
    try:
        return pyogrio.read_dataframe(path, encoding=encoding) if encoding else pyogrio.read_dataframe(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, UnicodeError, ValueError) as exc:
        raise LayerSetError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path,
                            hint="检查文件是否完整；乱码请给 --encoding / check the file is complete; give --encoding "
                                 "gbk or utf-8 if its text is garbled") from None


def _crs(path: Path, gdf, crs: str | None) -> tuple:
    if crs:
        try:
            return pyproj.CRS.from_user_input(crs).to_string(), True
        except pyproj.exceptions.CRSError:
            raise LayerSetError(f"--crs {crs!r} is not a CRS", path=path, hint="give an EPSG code, e.g. EPSG:4529") from None
    if gdf.crs is None:
        raise LayerSetError("the file has no coordinate system (.prj)", path=path,
                            hint="复制 .prj 或给出 --crs / copy the .prj along, or give --crs (e.g. EPSG:4529, EPSG:4490)")
    epsg = gdf.crs.to_epsg()
    return (f"EPSG:{epsg}" if epsg else gdf.crs.to_string()), False


def plan_add(root, file, *, layer=None, class_field=None, class_map=None, name_field=None, code_field=None,
             keep=None, encoding=None, crs=None) -> AddPlan:
    """Read ``file`` and decide how it joins the layer set at ``root`` (nothing is written).

    Raises
    ------
    LayerSetError
        The folder is not a layer set, the file cannot be read, has no CRS, or its schema cannot be told
        (the message names the option to give).
    """
    if not (Path(root) / "manifest.toml").is_file():
        raise LayerSetError("no layer set here (manifest.toml not found)", path=root,
                            hint="先运行 ecozone init / run ecozone init DIR first")
    return plan_file(root, file, layer=layer, class_field=class_field, class_map=class_map, name_field=name_field,
                     code_field=code_field, keep=keep, encoding=encoding, crs=crs)


def read_source(file, *, encoding=None, crs=None) -> tuple:
    """A file's features and how they were read: ``(gdf with its CRS, encoding, how, crs text, crs given)``."""
    path = Path(file)
    if not path.is_file():
        raise LayerSetError("file not found", path=path)
    enc, how = _encoding(path, _parts(path), encoding)
    gdf = _read(path, enc)
    crs_text, crs_given = _crs(path, gdf, crs)
    if crs_given:
        gdf = gdf.set_crs(crs_text, allow_override=True)
    return gdf, enc, how, crs_text, crs_given


def plan_file(root, file, *, layer=None, class_field=None, class_map=None, name_field=None, code_field=None,
              keep=None, encoding=None, crs=None) -> AddPlan:
    """:func:`plan_add` for a folder that may not be a layer set yet (``init`` with a boundary)."""
    root, path = Path(root), Path(file)
    gdf, enc, how, crs_text, crs_given = read_source(path, encoding=encoding, crs=crs)
    values = {c: list(gdf[c]) for c in gdf.columns if c != gdf.geometry.name}
    kinds = {_GEOMETRY.get(t) for t in gdf.geom_type.dropna().unique()}
    if layer in LAYERS:
        _check_geometry(path, layer, kinds)
    mapping = recognise(path, values, layer=layer, class_field=class_field, class_map=class_map,
                        name_field=name_field, code_field=code_field, keep=keep)
    want = _check_geometry(path, mapping.layer, kinds)
    first = {f: [str(v).strip() for v in gdf[f][:3]] if f else [] for f in (mapping.name_field, mapping.code_field)}
    return AddPlan(root=root, file=path, mapping=mapping, encoding=enc, encoding_how=how, crs=crs_text,
                   crs_given=crs_given, geometry=want, features=len(gdf), names=first[mapping.name_field],
                   codes=first[mapping.code_field])


def _check_geometry(path: Path, layer: str, kinds: set) -> str:
    want = LAYERS[layer]["geometry"]
    if kinds != {want}:
        raise LayerSetError(f"layer {layer} takes {want}s, the file holds {', '.join(sorted(map(str, kinds)))}",
                            path=path, hint="检查 --layer 与文件 / check --layer and the file")
    return want


def load_manifest(root: Path) -> tomlkit.TOMLDocument:
    return tomlkit.parse((Path(root) / "manifest.toml").read_text(encoding="utf-8"))


def write_manifest(root: Path, doc) -> None:
    """Write ``manifest.toml`` atomically."""
    target = Path(root) / "manifest.toml"
    with atomic_path(target) as tmp:
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")


def _source_entry(plan: AddPlan, data_file: str):
    src = tomlkit.table()
    src["file"] = data_file
    if plan.encoding:
        src["encoding"] = plan.encoding
    if plan.crs_given:
        src["crs"] = plan.crs
    src["what"] = f"{plan.file.name}（{LAYERS[plan.mapping.layer]['title_zh']}）"
    return src


def _params(plan: AddPlan, doc) -> dict:
    m, lid = plan.mapping, plan.mapping.layer
    if lid == "study_area":
        info = doc["layerset"]
        name = "、".join(dict.fromkeys(plan.names)) if plan.names else str(info["title_zh"])
        out = {"source": lid, "name_zh": name, "name_en": str(info["title_en"]), "zone_class": m.zone_class}
        if plan.codes:
            out["code"] = plan.codes[0]
        return out
    params = {"source": lid}
    if m.class_field:
        params["class_field"] = m.class_field
        params["class_map"] = dict(m.class_map)
    else:
        params["zone_class"] = m.zone_class
    if m.name_field:
        params["name_zh_field"] = m.name_field
    if m.code_field:
        params["code_field"] = m.code_field
    if m.keep:
        params["keep"] = list(m.keep)
    return params


def _layer_entry(plan: AddPlan, doc):
    lid = plan.mapping.layer
    spec = LAYERS[lid]
    t = tomlkit.table()
    t["id"] = lid
    for key in ("title_zh", "title_en", "family"):
        t[key] = spec[key]
    t["group"] = spec["family"]
    t["geometry"] = spec["geometry"]
    t["builder"] = "study_area" if lid == "study_area" else "from_source"
    t["clause"] = spec["clause"]
    prov = tomlkit.inline_table()
    prov.update({"source": plan.file.name, "date": dt.date.today().isoformat(),
                 "official": doc["layerset"].get("status") == "official"})
    t["provenance"] = prov
    params = tomlkit.table()
    for k, v in _params(plan, doc).items():
        if isinstance(v, dict):
            inline = tomlkit.inline_table()
            inline.update(v)
            v = inline
        params[k] = v
    t["params"] = params
    classes = tomlkit.table()
    for cid, cdef in spec["classes"].items():
        inline = tomlkit.inline_table()
        inline.update(cdef)
        classes[cid] = inline
    t["classes"] = classes
    return t


def _place_layer(doc, entry) -> None:
    """Put ``entry`` in ``[[layers]]``: replacing the layer of its id, else at its place in :data:`LAYER_ORDER`."""
    lid = entry["id"]
    old = doc.get("layers")
    layers = [t for t in (old or []) if t.get("id") != lid]
    rank = {k: i for i, k in enumerate(LAYER_ORDER)}
    pos = next((i for i, t in enumerate(old or []) if t.get("id") == lid), None)
    if pos is None:
        pos = next((i for i, t in enumerate(layers) if rank.get(t.get("id"), len(rank)) > rank[lid]), len(layers))
    layers.insert(pos, entry)
    aot = tomlkit.aot()
    for t in layers:
        aot.append(t)
    if "layers" in doc:
        del doc["layers"]
    doc.append("layers", aot)


def _declare_contains(doc) -> None:
    """The red line holds reserve cores and buffers and first-level water zones, when those layers are present."""
    layers = {t.get("id"): t for t in doc.get("layers", [])}
    red = layers.get("red_line")
    if red is None:
        return
    want = [{"layer": lid, "classes": cls} for lid, cls in RED_LINE_HOLDS.items() if lid in layers]
    have = [dict(c) for c in red.get("contains", [])]
    extra = [w for w in want if w["layer"] not in {h.get("layer") for h in have}]
    if extra:
        arr = tomlkit.array()
        for c in have + extra:
            inline = tomlkit.inline_table()
            inline.update(c)
            arr.append(inline)
        red["contains"] = arr


def _map_table(doc, group: str) -> None:
    """Control units cover the whole district: drawn beneath the rest and hidden when a map opens."""
    if group != "control_units":
        return
    table = doc.setdefault("map", tomlkit.table())
    hidden = table.setdefault("hidden_groups", tomlkit.array())
    if group not in hidden:
        hidden.append(group)
    titles = table.setdefault("group_titles", tomlkit.table())
    if group not in titles:
        inline = tomlkit.inline_table()
        inline.update({"zh": "环境管控单元", "en": "Environmental control units"})
        titles[group] = inline


def national_rules() -> list:
    """The rows of the national rule table shipped with ecozone (``geo/layerset/template/rules.csv``)."""
    text = resources.files("geo.layerset").joinpath("template/rules.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _add_rules(root: Path, doc, layer: str) -> int:
    """Append the national rows of ``layer`` to the set's rule table when it has none for it; the rows added."""
    path = root / str(doc["layerset"].get("rules", "rules.csv"))
    rows = national_rules()
    mine = [r for r in rows if r["layer"] == layer]
    if not mine:
        return 0
    existing = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))) if path.is_file() else []
    if any(r.get("layer") == layer for r in existing):
        return 0
    fields = list(existing[0]) if existing else list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(existing + mine)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return len(mine)


def apply_add(plan: AddPlan) -> list:
    """Copy the file into ``data/`` and write the manifest (and rule rows); the lines saying what was written."""
    root, lid = plan.root, plan.mapping.layer
    doc = load_manifest(root)
    doc.setdefault("sources", tomlkit.table())
    stem = plan.file.stem
    data_file = f"data/{plan.file.name}"
    doc["sources"][lid] = _source_entry(plan, data_file)
    _place_layer(doc, _layer_entry(plan, doc))
    _declare_contains(doc)
    _map_table(doc, LAYERS[lid]["family"])
    copied = []
    for part in _parts(plan.file):
        target = root / "data" / part.name
        if part.resolve() != target.resolve():
            with atomic_path(target) as tmp:
                shutil.copyfile(part, tmp)
        copied.append(part.name)
    write_manifest(root, doc)
    added = _add_rules(root, doc, lid)
    lines = [f"已复制 / copied: {', '.join(copied)} → {root / 'data'}",
             f"已写入 / wrote: manifest.toml [sources.{lid}] 与 / and [[layers]] id = \"{lid}\" ({stem})"]
    if added:
        lines.append(f"规则 / rules: {added} 条国家规则行 / national rows for {lid} added to the rule table")
    return lines
