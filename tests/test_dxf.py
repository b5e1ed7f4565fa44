"""The DXF reader never drops or misreads geometry silently: blocks at any depth, MINSERT arrays, hatches, rings
closed by snapping, entities it does not read, and drawings that would explode without end.

Every drawing is in EPSG:4550 metres around parcel P1 of the samples (tests/data/make_samples.py), deep in the
Jinpu ecological core, so each site must come out ``prohibited`` for T03; its geometry is compared with one
computed independently with shapely.
"""
from __future__ import annotations

import importlib.util
import logging
import math
import re
import time
import warnings
from pathlib import Path

import ezdxf
import pandas as pd
import pytest
import shapely
from shapely import affinity

from geo.cli.main import cli
from geo.errors import SiteInputError
from geo.errors import SiteInputWarning
from geo.sites.readers import dxf
from geo.sites.read import read_sites

DATA = Path(__file__).parent / "data"


def _module(name):
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bad_dxf = _module("bad_dxf")
samples = bad_dxf.samples
CX, CY = samples.gk(121.80, 39.10)  # P1's centre


def _rect(w, h):
    return [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]


def check(runner, tmp_path, path, *args):
    """``ecozone check PATH --crs EPSG:4550 --type T03``: (result, verdicts table or None)."""
    out = tmp_path / "out.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        res = runner.invoke(cli, ["check", str(path), "--crs", "EPSG:4550", "--type", "T03", "-o", str(out), *args])
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"site_id": str}) if out.exists() else None
    return res, table


def read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these drawings may warn
        return read_sites(path, crs="EPSG:4550", **kw)


def same(a, b, tol=1e-6):
    return shapely.hausdorff_distance(shapely.normalize(a), shapely.normalize(b)) <= tol


# ----------------------------------------------------------------------------- blocks


def test_blocks_nested_seven_deep_are_read_with_every_transform(runner, tmp_path):
    """The old reader stopped at depth 4 and gave nothing (here: no site at all, or 'allowed' beside others)."""
    doc = ezdxf.new("R2010")
    doc.blocks.new("L0").add_lwpolyline(_rect(60, 40), close=True)
    expected = shapely.Polygon(_rect(60, 40))
    # (dx, dy, rotation°, uniform scale) of the reference of L(k-1) inside Lk
    steps = [(5, 0, 0, 1), (0, 4, 30, 1), (-3, 2, 0, 1.5), (2, -2, -45, 1), (1, 1, 90, 0.8), (-4, 0, 10, 1),
             (0, -3, 0, 1.25)]
    for k, (dx, dy, rot, s) in enumerate(steps, start=1):
        doc.blocks.new(f"L{k}").add_blockref(f"L{k - 1}", (dx, dy), dxfattribs={"rotation": rot, "xscale": s,
                                                                                "yscale": s, "zscale": s})
        expected = affinity.translate(affinity.rotate(affinity.scale(expected, s, s, origin=(0, 0)), rot,
                                                      origin=(0, 0)), dx, dy)
    doc.modelspace().add_blockref(f"L{len(steps)}", (CX, CY), dxfattribs={"layer": "红线"})
    expected = affinity.translate(expected, CX, CY)
    doc.saveas(tmp_path / "nested.dxf")

    gdf = read(tmp_path / "nested.dxf")
    assert list(gdf.kind) == ["parcel"]
    assert gdf.dxf_block[0] == "/".join(f"L{k}" for k in range(len(steps), -1, -1))
    assert gdf.dxf_layer[0] == "红线"  # layer 0 inside a block takes the reference's layer
    assert same(gdf.geometry[0], expected)
    assert gdf.geometry[0].area == pytest.approx(2400 * math.prod(s * s for *_, s in steps))
    res, table = check(runner, tmp_path, tmp_path / "nested.dxf", "--layer", "红线")
    assert res.exit_code == 0, res.output
    assert table.kind.tolist() == ["parcel"] and table.verdict.tolist() == ["prohibited"]


