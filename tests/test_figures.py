"""geo.figures: location and overview figures, read back as PNG (Pillow) and as SVG text."""
from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from shapely.geometry import LineString, Point, box

from geo import figures
from geo.errors import MapError
from geo.figures import location_figure, overview_figure, scale_length

X0, Y0 = 540_000.0, 4_330_000.0  # EPSG:4550 metres
CRS_LABEL = "CGCS2000 / 3° GK CM 123°E (EPSG:4550)"
STYLES = {
    ("red_line", "land"): {"color": "#e31a1c", "label_zh": "生态保护红线", "label_en": "red line"},
    ("water_source", "L1"): {"color": "#1f78b4", "label_zh": "$x^2$ 一级保护区", "label_en": "class I"},
    ("water_source", "L2"): {"color": "#a6cee3", "label_zh": "二级保护区（饮用水水源地）",
                             "label_en": "class II protection zone of the drinking-water source"},
    ("coastline", "strict"): {"color": "#6a3d9a", "label_zh": "严格保护岸线", "label_en": "strict shoreline"},
}
SITES = {
    "point": Point(X0, Y0),
    "line": LineString([(X0 - 900, Y0 - 300), (X0 + 900, Y0 + 400)]),
    "parcel": box(X0 - 100, Y0 - 50, X0 + 150, Y0 + 80),
}


def zones_frame(**far) -> gpd.GeoDataFrame:
    ring = Point(X0 + 300, Y0).buffer(800).difference(Point(X0 + 300, Y0).buffer(400))
    rows = [("red_line", "land", "红线", "HX01", box(X0 - 2000, Y0 - 2000, X0 + 200, Y0 + 300)),
            ("water_source", "L1", "$x^2$", "SY01", Point(X0 + 300, Y0).buffer(400)),
            ("water_source", "L2", "二级", "SY02", ring),
            ("coastline", "strict", "岸线", "AX01", LineString([(X0 - 3000, Y0 + 150), (X0 + 3000, Y0 + 200)]))]
    if far:
        rows = [(r[0], r[1], r[2], r[3], shapely.affinity.translate(r[4], **far)) for r in rows]
    return gpd.GeoDataFrame(rows, columns=["layer", "zone_class", "name_zh", "zone_code", "geometry"], crs=4550)


def svg_texts(data: bytes) -> list:
    root = ET.fromstring(data)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize("width_mm, height_mm, dpi", [(160, 110, 150), (120, 90, 96)])
def test_png_has_the_asked_pixel_size_and_dpi(width_mm, height_mm, dpi):
    im = png(location_figure(SITES["parcel"], zones_frame(), styles=STYLES, crs_label=CRS_LABEL,
                             width_mm=width_mm, height_mm=height_mm, dpi=dpi))
    assert im.size == (round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi))
    assert im.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)


def test_svg_keeps_legend_scale_and_grid_labels_as_text():
    texts = svg_texts(location_figure(SITES["parcel"], zones_frame(), styles=STYLES, crs_label=CRS_LABEL,
                                      fmt="svg"))
    assert "图例 / Legend" in texts and "项目位置 / Site" in texts
    assert "生态保护红线 / red line" in texts and "严格保护岸线 / strict shoreline" in texts
    assert "二级保护区（饮用水水源地） /" in texts  # a long label breaks after the slash
    assert "100 m" in texts  # 600 m window: the 1-2-5 length under a quarter of it
    assert "540 000 E" in texts and "4 330 000 N" in texts  # grid in metres, no scientific notation
    assert CRS_LABEL.split(" (")[0] in texts and "(EPSG:4550)" in texts
    assert "N" in texts


def test_dollar_signs_from_data_are_not_mathtext():
    data = location_figure(SITES["parcel"], zones_frame(), styles=STYLES, crs_label="$CRS^2$", fmt="svg")
    texts = svg_texts(data)
    assert "$x^2$ 一级保护区 / class I" in texts and "$CRS^2$" in texts
    png(location_figure(SITES["parcel"], zones_frame(), styles=STYLES, crs_label="$\\frac{1", fmt="png"))


def test_zones_outside_the_window_leave_only_the_site_in_the_legend():
    texts = svg_texts(location_figure(SITES["parcel"], zones_frame(xoff=50_000), styles=STYLES,
                                      crs_label=CRS_LABEL, fmt="svg"))
    assert "项目位置 / Site" in texts
    assert not any("red line" in t or "class I" in t or "shoreline" in t for t in texts)


def dark_around(im: Image.Image, x_mm: float, y_mm: float, half_px: int = 12) -> int:
    """Near-black pixels in a square around a point given in mm from the figure's top left (150 dpi)."""
    x, y = round(x_mm / 25.4 * 150), round(y_mm / 25.4 * 150)
    return int((np.asarray(im.convert("L"))[y - half_px:y + half_px, x - half_px:x + half_px] < 60).sum())


