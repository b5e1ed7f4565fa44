"""生态环境准入清单 (requirement lists) in a layer set: imported from a bureau's workbook, read back, checked.

A bureau publishes its list as an Excel (or CSV) table keyed by unit code, one
column per dimension (空间布局约束, 污染物排放管控, 环境风险防控, 资源开发效率要求 or
资源利用效率要求), often with title rows above the header, merged cells for the
level, code or name, and rows that apply to every unit (省/市总体准入要求: a blank
code, or a level column). :func:`import_requirements` reads such a table and
stores it normalised as ``requirements.csv`` in the layer set, one row per
(level, unit code, dimension):

=========  ==================================================================
level      ``province``, ``region``, ``city`` (rows applying to every unit) or ``unit``
unit_code  the unit's code (``HJZHGKDYBM``); blank for the general levels
unit_name  the unit's name, or the name of the general row (辽宁省总体准入要求)
dimension  ``spatial``, ``pollution``, ``risk`` or ``resource`` (geo.text.DIMENSIONS)
text       the requirement in full, newlines kept (rows of one code joined in order)
source     where it came from: ``准入清单.xlsx!Sheet1:12`` (file, sheet, rows)
=========  ==================================================================

The original file is copied to ``data/`` and the manifest's ``[requirements]``
table names the three (``file``, ``layer``, ``source``) and ``industries``: the
industry keywords per project type that the compliance table looks for in the
clauses (``industries.csv``, columns ``type`` and ``keywords`` separated by
``；``). It is data the bureau may edit; a layer set without one uses the
template shipped with ecozone (``geo/layerset/template/industries.csv``).
General rows apply to every unit of the list (a region row too: the list does
not say which units a region holds).
"""
from __future__ import annotations

import csv
import io
import logging
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path
from ..errors import EcozoneError, LayerSetError
from ..text import DIMENSIONS, FORMULA_GUARD, LEVELS, project_types, resolve_type, spreadsheet_text
from .manifest import read_manifest, requirements_config

log = logging.getLogger(__name__)

__all__ = ["import_requirements", "ImportSummary", "read_requirements", "read_industries", "requirement_problems",
           "COLUMNS", "DIMENSION_HEADERS"]

COLUMNS = ["level", "unit_code", "unit_name", "dimension", "text", "source"]
#: header words of each dimension (a header holding one of them is that dimension's column); the field names
#: some units' shapefiles carry count too
DIMENSION_HEADERS = {
    "spatial": ("空间布局约束", "空间布局", "KJBJYS"),
    "pollution": ("污染物排放管控", "污染物排放", "PWWPFGK"),
    "risk": ("环境风险防控", "环境风险", "HJFXFK"),
    "resource": ("资源开发效率要求", "资源利用效率要求", "资源开发利用效率", "资源开发效率", "资源利用效率",
                 "资源利用", "ZYKFXLYQ"),
}
_CODE = ("环境管控单元编码", "环境综合管控单元编码", "管控单元编码", "单元编码", "编码", "单元代码", "代码",
         "HJZHGKDYBM", "ZHGKDYBM", "unit_code", "code")
_NAME = ("环境管控单元名称", "环境综合管控单元名称", "管控单元名称", "单元名称", "名称", "HJZHGKDYMC", "unit_name",
         "name")
_LEVEL = ("层级", "管控层级", "清单层级", "级别", "level")
#: rows searched for the header (title rows above it)
HEADER_ROWS = 30
_SPACE = re.compile(r"\s+")
_SPLIT_WORDS = re.compile(r"[；;、,，/\s]+")
#: openpyxl's notes on what it does not read (extensions such as data validation, styles, drawings)
OPENPYXL_NOTES = ((None, UserWarning, r"openpyxl\."),)


def _norm(value) -> str:
    return _SPACE.sub("", "" if value is None else str(value))


def _cell(value) -> str:
    """A cell as text: numbers without a trailing .0, line ends as \\n, outer blanks stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _level_of(text: str) -> str | None:
    """The level a level cell or a general row's name says (省 → province, 区域 → region, 市 → city, 单元 → unit)."""
    t = _norm(text).lower()
    if not t:
        return None
    if t in LEVELS:
        return t
    if "省" in t:
        return "province"
    if any(w in t for w in ("区域", "流域", "片区", "板块")):
        return "region"
    if "市" in t:
        return "city"
    if any(w in t for w in ("单元", "县", "区")):
        return "unit"
    return None


def _is_code(text: str) -> bool:
    """Whether a code cell holds a code (letters or digits), not a level's name (辽宁省, 全市)."""
    return bool(re.search(r"[A-Za-z0-9]", text))


