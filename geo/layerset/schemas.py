"""National schemas of the files bureaus hand over: field names and values → layer id, classes, name and code fields.

The tables are data: :data:`LAYERS` holds the fixed layers a planner's set uses
(ids, titles, classes and colours as in the Jinpu set, plus ``control_units``; the
network layers ``eco_cores``, ``eco_sources``, ``eco_corridors`` only by ``--layer``,
except the output of ``ecozone corridors``, known by :data:`MODEL_FIELDS`),
:data:`SCHEMAS` the field names by which each layer's file is known (三线一单
units ``HJZHGKDYBM``/``HJZHGKDYMC``/``ZHGKDYFL``, red line ``HXMC``/``HXLX``, …)
and :data:`CLASS_WORDS` the words of a class field's values (一级保护区 → ``L1``,
核心区 → ``core``, 1/优先保护 → ``priority``). :func:`recognise` applies them to a
file's fields and values; it never guesses between two readings: when unsure it
raises, naming the option to give.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import LayerSetError

__all__ = ["LAYERS", "LAYER_ORDER", "SCHEMAS", "CLASS_WORDS", "NETWORK_ROLES", "MODEL_FIELDS", "MODELLED", "Mapping",
           "recognise", "layers_of", "is_modelled", "class_of", "parse_class_map"]


def _c(zh, en, control, color):
    return {"zh": zh, "en": en, "control": control, "color": color}


_UNIT_CLASSES = {"priority": _c("优先保护单元", "priority protection", "strict", "#1a9641"),
                 "key": _c("重点管控单元", "key control", "restrictive", "#d7191c"),
                 "general": _c("一般管控单元", "general control", "general", "#ffffbf")}

#: the fixed layers: id -> titles, family/group, geometry, clause and classes (colours as in layers/jinpu)
LAYERS = {
    "study_area": {"title_zh": "研究范围（行政区陆域）", "title_en": "Study area (district land)", "family": "base",
                   "geometry": "polygon", "clause": "规划范围：行政区域",
                   "classes": {"land": _c("陆域", "land", "info", "#bdbdbd")}},
    "red_line": {"title_zh": "生态保护红线", "title_en": "Ecological conservation red line", "family": "red_line",
                 "geometry": "polygon", "clause": "生态保护红线（批准的矢量数据）；自然资发〔2022〕142号",
                 "classes": {"land": _c("陆域生态保护红线", "land red line", "strict", "#e31a1c"),
                             "marine": _c("海洋生态保护红线", "marine red line", "strict", "#b2182b")}},
    "water_source": {"title_zh": "饮用水水源保护区", "title_en": "Drinking-water source protection zones",
                     "family": "water", "geometry": "polygon",
                     "clause": "饮用水水源保护区（批准的划分方案）；水污染防治法第六十三条",
                     "classes": {"L1": _c("一级保护区", "first-level zone", "strict", "#08306b"),
                                 "L2": _c("二级保护区", "second-level zone", "strict", "#2171b5"),
                                 "quasi": _c("准保护区", "quasi-protection zone", "restrictive", "#6baed6")}},
    "nature_reserves": {"title_zh": "自然保护地", "title_en": "Nature reserves and parks", "family": "reserve",
                        "geometry": "polygon", "clause": "自然保护地（批准的功能分区）；自然保护区条例第十八条",
                        "classes": {"core": _c("核心区", "core zone", "strict", "#67000d"),
                                    "buffer": _c("缓冲区", "buffer zone", "strict", "#cb181d"),
                                    "experimental": _c("实验区", "experimental zone", "restrictive", "#fb6a4a"),
                                    "park": _c("自然公园", "nature park", "restrictive", "#fcbba1")}},
    "coastline": {"title_zh": "岸线分类", "title_en": "Coastline classes", "family": "coast", "geometry": "line",
                  "clause": "岸线分类（批准的岸线保护与利用规划）；海岸线保护与利用管理办法第六至九条",
                  "classes": {"strict": _c("严格保护岸线", "strictly protected", "strict", "#d7191c"),
                              "restricted": _c("限制开发岸线", "restricted development", "restrictive", "#fdae61"),
                              "optimized": _c("优化利用岸线", "optimised use", "general", "#2c7bb6")}},
    "eco_cores": {"title_zh": "生态核心", "title_en": "Ecological cores", "family": "network", "geometry": "polygon",
                  "clause": "生态安全格局：生态核心（规划确定的范围）",
                  "classes": {"core": _c("生态核心", "ecological core", "strict", "#006837")}},
    "eco_sources": {"title_zh": "生态源地", "title_en": "Ecological sources", "family": "network", "geometry": "polygon",
                    "clause": "生态安全格局：生态源地与生态小斑（规划确定的范围）",
                    "classes": {"source": _c("生态源地", "ecological source", "restrictive", "#238443"),
                                "patch": _c("生态小斑", "ecological patch", "general", "#addd8e")}},
    "eco_corridors": {"title_zh": "生态廊道", "title_en": "Ecological corridors", "family": "network",
                      "geometry": "polygon", "clause": "生态安全格局：生态廊道（规划确定的范围）",
                      "classes": {"primary": _c("一级生态廊道", "primary ecological corridor", "restrictive", "#78c679")}},
    "control_units": {"title_zh": "环境综合管控单元", "title_en": "Environmental control units",
                      "family": "control_units", "geometry": "polygon",
                      "clause": "生态环境分区管控（三线一单）环境综合管控单元；关于加强生态环境分区管控的意见（2024）",
                      "classes": _UNIT_CLASSES},
    "water_control_units": {"title_zh": "水环境管控分区", "title_en": "Water environment control units",
                            "family": "control_units", "geometry": "polygon",
                            "clause": "生态环境分区管控（三线一单）水环境管控分区",
                            "classes": {k: dict(v, zh=v["zh"].replace("单元", "区")) for k, v in _UNIT_CLASSES.items()}},
    "air_control_units": {"title_zh": "大气环境管控分区", "title_en": "Air environment control units",
                          "family": "control_units", "geometry": "polygon",
                          "clause": "生态环境分区管控（三线一单）大气环境管控分区",
                          "classes": {k: dict(v, zh=v["zh"].replace("单元", "区")) for k, v in _UNIT_CLASSES.items()}},
}
#: build and manifest order (the study area first: it makes the coverage)
LAYER_ORDER = list(LAYERS)

#: field names (upper case) that identify each layer's national file; the first present of each list is used
SCHEMAS = {
    "control_units": {"code": ["HJZHGKDYBM"], "name": ["HJZHGKDYMC"], "class": ["ZHGKDYFL"],
                      "keep": ["PROV", "CITY", "AREA", "KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"]},
    "water_control_units": {"code": ["SHJGKFQBM"], "name": ["SHJGKFQMC"], "class": ["GKFQLX", "SHJGKFQFL", "GKFL"],
                            "keep": ["PROV", "CITY", "AREA"]},
    "air_control_units": {"code": ["DQHJGKFQBM"], "name": ["DQHJGKFQMC"], "class": ["GKFQLX", "DQHJGKFQFL", "GKFL"],
                          "keep": ["PROV", "CITY", "AREA"]},
    "red_line": {"code": ["HXBM", "STHXBM"], "name": ["HXMC", "STHXMC"], "class": ["HXLX", "LX"], "keep": []},
    "water_source": {"code": ["BHQBM", "SYDBM"], "name": ["BHQMC", "SYDMC"], "class": ["BHQJB", "BHQLX", "BHQJ"],
                     "keep": ["SYDMC"]},
    "nature_reserves": {"code": ["ZRBHDBM", "BHDBM"], "name": ["ZRBHDMC", "BHDMC"], "class": ["GNFQ", "GNQ"],
                        "keep": ["JB"]},
    "coastline": {"code": ["AXBM"], "name": ["AXMC"], "class": ["AXLX", "AXFL"], "keep": []},
    "study_area": {"code": ["XZQDM", "XZQBM", "PAC"], "name": ["XZQMC"], "class": [], "keep": []},
    # network layers have no national schema: only the corridors output is recognised (MODEL_FIELDS), else --layer
    "eco_cores": {"code": ["ZONE_CODE"], "name": ["NAME_ZH", "NAME"], "class": ["ZONE_CLASS"], "keep": []},
    "eco_sources": {"code": ["ZONE_CODE"], "name": ["NAME_ZH", "NAME"], "class": ["ZONE_CLASS"], "keep": []},
    "eco_corridors": {"code": ["ZONE_CODE"], "name": ["NAME_ZH", "NAME"], "class": ["ZONE_CLASS"],
                      "keep": ["WIDTH_M", "FROM_NAME", "TO_NAME", "LCD", "EUCLID_M", "COST_RATIO", "PATH_LENGTH_M"]},
}
#: the layers of the ecological network (docs/network.md) and the list of ``[network]`` each belongs to
NETWORK_ROLES = {"eco_cores": "nodes", "eco_sources": "nodes", "eco_corridors": "links"}
#: the fields of ``ecozone corridors`` output (its ``corridors`` and ``paths`` layers): least-cost corridors
MODEL_FIELDS = ("from_source", "to_source", "lcd", "cost_ratio")
#: title and clause of a layer of modelled corridors (a draft, not the plan's corridors)
MODELLED = {"title_zh": "生态廊道（最小成本路径模型，草稿）", "title_en": "Ecological corridors (least-cost model, draft)",
            "clause": "最小成本路径模型廊道（MCR，ecozone corridors）：模型草稿，非规划批准的范围"}

#: per layer: class id -> the words of the source's values that mean it (codes must equal the value, words be in it)
CLASS_WORDS = {
    "control_units": {"priority": (["1"], ["优先保护"]), "key": (["2"], ["重点管控"]), "general": (["3"], ["一般管控"])},
    "red_line": {"land": ([], ["陆域", "陆地"]), "marine": ([], ["海洋", "海域"])},
    "water_source": {"L1": ([], ["一级"]), "L2": ([], ["二级"]), "quasi": ([], ["准保护"])},
    "nature_reserves": {"core": ([], ["核心"]), "buffer": ([], ["缓冲"]), "experimental": ([], ["实验"]),
                        "park": ([], ["自然公园", "森林公园", "地质公园", "湿地公园", "海洋公园"])},
    "coastline": {"strict": ([], ["严格保护"]), "restricted": ([], ["限制开发"]), "optimized": ([], ["优化利用"])},
    "eco_sources": {"source": (["source"], ["源地"]), "patch": (["patch"], ["小斑", "斑块"])},
}
CLASS_WORDS["water_control_units"] = CLASS_WORDS["air_control_units"] = CLASS_WORDS["control_units"]


def _norm(value) -> str:
    """A field value as text: numbers without a trailing .0, stripped."""
    text = str(value).strip()
    return re.sub(r"^(\d+)\.0+$", r"\1", text)


def class_of(layer: str, value) -> str | None:
    """The class a source value means for ``layer`` (None when no word matches, or words of two classes do)."""
    text = _norm(value)
    hits = {cls for cls, (codes, words) in CLASS_WORDS.get(layer, {}).items()
            if text in codes or any(w in text for w in words)}
    return hits.pop() if len(hits) == 1 else None


def parse_class_map(text: str | None, where: str = "--class-map") -> dict:
    """``"一级保护区=L1;二级保护区=L2"`` as a dict (``*=land``: every feature one class)."""
    out = {}
    for part in (text or "").replace("；", ";").split(";"):
        if not part.strip():
            continue
        value, sep, cls = part.partition("=")
        if not sep or not value.strip() or not cls.strip():
            raise LayerSetError(f"{where}: {part.strip()!r} is not value=class",
                                hint='写作 "值=类别;…" / write it as "value=class;…", e.g. "一级保护区=L1;二级保护区=L2"')
        out[value.strip()] = cls.strip()
    return out


@dataclass
class Mapping:
    """How a file becomes a layer: its layer id, class field and value→class map, name, code and kept fields."""

    layer: str
    class_field: str | None = None
    class_map: dict = field(default_factory=dict)  # source value -> class id
    counts: dict = field(default_factory=dict)  # source value -> features
    zone_class: str | None = None  # one class for all features (no class field)
    name_field: str | None = None
    code_field: str | None = None
    keep: list = field(default_factory=list)
    how: str = "recognised"  # recognised | given
    modelled: bool = False  # the file is ``ecozone corridors`` output (least-cost corridors, a draft)
    classes: dict = field(default_factory=dict)  # the layer's class table (the set's own when it has the layer)


def _find(fields: list, names: list) -> str | None:
    upper = {f.upper(): f for f in fields}
    return next((upper[n] for n in names if n in upper), None)


def is_modelled(fields) -> bool:
    """Whether a file's fields are those of ``ecozone corridors`` output (:data:`MODEL_FIELDS`)."""
    return set(MODEL_FIELDS) <= {str(f).lower() for f in fields}


