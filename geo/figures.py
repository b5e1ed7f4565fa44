"""Static figures for reports: a site over the zones it meets, and all sites by verdict (PNG or SVG).

Drawn with matplotlib's object-oriented API on its Agg canvas (a :class:`~matplotlib.figure.Figure`
of its own per call, or per :class:`LocationSheet` that redraws one figure for site after site; never
pyplot's state), without network or basemap, in the layer set's
measurement CRS (metres): a coordinate grid labelled in that CRS, a scale bar of a round length and
a north arrow pointing to grid north. Texts are set in Noto Sans CJK SC (Debian's ``fonts-noto-cjk``)
and never parsed as mathtext, so a name from data such as ``$x^2$`` is drawn as written; SVG keeps
them as text.
"""
from __future__ import annotations

import io
import math
import textwrap
import unicodedata
from functools import lru_cache

import numpy as np
import shapely
from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from PIL import Image

from .errors import MapError
from .text import VERDICTS

__all__ = ["location_figure", "LocationSheet", "overview_figure", "cjk_font", "scale_length", "FORMATS", "FONT_FAMILY",
           "MIN_WINDOW_M"]

#: output formats
FORMATS = ("png", "svg")
#: the font of every text (it has Latin glyphs too)
FONT_FAMILY = "Noto Sans CJK SC"
#: the narrowest window of a location figure, in metres
MIN_WINDOW_M = 600.0
#: fill opacity of zones (outlines are opaque)
ZONE_ALPHA = 0.35
#: page margins around the map frame, mm (left holds the northing labels, bottom the eastings)
_MARGIN = {"left": 9.0, "bottom": 7.0, "top": 3.0, "gap": 3.0}
#: width of the legend column at the right, mm
_LEGEND_MM = 46.0
#: the site's label in legends
_SITE_LABEL = "项目位置 / Site"
#: grid steps (MaxNLocator): round metres
_STEPS = [1, 2, 2.5, 5, 10]
#: verdicts drawn last are on top
_DRAW_ORDER = ["unknown", "allowed", "caution", "restricted", "prohibited"]


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The CJK font's family name, checked once through matplotlib's font manager.

    Raises
    ------
    MapError
        No Noto Sans CJK SC font is installed (or matplotlib's font cache predates it).
    """
    try:
        font_manager.findfont(font_manager.FontProperties(family=FONT_FAMILY), fallback_to_default=False)
    except ValueError:
        raise MapError(f"找不到中文字体 {FONT_FAMILY}，无法绘图 / no {FONT_FAMILY} font for the figures",
                       hint="install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk), "
                            "then delete matplotlib's font cache (~/.cache/matplotlib)") from None
    return FONT_FAMILY


def _rc() -> dict:
    """matplotlib settings of every figure: CJK font, no mathtext, SVG text kept as text, reproducible files."""
    return {"font.family": [cjk_font()], "font.size": 7.0, "text.parse_math": False, "text.usetex": False,
            "svg.fonttype": "none", "svg.hashsalt": "ecozone", "axes.unicode_minus": False,
            "hatch.linewidth": 0.6, "path.simplify": True, "text.hinting": "no_hinting"}


def scale_length(span_m: float) -> float:
    """The scale bar's length: the largest 1-2-5 value (m) not over a quarter of ``span_m``.

    >>> scale_length(1000), scale_length(4100), scale_length(90_000)
    (200.0, 1000.0, 20000.0)
    """
    target = max(span_m, 4e-3) / 4
    power = 10.0 ** math.floor(math.log10(target))
    return next(m * power for m in (5, 2, 1) if m * power <= target * (1 + 1e-9))


def _length_label(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _metres(value: float, suffix: str) -> str:
    """A grid label in whole metres with spaces between thousands: ``4 331 000 N``."""
    return f"{round(value):,}".replace(",", " ") + f" {suffix}"


def _text_width(text: str) -> int:
    """Width of a text in half-em units (CJK characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _label(zh: str, en: str, width: int = 40) -> str:
    """A bilingual legend label ``中文 / English``, broken after the slash (and the English wrapped) when long."""
    zh, en = str(zh or "").strip(), str(en or "").strip()
    if not zh or not en or zh == en:
        return zh or en
    one = f"{zh} / {en}"
    if _text_width(one) <= width:
        return one
    return f"{zh} /\n" + "\n".join(textwrap.wrap(en, width) or [en])


def _frame(width_mm: float, height_mm: float, dpi: float, legend_mm: float = _LEGEND_MM) -> tuple:
    """A figure with its Agg canvas and the map frame (axes) left of the legend column (``legend_mm`` wide)."""
    if width_mm < legend_mm + 40 or height_mm < 40 or not 20 <= dpi <= 1200:
        raise MapError(f"图幅 {width_mm}×{height_mm} mm、{dpi} dpi 太小或无效 / figure size "
                       f"{width_mm}×{height_mm} mm at {dpi} dpi is too small or invalid",
                       hint=f"give at least {legend_mm + 40:g}×40 mm and 20–1200 dpi")
    pixels = (round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi))  # +0.01: the canvas truncates
    fig = Figure(figsize=((pixels[0] + 0.01) / dpi, (pixels[1] + 0.01) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    m = _MARGIN
    ax_w = width_mm - m["left"] - (m["gap"] + legend_mm if legend_mm else m["top"])
    ax_h = height_mm - m["bottom"] - m["top"]
    ax = fig.add_axes((m["left"] / width_mm, m["bottom"] / height_mm, ax_w / width_mm, ax_h / height_mm))
    return fig, ax, (ax_w, ax_h)


def _window(bounds, frame_mm: tuple, dpi: float, *, min_span: float = 0.0, pad: float = 0.0) -> tuple:
    """The map window (xmin, ymin, xmax, ymax) around ``bounds``, padded, fitted to the frame; and metres per pixel."""
    x0, y0, x1, y1 = bounds
    span = max(x1 - x0, y1 - y0)
    span = max(span + 2 * pad, min_span, 1.0)
    w_mm, h_mm = frame_mm
    half_w = max(span, (x1 - x0) * 1.02) / 2
    half_h = max(span, (y1 - y0) * 1.02) / 2
    if half_w / half_h < w_mm / h_mm:  # taller than the frame: widen
        half_w = half_h * w_mm / h_mm
    else:
        half_h = half_w * h_mm / w_mm
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    px = 2 * half_w / (w_mm / 25.4 * dpi)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h), px


def _path(coords: np.ndarray, index: np.ndarray, closed: bool) -> Path | None:
    """One compound path of the parts of ``coords`` that ``index`` separates (rings closed when ``closed``)."""
    if not len(coords):
        return None
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    codes[starts] = Path.MOVETO
    if closed:
        codes[np.r_[starts[1:] - 1, len(coords) - 1]] = Path.CLOSEPOLY
    return Path(coords, codes)


def _paths(geoms) -> tuple:
    """(polygon path, line path, point coordinates) of the parts of ``geoms``; holes oriented against shells."""
    parts = shapely.get_parts(shapely.get_parts(np.asarray(geoms, dtype=object)))  # collections, then multis
    parts = parts[~shapely.is_empty(parts)]
    kind = shapely.get_type_id(parts)
    polys = shapely.orient_polygons(parts[kind == 3])
    rings = shapely.get_rings(polys)
    poly_path = _path(*shapely.get_coordinates(rings, return_index=True), closed=True)
    line_path = _path(*shapely.get_coordinates(parts[(kind == 1) | (kind == 2)], return_index=True), closed=False)
    return poly_path, line_path, shapely.get_coordinates(parts[kind == 0])


def _clipped(geoms: np.ndarray, window) -> np.ndarray:
    """The geometries cut to the window: GEOS's fast rectangle clip, or (for a geometry where it fails, e.g. a
    ring that clipping reduces to three points) the intersection with the window."""
    try:
        return shapely.clip_by_rect(geoms, *window)
    except shapely.errors.GEOSException:
        box = shapely.box(*window)
        return np.array([shapely.intersection(shapely.make_valid(g), box) for g in geoms], dtype=object)


def _draw_zones(ax, zones, window, px, styles, added: list) -> list:
    """Zones clipped to the window and simplified to the pixel, filled and outlined; legend (handle, label) pairs.

    The artists drawn are appended to ``added``. Patches go in through ``add_artist``, not ``add_patch``:
    the window is set, and ``add_patch`` walks every segment in Python to widen the data limits.
    """
    if zones is None or not len(zones):
        return []
    zones = zones.iloc[np.sort(zones.sindex.query(shapely.box(*window)))]  # the frame's index is kept between calls
    geoms = _clipped(zones.geometry.to_numpy(), window)
    keep = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    if not keep.any():
        return []
    geoms = shapely.simplify(geoms[keep], px / 2)
    keys = list(zip(zones["layer"].to_numpy()[keep], zones["zone_class"].to_numpy()[keep]))
    order = {k: i for i, k in enumerate(styles)}
    groups: dict = {}
    for key, geom in zip(keys, geoms):
        groups.setdefault(key, []).append(geom)
    out = []
    for key in sorted(groups, key=lambda k: (order.get(k, len(order)), str(k))):
        style = styles.get(key) or {"color": "#888888", "label_zh": f"{key[0]} {key[1]}", "label_en": ""}
        color = style.get("color") or "#888888"
        poly, line, points = _paths(groups[key])
        label = _label(style.get("label_zh"), style.get("label_en"))
        if poly is not None:
            added.append(ax.add_artist(PathPatch(poly, facecolor=to_rgba(color, ZONE_ALPHA), edgecolor=color,
                                                 linewidth=0.7)))
            out.append((Patch(facecolor=to_rgba(color, ZONE_ALPHA), edgecolor=color, linewidth=0.7), label))
        if line is not None:
            added.append(ax.add_artist(PathPatch(line, fill=False, edgecolor=color, linewidth=1.6)))
            out.append((Line2D([], [], color=color, linewidth=1.6), label))
        if len(points):
            added.append(ax.scatter(points[:, 0], points[:, 1], s=14, c=color, edgecolors="#333333", linewidths=0.4))
            out.append((Line2D([], [], marker="o", linestyle="", color=color, markeredgecolor="#333333"), label))
    return out


def _draw_site(ax, geom, added: list) -> list:
    """The site in black: parcels outlined and hatched, lines thick over a white casing, points a star (artists
    appended to ``added``)."""
    poly, line, points = _paths([geom])
    out = []
    if poly is not None:
        added.append(ax.add_artist(PathPatch(poly, facecolor="none", edgecolor="black", hatch="///", linewidth=1.4,
                                             zorder=4)))
        out.append(Patch(facecolor="none", edgecolor="black", hatch="///", linewidth=1.2))
    if line is not None:
        added.append(ax.add_artist(PathPatch(line, fill=False, edgecolor="white", linewidth=4.2, zorder=4,
                                             capstyle="round")))
        added.append(ax.add_artist(PathPatch(line, fill=False, edgecolor="black", linewidth=2.4, zorder=4,
                                             capstyle="round")))
        out.append(Line2D([], [], color="black", linewidth=2.4))
    if len(points):  # one star scatter per axes, moved from site to site: a new scatter costs more than its drawing
        star = getattr(ax, "_ecozone_star", None)
        if star is None:
            star = ax._ecozone_star = ax.scatter([], [], s=110, marker="*", c="black", edgecolors="white",
                                                 linewidths=0.8, zorder=5)
        star.set_offsets(points)
        star.set_visible(True)
        added.append(star)
        out.append(Line2D([], [], marker="*", markersize=9, linestyle="", color="black", markeredgecolor="white"))
    return [(h, _SITE_LABEL) for h in out[:1]]


class _Furniture:
    """Grid, scale bar, north arrow, legend column and CRS label of a figure: made once, moved to each window.

    The grid is two line collections and one text per line, not matplotlib's ticks, which take about half of
    a figure's time (benchmarks/bench_figures.py); its positions are MaxNLocator's. The north arrow sits in
    axes fractions (the window always fits the frame), so it never moves. ``legend`` False: no column, no
    CRS label (the caption beside the figure gives them).
    """

    _GRID = {"colors": "#555555", "linewidths": 0.3, "alpha": 0.6}

    def __init__(self, fig, ax, crs_label: str, legend: bool, width_mm: float, height_mm: float):
        self.fig, self.ax = fig, ax
        self.legend_at = (1 - _LEGEND_MM / width_mm, 1 - _MARGIN["top"] / height_mm) if legend else None
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="box")
        self.lines = {"E": ax.vlines([], 0, 1, **self._GRID), "N": ax.hlines([], 0, 1, **self._GRID)}
        self.labels: dict = {"E": [], "N": []}
        self.bar = self.legend = None
        ax.add_artist(FancyArrow(0.95, 0.80, 0, 0.12, width=0.004, head_width=0.025, head_length=0.04,
                                 length_includes_head=True, color="black", zorder=6, transform=ax.transAxes))
        ax.text(0.95, 0.93, "N", ha="center", va="bottom", fontsize=8, fontweight="bold", zorder=6,
                transform=ax.transAxes)
        if legend and crs_label:
            fig.text(self.legend_at[0], _MARGIN["bottom"] / height_mm, textwrap.fill(str(crs_label), 36), ha="left",
                     va="bottom", fontsize=5.5, color="#333333", parse_math=False)

    def place(self, window, px: float, legend: list) -> None:
        """Set the window, move grid and labels, redo the scale bar and the legend."""
        x0, y0, x1, y1 = window
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        xs = [v for v in MaxNLocator(nbins=4, steps=_STEPS).tick_values(x0, x1) if x0 < v < x1]
        ys = [v for v in MaxNLocator(nbins=4, steps=_STEPS).tick_values(y0, y1) if y0 < v < y1]
        self.lines["E"].set_segments([[(x, y0), (x, y1)] for x in xs])
        self.lines["N"].set_segments([[(x0, y), (x1, y)] for y in ys])
        self._label("E", xs)
        self._label("N", ys)
        length = scale_length(x1 - x0)
        if self.bar is not None:  # made again, after the site and the zones, so it is drawn after them
            self.bar.remove()
        self.bar = self.ax.add_artist(AnchoredSizeBar(
            self.ax.transData, length, _length_label(length), loc="lower left", pad=0.3, borderpad=0.5, sep=2,
            size_vertical=2.5 * px, color="black", frameon=True, fontproperties=font_manager.FontProperties(size=6.5)))
        if self.legend is not None:
            self.legend.remove()
            self.legend = None
        if self.legend_at is not None and legend:
            handles, labels = zip(*legend)
            self.legend = self.fig.legend(handles, labels, loc="upper left", bbox_to_anchor=self.legend_at,
                                          frameon=False, fontsize=6, title="图例 / Legend", title_fontsize=7,
                                          alignment="left", handlelength=1.8, borderaxespad=0.0)

    def _label(self, axis: str, values: list) -> None:
        """Eastings below the frame, northings left of it (rotated), from a pool of texts."""
        pool, ax = self.labels[axis], self.ax
        while len(pool) < len(values):
            if axis == "E":
                pool.append(ax.annotate("", (0, 0), xycoords=ax.get_xaxis_transform(), xytext=(0, -2),
                                        textcoords="offset points", ha="center", va="top", fontsize=5.5))
            else:
                pool.append(ax.annotate("", (0, 0), xycoords=ax.get_yaxis_transform(), xytext=(-2, 0),
                                        textcoords="offset points", ha="right", va="center", rotation=90,
                                        fontsize=5.5))
        for i, text in enumerate(pool):
            text.set_visible(i < len(values))
            if i < len(values):
                text.set_text(_metres(values[i], axis))
                text.xy = (values[i], 0) if axis == "E" else (0, values[i])


def _render(fig, fmt: str, dpi: float) -> bytes:
    """The figure's file in memory: a 256-colour PNG stating its dpi (Word sizes it by that), or an SVG
    with texts as text; neither carries a date, so the same figure gives the same bytes."""
    buf = io.BytesIO()
    if fmt == "png":
        fig.canvas.draw()
        rgb = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba(), "raw", "RGBA", 0,
                               1).convert("RGB")
        rgb.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, format="png", dpi=(dpi, dpi))
    else:
        fig.savefig(buf, format="svg", dpi=dpi, metadata={"Date": None})
    return buf.getvalue()


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise MapError(f"图片格式 {fmt!r} 不支持 / figure format {fmt!r} is not supported",
                       hint=f"use one of {', '.join(FORMATS)}")


