"""What a check of the web app leaves in its folder, and what the page reads of it.

A small check (:mod:`geo.app.quick`) leaves only what the page reads:
``page_sites.json`` (the drawing, :mod:`geo.app.view`) and the panels' tables
(``sites``/``findings``/``requirements.parquet``). Its downloads
``results.gpkg``, ``detail.csv`` and, when the layer set has a requirement
list, ``compliance.xlsx`` are written by :func:`~geo.check.pipeline.run_check`
the first time one is asked for (:func:`ensure_outputs`). A large check runs
``run_check`` at once, and :func:`derive_outputs` draws from its results.gpkg.
``results.csv``, ``results.xlsx`` and ``results.geojson`` (through
:mod:`geo.results`' writers) are written from results.gpkg when first
downloaded (:func:`derived_download`). The report is made when first asked for
(:func:`make_report`), since its per-site figures take far longer than the check.
"""
from __future__ import annotations

import json
import threading
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyogrio

from ..errors import AppError

__all__ = ["derive_outputs", "derived_download", "DERIVED", "check_params", "site_findings", "verdict_changes",
           "make_report", "DOWNLOADS", "output_files", "ensure_outputs", "downloads_of"]

#: download name -> file in the check's folder
DOWNLOADS = {"results.csv": "results.csv", "results.xlsx": "results.xlsx", "results.gpkg": "results.gpkg",
             "results.geojson": "results.geojson", "detail.csv": "detail.csv", "compliance.xlsx": "compliance.xlsx",
             "report.html": "report.html", "report.docx": "report.docx", "report.pdf": "report.pdf"}
#: downloads written from results.gpkg when first asked for (the check itself writes only what the page needs)
DERIVED = ("results.csv", "results.geojson", "results.xlsx")
_report_lock = threading.Lock()
_folder_locks: dict = defaultdict(threading.Lock)
_locks_lock = threading.Lock()


def check_params(folder: Path, spec: dict, ls, **outputs):
    """The :class:`~geo.check.pipeline.CheckParams` of the check ``spec`` describes (as stored in meta.json)."""
    from ..check.pipeline import CheckParams

    sites = str(folder / spec["sites"]) if spec.get("sites") else None
    return CheckParams(sites=sites, wkts=tuple(spec.get("wkts") or ()), layers_dir=str(ls.root),
                       project_type=spec.get("project_type"), crs=spec.get("crs"), coord_sys=spec.get("coord_sys"),
                       layer=spec.get("layer"), encoding=spec.get("encoding"),
                       **{k: str(v) if isinstance(v, Path) else v for k, v in outputs.items()})


def output_files(folder: Path, ls) -> dict:
    """The outputs ``run_check`` writes for a check of the app: out, detail and (with a requirement list) compliance."""
    from ..layerset.requirements import read_requirements

    outputs = {"out": folder / "results.gpkg", "detail": folder / "detail.csv"}
    if read_requirements(ls) is not None:
        outputs["compliance"] = folder / "compliance.xlsx"
    return outputs


def _folder_lock(folder: Path) -> threading.Lock:
    with _locks_lock:
        return _folder_locks[str(folder)]


def _same_layerset(meta: dict, ls) -> None:
    """Refuse when the layer set is gone or changed since the check (its outputs must match its verdicts)."""
    if ls is None or ls.meta.get("content_hash") != meta.get("content_hash"):
        name = meta.get("layerset")
        raise AppError(f"图层集 {name} 已更新，下载须基于新结论 / layer set {name} changed since this check",
                       path=meta.get("input_name"), hint="re-run the check (History), then download its files")


def ensure_outputs(folder: Path, meta: dict, ls) -> None:
    """Write a small check's downloads with ``run_check`` (the command's own code) if they are not there yet."""
    from ..check.pipeline import run_check

    if not meta.get("deferred") or (folder / "results.gpkg").exists():
        return
    with _folder_lock(folder):
        if (folder / "results.gpkg").exists():
            return
        _same_layerset(meta, ls)
        run_check(ls, check_params(folder, meta["check"], ls, **output_files(folder, ls)))


def downloads_of(folder: Path, meta: dict) -> list[str]:
    """The downloads a finished check offers."""
    deferred = set(meta.get("deferred") or ())
    return [n for n, f in DOWNLOADS.items()
            if (folder / f).exists() or f in deferred or n.startswith("report.") or n in DERIVED]


def derived_download(folder: Path, name: str, ls) -> Path:
    """``results.csv``/``.geojson``/``.xlsx`` of a check, written from results.gpkg the first time."""
    from ..results import write_results

    target = folder / name
    with _report_lock:
        if not target.exists():
            sites = pyogrio.read_dataframe(folder / "results.gpkg", layer="sites")
            if name == "results.xlsx":
                _write_xlsx(sites, target)
            else:
                write_results(SimpleNamespace(sites=sites, detail=None, layerset=ls), target)
    return target