def _layer_by_fields(fields: list) -> list:
    """The corridors output; else layers whose code or name field the file has, else those whose class field it has."""
    if is_modelled(fields):
        return ["eco_corridors"]
    national = {lid: s for lid, s in SCHEMAS.items() if lid not in NETWORK_ROLES}
    return ([lid for lid, s in national.items() if _find(fields, s["code"] + s["name"])]
            or [lid for lid, s in national.items() if _find(fields, s["class"])])


def _fits(layer: str, values: list) -> bool:
    vals = [v for v in values if _norm(v)]
    return bool(vals) and all(class_of(layer, v) for v in vals)


def _layer_by_values(values: dict) -> list:
    """Layers one of whose fields holds only that layer's class words (water and air sub-zones need their codes)."""
    return [lid for lid in CLASS_WORDS if lid not in ("water_control_units", "air_control_units")
            and lid not in NETWORK_ROLES and any(_fits(lid, v) for v in values.values())]


def layers_of(values: dict) -> list:
    """The layers a file whose fields hold ``values`` may be (by its field names, else its values); one when sure."""
    return _layer_by_fields(list(values)) or _layer_by_values(values)


def recognise(path, values: dict, *, layer=None, class_field=None, class_map=None, name_field=None,
              code_field=None, keep=None, classes=None) -> Mapping:
    """The mapping of a file whose fields hold ``values`` (field -> list of values), options winning over recognition.

    ``classes``: the class table of the layer in the set, when the set has it already (merged over
    :data:`LAYERS`: its classes, colours and the rules keyed on them stay).

    Raises
    ------
    LayerSetError
        When the layer or the class field cannot be told, a field named does not exist, or a value maps to no
        class; the message names the file, the field, the values and the option to give.
    """
    fields = list(values)
    listed = ", ".join(fields) or "(none)"
    for opt, f in (("--class-field", class_field), ("--name-field", name_field), ("--code-field", code_field),
                   *(("--keep", k) for k in keep or [])):
        if f and f not in values:
            raise LayerSetError(f"{opt} {f!r}: no such field; fields: {listed}", path=path,
                                hint="字段名区分大小写 / field names are case-sensitive; garbled names mean a wrong "
                                     "--encoding")
    given = layer is not None
    if layer is None:
        found = layers_of(values)
        if len(found) != 1:
            raise LayerSetError(f"cannot tell which layer this file is ({' or '.join(found) or 'no known fields'}; "
                                f"fields: {listed})", path=path,
                                hint=f"无法识别图层，请给出 --layer / give --layer, one of {', '.join(LAYER_ORDER)}")
        layer = found[0]
    if layer not in LAYERS:
        raise LayerSetError(f"--layer {layer!r} is not one of the fixed layers", path=path,
                            hint=f"use one of {', '.join(LAYER_ORDER)}")
    schema = SCHEMAS[layer]
    m = Mapping(layer=layer, how="given" if given else "recognised",
                modelled=layer == "eco_corridors" and is_modelled(fields),
                classes={**LAYERS[layer]["classes"], **dict(classes or {})},
                name_field=name_field or _find(fields, schema["name"]),
                code_field=code_field or _find(fields, schema["code"]),
                keep=list(keep) if keep is not None else [f for f in (_find(fields, [k]) for k in schema["keep"]) if f])
    _classes(path, m, values, class_field, parse_class_map(class_map) if isinstance(class_map, str) else class_map)
    return m


