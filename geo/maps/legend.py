"""The map's legend and title box (HTML, escaped here; the page inserts it as it is).

The legend gives each label in the map's language and, beside it, in the other
one; it ends with the data, its build and the basemap.
"""
from __future__ import annotations

from ..text import other_lang
from .basemaps import GAODE_ATTR
from .labels import TEXT, cap, esc
from .styles import zone_style

__all__ = ["legend_block", "legend_html", "title_html"]


def legend_block(spec, classes: list, split: bool, n_specs: int, lang: str) -> tuple:
    """(sub-heading, its other-language text, rows, geometry) of one layer in the legend."""
    alt = other_lang(lang)
    title, title_alt = getattr(spec, f"title_{lang}"), getattr(spec, f"title_{alt}")
    rows = [(cap(spec.class_label(c, lang)), cap(spec.class_label(c, alt)), zone_style(spec, c)) for c in classes]
    if len(rows) == 1 and not split:
        return "", "", [(title, title_alt, rows[0][2])], spec.geometry
    if split or n_specs == 1:
        return "", "", rows, spec.geometry
    return title, title_alt, rows, spec.geometry


def _swatch(style: dict, kind: str) -> str:
    """A legend's sample of a style: a line, a dot (sites) or a filled box."""
    if kind == "line":
        return f'<span class="ez-sw ez-line" style="border-color:{style["color"]}"></span>'
    fill = style["fillColor"]
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5)) if len(fill) == 7 else (136, 136, 136)
    cls = "ez-sw ez-point" if kind == "point" else "ez-sw"
    return (f'<span class="{cls}" style="background:rgba({r},{g},{b},{max(style["fillOpacity"], 0.25):.2f});'
            f'border-color:{style["color"]}"></span>')


def legend_html(ls, legend: list, lang: str, base: list, datum: str) -> str:
    """The legend: per group (heading, its other-language text, blocks of :func:`legend_block`), then the sources."""
    t, o = TEXT[lang], other_lang(lang)
    parts = [f'<details open><summary>{esc(t["legend"])} <span class="ez-alt">{esc(TEXT[o]["legend"])}</span>'
             "</summary>"]
    for g_label, g_alt, blocks in legend:
        parts.append(f'<h4>{esc(g_label)} <span class="ez-alt">{esc(g_alt)}</span></h4>')
        for sub, sub_alt, rows, kind in blocks:
            if sub:
                parts.append(f'<h5>{esc(sub)} <span class="ez-alt">{esc(sub_alt)}</span></h5>')
            parts.append("<ul>" + "".join(
                f'<li>{_swatch(style, kind)}{esc(a)} <span class="ez-alt">{esc(b)}</span></li>'
                for a, b, style in rows) + "</ul>")
    meta = [f"{t['data']}: {ls.info.get(f'title_{lang}', ls.name)}"]
    if ls.meta.get("build_date"):
        meta.append(f"{t['built']} {ls.meta['build_date']} · {str(ls.meta.get('content_hash', ''))[:12]}")
    if base:
        meta.append(f"{t['basemap']}: {base[0]['label']}")
    if datum == "gcj02":
        meta.append(GAODE_ATTR[lang].replace("&copy; ", ""))
    parts.append("".join(f'<div class="ez-meta">{esc(x)}</div>' for x in meta))
    parts.append("</details>")
    return "".join(parts)


def title_html(ls, lang: str, n_sites: int) -> str:
    """The title box: the layer set's title, its notice (illustrative data…) and the number of sites."""
    t = TEXT[lang]
    out = f"<b>{esc(ls.info.get(f'title_{lang}', ls.name))}</b>"
    notice = ls.info.get(f"notice_{lang}")
    if notice:
        out += f'<div class="ez-notice">{esc(notice)}</div>'
    if n_sites:
        out += f'<div class="ez-alt">{esc(t["sites_summary"].format(n=n_sites))}</div>'
    return out
