"""What a check of the web app leaves in its folder, and what the page reads of it.

The check writes ``results.gpkg`` (sites and findings), ``detail.csv`` and, when
the layer set has a requirement list, ``compliance.xlsx``; :func:`derive_outputs`
then writes ``page_sites.json``, the sites the page draws. ``results.csv``,
``results.xlsx`` and ``results.geojson`` (through :mod:`geo.results`' writers)
are written when first downloaded (:func:`derived_download`). The report is made when first asked for
(:func:`make_report`), since its per-site figures take far longer than the check.
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyogrio

from ..errors import AppError

__all__ = ["derive_outputs", "derived_download", "DERIVED", "check_params", "site_findings", "verdict_changes",
           "make_report", "DOWNLOADS", "MAP_SITES"]

#: download name -> file in the check's folder
DOWNLOADS = {"results.csv": "results.csv", "results.xlsx": "results.xlsx", "results.gpkg": "results.gpkg",
             "results.geojson": "results.geojson", "detail.csv": "detail.csv", "compliance.xlsx": "compliance.xlsx",
             "report.html": "report.html", "report.docx": "report.docx", "report.pdf": "report.pdf"}
#: the page draws at most this many sites (the most severe first); the downloads hold every site
MAP_SITES = 20_000
_PAGE_COLUMNS = ["site_id", "name", "project_type", "kind", "verdict", "reasons_zh", "reasons_en", "citations", "n_hits"]
_report_lock = threading.Lock()


def check_params(folder: Path, spec: dict, ls, **outputs):
    """The :class:`~geo.check.pipeline.CheckParams` of the check ``spec`` describes (as stored in meta.json)."""
    from ..check.pipeline import CheckParams

    sites = str(folder / spec["sites"]) if spec.get("sites") else None
    return CheckParams(sites=sites, wkts=tuple(spec.get("wkts") or ()), layers_dir=str(ls.root),
                       project_type=spec.get("project_type"), crs=spec.get("crs"), coord_sys=spec.get("coord_sys"),
                       layer=spec.get("layer"), encoding=spec.get("encoding"),
                       **{k: str(v) if isinstance(v, Path) else v for k, v in outputs.items()})


#: downloads written from results.gpkg when first asked for (the check itself writes only what the page needs)
DERIVED = ("results.csv", "results.geojson", "results.xlsx")


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


def derive_outputs(folder: Path, ls) -> None:
    """Write page_sites.json (the sites the page draws, the most severe first) from results.gpkg."""
    import shapely

    from ..atomic import atomic_path
    from ..text import VERDICT_ORDER

    sites = pyogrio.read_dataframe(folder / "results.gpkg", layer="sites")
    rank = {v: i for i, v in enumerate(VERDICT_ORDER + ["unknown"])}
    order = np.argsort(sites["verdict"].map(rank).fillna(len(rank)).to_numpy(), kind="stable")[:MAP_SITES]
    shown = sites.iloc[order].to_crs(4326)
    shown = shown[[c for c in _PAGE_COLUMNS if c in shown.columns] + ["geometry"]]
    shown["geometry"] = shapely.set_precision(shown.geometry.values, 1e-7)
    doc = json.loads(shown.to_json(drop_id=True, na="null"))
    doc.update(n_sites=len(sites), shown=len(shown))
    with atomic_path(folder / "page_sites.json") as tmp:
        tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _write_xlsx(sites, path: Path) -> None:
    """The sites as a spreadsheet (lon/lat of a representative point; text cells that could be formulas guarded)."""
    import pandas as pd
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


@lru_cache(maxsize=4)
def _findings(path: str, stamp: float):
    frame = pyogrio.read_dataframe(path, layer="findings", read_geometry=False)
    return {k: g for k, g in frame.groupby("site_id", sort=False)}


@lru_cache(maxsize=4)
def _compliance(path: str, stamp: float):
    import pandas as pd

    frame = pd.read_excel(path, dtype=str).fillna("")
    key = next((c for c in frame.columns if c in ("项目编号", "Site ID", "site_id")), None)
    return {} if key is None else {k: g for k, g in frame.groupby(key, sort=False)}


def site_findings(folder: Path, site_id: str) -> dict:
    """A site's findings (one per zone met) and, where the layer set has a requirement list, its unit requirements."""
    gpkg = folder / "results.gpkg"
    rows = _findings(str(gpkg), gpkg.stat().st_mtime).get(site_id)
    findings = [] if rows is None else json.loads(rows.to_json(orient="records", force_ascii=False))
    table = folder / "compliance.xlsx"
    units = []
    if table.exists():
        got = _compliance(str(table), table.stat().st_mtime).get(site_id)
        units = [] if got is None else got.to_dict("records")
    return {"site_id": site_id, "findings": findings, "requirements": units}


def verdict_changes(old: Path, new: Path) -> list[dict]:
    """Sites whose verdict differs between two checks of the same input (site id, name, old and new verdict)."""
    cols = ["site_id", "name", "verdict"]
    a = pyogrio.read_dataframe(old / "results.gpkg", layer="sites", columns=cols, read_geometry=False)
    b = pyogrio.read_dataframe(new / "results.gpkg", layer="sites", columns=cols, read_geometry=False)
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
    if ls.meta.get("content_hash") != meta.get("content_hash"):
        raise AppError(f"图层集 {ls.name} 已更新，报告须基于新结论 / layer set {ls.name} changed since this check",
                       path=meta.get("input_name"), hint="re-run the check (History), then download its report")
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