def _classes(path, m: Mapping, values: dict, class_field, user_map) -> None:
    """Fill the class field and value→class map of ``m`` (a one-class layer, or ``*=class``, needs no field)."""
    classes = m.classes
    user_map = dict(user_map or {})
    if "*" in user_map or len(classes) == 1:
        m.zone_class = user_map.get("*", next(iter(classes)))
        if m.zone_class not in classes:
            raise LayerSetError(f"--class-map *={m.zone_class}: {m.layer} has no class {m.zone_class!r}", path=path,
                                hint=f"use one of {', '.join(classes)}")
        return
    fields = list(values)
    cf = class_field or _find(fields, SCHEMAS[m.layer]["class"])
    if cf is None:
        fitting = [f for f in fields if _fits(m.layer, values[f])]
        cf = fitting[0] if len(fitting) == 1 else None
    if cf is None:
        raise LayerSetError(f"no field tells the {m.layer} classes ({', '.join(classes)}); fields: {', '.join(fields)}",
                            path=path, hint="给出 --class-field 与 --class-map / give --class-field F and --class-map "
                                            f"\"value=class;…\" (or --class-map \"*={next(iter(classes))}\" for one class)")
    m.class_field = cf
    counts: dict = {}
    for v in values[cf]:  # keyed as the builder sees them (str of the value read)
        counts[str(v)] = counts.get(str(v), 0) + 1
    m.counts = counts
    unmapped = []
    for v in counts:
        cls = user_map.get(v) or user_map.get(_norm(v)) or (_norm(v) if _norm(v) in classes else class_of(m.layer, v))
        if cls is None or cls not in classes:
            unmapped.append(v)
        else:
            m.class_map[v] = cls
    if unmapped:
        shown = ", ".join(repr(v) for v in unmapped[:10])
        raise LayerSetError(f"field {cf}: value(s) {shown} map to no {m.layer} class ({', '.join(classes)})", path=path,
                            hint=f'用 --class-map 指定 / give --class-map "{unmapped[0]}=<class>;…"')
