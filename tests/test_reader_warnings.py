"""Warnings of the site readers when checks run at once (the web app checks on threads): each check keeps its own.

Python 3.11's ``warnings.catch_warnings`` swaps the process's filters and
``showwarning`` for every thread. A reader that wrapped its library call in one
lost, or took, the warnings another check raised meanwhile (a parcel partly
outside the coverage lost its warning). The readers now leave that state alone;
the libraries' own notes stay quiet through narrow filters (tests run with
``filterwarnings = error``, so a note that escaped would fail here).

Threads switch only when one waits (a long switch interval): pandas and shapely
also use ``catch_warnings`` for a moment inside their calls, and a switch in
the middle of one would lose a warning too; that is theirs, not the readers'.
"""
from __future__ import annotations

import sys
import threading
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from conftest import X0, Y0
from geo import __version__
from geo.app.jobs import Job
from geo.check.engine import check_sites
from geo.cli.check import command
from geo.errors import SiteInputError, SiteInputWarning
from geo.layerset.requirements import _xlsx_sheets
from geo.service import CheckService
from geo.sites.read import read_sites
from geo.sites.readers.dxf import read_dxf
from geo.sites.readers.table import read_table
from geo.sites.readers.vector import read_vector

DATA = Path(__file__).parent / "data"
ROUNDS = 30


def workbook_with_extension(path: Path) -> Path:
    """A requirement list whose sheet has an Excel extension openpyxl does not read (and notes so)."""
    wb = openpyxl.Workbook()
    wb.active.append(["环境管控单元编码", "空间布局约束"])
    wb.active.append(["ZH21021320001", "禁止新建化工项目"])
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"</worksheet>", b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"/>'
                                                         b"</extLst></worksheet>")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def files(tmp_path):
    """A parcel half outside the tiny layer set's coverage; a GeoJSON ring not closed (GDAL notes it); a workbook."""
    straddling = tmp_path / "straddling.geojson"
    parcel = box(X0 - 500, Y0 + 4_000, X0 + 500, Y0 + 5_000)  # across the west edge of the study area
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["跨界地块"]}, geometry=[parcel], crs=4550).to_crs(4326),
                            straddling)
    unclosed = tmp_path / "unclosed.geojson"
    unclosed.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": '
                        '{"type": "Polygon", "coordinates": [[[121.6, 39.1], [121.7, 39.1], [121.7, 39.2]]]}}]}',
                        encoding="utf-8")
    return {"straddling": straddling, "unclosed": unclosed, "workbook": workbook_with_extension(tmp_path / "list.xlsx")}


@pytest.fixture
def switch_on_waits():
    before = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    yield
    sys.setswitchinterval(before)


def warned(tiny, files):
    """A check that warns twice: a shapefile without .cpg (read as GBK), a parcel partly outside the coverage."""
    read_sites(DATA / "bad" / "gbk_no_cpg.shp")
    check_sites(read_sites(files["straddling"]), tiny)


def quiet(files):
    """What the readers do around their libraries, warning nothing: GeoJSON (and one refused, GDAL noting it), a
    workbook (pyogrio), a DXF drawing (ezdxf), a requirement list with an Excel extension (openpyxl noting it)."""
    read_vector(DATA / "sites" / "clean_wgs84.geojson")
    with pytest.raises(SiteInputError, match="cannot read"):
        read_vector(files["unclosed"])
    read_table(DATA / "sites" / "points_dm.xlsx")
    read_dxf(DATA / "sites" / "drawing_cm123.dxf", crs="EPSG:4550")
    assert _xlsx_sheets(files["workbook"])[0][1][1] == ["ZH21021320001", "禁止新建化工项目"]


def in_job(job: Job, fn, *args) -> list:
    """``fn(*args)`` as a job of the web app runs it (its thread's warnings kept with it); those warnings."""
    job.warnings = []
    job.step(fn, *args)
    assert "error" not in job.meta, job.meta
    return job.warnings


def test_two_checks_reading_at_once_each_keep_their_own_warnings(tiny, files, switch_on_waits):
    alone_warned = in_job(Job("a", "1", None), warned, tiny, files)
    alone_quiet = in_job(Job("b", "1", None), quiet, files)
    assert len(alone_warned) == 2 and "no .cpg" in alone_warned[0] and "outside the coverage" in alone_warned[1]
    assert alone_quiet == []

    start = threading.Barrier(2)
    seen: dict = {"warned": [], "quiet": []}

    def run(name, fn, *args):
        job = Job(name, "2", None)
        for _ in range(ROUNDS):
            start.wait(timeout=60)
            seen[name].append(in_job(job, fn, *args))

    threads = [threading.Thread(target=run, args=("warned", warned, tiny, files)),
               threading.Thread(target=run, args=("quiet", quiet, files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(seen["warned"]) == len(seen["quiet"]) == ROUNDS
    wrong = [(k, w, q) for k, (w, q) in enumerate(zip(seen["warned"], seen["quiet"])) if w != alone_warned or q]
    assert not wrong, f"{len(wrong)} of {ROUNDS} rounds: {wrong[:3]}"


def test_a_service_check_gets_only_its_own_warnings(tiny, files, tmp_path, switch_on_waits):
    """``ecozone serve`` collects a check's warnings: not those another thread of the process raises meanwhile."""
    service = CheckService(tiny.root)
    done = threading.Event()
    other: list = []

    def reader():
        job = Job("other", "1", None)
        while not done.is_set():
            other.append(in_job(job, read_vector, DATA / "bad" / "gbk_no_cpg.shp"))

    answers = []
    t = threading.Thread(target=reader)
    t.start()
    try:
        for k in range(5):
            params = command.make_context("check", [str(files["straddling"]), "--layers", str(tiny.root),
                                                    "-o", str(tmp_path / f"r{k}.csv")]).params
            params.pop("service")
            request = {"version": __version__, "cwd": str(tmp_path), "quiet": False, "verbose": 0,
                       "params": {**params, "points": list(params["points"]), "wkts": list(params["wkts"])}}
            answers.append(service.check(request))
    finally:
        done.set()
        t.join(timeout=60)
    for answer in answers:
        assert answer["code"] == 0, answer
        warned = [line for line in answer["lines"] if "warning" in line]
        assert len(warned) == 1 and "outside the coverage" in warned[0], answer["lines"]  # every time, only its own
    own = {tuple(w) for w in other} - {()}  # (one may lose its own while the check is in shapely.is_valid)
    assert len(other) > 5 and len(own) == 1 and "no .cpg" in next(iter(own))[0], other  # never another's


def test_library_notes_stay_quiet_but_ecozone_warnings_do_not(files):
    with pytest.warns(RuntimeWarning, match="Non closed ring"), pytest.raises(shapely.errors.GEOSException):
        pyogrio.read_dataframe(files["unclosed"])  # (GDAL does note it, every time)
    with pytest.warns(UserWarning, match="extension is not supported"):  # (and openpyxl)
        openpyxl.load_workbook(files["workbook"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SiteInputError, match="cannot read"):  # (not the RuntimeWarning made an error)
            read_sites(files["unclosed"])
        assert _xlsx_sheets(files["workbook"])[0][1][0] == ["环境管控单元编码", "空间布局约束"]
        with pytest.raises(SiteInputWarning, match="no .cpg"):
            read_sites(DATA / "bad" / "gbk_no_cpg.shp")