def derive_outputs(folder: Path) -> None:
    """Write page_sites.json (the sites the page draws, the most severe first) from results.gpkg."""
    from .view import PAGE_COLUMNS, write_view

    write_view(folder, pyogrio.read_dataframe(folder / "results.gpkg", layer="sites", columns=PAGE_COLUMNS,
                                              use_arrow=True))


def _write_xlsx(sites, path: Path) -> None:
    """The sites as a spreadsheet (lon/lat of a representative point; text cells that could be formulas guarded)."""
    import shapely

    from ..atomic import atomic_path
    from ..text import spreadsheet_text

    rep = shapely.point_on_surface(sites.to_crs(4326).geometry.values)
    table = pd.DataFrame(sites.drop(columns="geometry"))
    for col in table.columns:
        if table[col].dtype == object or str(table[col].dtype) in ("str", "string"):
            table[col] = [spreadsheet_text(v) if isinstance(v, str) else v for v in table[col]]
    table["lon"], table["lat"] = np.round(shapely.get_x(rep), 7), np.round(shapely.get_y(rep), 7)
    with atomic_path(path) as tmp:
        table.to_excel(tmp, index=False, engine="openpyxl", sheet_name="results")


@lru_cache(maxsize=16)
def _table(path: str, stamp: float, layer: str | None):
    """A check's table by site id: a Parquet file, a layer of results.gpkg, or the compliance workbook."""
    if path.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif path.endswith(".gpkg"):
        frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    else:
        frame = pd.read_excel(path, dtype=str).fillna("")
    key = next((c for c in frame.columns if c in ("site_id", "项目编号", "Site ID")), None)
    return {} if key is None else {k: g for k, g in frame.groupby(frame[key].astype(str), sort=False)}


def _rows(folder: Path, name: str, site_id: str):
    """The rows of one site in the check's ``name`` table (sites, findings, requirements), or None."""
    files = {"sites": ("sites.parquet", "results.gpkg"), "findings": ("findings.parquet", "results.gpkg"),
             "requirements": ("requirements.parquet", "compliance.xlsx")}[name]
    path = next((folder / f for f in files if (folder / f).exists()), None)
    if path is None:
        return None
    return _table(str(path), path.stat().st_mtime, name if path.suffix == ".gpkg" else None).get(site_id)


def _records(rows) -> list[dict]:
    return [] if rows is None else json.loads(rows.to_json(orient="records", force_ascii=False))


def site_findings(folder: Path, site_id: str) -> dict:
    """A site's reasons and citations, its findings (one per zone met) and, with a requirement list, its units."""
    site = _records(_rows(folder, "sites", site_id))
    keep = ("reasons_zh", "reasons_en", "citations")
    return {"site_id": site_id, "site": {k: v for k, v in (site[0] if site else {}).items() if k in keep},
            "findings": _records(_rows(folder, "findings", site_id)),
            "requirements": [{k: ("" if v is None else str(v)) for k, v in r.items()}
                             for r in _records(_rows(folder, "requirements", site_id))]}


def _verdicts(folder: Path) -> pd.DataFrame:
    cols = ["site_id", "name", "verdict"]
    if (folder / "sites.parquet").exists():
        return pd.read_parquet(folder / "sites.parquet", columns=cols)
    return pyogrio.read_dataframe(folder / "results.gpkg", layer="sites", columns=cols, read_geometry=False)


def verdict_changes(old: Path, new: Path) -> list[dict]:
    """Sites whose verdict differs between two checks of the same input (site id, name, old and new verdict)."""
    a, b = _verdicts(old), _verdicts(new)
    both = a.merge(b, on="site_id", how="outer", suffixes=("_old", "_new"))
    changed = both[both["verdict_old"].astype(str) != both["verdict_new"].astype(str)]
    return [{"site_id": r.site_id, "name": r.name_new if isinstance(r.name_new, str) else r.name_old,
             "old": r.verdict_old if isinstance(r.verdict_old, str) else None,
             "new": r.verdict_new if isinstance(r.verdict_new, str) else None} for r in changed.itertuples()]


def make_report(folder: Path, meta: dict, ls, name: str) -> Path:
    """The check's report ``name`` (report.html/.docx/.pdf), made by checking the input again the first time."""
    from ..check.pipeline import run_check

    target = folder / name
    if target.exists():
        return target
    _same_layerset(meta, ls)
    with _report_lock:  # one report at a time: its figures are the heaviest work of the app
        if not target.exists():
            scratch = folder / ".report"
            scratch.mkdir(exist_ok=True)
            try:
                run_check(ls, check_params(folder, meta["check"], ls, out=scratch / "results.gpkg", report=target,
                                           overwrite=True))
            finally:
                for f in scratch.iterdir():
                    f.unlink()
                scratch.rmdir()
    return target