# --------------------------------------------------------------------------- reading the table


def _xlsx_sheets(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Every sheet of a workbook as rows of text, merged cells filled with their value."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    from ..sites.readers.vector import quiet_library_notes

    quiet_library_notes(OPENPYXL_NOTES)
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, EOFError) as exc:
        raise LayerSetError(f"cannot read the workbook ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})",
                            path=path, hint="check that it opens in Excel and is saved as .xlsx") from None
    out = []
    for ws in wb.worksheets:
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:  # a merged cell holds for every row and column it spans
            value = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(rows) else ""
            for r in range(rng.min_row - 1, min(rng.max_row, len(rows))):
                for c in range(rng.min_col - 1, min(rng.max_col, len(rows[r]))):
                    rows[r][c] = value
        out.append((ws.title, rows))
    wb.close()
    return out


def _csv_sheets(path: Path, encoding: str | None) -> list[tuple[str, list[list[str]]]]:
    """A CSV as one sheet of text rows (UTF-8 or GBK, detected unless ``encoding`` is given)."""
    from ..sites.readers.textio import detect_encoding

    try:
        enc = detect_encoding(path, encoding)
    except EcozoneError as exc:
        raise LayerSetError(exc.message, path=path, hint=exc.hint) from None
    with open(path, encoding=enc, newline="") as fh:
        text = fh.read()
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [("", [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text), dialect)])]


def _find_header(rows) -> int | None:
    """The index of the first row holding at least two dimension headers."""
    for i, row in enumerate(rows[:HEADER_ROWS]):
        if len({d for cell in row if (d := _dimension_of(cell))}) >= 2:
            return i
    return None


def _dimension_of(cell: str) -> str | None:
    t = _norm(cell)
    for dim, words in DIMENSION_HEADERS.items():
        if any(w.lower() in t.lower() for w in words):
            return dim
    return None


def _pick(header: list[str], names, part: str, taken: set) -> int | None:
    """The column whose header is one of ``names`` (the first listed wins), else the one whose header holds ``part``."""
    normed = [_norm(h).lower() for h in header]
    for name in names:
        if name.lower() in normed and normed.index(name.lower()) not in taken:
            return normed.index(name.lower())
    hits = [i for i, h in enumerate(normed) if part and part in h and i not in taken]
    preferred = [i for i in hits if "单元" in normed[i]]
    return (preferred or hits or [None])[0]


def _roles(header: list[str], code_column: str | None, where: dict) -> dict:
    """Role → column index: the four dimensions, ``code``, ``name`` and ``level`` (the last two optional)."""
    roles: dict = {}
    for i, cell in enumerate(header):
        dim = _dimension_of(cell)
        if dim is None:
            continue
        if dim in roles:
            raise LayerSetError(f"columns {header[roles[dim]]!r} and {cell!r} both hold {DIMENSIONS[dim]['zh']}",
                                **where, hint="keep one column per dimension")
        roles[dim] = i
    taken = set(roles.values())
    if code_column is not None:
        code = [_norm(h) for h in header].index(_norm(code_column)) if _norm(code_column) in map(_norm, header) else None
        if code is None:
            raise LayerSetError(f"no column {code_column!r} (columns: {', '.join(h for h in header if h)})", **where,
                                hint="give --code-column one of the headers shown")
    else:
        code = _pick(header, _CODE, "编码", taken)
    if code is None:
        raise LayerSetError(f"no unit-code column (columns: {', '.join(h for h in header if h)})", **where,
                            hint="give --code-column with the header of the codes (环境管控单元编码)")
    roles["code"] = code
    for role, names, part in (("name", _NAME, "名称"), ("level", _LEVEL, "层级")):
        i = _pick(header, names, part, taken | {code})
        if i is not None:
            roles[role] = i
            taken.add(i)
    return roles


@dataclass
class _Entry:
    """One (level, code) of the list as it is read: its name, its texts per dimension and the rows they came from."""

    level: str
    code: str
    name: str
    texts: dict = field(default_factory=dict)  # dimension -> [text, ...]
    rows: list = field(default_factory=list)


def _row_level(code: str, name: str, level_cell: str, sheet: str) -> str | None:
    """The level of a row; None for a row that is a unit row without a code."""
    if _is_code(code):
        return "unit"
    said = _level_of(level_cell)
    if said == "unit":
        return None
    return said or _level_of(code) or _level_of(name) or _level_of(sheet) or "city"


