"""Result files: CSV cells that cannot become formulas, and a full disk as one line with nothing left behind.

The full disk is real, not mocked: the commands run in a subprocess whose files may not
grow past a few bytes (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored), so the system refuses
writes with ``EFBIG`` exactly where a full disk refuses them with ``ENOSPC``.
"""
from __future__ import annotations

import csv
import json
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from geo.check.engine import check_sites
from geo.export import FORMATS
from geo.layerset.read import read_layerset
from geo.results import FORMULA_CHARS, ResultWriter, spreadsheet_safe, write_results
from geo.sites.read import normalize_sites, read_sites

from conftest import X0, Y0, make_tiny_layerset

ROOT = Path(__file__).resolve().parent.parent
DEMO = "layers/jinpu/demo_sites.csv"
ECOZONE = [sys.executable, "-c", "from geo.cli.main import cli; cli()"]

FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"]


# --------------------------------------------------------------------------- CSV: no formulas

@pytest.fixture(scope="module")
def formula_set(tmp_path_factory):
    """The tiny layer set with rule texts that a spreadsheet would run."""
    root = make_tiny_layerset(tmp_path_factory.mktemp("formulas"))
    rules = (root / "rules.csv").read_text(encoding="utf-8")
    rules = rules.replace("禁止建设,no construction,测试条款一", '=1+2 禁止建设,-no construction,"@SUM(A1) 测试条款一"')
    rules = rules.replace("须审批,needs approval", "+须审批,=cmd|' /C calc'!A0")
    (root / "rules.csv").write_text(rules, encoding="utf-8")
    return read_layerset(root)


@pytest.fixture(scope="module")
def formula_result(formula_set):
    """Six sites in zones A and B named like formulas (the names set after reading, so nothing cleans them)."""
    pts = [shapely.Point(X0 + 1_500 + 300 * i, Y0 + 2_000) for i in range(3)]
    pts += [shapely.Point(X0 + 3_500 + 300 * i, Y0 + 2_000) for i in range(3)]
    raw = pd.DataFrame({"id": [f"S{i}" for i in range(6)], "name": "x", "type": "T03"})
    sites = normalize_sites(gpd.GeoDataFrame(raw, geometry=pts, crs=4550))
    sites["name"] = pd.Series(FORMULAS, index=sites.index, dtype=sites["name"].dtype)
    return check_sites(sites, formula_set)


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _assert_guarded(path: Path):
    """Every text cell starts with no formula character; every number cell is a plain number."""
    for row in _rows(path):
        for col, text in row.items():
            assert not text or text[0] not in FORMULA_CHARS, (path.name, col, text)


def test_results_csv_names_are_not_formulas(formula_result, tmp_path):
    out = write_results(formula_result, tmp_path / "r.csv")
    rows = _rows(out)
    assert [r["name"] for r in rows] == ["'" + f for f in FORMULAS]  # csv module: guarded, otherwise intact
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert df["name"].tolist() == ["'" + f for f in FORMULAS]  # pandas sees the same
    for col in ("lon", "lat", "n_hits"):
        assert pd.api.types.is_numeric_dtype(df[col]), col
        assert all(not r[col].startswith("'") for r in rows)
    np.testing.assert_allclose(df["lon"], formula_result.sites.to_crs(4326).geometry.x, atol=1e-6)
    assert df["verdict"].tolist() == formula_result.sites["verdict"].astype(str).tolist()
    _assert_guarded(out)


def write_detail(result, out: Path) -> Path:
    """The findings of one result as ``ecozone check --detail`` writes them."""
    with ResultWriter(out.with_name(out.stem + "_sites.csv"), detail=out) as w:
        w.add(result)
    return out


def test_detail_csv_rule_texts_are_not_formulas(formula_result, tmp_path):
    out = write_detail(formula_result, tmp_path / "d.csv")
    df = pd.read_csv(out, encoding="utf-8-sig")
    inside = df[df["relation"] == "inside"]
    a, b = inside[inside["zone_class"] == "a"], inside[inside["zone_class"] == "b"]
    assert len(a) == 3 and len(b) == 3
    assert set(a["condition_zh"]) == {"'=1+2 禁止建设"} and set(a["condition_en"]) == {"'-no construction"}
    assert set(a["citation"]) == {"'@SUM(A1) 测试条款一"}
    assert set(b["condition_zh"]) == {"'+须审批"} and set(b["condition_en"]) == {"'=cmd|' /C calc'!A0"}
    for col in ("overlap_share", "distance_m"):
        assert pd.api.types.is_numeric_dtype(df[col]), col
    _assert_guarded(out)


def test_streamed_csv_outputs_are_guarded_the_same(formula_result, tmp_path):
    """The command's writer (Arrow batches in a background thread) writes what write_results writes."""
    out, detail = tmp_path / "r.csv", tmp_path / "d.csv"
    with ResultWriter(out, detail=detail) as w:
        w.add(formula_result)
        w.add(formula_result)
    assert [r["name"] for r in _rows(out)] == ["'" + f for f in FORMULAS] * 2
    single = write_detail(formula_result, tmp_path / "single.csv")
    assert _rows(detail) == _rows(single) * 2
    _assert_guarded(out)
    _assert_guarded(detail)


