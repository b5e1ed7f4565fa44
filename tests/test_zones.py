"""The zone index: its grid answers exactly what the geometry answers, and its cache beside the build."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, box

from conftest import AREA, X0, Y0, make_tiny_layerset
from geo import check_sites
from geo.layerset import build_layerset
from geo.layerset.build import clip_to
from geo.layerset.read import read_layerset
from geo.sites.read import normalize_sites
from geo.check.zones import cache_path, zone_index


def _sites(geoms, crs=4550, **cols):
    import geopandas as gpd

    return normalize_sites(gpd.GeoDataFrame({"name": [f"s{i}" for i in range(len(geoms))], **cols},
                                            geometry=list(geoms), crs=crs))


def test_grid_answers_as_the_geometry_does(tiny):
    zi = zone_index(tiny)
    rng = np.random.default_rng(3)
    x = X0 - 2_000 + rng.random(20_000) * 14_000
    y = Y0 - 2_000 + rng.random(20_000) * 14_000
    # also points on zone vertices and edges, and on cell corners
    v = shapely.get_coordinates(shapely.boundary(zi.zones.geometry.values))
    g = zi.grid
    corners = np.column_stack([g.x0 + g.cell * rng.integers(0, g.combo.shape[1], 500),
                               g.y0 + g.cell * rng.integers(0, g.combo.shape[0], 500)])
    x, y = np.concatenate([x, v[:, 0], corners[:, 0]]), np.concatenate([y, v[:, 1], corners[:, 1]])
    combo = g.locate(x, y)
    clean = np.flatnonzero(combo >= 0)
    assert 0.5 < len(clean) / len(x) < 1  # most answered by the grid, points on boundaries never
    pts = shapely.points(x[clean], y[clean])
    s, p = zi.tree.query(pts, predicate="intersects")
    want = set(zip(s.tolist(), zi.piece_zone[p].tolist()))
    rows, zones = g.expand(np.arange(len(clean)), combo[clean])
    assert set(zip(rows.tolist(), zones.tolist())) == want
    assert not shapely.intersects(shapely.boundary(zi.zones.geometry.values)[zones], pts[rows]).any()  # on no boundary
    np.testing.assert_array_equal(g.combo_covered[combo[clean]], shapely.intersects(tiny.coverage, pts))


def test_grid_boxes_lie_inside_their_zones(tiny):
    zi = zone_index(tiny)
    rng = np.random.default_rng(5)
    x0 = X0 - 1_000 + rng.random(5_000) * 12_000
    y0 = Y0 - 1_000 + rng.random(5_000) * 12_000
    size = rng.random(5_000) * 400
    boxes = shapely.box(x0, y0, x0 + size, y0 + size)
    combo = zi.grid.locate_boxes(shapely.bounds(boxes))
    clean = np.flatnonzero(combo >= 0)
    assert len(clean) > 1_000
    rows, zones = zi.grid.expand(clean, combo[clean])
    geoms = zi.zones.geometry.values
    assert shapely.contains_properly(geoms[zones], boxes[rows]).all()
    # and no other zone touches a clean box
    s, z = shapely.STRtree(geoms).query(boxes[clean], predicate="intersects")
    assert set(zip(clean[s].tolist(), z.tolist())) == set(zip(rows.tolist(), zones.tolist()))


def test_box_lookup_counts_dirty_cells_as_brute_force(tiny):
    """The running count of dirty cells (wrapping 16-bit sums, large boxes row by row) is exact."""
    g = zone_index(tiny).grid
    ny, nx = g.combo.shape
    rng = np.random.default_rng(11)
    # small boxes, boxes of more than 65,535 cells (the row-by-row count), boxes over the edges
    w = np.concatenate([rng.integers(0, 8, 3_000), rng.integers(300, nx, 200), rng.integers(0, nx, 100)])
    h = np.concatenate([rng.integers(0, 8, 3_000), rng.integers(220, 256, 200), rng.integers(0, 300, 100)])
    ix = rng.integers(-5, nx, len(w))
    iy = rng.integers(-5, ny, len(w))
    bounds = np.column_stack([g.x0 + (ix + 0.5) * g.cell, g.y0 + (iy + 0.5) * g.cell,
                              g.x0 + (ix + w + 0.5) * g.cell, g.y0 + (iy + h + 0.5) * g.cell])
    got = g.locate_boxes(bounds)
    for k in range(len(w)):
        y0, y1 = np.clip([iy[k], iy[k] + h[k]], 0, ny - 1)
        x0, x1 = np.clip([ix[k], ix[k] + w[k]], 0, nx - 1)
        cells = g.combo[y0:y1 + 1, x0:x1 + 1]
        want = int(cells[0, 0]) if y1 - y0 < 256 and (cells >= 0).all() else -1
        assert got[k] == want, (k, got[k], want)
    assert (got >= 0).sum() > 1_000 and ((w * h > 65_535) & (got >= 0)).any()


def test_index_is_cached_beside_the_build_and_read_back(tmp_path):
    root = make_tiny_layerset(tmp_path / "tiny")
    ls = read_layerset(root)  # builds; the build prepares the index
    path = cache_path(ls)
    assert path.exists()
    fresh = zone_index(read_layerset(root))  # from the cache
    built = zone_index(read_layerset(root), cache=False)  # cut anew
    assert len(fresh.pieces) == len(built.pieces)
    assert all(a.equals_exact(b, 0) for a, b in zip(fresh.pieces, built.pieces))
    np.testing.assert_array_equal(fresh.piece_zone, built.piece_zone)
    np.testing.assert_array_equal(fresh.grid.combo, built.grid.combo)
    pd.testing.assert_frame_equal(fresh.attrs, built.attrs)
    pd.testing.assert_frame_equal(fresh.zones, built.zones)
    sites = _sites([Point(X0 + 2_000, Y0 + 2_000), box(X0 + 2_500, Y0 + 1_500, X0 + 3_500, Y0 + 2_500),
                    Point(X0 + 8_300, Y0 + 7_000)], project_type=["T03", "T03", "T01"])
    a, b = read_layerset(root), read_layerset(root)
    zone_index(b, cache=False)
    ra, rb = check_sites(sites, a), check_sites(sites, b)
    pd.testing.assert_frame_equal(ra.detail, rb.detail)
    pd.testing.assert_frame_equal(ra.sites, rb.sites)


def test_stale_or_broken_cache_is_rebuilt(tmp_path):
    root = make_tiny_layerset(tmp_path / "tiny")
    ls = read_layerset(root)
    path = cache_path(ls)
    path.write_bytes(b"not a cache")
    zi = zone_index(read_layerset(root))  # unreadable: cut anew and written again
    assert len(zi.pieces) > 0 and path.stat().st_size > 100
    # another build content (the zones changed) does not read the old index
    text = (root / "data" / "zones.geojson").read_text(encoding="utf-8")
    (root / "data" / "zones.geojson").write_text(text.replace('"A区"', '"A区改"'), encoding="utf-8")
    ls2 = read_layerset(root)
    assert ls2.meta["content_hash"] != ls.meta["content_hash"]
    assert "A区改" in set(zone_index(ls2).attrs["name_zh"])


def test_read_only_layer_set_still_checks(tmp_path, monkeypatch):
    root = make_tiny_layerset(tmp_path / "tiny")
    ls = read_layerset(root)
    cache_path(ls).unlink()

    def refuse(*a, **k):
        raise PermissionError("read-only")

    monkeypatch.setattr("geo.check.zones._save", refuse)
    res = check_sites(_sites([Point(X0 + 2_000, Y0 + 2_000)], project_type=["T03"]), read_layerset(root))
    assert res.sites.loc[0, "verdict"] == "prohibited"
    assert not cache_path(ls).exists()


def test_coverage_pieces_clip_as_the_whole_coverage(tiny):
    zi = zone_index(tiny)
    rng = np.random.default_rng(11)
    x0 = X0 - 2_000 + rng.random(300) * 14_000
    y0 = Y0 - 2_000 + rng.random(300) * 14_000
    parcels = shapely.box(x0, y0, x0 + 1_500, y0 + 900)
    part = shapely.intersects(tiny.coverage, parcels) & ~shapely.covers(tiny.coverage, parcels)
    got = zi.clip_to_coverage(parcels[part], tiny.coverage)
    want = shapely.intersection(parcels[part], tiny.coverage)
    np.testing.assert_allclose(shapely.area(got), shapely.area(want), rtol=1e-9)
    assert shapely.equals(got, want).all()


def test_clipping_a_feature_inside_the_coverage_is_the_same_overlay():
    coverage = AREA.buffer(0)
    inner = Point(X0 + 5_000, Y0 + 5_000).buffer(1_000, quad_segs=64)
    crossing = box(X0 - 500, Y0 + 100, X0 + 500, Y0 + 900)
    got = clip_to([inner, crossing], coverage)
    want = [shapely.intersection(inner, coverage), shapely.intersection(crossing, coverage)]
    assert all(a.equals_exact(b, 0) for a, b in zip(got, want))


def test_build_prepares_the_index(tmp_path):
    root = make_tiny_layerset(tmp_path / "tiny")
    build_layerset(root)
    assert cache_path(read_layerset(root)).exists()