def _read_rows(entries: dict, rows, header_at: int, roles: dict, file: str, sheet: str, where: dict) -> None:
    """Add the rows below the header of one sheet to ``entries`` ((level, code) → _Entry)."""
    def get(row, role):
        i = roles.get(role)
        return row[i] if i is not None and i < len(row) else ""

    header = rows[header_at]
    dims = [d for d in DIMENSIONS if d in roles]
    for r in range(header_at + 1, len(rows)):
        row = rows[r]
        if not any(row) or [get(row, d) for d in dims] == [header[roles[d]] for d in dims]:
            continue  # a blank row, or the header repeated (a table printed over several pages)
        code, name = get(row, "code"), get(row, "name")
        texts = {d: get(row, d) for d in dims}
        level = _row_level(code, name, get(row, "level"), sheet)
        if level is None or (level == "unit" and not code):
            raise LayerSetError("a unit row without a unit code", **where, row=r + 1,
                                column=header[roles["code"]] or None,
                                hint="fill in the code (环境管控单元编码), or mark the row's level 省级/市级")
        key = (level, code if level == "unit" else "")
        entry = entries.get(key)
        gname = name or ("" if level == "unit" else code)
        if entry is None:
            entry = entries[key] = _Entry(level, key[1], gname)
        elif level == "unit" and name and entry.name and name != entry.name:
            raise LayerSetError(f"unit {code} is named {entry.name!r} in {entry.rows[0]} and {name!r} here", **where,
                                row=r + 1, column=header[roles["name"]],
                                hint="give each unit code one name (a code may not stand for two units)")
        entry.name = entry.name or gname
        entry.rows.append(f"{sheet}:{r + 1}" if sheet else str(r + 1))
        for d, text in texts.items():
            seen = entry.texts.setdefault(d, [])
            if text and text not in seen:  # a merged cell repeated on every row counts once
                seen.append(text)


def _source(file: str, rows: list) -> str:
    sheets = list(dict.fromkeys(r.rpartition(":")[0] for r in rows))
    if len(sheets) == 1 and sheets[0]:
        return f"{file}!{sheets[0]}:{','.join(r.rpartition(':')[2] for r in rows)}"
    return f"{file}:{','.join(rows)}" if not any(sheets) else f"{file}!{';'.join(rows)}"