def test_spreadsheet_safe_keeps_numbers_and_gives_text_back():
    texts = [*FORMULAS, "'quoted", "plain", "中文 -1", None]
    n = len(texts)
    table = pa.Table.from_pandas(pd.DataFrame({
        "text": pd.Series(texts, dtype="str"),
        "cat": pd.Series(texts, dtype="category"),
        "obj": pd.Series(texts, dtype=object),
        "neg": np.linspace(-5.5, 3.0, n),
        "count": np.arange(-4, n - 4),
        "flag": [True, False] * (n // 2) + [True] * (n % 2),
    }), preserve_index=False)
    safe = spreadsheet_safe(table)
    for col in ("neg", "count", "flag"):
        assert safe.column(col).equals(table.column(col)), col
    want = [None if t is None else (t if t[0] not in FORMULA_CHARS + "'" else "'" + t) for t in texts]
    for col in ("text", "cat", "obj"):
        got = safe.column(col).to_pylist()
        assert got == want, col
        # one leading quote off gives every text back, also one that began with a quote
        assert [None if g is None else (g[1:] if g.startswith("'") else g) for g in got] == texts


# --------------------------------------------------------------------------- a full disk

@pytest.fixture(scope="module")
def warm(jinpu):
    """The Jinpu build and its zone-index cache exist, so the limited runs only write their outputs."""
    check_sites(read_sites(DEMO), jinpu)
    return jinpu


def limited(args, limit: int, cwd=ROOT) -> subprocess.CompletedProcess:
    """Run ``args`` where no file may grow past ``limit`` bytes: writes past it fail (EFBIG) as on a full disk."""
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]

    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    return subprocess.run(args, cwd=cwd, preexec_fn=pre, capture_output=True, text=True, timeout=300)


def _one_line_refusal(proc, out: Path):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"ecozone: error: {out}: could not be written"), lines[0]
    assert "free space" in lines[0] and "choose another folder" in lines[0]


@pytest.mark.parametrize("name, limit", [("r.gpkg", 20_000), ("r.geojson", -1), ("r.json", -1), ("r.csv", -1)])
def test_check_on_a_full_disk(warm, tmp_path, name, limit):
    """``ecozone check -o`` on a full disk: exit 2, one line naming the output, no file and no folder left.

    ``-1``: the limit is one byte less than the whole file, the write GDAL's GeoJSON writer
    used to lose without a word (a file short of its last sites, renamed into place).
    """
    if limit < 0:
        full = tmp_path / "full" / name
        assert limited([*ECOZONE, "-q", "check", DEMO, "-o", full], 1 << 30).returncode == 0
        limit = full.stat().st_size - 1
    out = tmp_path / "new" / name
    proc = limited([*ECOZONE, "check", DEMO, "-o", out], limit)
    _one_line_refusal(proc, out)
    assert not (tmp_path / "new").exists()  # neither the output, a temporary file, nor the folder made for it


def test_check_detail_on_a_full_disk_keeps_the_old_outputs(warm, tmp_path):
    """The detail streams first (the JSON results are written at the end): it fails, and neither file changes."""
    out, detail = tmp_path / "r.json", tmp_path / "d.csv"
    out.write_text("old results")
    detail.write_text("old detail")
    proc = limited([*ECOZONE, "check", DEMO, "-o", out, "--detail", detail, "--overwrite"], 3_000)
    _one_line_refusal(proc, detail)
    assert out.read_text() == "old results" and detail.read_text() == "old detail"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "r.json"]


def test_export_geojson_on_a_full_disk(warm, tmp_path):
    out = tmp_path / "geojson"
    proc = limited([*ECOZONE, "export", "--format", "geojson", "-o", out, "--layer", "eco_cores",
                    "--layer", "coastline"], 5_000)
    _one_line_refusal(proc, out)
    assert list(tmp_path.iterdir()) == []


