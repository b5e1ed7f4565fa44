"""Adding a bureau's file to a layer set: read its fields, recognise its schema, copy it into ``data/``, write the manifest.

:func:`plan_add` reads the file (a shapefile without ``.cpg`` is decoded as
detected, UTF-8 or GBK, as the site readers do) and recognises its layer and
mapping (:mod:`geo.layerset.schemas`); a file of several layers (a GeoPackage)
needs the one to read named (``source_layer``), which the source entry records.
:func:`apply_add` copies the file (every part of a shapefile) into ``data/`` and
writes the ``[sources.<layer>]`` and ``[[layers]]`` entries with tomlkit, keeping
the rest of the manifest and its comments, the layer's rows of the national rule
table when the set's ``rules.csv`` has none for it, and a network layer in
``[network]``. Adding a layer the set has replaces its entry, keeping its group,
style, ``contains`` and classes (so its rules and the map still apply). Nothing is
written when anything is refused.
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
from .schemas import LAYER_ORDER, LAYERS, MODELLED, NETWORK_ROLES, Mapping, is_modelled, layers_of, recognise

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
    source_layer: str | None = None  # the layer read from a file of several
    run: dict = field(default_factory=dict)  # modelled corridors: the corridors run (model, cutoff, resistance)
    replaces: str | None = None  # the builder of the set's entry of this layer, which the add replaces

    @property
    def titles(self) -> tuple:
        """The layer's titles (zh, en): a modelled layer says it is a draft."""
        spec = MODELLED if self.mapping.modelled else LAYERS[self.mapping.layer]
        return spec["title_zh"], spec["title_en"]

    def describe(self) -> list:
        """The lines ``add`` prints: layer, class field and value→class map with counts, fields, encoding, CRS."""
        m = self.mapping
        how = {"recognised": "识别 / recognised", "given": "指定 / given"}[m.how]
        lines = [f"{self.file.name}{f' ({self.source_layer})' if self.source_layer else ''}: {self.features} "
                 f"个要素 / features, {self.geometry}",
                 f"  图层 / layer: {m.layer} ({' / '.join(self.titles)}) [{how}]"]
        if self.replaces:
            lines.append(f"  替换图层集中的同名图层 / replaces the set's {m.layer} (builder {self.replaces}); "
                         "保留其类别与规则 / its classes and rules stay")
        if self.run:
            lines.append(f"  模型 / model: {self.run['model']}" + "".join(
                f", {k} {v:g}" if isinstance(v, float) else f", {k} {v}" for k, v in self.run.items() if k != "model"))
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


def _read(path: Path, encoding: str | None, layer: str | None = None):
    kw = {k: v for k, v in (("encoding", encoding), ("layer", layer)) if v}
    try:
        return pyogrio.read_dataframe(path, **kw)
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
             keep=None, encoding=None, crs=None, source_layer=None) -> AddPlan:
    """Read ``file`` and decide how it joins the layer set at ``root`` (nothing is written).

    ``source_layer``: the layer to read from a file of several (a GeoPackage); needed there.

    Raises
    ------
    LayerSetError
        The folder is not a layer set, the file cannot be read, holds several layers and none is named, has no
        CRS, or its schema cannot be told (the message names the option to give).
    """
    if not (Path(root) / "manifest.toml").is_file():
        raise LayerSetError("no layer set here (manifest.toml not found)", path=root,
                            hint="先运行 ecozone init / run ecozone init DIR first")
    entries = {str(t.get("id")): t for t in load_manifest(Path(root)).get("layers", [])}
    return plan_file(root, file, layer=layer, class_field=class_field, class_map=class_map, name_field=name_field,
                     code_field=code_field, keep=keep, encoding=encoding, crs=crs, source_layer=source_layer,
                     entries=entries)


def source_layer(path: Path, layer: str | None) -> str | None:
    """The layer to read from ``path``: ``layer`` (checked), None for a file of one layer; refused for several."""
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise LayerSetError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path,
                            hint="检查文件是否完整 / check the file is complete and in the format its extension says") from None
    if layer is not None and layer not in names:
        raise LayerSetError(f"--source-layer {layer!r}: no such layer; its layers: {', '.join(names)}", path=path,
                            hint="图层名区分大小写 / layer names are case-sensitive")
    if layer is None and len(names) > 1:
        raise LayerSetError(f"the file holds {len(names)} layers ({', '.join(names)}) / 文件含多个图层", path=path,
                            hint=f"用 --source-layer 指定其一 / give --source-layer NAME, e.g. --source-layer {names[-1]} "
                                 "(nothing was written)")
    return layer