def test_minsert_array_reads_every_copy(runner, tmp_path):
    """A rotated 3 x 4 MINSERT array of 40 m x 30 m cells, and a block holding a 2 x 1 array inserted twice."""
    doc = ezdxf.new("R2010")
    cell = doc.blocks.new("CELL")
    cell.add_lwpolyline(_rect(40, 30), close=True)
    msp = doc.modelspace()
    msp.add_blockref("CELL", (CX - 60, CY - 40), dxfattribs={"rotation": 30, "row_count": 3, "column_count": 4,
                                                             "row_spacing": 50, "column_spacing": 60})
    pair = doc.blocks.new("PAIR")
    pair.add_blockref("CELL", (0, 0), dxfattribs={"column_count": 2, "column_spacing": 45})
    msp.add_blockref("PAIR", (CX - 100, CY + 80))
    msp.add_blockref("PAIR", (CX + 20, CY + 80))
    doc.saveas(tmp_path / "minsert.dxf")

    base = shapely.Polygon(_rect(40, 30))
    expected = []
    for r in range(3):
        for c in range(4):
            ox, oy = affinity.rotate(shapely.Point(c * 60, r * 50), 30, origin=(0, 0)).coords[0]
            expected.append(affinity.translate(affinity.rotate(base, 30, origin=(0, 0)), CX - 60 + ox, CY - 40 + oy))
    for x0 in (CX - 100, CX + 20):
        expected += [affinity.translate(base, x0 + 45 * c, CY + 80) for c in range(2)]

    gdf = read(tmp_path / "minsert.dxf")
    assert len(gdf) == 16 and set(gdf.kind) == {"parcel"}
    assert gdf.geometry.area.sum() == pytest.approx(16 * 1200)
    got = sorted(gdf.geometry, key=lambda g: (round(g.centroid.x, 3), round(g.centroid.y, 3)))
    want = sorted(expected, key=lambda g: (round(g.centroid.x, 3), round(g.centroid.y, 3)))
    assert all(same(g, w) for g, w in zip(got, want))
    res, table = check(runner, tmp_path, tmp_path / "minsert.dxf")
    assert res.exit_code == 0, res.output
    assert table.site_id.is_unique and table.verdict.tolist() == ["prohibited"] * 16


def test_text_and_attribute_in_blocks_name_their_parcels(tmp_path):
    doc = ezdxf.new("R2010")
    blk = doc.blocks.new("LOT")
    blk.add_lwpolyline(_rect(50, 50), close=True)
    blk.add_attdef("NO", (0, 0), dxfattribs={"height": 2})
    msp = doc.modelspace()
    msp.add_blockref("LOT", (CX - 40, CY)).add_auto_attribs({"NO": "宗地一"})
    doc.blocks.new("LOT2").add_lwpolyline(_rect(50, 50), close=True)
    doc.blocks.get("LOT2").add_text("宗地二", dxfattribs={"height": 2}).set_placement((1, 1))
    msp.add_blockref("LOT2", (CX + 40, CY))
    doc.saveas(tmp_path / "lots.dxf")
    gdf = read(tmp_path / "lots.dxf")
    assert list(gdf.name) == ["宗地一", "宗地二"] and list(gdf.dxf_block) == ["LOT", "LOT2"]


# ----------------------------------------------------------------------------- hatches