@pytest.mark.parametrize("zones", [None, zones_frame().iloc[:0], zones_frame()], ids=["none", "empty", "zones"])
@pytest.mark.parametrize("kind", list(SITES))
def test_each_site_kind_is_drawn_in_black_at_the_centre(kind, zones):
    im = png(location_figure(SITES[kind], zones, styles=STYLES, crs_label=CRS_LABEL))
    # the map frame: 9 mm from the left, 102 mm wide; 3 mm from the top, 100 mm high; the site at its centre
    assert dark_around(im, 9 + 51, 3 + 50) > 25  # star, thick line or hatching
    assert dark_around(im, 9 + 12, 3 + 20) < 10  # away from the site: zones and grid are not black


def test_a_long_line_widens_the_window_and_the_scale_bar():
    line = LineString([(X0, Y0), (X0 + 40_000, Y0 + 5_000)])
    texts = svg_texts(location_figure(line, zones_frame(), styles=STYLES, crs_label=CRS_LABEL, fmt="svg"))
    assert "10 km" in texts
    assert "生态保护红线 / red line" in texts


def test_an_unknown_layer_class_is_grey_and_named_by_its_ids():
    zones = zones_frame()
    zones.loc[0, "zone_class"] = "marine"
    texts = svg_texts(location_figure(SITES["parcel"], zones, styles=STYLES, crs_label=CRS_LABEL, fmt="svg"))
    assert "red_line marine" in texts


@pytest.mark.parametrize("span, length", [(600, 100), (1000, 200), (4100, 1000), (90_000, 20_000), (7, 1)])
def test_scale_length_is_a_round_1_2_5_value_under_a_quarter(span, length):
    assert scale_length(span) == length


def test_bad_requests_are_map_errors():
    with pytest.raises(MapError, match="no geometry"):
        location_figure(Point(), None, styles={}, crs_label="")
    with pytest.raises(MapError, match="not supported"):
        location_figure(SITES["point"], None, styles={}, crs_label="", fmt="jpg")
    with pytest.raises(MapError, match="too small"):
        location_figure(SITES["point"], None, styles={}, crs_label="", width_mm=50)
    with pytest.raises(MapError, match="2 sites but 1 verdicts"):
        overview_figure([SITES["point"], SITES["line"]], ["allowed"], None, crs_label="")
    with pytest.raises(MapError, match="no sites and no coverage"):
        overview_figure([Point()], ["allowed"], None, crs_label="")


def test_a_missing_cjk_font_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(figures, "FONT_FAMILY", "No Such CJK Font")
    figures.cjk_font.cache_clear()
    try:
        with pytest.raises(MapError, match="fonts-noto-cjk"):
            location_figure(SITES["point"], None, styles={}, crs_label="")
    finally:
        figures.cjk_font.cache_clear()


def test_overview_counts_verdicts_and_draws_parcels_lines_and_points():
    sites = [SITES["point"], SITES["line"], SITES["parcel"], Point(X0 + 500, Y0 + 500), box(X0, Y0, X0 + 0.5, Y0 + 0.5)]
    verdicts = ["prohibited", "allowed", "allowed", "weird $v$", "allowed"]
    coverage = box(X0 - 5_000, Y0 - 5_000, X0 + 5_000, Y0 + 5_000)
    texts = svg_texts(overview_figure(sites, verdicts, coverage, crs_label=CRS_LABEL, fmt="svg"))
    assert "禁止 / prohibited (1)" in texts and "允许 / allowed (3)" in texts
    assert "weird $v$ (1)" in texts
    assert not any("restricted" in t for t in texts)  # verdicts without sites are not in the legend
    assert "数据覆盖范围 / coverage" in texts and "2 km" in texts
    im = png(overview_figure(gpd.GeoSeries(sites), np.array(verdicts), coverage, crs_label=CRS_LABEL))
    assert im.size == (945, 650)


def test_overview_of_many_points_is_rasterized_in_svg():
    rng = np.random.default_rng(0)
    pts = shapely.points(rng.uniform(X0, X0 + 20_000, 5_000), rng.uniform(Y0, Y0 + 20_000, 5_000))
    verdicts = rng.choice(["allowed", "prohibited"], 5_000)
    data = overview_figure(pts, verdicts, None, crs_label=CRS_LABEL, fmt="svg")
    assert b"<image" in data and len(data) < 600_000
    assert f"允许 / allowed ({(verdicts == 'allowed').sum():,})" in svg_texts(data)


def test_figures_never_touch_pyplot():
    code = ("import sys, shapely, geo.figures as f;"
            "f.location_figure(shapely.Point(0, 0), None, styles={}, crs_label='x');"
            "f.overview_figure([shapely.Point(0, 0)], ['allowed'], None, crs_label='x');"
            "print('matplotlib.pyplot' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


@pytest.mark.parametrize("fmt", figures.FORMATS)
def test_a_sheet_redraws_each_site_as_a_figure_of_its_own(fmt):
    sheet = figures.LocationSheet(crs_label=CRS_LABEL, fmt=fmt)
    # kinds and zones change from draw to draw: nothing of the previous site may stay (artists, legend, star)
    for kind, zones in [("parcel", zones_frame()), ("point", zones_frame(xoff=50_000)), ("line", zones_frame()),
                        ("point", None), ("parcel", zones_frame())]:
        alone = location_figure(SITES[kind], zones, styles=STYLES, crs_label=CRS_LABEL, fmt=fmt)
        assert sheet.draw(SITES[kind], zones, styles=STYLES) == alone