class LocationSheet:
    """One figure redrawn for site after site: the fast way to make many location figures (a report's).

    A matplotlib figure is slow to make (axes, texts, fonts) and quick to redraw, so the sheet makes the
    figure, its grid, scale bar, north arrow and texts once; :meth:`draw` swaps the site's and the zones'
    artists, moves the grid and its labels, sets the window and renders. Each figure is what
    :func:`location_figure` with the same arguments gives (it draws through a sheet of its own). A sheet
    is not for sharing between threads.
    """

    def __init__(self, *, crs_label: str, width_mm: float = 160, height_mm: float = 110, fmt: str = "png",
                 dpi: float = 150, legend: bool = True):
        _check_format(fmt)
        self.fmt, self.dpi, self._rc = fmt, dpi, _rc()
        with rc_context(self._rc):
            self.fig, self.ax, self.frame_mm = _frame(width_mm, height_mm, dpi, _LEGEND_MM if legend else 0.0)
            self._furniture = _Furniture(self.fig, self.ax, crs_label, legend, width_mm, height_mm)
        self._added: list = []

    def draw(self, site_geom, zones, *, styles: dict) -> bytes:
        """The location figure of one site (arguments as :func:`location_figure`)."""
        if site_geom is None or shapely.is_empty(site_geom):
            raise MapError("项目位置为空，无法绘制位置图 / the site has no geometry to draw",
                           hint="give the site a point, line or parcel")
        with rc_context(self._rc):
            star = getattr(self.ax, "_ecozone_star", None)
            for artist in self._added:
                if artist is star:
                    artist.set_visible(False)
                else:
                    artist.remove()
            self._added = []
            bounds = shapely.bounds(site_geom)
            span = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
            window, px = _window(bounds, self.frame_mm, self.dpi, min_span=MIN_WINDOW_M, pad=max(0.15 * span, 150.0))
            drawn = _draw_site(self.ax, site_geom, self._added) + _draw_zones(self.ax, zones, window, px, styles,
                                                                              self._added)
            self._furniture.place(window, px, drawn)
            return _render(self.fig, self.fmt, self.dpi)