def read_source(file, *, encoding=None, crs=None, layer=None) -> tuple:
    """A file's features and how they were read: ``(gdf with its CRS, encoding, how, crs text, crs given)``.

    ``layer``: the layer of a file of several (see :func:`source_layer`).
    """
    path = Path(file)
    if not path.is_file():
        raise LayerSetError("file not found", path=path)
    enc, how = _encoding(path, _parts(path), encoding)
    gdf = _read(path, enc, source_layer(path, layer))
    crs_text, crs_given = _crs(path, gdf, crs)
    if crs_given:
        gdf = gdf.set_crs(crs_text, allow_override=True)
    return gdf, enc, how, crs_text, crs_given


def plan_file(root, file, *, layer=None, class_field=None, class_map=None, name_field=None, code_field=None,
              keep=None, encoding=None, crs=None, source_layer=None, entries=None) -> AddPlan:
    """:func:`plan_add` for a folder that may not be a layer set yet (``init`` with a boundary).

    ``entries``: the set's ``[[layers]]`` by id (an entry of the layer added is replaced, its classes kept).
    """
    root, path, entries = Path(root), Path(file), entries or {}
    gdf, enc, how, crs_text, crs_given = read_source(path, encoding=encoding, crs=crs, layer=source_layer)
    values = {c: list(gdf[c]) for c in gdf.columns if c != gdf.geometry.name}
    kinds = {_GEOMETRY.get(t) for t in gdf.geom_type.dropna().unique()}
    if layer in LAYERS:
        _check_geometry(path, layer, kinds, values)
    found = layers_of(values)
    lid = layer or (found[0] if len(found) == 1 else None)
    mapping = recognise(path, values, layer=layer, class_field=class_field, class_map=class_map,
                        name_field=name_field, code_field=code_field, keep=keep,
                        classes=entries.get(lid, {}).get("classes"))
    want = _check_geometry(path, mapping.layer, kinds, values)
    first = {f: [str(v).strip() for v in gdf[f][:3]] if f else [] for f in (mapping.name_field, mapping.code_field)}
    old = entries.get(mapping.layer)
    return AddPlan(root=root, file=path, mapping=mapping, encoding=enc, encoding_how=how, crs=crs_text,
                   crs_given=crs_given, geometry=want, features=len(gdf), names=first[mapping.name_field],
                   codes=first[mapping.code_field], source_layer=source_layer,
                   run=_model_run(gdf) if mapping.modelled else {},
                   replaces=None if old is None else str(old.get("builder", "?")))


def _model_run(gdf) -> dict:
    """What ``ecozone corridors`` recorded of its run in its output: cutoff (cost units) and resistance file."""
    run = {"model": "ecozone corridors (least-cost, MCR)"}
    for key in ("cutoff", "resistance"):
        col = next((c for c in gdf.columns if str(c).lower() == key), None)
        seen = sorted({str(v) for v in gdf[col].dropna()}) if col else []
        if seen:
            run[key] = float(seen[0]) if key == "cutoff" and len(seen) == 1 else "; ".join(seen)
    return run


def _check_geometry(path: Path, layer: str, kinds: set, values: dict | None = None) -> str:
    want = LAYERS[layer]["geometry"]
    if kinds != {want}:
        hint = "检查 --layer 与文件 / check --layer and the file"
        if is_modelled(values or {}) and kinds == {"line"}:
            hint = ("最小成本路径是线，请加入廊道面 / the least-cost paths are lines: add the corridor polygons "
                    "(--source-layer corridors, written by ecozone corridors --cutoff X)")
        raise LayerSetError(f"layer {layer} takes {want}s, the file holds {', '.join(sorted(map(str, kinds)))}",
                            path=path, hint=hint)
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
    if plan.source_layer:
        src["layer"] = plan.source_layer
    src["what"] = f"{plan.file.name}（{plan.titles[0]}）"
    src.add(tomlkit.nl())
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