def test_hatch_is_a_parcel_with_its_holes_and_islands(runner, tmp_path):
    """Outer 200 x 160, a 80 x 60 hole, a 20 x 20 island in the hole; and a hatch bounded by a circular arc edge."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    hatch = msp.add_hatch(color=1)
    hatch.paths.add_polyline_path([(CX + x, CY + y) for x, y in _rect(200, 160)], flags=ezdxf.const.BOUNDARY_PATH_EXTERNAL)
    hatch.paths.add_polyline_path([(CX + x, CY + y) for x, y in _rect(80, 60)])
    hatch.paths.add_polyline_path([(CX + x, CY + y) for x, y in _rect(20, 20)])
    disc = msp.add_hatch(color=2)
    disc.paths.add_edge_path(flags=ezdxf.const.BOUNDARY_PATH_EXTERNAL).add_arc((CX + 60, CY + 50), 15, 0, 360)
    doc.saveas(tmp_path / "hatch.dxf")

    gdf = read(tmp_path / "hatch.dxf")
    assert list(gdf.kind) == ["parcel", "parcel"] and list(gdf.dxf_type) == ["HATCH", "HATCH"]
    expected = (shapely.Polygon([(CX + x, CY + y) for x, y in _rect(200, 160)],
                                [[(CX + x, CY + y) for x, y in _rect(80, 60)]])
                .union(shapely.Polygon([(CX + x, CY + y) for x, y in _rect(20, 20)])))
    assert gdf.geometry[0].area == pytest.approx(200 * 160 - 80 * 60 + 20 * 20)
    assert gdf.geometry[0].symmetric_difference(expected).area < 1e-6
    assert gdf.geometry[1].area == pytest.approx(math.pi * 15**2, rel=2e-3)  # flattened to within 1 cm
    assert gdf.geometry[1].centroid.distance(shapely.Point(CX + 60, CY + 50)) < 0.01
    res, table = check(runner, tmp_path, tmp_path / "hatch.dxf")
    assert res.exit_code == 0, res.output
    assert table.kind.tolist() == ["parcel", "parcel"] and table.verdict.tolist() == ["prohibited", "prohibited"]


def test_hatch_in_a_block_scaled_unevenly_keeps_its_arcs(tmp_path):
    doc = ezdxf.new("R2010")
    blk = doc.blocks.new("DISC")
    blk.add_hatch().paths.add_edge_path().add_arc((0, 0), 30, 0, 360)
    doc.modelspace().add_blockref("DISC", (CX, CY), dxfattribs={"xscale": 2, "yscale": 1})
    doc.saveas(tmp_path / "disc.dxf")
    g = read(tmp_path / "disc.dxf").geometry[0]
    assert g.area == pytest.approx(math.pi * 60 * 30, rel=2e-3)  # an ellipse 120 x 60
    assert g.bounds == pytest.approx((CX - 60, CY - 30, CX + 60, CY + 30), abs=0.02)


def test_hatch_filling_its_boundary_polyline_is_one_site(tmp_path, caplog):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(samples.P1_SHELL, close=True)
    msp.add_hatch().paths.add_polyline_path(samples.P1_SHELL)
    other = [(x + 400, y) for x, y in samples.P1_SHELL]  # a hatch without a polyline: its own site
    msp.add_hatch().paths.add_polyline_path(other)
    doc.saveas(tmp_path / "fill.dxf")
    with caplog.at_level(logging.INFO, logger="geo.sites.readers.dxf"):
        gdf = read(tmp_path / "fill.dxf")
    assert list(gdf.dxf_type) == ["LWPOLYLINE", "HATCH"]
    assert same(gdf.geometry[1], shapely.Polygon(other))
    assert any("1 hatch(es) filling the same area as a parcel polyline counted once" in r.getMessage()
               for r in caplog.records)


# ----------------------------------------------------------------------------- rings closed by snapping


def test_polyline_ending_on_its_first_point_is_a_parcel(runner, tmp_path, caplog):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    x0, y0 = samples.P1_SHELL[0]
    ring = msp.add_lwpolyline([*samples.P1_SHELL, (x0 + 0.0006, y0 - 0.0007)])  # 0.9 mm short of closing, no flag
    near = [(x + 300, y) for x, y in samples.P1_SHELL]
    msp.add_lwpolyline([*near, (near[0][0] + 0.05, near[0][1])])  # 5 cm short: a line
    doc.saveas(tmp_path / "snap.dxf")
    with caplog.at_level(logging.INFO, logger="geo.sites.readers.dxf"):
        gdf = read(tmp_path / "snap.dxf")
    assert list(gdf.kind) == ["parcel", "line"]
    assert gdf.geometry[0].area == pytest.approx(shapely.Polygon(samples.P1_SHELL).area, abs=0.01)
    assert gdf.geometry[0].exterior.coords[0] == gdf.geometry[0].exterior.coords[-1] == (x0, y0)
    assert any(re.search(rf"1 polyline\(s\) ending within 1 mm of their first point .* parcels \({ring.dxf.handle}\)",
                         r.getMessage()) for r in caplog.records)
    res, table = check(runner, tmp_path, tmp_path / "snap.dxf")
    assert res.exit_code == 0, res.output
    assert table.kind.tolist() == ["parcel", "line"] and "allowed" not in table.verdict.tolist()
    assert table.verdict[0] == "prohibited"


def test_ring_closed_by_snapping_in_degrees(tmp_path):
    doc = ezdxf.new("R2010")
    lonlat = [samples.lonlat(p) for p in samples.P1_SHELL]
    doc.modelspace().add_polyline2d([*lonlat, (lonlat[0][0] + 5e-9, lonlat[0][1])])
    doc.saveas(tmp_path / "deg.dxf")
    gdf = read_sites(tmp_path / "deg.dxf", crs="EPSG:4490")
    assert list(gdf.kind) == ["parcel"]
    assert gdf.to_crs(4550).geometry[0].area == pytest.approx(shapely.Polygon(samples.P1_SHELL).area, rel=1e-4)


# ----------------------------------------------------------------------------- what is not read, and refusals


def test_entities_not_read_are_named_in_one_warning(runner, tmp_path):
    bad_dxf.make(tmp_path)
    path = tmp_path / "dxf_unread_solid.dxf"
    with pytest.warns(SiteInputWarning, match=r"1 3DFACE, 2 SOLID in the drawing not read as sites"):
        gdf = read_sites(path, crs="EPSG:4550")
    assert list(gdf.kind) == ["parcel"]
    out = tmp_path / "o"
    out.mkdir()
    res, table = check(runner, out, path)
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if line.startswith("ecozone: warning:")]
    assert len(warned) == 1 and str(path) in warned[0] and "redraw them as closed polylines" in warned[0]
    assert table.verdict.tolist() == ["prohibited"]


def test_labels_pass_quietly_and_only_unread_geometry_is_an_error(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(samples.P1_SHELL, close=True)
    msp.add_text("一号地块", dxfattribs={"height": 5}).set_placement((CX, CY))
    msp.add_mtext("说明")
    msp.add_linear_dim(base=(CX, CY + 150), p1=(CX - 100, CY + 120), p2=(CX + 100, CY + 120)).render()
    msp.add_xline((CX, CY), (1, 0))
    doc.saveas(tmp_path / "labels.dxf")
    assert list(read(tmp_path / "labels.dxf").name) == ["一号地块"]  # read() fails on any warning

    doc = ezdxf.new("R2010")
    doc.modelspace().add_solid([(CX, CY), (CX + 20, CY), (CX, CY + 20), (CX + 20, CY + 20)])
    doc.saveas(tmp_path / "solid.dxf")
    with pytest.raises(SiteInputError, match=r"no polylines, lines or points .*\(it holds 1 SOLID, which ecozone"):
        read_sites(tmp_path / "solid.dxf", crs="EPSG:4550")


def test_hatch_without_area_is_named_not_dropped(runner, tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(samples.P1_SHELL, close=True)
    flat = msp.add_hatch()
    flat.paths.add_polyline_path([(CX, CY), (CX + 50, CY), (CX + 100, CY)])  # collinear: no area
    doc.saveas(tmp_path / "flat.dxf")
    out = tmp_path / "o"
    out.mkdir()
    res, table = check(runner, out, tmp_path / "flat.dxf")
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if line.startswith("ecozone: warning:")]
    assert len(warned) == 1 and f"1 HATCH without area in the drawing not read as sites (handle(s) {flat.dxf.handle}" \
        in warned[0], res.stderr
    assert table.verdict.tolist() == ["prohibited"]


def test_nesting_limit_holds_for_a_block_met_again_deeper(tmp_path):
    """A 40-deep block read once at the top is refused when 30 more blocks wrap it (70 in all)."""
    doc = ezdxf.new("R2010")
    doc.blocks.new("D0").add_lwpolyline(bad_dxf.SHELL, close=True)
    for k in range(1, 40):
        doc.blocks.new(f"D{k}").add_blockref(f"D{k - 1}", (0, 0))
    doc.blocks.new("W0").add_blockref("D39", (0, 0))
    for k in range(1, 30):
        doc.blocks.new(f"W{k}").add_blockref(f"W{k - 1}", (0, 0))
    msp = doc.modelspace()
    msp.add_blockref("D39", (CX, CY))
    doc.saveas(tmp_path / "ok.dxf")
    assert len(read(tmp_path / "ok.dxf")) == 1
    msp.add_blockref("W29", (CX, CY))
    doc.saveas(tmp_path / "deep.dxf")
    with pytest.raises(SiteInputError, match=r"row 2: blocks are nested more than 64 deep \(W\d+ > \.\.\. > D39\)"):
        read_sites(tmp_path / "deep.dxf", crs="EPSG:4550")


HOSTILE = [
    ("dxf_block_loop.dxf", r"block 'LOOP' inserts itself \(LOOP > LOOP\)"),
    ("dxf_minsert_bomb.dxf", r"100000000 copies of block 'CELL'\) expands to 100000000 entities; "
                             r"ecozone explodes at most 100000"),
    ("dxf_nested_bomb.dxf", r"block 'NEST9'\) expands to 1000000000 entities; ecozone explodes at most 100000"),
    ("dxf_too_deep.dxf", r"blocks are nested more than 64 deep \(DEEP79 > \.\.\. > DEEP15\)"),
    ("dxf_xref.dxf", r"block 'PARCELS' is an external reference \(XREF\) to 'parcels\.dxf'.*; bind it"),
    ("dxf_uneven_arcs.dxf", r"block 'ARCPARCEL' .* scaled unevenly \(x 2, y 1\) and holds polylines with arcs"),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    bad_dxf.make(folder)
    return folder


@pytest.mark.parametrize("name, fragment", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_blocks_are_refused_at_once_in_one_line(runner, tmp_path, hostile, name, fragment):
    start = time.perf_counter()
    res, table = check(runner, tmp_path, hostile / name)
    assert time.perf_counter() - start < 30  # refused from the block definitions, not by exploding them
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ecozone: error: {hostile / name}, row 1: "), res.stderr
    assert re.search(fragment, lines[0]), lines[0]
    assert table is None and not list(tmp_path.iterdir())


def test_explode_limit_counts_the_whole_drawing(tmp_path):
    """Many references, each small, add up, and are refused before any is exploded."""
    doc = ezdxf.new("R2010")
    doc.blocks.new("C").add_point((0, 0))
    msp = doc.modelspace()
    msp.add_blockref("C", (CX, CY), dxfattribs={"row_count": 100, "column_count": 10, "row_spacing": 1,
                                                "column_spacing": 1})
    doc.saveas(tmp_path / "ok.dxf")
    assert len(read(tmp_path / "ok.dxf")) == 1000
    for k in range(dxf._MAX_EXPLODED // 1000):
        msp.add_blockref("C", (CX, CY + k), dxfattribs={"row_count": 100, "column_count": 10, "row_spacing": 1,
                                                        "column_spacing": 1})
    doc.saveas(tmp_path / "many.dxf")
    with pytest.raises(SiteInputError, match=rf"row 101: .*\(1000 copies of block 'C'\) expands to 1000 entities; "
                                             rf"ecozone explodes at most {dxf._MAX_EXPLODED} in a drawing "
                                             r"\(101000 with the blocks before it\)"):
        read_sites(tmp_path / "many.dxf", crs="EPSG:4550")