def _table(path: Path, *, code_column=None, encoding=None) -> tuple[pd.DataFrame, list, dict]:
    """The list in ``path`` as a frame of :data:`COLUMNS`, the sheets read (name, header row) and the header mapping."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        sheets = _xlsx_sheets(path)
    elif suffix in (".csv", ".txt"):
        sheets = _csv_sheets(path, encoding)
    else:
        raise LayerSetError(f"a requirement list must be .xlsx or .csv, not {suffix or 'a file without extension'}",
                            path=path, hint="save the list from Excel or WPS as .xlsx (an .xls as .xlsx)")
    entries: dict = {}
    read, mapping = [], {}
    for sheet, rows in sheets:
        at = _find_header(rows)
        if at is None:
            continue
        where = {"path": f"{path}!{sheet}" if sheet else path}
        roles = _roles(rows[at], code_column, where)
        _read_rows(entries, rows, at, roles, path.name, sheet, where)
        read.append((sheet, at + 1))
        mapping.update({rows[at][i]: role for role, i in roles.items()})
    if not read:
        seen = [c for _, rows in sheets for row in rows[:HEADER_ROWS] for c in row if c][:12]
        raise LayerSetError(f"no header row with the dimensions of a requirement list (cells seen: "
                            f"{', '.join(dict.fromkeys(seen)) or 'none'})", path=path,
                            hint="the header needs at least two of 空间布局约束, 污染物排放管控, 环境风险防控, "
                                 "资源开发效率要求 (资源利用效率要求)")
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    out = [{"level": e.level, "unit_code": e.code, "unit_name": e.name, "dimension": d, "text": "\n".join(t),
            "source": _source(path.name, e.rows)}
           for e in sorted(entries.values(), key=lambda e: order[e.level])
           for d in DIMENSIONS if (t := e.texts.get(d))]
    units = [e.code for e in entries.values() if e.level == "unit"]
    frame = pd.DataFrame(out, columns=COLUMNS)
    frame.attrs["units"] = units
    return frame, read, mapping


# --------------------------------------------------------------------------- importing


@dataclass
class ImportSummary:
    """What :func:`import_requirements` read and wrote; :meth:`describe` gives the lines the command prints."""

    source: Path
    layer: str
    sheets: list  # (sheet name, header row number)
    mapping: dict  # header -> role (a dimension, code, name or level)
    counts: dict  # level -> rows of requirements.csv
    units: list  # unit codes listed
    written: list  # files written, relative to the layer set ([] for a dry run)
    dry_run: bool

    def describe(self) -> list[str]:
        """The summary as lines in Chinese and English."""
        where = "; ".join(f"{s or 'CSV'} 表头第 {n} 行 header row {n}" for s, n in self.sheets)
        roles = {**{d: f"{DIMENSIONS[d]['zh']} {d}" for d in DIMENSIONS},
                 "code": "单元编码 unit code", "name": "单元名称 unit name", "level": "层级 level"}
        lines = [f"准入清单 requirement list {self.source.name}（{where}）",
                 "  列 columns: " + "; ".join(f"{h or '?'} → {roles[r]}" for h, r in self.mapping.items())]
        counts = ", ".join(f"{LEVELS[lv]['zh']} {lv} {n}" for lv, n in self.counts.items() if n)
        lines.append(f"  条目 rows per level: {counts or '0'}")
        shown = ", ".join(self.units[:10]) + (" …" if len(self.units) > 10 else "")
        lines.append(f"  单元 {len(self.units)} 个 units (layer {self.layer}): {shown or '—'}")
        if self.dry_run:
            lines.append("  试运行，未写入 / dry run: nothing written")
        else:
            lines.append("  已写入 wrote: " + ", ".join(self.written))
        return lines


def import_requirements(layerset_dir, file, *, layer: str = "control_units", code_column: str | None = None,
                        encoding: str | None = None, dry_run: bool = False) -> ImportSummary:
    """Import a 准入清单 (XLSX or CSV) into the layer set at ``layerset_dir``.

    Writes ``requirements.csv`` (atomically), copies ``file`` into ``data/``,
    writes ``industries.csv`` from the template when the set has none, and sets
    the manifest's ``[requirements]`` table (comments kept); with ``dry_run``
    only reads and reports.

    Raises
    ------
    LayerSetError
        When the file cannot be read, has no header row with the dimensions,
        no code column, a unit row without a code or two names for one code
        (naming the file, sheet, row and column), or when ``layer`` is not a
        layer of the set.
    """
    root, file = Path(layerset_dir), Path(file)
    manifest = read_manifest(root)
    ids = [s.id for s in manifest["layers"]]
    if layer not in ids:
        raise LayerSetError(f"layer {layer!r} is not in the layer set (layers: {', '.join(ids)})", path=root,
                            hint=f"add the units first (ecozone add {root} UNITS.shp --layer {layer}) "
                                 "or give --layer")
    if not file.is_file():
        raise LayerSetError("requirement list not found", path=file, hint="give the path of the .xlsx or .csv")
    frame, sheets, mapping = _table(file, code_column=code_column, encoding=encoding)
    old = manifest.get("requirements") or {}
    target = old.get("file", "requirements.csv")
    industries = old.get("industries", "industries.csv")
    counts = {lv: int((frame["level"] == lv).sum()) for lv in LEVELS}
    summary = ImportSummary(file, layer, sheets, mapping, counts, frame.attrs["units"], [], dry_run)
    if dry_run:
        return summary
    data = root / "data"
    copy = data / file.name
    if not (copy.exists() and copy.resolve() == file.resolve()):
        with atomic_path(copy) as tmp:
            shutil.copyfile(file, tmp)
        summary.written.append(f"data/{file.name}")
    if not (root / industries).exists():
        with atomic_path(root / industries) as tmp:
            tmp.write_bytes(resources.files("geo.layerset").joinpath("template/industries.csv").read_bytes())
        summary.written.append(industries)
    with atomic_path(root / target) as tmp:
        safe = frame.map(spreadsheet_text)
        safe.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    summary.written.append(target)
    _set_manifest(root, {"file": target, "layer": layer, "source": f"data/{file.name}", "industries": industries}, ids)
    summary.written.append("manifest.toml [requirements]")
    log.info("requirement list %s: %d rows, %d units", file.name, len(frame), len(summary.units))
    return summary


def _set_manifest(root: Path, values: dict, layer_ids: list) -> None:
    """Set the manifest's ``[requirements]`` table with tomlkit (comments and layout kept), atomically."""
    import tomlkit

    path = root / "manifest.toml"
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    table = doc.get("requirements")
    if table is None:
        table = tomlkit.table()
        table.comment("生态环境准入清单 requirement list (ecozone add DIR LIST.xlsx --requirements)")
        doc.append("requirements", table)
    for key, value in values.items():
        table[key] = value
    text = tomlkit.dumps(doc)
    requirements_config(tomllib.loads(text), path, layer_ids=layer_ids)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- reading back and checking