def location_figure(site_geom, zones, *, styles: dict, crs_label: str, width_mm: float = 160,
                    height_mm: float = 110, fmt: str = "png", dpi: float = 150, legend: bool = True) -> bytes:
    """A site's location figure: the site over the zones around it, with legend, scale bar, north arrow and grid.

    Parameters
    ----------
    site_geom : a shapely geometry (point, line, parcel or multi-part) in the measurement CRS, metres.
    zones : GeoDataFrame in the same CRS with columns ``layer``, ``zone_class``, ``name_zh``, ``zone_code``
        (None or empty: no zones); zones outside the window are left out, the rest clipped to it.
    styles : ``{(layer, zone_class): {"color": "#rrggbb", "label_zh": …, "label_en": …}}``; its order is
        the legend's; a (layer, class) it lacks is drawn grey and labelled by its ids.
    crs_label : the measurement CRS as the figure names it (``"CGCS2000 / 3° GK CM 123°E (EPSG:4550)"``).
    width_mm, height_mm, dpi : the figure's size; a PNG is ``round(width_mm / 25.4 * dpi)`` pixels wide.
    fmt : ``"png"`` or ``"svg"``.
    legend : draw the legend column and the CRS label; without them (``False``) the map takes the whole
        width and the figure is drawn about a quarter faster (a report gives the legend as a table).

    Returns
    -------
    bytes: the PNG or SVG file. The window is the site's bounds padded by 15 % (at least 150 m), at
    least :data:`MIN_WINDOW_M` across; the north arrow points to grid north (the map's y axis), which
    differs from true north by the meridian convergence (under 1.5° within a 3° Gauss–Krüger zone).
    For many figures, draw them through one :class:`LocationSheet`: several times faster.

    Raises
    ------
    MapError
        Empty site geometry, unknown format, a figure too small, or no CJK font.
    """
    if site_geom is None or shapely.is_empty(site_geom):  # before the font and the figure
        raise MapError("项目位置为空，无法绘制位置图 / the site has no geometry to draw",
                       hint="give the site a point, line or parcel")
    sheet = LocationSheet(crs_label=crs_label, width_mm=width_mm, height_mm=height_mm, fmt=fmt, dpi=dpi,
                          legend=legend)
    return sheet.draw(site_geom, zones, styles=styles)