EXPORT_SCRIPT = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from geo.export import FORMATS, export_layers
    from geo.layerset.read import read_layerset

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    ls, base, report = read_layerset("layers/jinpu"), Path(sys.argv[1]), {}
    for fmt, (kind, ext) in FORMATS.items():
        kw = {"layers": ["eco_cores", "coastline"], **({"resolution_m": 200} if fmt == "tif" else {})}
        name = f"{fmt}{ext}" if kind == "file" else fmt
        ref = base / "ref" / name
        export_layers(ls, fmt, ref, **kw)
        largest = max(p.stat().st_size for p in ([ref] if kind == "file" else ref.iterdir()))
        # the largest file lacks one byte; but SQLite may then fit a GeoPackage in a page less (complete), and
        # a DXF's header dates vary in length by a few bytes: half of one, a kilobyte short of the other
        limit = {"gpkg": largest // 2, "dxf": largest - 1000}.get(fmt, largest - 1)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            export_layers(ls, fmt, base / "out" / name, **kw)
            report[fmt] = "no error"
        except Exception as exc:
            report[fmt] = f"{type(exc).__name__}: {exc}"
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    print(json.dumps(report))
""")


def test_every_export_format_on_a_full_disk(warm, tmp_path):
    """Every format, its largest file one byte short (GeoPackage, DXF: more): GDAL's GeoJSON, FlatGeobuf and
    GTiff writers used to end the file short without an error, and the short file was renamed into place."""
    proc = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # no GDAL or libtiff chatter
    report = json.loads(proc.stdout)
    assert sorted(report) == sorted(FORMATS)
    for fmt, what in report.items():
        kind, ext = FORMATS[fmt]
        out = tmp_path / "out" / (f"{fmt}{ext}" if kind == "file" else fmt)
        assert what.startswith(f"ExportError: {out}: could not be written"), (fmt, what)
        assert "free space" in what, (fmt, what)
    assert not (tmp_path / "out").exists()  # no output, temporary file or folder of any format


def test_checked_sites_written_as_jzd_txt_read_back_to_the_same_verdicts(runner, tmp_path):
    """``-o checked.txt``: the land-survey 界址点 file of the checked sites (verdict as 地块用途) reads back the same."""
    from geo.cli.main import cli

    clean = ROOT / "tests" / "data" / "sites" / "clean_wgs84.geojson"  # parcels, a line and points; no types
    txt = tmp_path / "checked.txt"
    runs = {}
    for name, src in (("first", clean), ("again", txt)):
        out = tmp_path / f"{name}.csv"
        r = runner.invoke(cli, ["check", str(src), "--type", "T03", "-o", str(out)])
        assert r.exit_code == 0, r.output
        if name == "first":
            r = runner.invoke(cli, ["check", str(src), "--type", "T03", "-o", str(txt)])
            assert r.exit_code == 0, r.output
        runs[name] = pd.read_csv(out, encoding="utf-8-sig")
    text = txt.read_bytes().decode("gbk")
    assert "坐标系=2000国家大地坐标系" in text and "带号=41" in text and ",prohibited," in text
    assert list(runs["again"]["verdict"]) == list(runs["first"]["verdict"])
    assert list(runs["again"]["kind"]) == list(runs["first"]["kind"])
    assert set(runs["first"]["verdict"]) >= {"prohibited", "allowed"}


def test_hostile_text_cannot_break_a_jzd_txt(runner, tmp_path):
    """Commas, @, line breaks and formulas in ids and names: one plot per site, coordinates as checked."""
    from geo.cli.main import cli

    clean = ROOT / "tests" / "data" / "sites" / "clean_wgs84.geojson"
    sites = gpd.read_file(clean)
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "甲,乙@\r\nJ1,1,0,0", "{{ 7*7 }} $(touch x)", "-1+2", "@SUM(A1)"]
    sites["name"] = [hostile[i % len(hostile)] for i in range(len(sites))]
    src = tmp_path / "hostile.geojson"
    sites.to_file(src)
    txt, first, again = tmp_path / "h.txt", tmp_path / "first.csv", tmp_path / "again.csv"
    for args in (["check", str(src), "--type", "T03", "-o", str(txt)], ["check", str(src), "--type", "T03", "-o", str(first)],
                 ["check", str(txt), "--type", "T03", "-o", str(again)]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, r.output
    lines = txt.read_bytes().decode("gbk").splitlines()
    plots = [ln for ln in lines if ln.endswith("@")]
    assert len(plots) == len(sites)
    names = [p.split(",")[3] for p in plots]
    assert names[:5] == ["'=HYPERLINK(\"http://x\"，\"y\")", "甲，乙＠ J1，1，0，0", "{{ 7*7 }} $(touch x)", "'-1+2",
                         "＠SUM(A1)"]  # @ is full-width in these files: no formula
    got, want = pd.read_csv(again, encoding="utf-8-sig"), pd.read_csv(first, encoding="utf-8-sig")
    assert list(got["verdict"]) == list(want["verdict"]) and len(got) == len(want)


def test_results_as_a_geoparquet_dataset_read_back_as_written(formula_result, tmp_path):
    from geo.errors import ExportError
    from geo.results import read_results

    out = write_results(formula_result, tmp_path / "r.parquet")
    assert [p.name for p in out.iterdir()] == ["part-00000.parquet"]
    back = gpd.read_parquet(out)
    assert back.crs == formula_result.sites.crs and list(back["name"]) == FORMULAS
    assert list(read_results(out)["verdict"]) == list(formula_result.sites["verdict"])
    with pytest.raises(ExportError, match="output exists"):
        write_results(formula_result, out, overwrite=False)


def test_a_dataset_output_on_a_full_disk_leaves_nothing(warm, tmp_path):
    out = tmp_path / "new" / "r.parquet"
    _one_line_refusal(limited([*ECOZONE, "check", DEMO, "-o", out], 2_000), out)
    assert not (tmp_path / "new").exists()