def _unguard(text: str) -> str:
    return text[1:] if text.startswith(FORMULA_GUARD) else text


def read_requirements(ls) -> pd.DataFrame | None:
    """The layer set's requirement list (:data:`COLUMNS`, text), or None when it has none.

    Raises
    ------
    LayerSetError
        When the file the manifest names is missing or holds an unknown level or
        dimension, or a unit row without a code (naming the row).
    """
    config = requirements_config(ls.manifest)
    if config is None:
        return None
    path = Path(ls.root) / config["file"]
    if not path.is_file():
        raise LayerSetError("the requirement list the manifest names is missing", path=path,
                            hint="import it again: ecozone add DIR LIST.xlsx --requirements")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise LayerSetError(f"columns {missing} missing", path=path,
                            hint="import the list again: ecozone add DIR LIST.xlsx --requirements")
    frame = frame[COLUMNS].map(_unguard)
    for col, known in (("level", LEVELS), ("dimension", DIMENSIONS)):
        bad = ~frame[col].isin(list(known))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise LayerSetError(f"{col} {frame[col].iloc[i]!r} unknown", path=path, row=i + 2, column=col,
                                hint=f"use one of {', '.join(known)}")
    blank = (frame["level"] == "unit") & (frame["unit_code"] == "")
    if blank.any():
        raise LayerSetError("a unit row without a unit code", path=path, row=int(blank.to_numpy().nonzero()[0][0]) + 2,
                            column="unit_code", hint="give the code, or level province/region/city")
    return frame


def read_industries(ls) -> dict:
    """Project type → industry keywords: the layer set's ``industries.csv``, else ecozone's template."""
    config = requirements_config(ls.manifest) or {}
    name = config.get("industries")
    path = Path(ls.root) / name if name else None
    if path is not None and not path.is_file():
        raise LayerSetError("the industry keyword table the manifest names is missing", path=path,
                            hint="copy geo/layerset/template/industries.csv there, or remove industries from "
                                 "[requirements]")
    if path is None:
        text = resources.files("geo.layerset").joinpath("template/industries.csv").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8-sig")
    out: dict = {}
    for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        code = resolve_type(row.get("type"))
        if code is None or row.get("keywords") is None:
            raise LayerSetError(f"type {row.get('type')!r} is not a project type (or keywords missing)",
                                path=path or "industries.csv", row=i, column="type",
                                hint=f"use {', '.join(project_types())} with a keywords column")
        out.setdefault(code, [])
        out[code] += [w for w in _SPLIT_WORDS.split(row["keywords"]) if w and w not in out[code]]
    return out


def _preview(codes) -> str:
    codes = sorted(codes)
    return ", ".join(codes[:10]) + (f" … ({len(codes)})" if len(codes) > 10 else "")


def requirement_problems(ls) -> list[tuple[str, str]]:
    """What validate reports of the requirement list: (severity, message), severity ``warning`` or ``ok``.

    Units of the list's layer without a requirement row, and requirement rows
    whose code matches no unit (up to ten codes named). Nothing when the layer
    set has no list.
    """
    reqs = read_requirements(ls)
    if reqs is None:
        return []
    layer = requirements_config(ls.manifest)["layer"]
    zones = ls.layer(layer)
    codes = set(zones["zone_code"].astype(str).str.strip()) - {""} if "zone_code" in zones else set()
    listed = set(reqs.loc[reqs["level"] == "unit", "unit_code"])
    if not codes:
        return [("warning", f"{layer} 的单元没有编码，准入清单无法对应 / the zones of {layer} have no unit codes "
                            "(zone_code), so no requirement row can be matched: add the units with --code-field")]
    out = []
    if codes - listed:
        out.append(("warning", f"准入清单中没有 {len(codes - listed)} 个单元 / {len(codes - listed)} unit(s) of {layer} "
                               f"have no requirement row: {_preview(codes - listed)}"))
    if listed - codes:
        out.append(("warning", f"准入清单有 {len(listed - codes)} 个编码不对应任何单元 / {len(listed - codes)} "
                               f"requirement code(s) match no unit of {layer}: {_preview(listed - codes)}"))
    if not out:
        general = sorted(set(reqs.loc[reqs["level"] != "unit", "level"]), key=list(LEVELS).index)
        out.append(("ok", f"准入清单覆盖全部 {len(codes)} 个单元 / the requirement list covers all {len(codes)} units "
                          f"of {layer}" + (f" (general levels: {', '.join(general)})" if general else "")))
    return out