def _site_marks(geoms: np.ndarray, px: float) -> tuple:
    """(point coordinates, their row numbers, rows drawn as shapes): parts smaller than a pixel become a point."""
    bounds = shapely.bounds(geoms)
    size = np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    kind = shapely.get_type_id(geoms)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    as_point = ~empty & ((kind == 0) | ~(size >= px))
    pts = geoms[as_point]
    single = shapely.get_type_id(pts) == 0
    pts[~single] = shapely.point_on_surface(pts[~single])
    return shapely.get_coordinates(pts), np.flatnonzero(as_point), np.flatnonzero(~empty & ~as_point)


def _verdict_style(verdict, verdict_styles: dict) -> tuple:
    style = verdict_styles.get(verdict) or {"color": "#878787", "label_zh": str(verdict), "label_en": ""}
    return style.get("color") or "#878787", _label(style.get("label_zh"), style.get("label_en"))


def _draw_verdicts(ax, geoms, verdicts, px, verdict_styles, svg: bool) -> list:
    """All sites coloured by verdict, severe ones on top; legend pairs with counts.

    The points of a verdict are one scatter of one face and one edge colour, which Agg stamps as
    markers (a scatter of several colours, or without edge colour, is drawn path by path: seconds for 10⁵).
    """
    coords, point_rows, shape_rows = _site_marks(geoms, px)
    rank = {v: i for i, v in enumerate(_DRAW_ORDER)}
    values, counts = np.unique(verdicts, return_counts=True)
    count = dict(zip(values.tolist(), counts.tolist()))
    n = len(point_rows)
    size, edge = (28, 0.4) if n <= 100 else (12, 0.4) if n <= 1000 else (4, 0.0) if n <= 10_000 else (1.2, 0.0)
    v_points, v_shapes = verdicts[point_rows], verdicts[shape_rows]
    for v in sorted(count, key=lambda v: rank.get(v, -1)):
        color = _verdict_style(v, verdict_styles)[0]
        poly, line, _ = _paths(geoms[shape_rows[v_shapes == v]])
        if poly is not None:
            ax.add_patch(PathPatch(poly, facecolor=color, edgecolor="#222222", linewidth=0.4, zorder=3))
        if line is not None:
            ax.add_patch(PathPatch(line, fill=False, edgecolor=color, linewidth=1.6, zorder=3))
        mine = coords[v_points == v]
        if len(mine):
            ax.scatter(mine[:, 0], mine[:, 1], s=size, color=color, marker="o", zorder=4, linewidths=edge,
                       edgecolors="#222222" if edge else color, rasterized=svg and n > 2000)
    out = []
    for v in [*verdict_styles, *sorted(set(count) - set(verdict_styles))]:
        if count.get(v):
            color, label = _verdict_style(v, verdict_styles)
            out.append((Line2D([], [], marker="o", linestyle="", color=color, markeredgecolor="#222222"),
                        f"{label} ({count[v]:,})"))
    return out


