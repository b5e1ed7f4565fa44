"""Least-cost corridors on synthetic rasters with known answers, reclassification and the command."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import rasterio.features
import shapely
from affine import Affine
from skimage.graph import MCP_Geometric

from geo.cli.main import cli
from geo.errors import CRSError, NetworkInputError
from geo.network.corridors import least_cost_corridors, rasterize_sources, read_resistance
from geo.network.resistance import reclass_table

CELL = 10.0
TOP = 500.0


def write_tif(path, values, *, crs="EPSG:4550", nodata=None):
    values = np.asarray(values)
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                       dtype=values.dtype, crs=crs, transform=Affine(CELL, 0, 0, 0, -CELL, TOP), nodata=nodata) as dst:
        dst.write(values, 1)
    return path


def box_cells(row0, row1, col0, col1):
    """A polygon covering cells rows row0..row1, cols col0..col1 (inclusive)."""
    return shapely.box(col0 * CELL, TOP - (row1 + 1) * CELL, (col1 + 1) * CELL, TOP - row0 * CELL)


def sources(*geoms):
    return gpd.GeoDataFrame({"name": [chr(65 + k) for k in range(len(geoms))]}, geometry=list(geoms), crs=4550)


def channel(tmp_path, dtype="float32"):
    costs = np.full((50, 100), 100, dtype=dtype)
    costs[25, :] = 1
    return write_tif(tmp_path / "channel.tif", costs)


def test_the_path_follows_a_low_resistance_channel_at_its_analytic_cost(tmp_path):
    res = read_resistance(channel(tmp_path))
    src = sources(box_cells(23, 27, 0, 4), box_cells(23, 27, 95, 99))
    paths, corridors = least_cost_corridors(src, res)
    assert corridors is None and len(paths) == 1
    row = paths.iloc[0]
    # from A's last cell (col 4) to B's first (col 95): 91 steps of 10 m at resistance 1
    assert row["lcd"] == pytest.approx(91 * CELL * 1)
    assert row["euclid_m"] == pytest.approx(900)
    assert row["cost_ratio"] == pytest.approx(910 / 900)
    ys = shapely.get_coordinates(row.geometry)[:, 1]
    assert np.allclose(ys, TOP - 25.5 * CELL)  # every vertex on the channel's row


def test_the_path_goes_through_the_one_gap_in_a_barrier(tmp_path):
    costs = np.ones((40, 80), dtype="float32")
    costs[:, 40] = -9999  # nodata: impassable
    costs[5, 40] = 1
    res = read_resistance(write_tif(tmp_path / "wall.tif", costs, nodata=-9999))
    src = sources(box_cells(30, 34, 0, 4), box_cells(30, 34, 75, 79))
    paths, _ = least_cost_corridors(src, res)
    line = paths.geometry.iloc[0]
    gap = shapely.Point(40.5 * CELL, TOP - 5.5 * CELL)
    assert line.distance(gap) < 1e-6
    assert paths.iloc[0]["lcd"] > 700  # longer than the straight way (71 cells) through the wall


def test_the_corridor_is_the_cells_within_the_cutoff(tmp_path):
    costs = np.ones((40, 80), dtype="float32")
    res = read_resistance(write_tif(tmp_path / "flat.tif", costs))
    src = sources(box_cells(18, 21, 0, 3), box_cells(18, 21, 76, 79))
    paths, narrow = least_cost_corridors(src, res, cutoff=0)
    _, wide = least_cost_corridors(src, res, cutoff=200)
    assert paths.iloc[0]["lcd"] == pytest.approx(73 * CELL)  # col 3 to col 76
    assert wide.geometry.iloc[0].area > narrow.geometry.iloc[0].area > 0
    assert wide.geometry.iloc[0].buffer(1e-6).covers(paths.geometry.iloc[0])
    # NLCC ≤ 200 on open ground: an ellipse-like band no farther than the detour allows
    assert wide.geometry.iloc[0].bounds[1] >= TOP - 40 * CELL and wide.geometry.iloc[0].bounds[3] <= TOP


def test_only_neighbouring_sources_are_linked(tmp_path):
    costs = np.ones((20, 120), dtype="float32")
    res = read_resistance(write_tif(tmp_path / "row.tif", costs))
    src = sources(box_cells(8, 11, 0, 3), box_cells(8, 11, 58, 61), box_cells(8, 11, 116, 119))
    paths, _ = least_cost_corridors(src, res)
    assert sorted(zip(paths["from_name"], paths["to_name"])) == [("A", "B"), ("B", "C")]


def test_a_source_smaller_than_a_cell_still_counts(tmp_path):
    res = read_resistance(channel(tmp_path))
    tiny = shapely.Point(2.5 * CELL, TOP - 25.5 * CELL).buffer(1)
    paths, _ = least_cost_corridors(sources(tiny, box_cells(23, 27, 95, 99)), res)
    assert len(paths) == 1 and paths.iloc[0]["lcd"] == pytest.approx(93 * CELL)


def test_land_cover_is_reclassified(tmp_path):
    cover = np.full((50, 100), 8, dtype="uint8")  # CLCD impervious
    cover[25, :] = 2  # forest
    res = read_resistance(write_tif(tmp_path / "clcd.tif", cover, nodata=0), reclass="clcd")
    assert res.costs[25, 0] == reclass_table("clcd")[2] == 1 and res.costs[0, 0] == 800
    paths, _ = least_cost_corridors(sources(box_cells(23, 27, 0, 4), box_cells(23, 27, 95, 99)), res)
    assert paths.iloc[0]["lcd"] == pytest.approx(910)
    cover[0, 0] = 42
    with pytest.raises(NetworkInputError, match=r"\[42\]"):
        read_resistance(write_tif(tmp_path / "odd.tif", cover, nodata=0), reclass="clcd")
    assert set(reclass_table("worldcover")) >= {10, 20, 30, 40, 50, 60, 80, 90}


def test_bad_inputs_are_one_error(tmp_path):
    with pytest.raises(CRSError, match="not projected"):
        read_resistance(write_tif(tmp_path / "geo.tif", np.ones((5, 5), "float32"), crs="EPSG:4490"))
    neg = np.ones((5, 5), "float32")
    neg[2, 3] = -1
    with pytest.raises(NetworkInputError, match="row 2, column 3"):
        read_resistance(write_tif(tmp_path / "neg.tif", neg))
    res = read_resistance(channel(tmp_path))
    far = shapely.box(5000, 5000, 5100, 5100)
    with pytest.raises(NetworkInputError, match="covers no passable cell"):
        least_cost_corridors(sources(box_cells(0, 2, 0, 2), far), res)
    bad = tmp_path / "bad.csv"
    bad.write_text("class,resistance\n1,0\n", encoding="utf-8")
    with pytest.raises(NetworkInputError, match="not positive"):
        reclass_table(bad)


def test_corridors_command(runner, tmp_path):
    tif = channel(tmp_path)
    src = tmp_path / "sources.gpkg"
    pyogrio.write_dataframe(sources(box_cells(23, 27, 0, 4), box_cells(23, 27, 95, 99)), src)
    out = tmp_path / "out.gpkg"
    r = runner.invoke(cli, ["corridors", "--sources", str(src), "--resistance", str(tif), "--cutoff", "100",
                            "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "LCD 910" in r.output
    assert [n for n, _ in pyogrio.list_layers(out)] == ["paths", "corridors"]
    got = pyogrio.read_dataframe(out, layer="corridors")
    assert got.crs.to_epsg() == 4550 and math.isclose(got["lcd"].iloc[0], 910)
    row = got.iloc[0]
    assert row["name"] == "A—B" and row["resistance"] == "channel.tif"
    assert math.isclose(row["width_m"], row.geometry.area / row["path_length_m"])
    again = runner.invoke(cli, ["corridors", "--sources", str(src), "--resistance", str(tif), "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    none = runner.invoke(cli, ["corridors", "--sources", "no_such_layer", "--layers", "layers/jinpu",
                               "--resistance", str(tif), "-o", str(tmp_path / "x.gpkg")])
    assert none.exit_code == 2 and "no_such_layer" in none.output


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_bounded_runs_give_the_full_raster_answer(tmp_path, jobs):
    """Bounded per-source runs (in one process or two forked) vs one plain full-raster run per source with
    scikit-image's MCP_Geometric, an independent implementation (random raster, 4 sources)."""
    rng = np.random.default_rng(3)
    costs = rng.uniform(1, 50, (300, 300)).astype("float32")
    costs[rng.uniform(size=costs.shape) < 0.03] = -9999
    res = read_resistance(write_tif(tmp_path / "random.tif", costs, nodata=-9999))
    src = sources(*(box_cells(r, r + 2, c, c + 2) for r, c in ((20, 30), (40, 120), (130, 40), (110, 110))))
    cutoff = 3000.0
    stats = {}
    paths, corridors = least_cost_corridors(src, res, cutoff=cutoff, stats=stats, jobs=jobs)
    plain_paths, _ = least_cost_corridors(src, res)
    assert len(paths) >= 4 and paths.geometry.geom_equals_exact(plain_paths.geometry, 0).all()
    assert stats["cells_reached"] < 4 * costs.size / 2  # the bounds did cut the work
    assert ("run ahead" in stats) == (jobs > 1)  # (one source's whole raster, beside the all-sources run)
    labels = rasterize_sources(src, res)
    mcp = MCP_Geometric(res.costs, sampling=res.sampling)
    cwd = {s: mcp.find_costs(np.argwhere(labels == s))[0].astype(np.float32) for s in range(1, 5)}
    for row in corridors.itertuples():
        a, b = cwd[row.from_source], cwd[row.to_source]
        lcd = float(np.min(a.astype(np.float64) + b))
        assert row.lcd == lcd and lcd <= plain_paths.loc[row.Index, "lcd"]
        mask = ((a + b - lcd) <= cutoff).astype(np.uint8)
        plain = shapely.union_all([shapely.geometry.shape(g) for g, _ in
                                   rasterio.features.shapes(mask, mask=mask, transform=res.transform)])
        assert row.geometry.equals(plain) and plain.area > 0


def test_the_graph_of_a_raster_against_brute_force():
    """Every finite link of grid_graph is a step between 8-neighbours, costing mean resistance × length."""
    from geo.network.corridors import grid_graph

    rng = np.random.default_rng(0)
    costs = rng.uniform(1, 9, (5, 7))
    costs[2, 3] = np.inf  # impassable
    graph = grid_graph(costs, (2.0, 3.0))
    rows, cols = costs.shape
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            links = zip(graph.indices[graph.indptr[i]:graph.indptr[i + 1]], graph.data[graph.indptr[i]:graph.indptr[i + 1]])
            got = {int(j): w for j, w in links if np.isfinite(w)}
            want = {(r + dr) * cols + c + dc: (costs[r, c] + costs[r + dr, c + dc]) / 2 * math.hypot(dr * 2.0, dc * 3.0)
                    for dr in (-1, 0, 1) for dc in (-1, 0, 1)
                    if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols
                    and np.isfinite(costs[r, c]) and np.isfinite(costs[r + dr, c + dc])}
            assert got == want, (r, c)
    assert len(want) == 3 and graph.nnz == 8 * costs.size  # a corner cell has 3 neighbours; 8 slots a cell
