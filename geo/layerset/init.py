"""Creating a layer-set folder: manifest, ``data/``, a rule table from national law, industries and a README.

:func:`init_layerset` writes a folder that builds and validates at once when a
boundary is given (it becomes the ``study_area`` layer); without one the
manifest has no layers yet and the build says to add the boundary. The rule
table starts from the rows of ``geo/layerset/template/rules.csv`` of the layers
present (rows resting on national law, docs/legal-basis.md §10); ``ecozone add``
appends a layer's rows when it adds the layer.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import string
from importlib import resources
from pathlib import Path

import pyproj
import tomlkit

from ..crs import gk3_zone, gk_epsg
from ..errors import LayerSetError
from .add import apply_add, plan_file, read_source

__all__ = ["init_layerset", "auto_measure_crs", "STATUSES"]

STATUSES = ("official", "illustrative")
_TEMPLATE = "template"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


def _template(name: str):
    return resources.files("geo.layerset").joinpath(f"{_TEMPLATE}/{name}")


def auto_measure_crs(boundary, *, encoding=None, crs=None, source_layer=None) -> str:
    """The CGCS2000 3-degree Gauss-Krüger zone (EPSG 4534–4554, no zone prefix) of a boundary file's centroid
    (``source_layer``: the layer of a file of several)."""
    gdf = read_source(boundary, encoding=encoding, crs=crs, layer=source_layer)[0]
    lon = float(gdf.to_crs(4490).union_all().representative_point().x)
    return f"EPSG:{gk_epsg(gk3_zone(lon))}"


def _check(root: Path, name: str, measure_crs, boundary, status: str) -> None:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise LayerSetError("folder exists and is not empty", path=root,
                            hint="给出新的或空的目录 / give a new or empty folder (nothing was written)")
    if not _NAME.fullmatch(name):
        raise LayerSetError(f"--name {name!r} is not an ASCII id", path=root,
                            hint="用字母、数字、_ 和 - / use letters, digits, _ and -, e.g. jinzhou")
    if status not in STATUSES:
        raise LayerSetError(f"status {status!r} unknown", path=root, hint=f"use one of {', '.join(STATUSES)}")
    if boundary is None and measure_crs in (None, "auto"):
        raise LayerSetError("--measure-crs auto needs --boundary", path=root,
                            hint="给出 --boundary 行政区.shp 或 --measure-crs EPSG:45xx / give --boundary FILE, or "
                                 "--measure-crs with the district's CGCS2000 GK zone (e.g. EPSG:4550)")
    if boundary is not None and not Path(boundary).is_file():
        raise LayerSetError("boundary file not found", path=boundary)


def _measure(measure_crs) -> str:
    text = str(measure_crs)
    code = f"EPSG:{text}" if text.isdigit() else text
    try:
        crs = pyproj.CRS.from_user_input(code)
    except pyproj.exceptions.CRSError:
        raise LayerSetError(f"--measure-crs {measure_crs!r} is not a CRS", hint="give an EPSG code, e.g. 4550") from None
    if not crs.is_projected:
        raise LayerSetError(f"--measure-crs {measure_crs} is not projected",
                            hint="areas need a projected CRS such as a CGCS2000 GK zone (EPSG:4534–4554)")
    return code


def _manifest(name, title_zh, title_en, measure, status, sea_m) -> str:
    doc = tomlkit.parse(_template("manifest.toml").read_text(encoding="utf-8"))
    info = doc["layerset"]
    info["name"], info["title_zh"], info["title_en"] = name, title_zh, title_en
    info["measure_crs"], info["status"] = measure, status
    info["date"] = dt.date.today().isoformat()
    if status == "illustrative":
        info["notice_zh"] = "示意数据：仅用于演示，不是法定边界。"
        info["notice_en"] = "Illustrative data: for demonstration only, not legal boundaries."
    doc["coverage"]["sea_m"] = int(sea_m) if float(sea_m).is_integer() else sea_m
    return tomlkit.dumps(doc)


def _readme(root: Path, title_zh, title_en, status) -> str:
    text = _template("README.md").read_text(encoding="utf-8")
    return string.Template(text).safe_substitute(title_zh=title_zh, title_en=title_en, status=status,
                                                 date=dt.date.today().isoformat(), dir=root.name)


def _rules_header() -> str:
    return _template("rules.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"


def init_layerset(root, *, name=None, title_zh=None, title_en=None, boundary=None, measure_crs="auto",
                  encoding=None, crs=None, sea_m: float = 0, status: str = "official", source_layer=None) -> list:
    """Create the layer-set folder ``root``; return the lines saying what was written.

    ``source_layer``: the boundary's layer when its file holds several (a GeoPackage).

    Raises
    ------
    LayerSetError
        ``root`` exists and is not empty, the name is not an ASCII id, the boundary cannot be read, or no
        measurement CRS can be told. Nothing is left behind on failure.
    """
    root = Path(root)
    name = name or root.name
    _check(root, name, measure_crs, boundary, status)
    industries = _template("industries.csv")
    if not industries.is_file():
        raise LayerSetError("geo/layerset/template/industries.csv is missing from this installation",
                            hint="reinstall ecozone")
    measure = auto_measure_crs(boundary, encoding=encoding, crs=crs, source_layer=source_layer) \
        if measure_crs in (None, "auto") else _measure(measure_crs)
    plan = plan_file(root, boundary, layer="study_area", encoding=encoding, crs=crs,
                     source_layer=source_layer) if boundary else None
    created = not root.exists()
    try:
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "manifest.toml").write_text(_manifest(name, title_zh or name, title_en or name, measure, status,
                                                      sea_m), encoding="utf-8")
        (root / "rules.csv").write_text(_rules_header(), encoding="utf-8")
        (root / "industries.csv").write_bytes(industries.read_bytes())
        (root / "README.md").write_text(_readme(root, title_zh or name, title_en or name, status), encoding="utf-8")
        lines = [f"已创建 / created {root} (measure_crs {measure}, status {status})"]
        if plan is not None:
            lines += apply_add(plan)
        else:
            lines.append(f"下一步 / next: ecozone add {root} 行政区.shp --layer study_area")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True) if created else _empty(root)
        raise
    return lines


def _empty(root: Path) -> None:
    for p in root.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