def _plain(value):
    """A tomlkit value as plain Python (dicts, lists, str, numbers)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _inline(values: dict):
    inline = tomlkit.inline_table()
    inline.update({k: _plain(v) for k, v in values.items()})
    return inline


#: what an entry replaced by ``add`` keeps: how the map groups and draws it, what it holds (its classes are merged)
KEPT_ON_REPLACE = ("group", "style", "contains")


def _layer_entry(plan: AddPlan, doc):
    lid = plan.mapping.layer
    spec = LAYERS[lid]
    old = next((e for e in doc.get("layers", []) if e.get("id") == lid), None)
    t = tomlkit.table()
    t["id"] = lid
    t["title_zh"], t["title_en"] = plan.titles
    t["family"] = spec["family"]
    t["group"] = spec["family"]
    t["geometry"] = spec["geometry"]
    t["builder"] = "study_area" if lid == "study_area" else "from_source"
    t["clause"] = MODELLED["clause"] if plan.mapping.modelled else spec["clause"]
    prov = {"source": plan.file.name}
    if plan.source_layer:
        prov["source_layer"] = plan.source_layer
    prov.update(plan.run)
    prov.update({"date": dt.date.today().isoformat(),
                 "official": doc["layerset"].get("status") == "official" and not plan.mapping.modelled})
    t["provenance"] = _inline(prov)
    for key in KEPT_ON_REPLACE:
        if old is not None and key in old:
            t[key] = _plain(old[key])
    params = tomlkit.table()
    for k, v in _params(plan, doc).items():
        params[k] = _inline(v) if isinstance(v, dict) else v
    t["params"] = params
    classes = tomlkit.table()
    for cid, cdef in plan.mapping.classes.items():
        classes[cid] = _inline(cdef)
    classes.add(tomlkit.nl())
    t["classes"] = classes
    return t


def _place_layer(doc, entry) -> None:
    """Put ``entry`` in ``[[layers]]``: replacing the layer of its id, else at its place in :data:`LAYER_ORDER`."""
    lid = entry["id"]
    old = doc.get("layers")
    ids = [t.get("id") for t in old or []]
    if isinstance(old, tomlkit.items.AoT) and ids.count(lid) == 1:  # in place: the rest keeps its layout
        old[ids.index(lid)] = entry
        return
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


_GROUP_TITLES = {"control_units": {"zh": "环境管控单元", "en": "Environmental control units"},
                 "network": {"zh": "生态安全格局", "en": "Ecological network"}}


def _map_table(doc, group: str) -> None:
    """A title for the groups of control units and of the network; control units (the whole district) hidden at first."""
    if group not in _GROUP_TITLES:
        return
    table = doc.setdefault("map", tomlkit.table())
    if group == "control_units":
        hidden = table.setdefault("hidden_groups", tomlkit.array())
        if group not in hidden:
            hidden.append(group)
    titles = table.setdefault("group_titles", tomlkit.table())
    if group not in titles:
        titles[group] = _inline(_GROUP_TITLES[group])


def _network_table(doc, lid: str) -> str | None:
    """Put a network layer in ``[network]`` (nodes or links); made with the set's node layers when missing.

    Returns the line saying what was done (None for other layers and when the layer is listed already).
    """
    role = NETWORK_ROLES.get(lid)
    if role is None:
        return None
    net = doc.get("network")
    if net is None:
        present = {str(t.get("id")) for t in doc.get("layers", [])}
        nodes = [n for n, r in NETWORK_ROLES.items() if r == "nodes" and n in present]
        if not nodes:
            return ("[network]: 尚无节点图层，未建立 / not made: the set has no node layer yet (add eco_cores or "
                    "eco_sources, then ecozone network)")
        net = tomlkit.table()
        net["nodes"] = nodes
        net["links"] = [n for n, r in NETWORK_ROLES.items() if r == "links" and n in present]
        doc["network"] = net
        return f"[network]: 已建立 / made, nodes = {nodes}, links = {list(net['links'])}"
    ids = net.setdefault(role, tomlkit.array())
    if lid in ids:
        return None
    ids.append(lid)
    return f"[network]: {lid} 加入 / added to {role}"


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
    entry = _layer_entry(plan, doc)
    _place_layer(doc, entry)
    _declare_contains(doc)
    _map_table(doc, str(entry["group"]))
    network = _network_table(doc, lid)
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
             f"已{'替换' if plan.replaces else '写入'} / {'replaced' if plan.replaces else 'wrote'}: manifest.toml "
             f"[sources.{lid}] 与 / and [[layers]] id = \"{lid}\" ({stem})"]
    if network:
        lines.append(network)
    if added:
        lines.append(f"规则 / rules: {added} 条国家规则行 / national rows for {lid} added to the rule table")
    return lines