def overview_figure(sites_geoms, verdicts, coverage_geom, *, verdict_styles: dict | None = None,
                    crs_label: str, width_mm: float = 160, height_mm: float = 110, fmt: str = "png",
                    dpi: float = 150) -> bytes:
    """The summary map: every site coloured by its verdict over the coverage outline.

    Parameters
    ----------
    sites_geoms : sequence (or GeoSeries) of shapely geometries in the measurement CRS, metres; a site
        smaller than a pixel is drawn at its representative point, points as one scatter (fast for 10⁵ sites;
        rasterized in SVG above 2,000 points).
    verdicts : the verdict of each site (``prohibited`` … ``unknown``), same length.
    coverage_geom : the layer set's coverage in the same CRS (None: the sites alone set the window).
    verdict_styles : ``{verdict: {"color", "label_zh", "label_en"}}``, in legend order; default
        :data:`geo.text.VERDICTS`.
    crs_label, width_mm, height_mm, fmt, dpi : as :func:`location_figure`.

    Returns
    -------
    bytes: the PNG or SVG file, its legend giving each verdict present with its count; the north arrow
    points to grid north.

    Raises
    ------
    MapError
        Lengths differ, nothing to draw, unknown format, a figure too small, or no CJK font.
    """
    _check_format(fmt)
    geoms = np.asarray(getattr(sites_geoms, "values", sites_geoms), dtype=object).ravel()
    verdicts = np.asarray(getattr(verdicts, "values", verdicts)).astype(str)
    if len(geoms) != len(verdicts):
        raise MapError(f"{len(geoms)} 个项目却有 {len(verdicts)} 个结论 / {len(geoms)} sites but "
                       f"{len(verdicts)} verdicts", hint="give one verdict per site")
    if verdict_styles is None:
        verdict_styles = {v: {"color": s["color"], "label_zh": s["zh"], "label_en": s["en"]} for v, s in VERDICTS.items()}
    boxes = [shapely.total_bounds(geoms)]
    if coverage_geom is not None:
        boxes.append(shapely.total_bounds(coverage_geom))
    boxes = np.array(boxes)
    if np.isnan(boxes).all():
        raise MapError("没有可绘制的项目或覆盖范围 / no sites and no coverage to draw", hint="check at least one site")
    bounds = (*np.nanmin(boxes[:, :2], axis=0), *np.nanmax(boxes[:, 2:], axis=0))
    with rc_context(_rc()):
        fig, ax, frame_mm = _frame(width_mm, height_mm, dpi)
        span = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
        window, px = _window(bounds, frame_mm, dpi, min_span=MIN_WINDOW_M, pad=0.03 * span)
        if coverage_geom is not None and not shapely.is_empty(coverage_geom):
            poly, line, _ = _paths([shapely.simplify(coverage_geom, px / 2)])
            for path in (poly, line):
                if path is not None:
                    ax.add_patch(PathPatch(path, facecolor="#f4f4f0", edgecolor="#555555", linewidth=0.8))
        legend = _draw_verdicts(ax, geoms, verdicts, px, verdict_styles, fmt == "svg")
        if coverage_geom is not None:
            legend.append((Patch(facecolor="#f4f4f0", edgecolor="#555555"), "数据覆盖范围 / coverage"))
        _Furniture(fig, ax, crs_label, True, width_mm, height_mm).place(window, px, legend)
        return _render(fig, fmt, dpi)
