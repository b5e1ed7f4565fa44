"""The HTML of tooltips and popups of zones and sites.

Every text from data or sites is HTML-escaped here, in Python, before it
reaches the page; the page's own script sets its texts with ``textContent``.
folium's ``GeoJsonTooltip``/``GeoJsonPopup`` and ``Popup`` are not used: they
insert property values as HTML (and need jQuery). Labels come from
:mod:`geo.text`.
"""
from __future__ import annotations

import html

from ..text import CONTROLS, LANGS, MAP_LABELS, UNITS, VERDICTS, other_lang

__all__ = ["TEXT", "esc", "plain", "cap", "badge", "names", "tooltip", "zone_popup", "site_popup"]

#: the map's labels by language: ``TEXT[lang][key]`` (from :data:`geo.text.MAP_LABELS`)
TEXT = {lang: {key: text[lang] for key, text in MAP_LABELS.items()} for lang in LANGS}


def esc(value) -> str:
    """HTML-escaped text of a value (blank for None and NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


def plain(value) -> str:
    """Text of a value (blank for None and NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def cap(text: str) -> str:
    """``text`` with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def badge(verdict: str, lang: str) -> str:
    """A verdict on its colour."""
    v = VERDICTS.get(verdict, VERDICTS["unknown"])
    return f'<span class="ez-badge" style="background:{v["color"]}">{esc(v[lang])}</span>'


def names(row, lang: str, fallback: str = "") -> tuple[str, str]:
    """(name in ``lang``, name in the other language when it differs) of a zone."""
    main = plain(row.get(f"name_{lang}")) or plain(row.get(f"name_{other_lang(lang)}")) or fallback
    alt = plain(row.get(f"name_{other_lang(lang)}"))
    return main, ("" if alt == main else alt)


def tooltip(name: str, subtitle: str) -> str:
    """A feature's tooltip: its name in bold over a subtitle."""
    return f"<b>{esc(name)}</b><br>{esc(subtitle)}"


def _measure_text(row, lang: str) -> tuple[str, str] | None:
    """(label, value with unit) of a zone's area (km² from 1 km², else ha) or length, or None."""
    t = TEXT[lang]
    area = row.get("area_km2")
    if area is not None and area == area and area != "":
        area = float(area)
        if area >= 1:
            return t["area"], f"{area:,.2f} " + UNITS["km2"][lang]
        return t["area"], f"{area * 100:,.2f} " + UNITS["ha"][lang]
    length = row.get("length_km")
    if length is not None and length == length and length != "":
        return t["length"], f"{float(length):,.2f} " + UNITS["km"][lang]
    return None


def _table(rows) -> str:
    """An HTML table of (escaped label, HTML value) rows."""
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def zone_popup(row, spec, layer_label: str, rule, lang: str) -> str:
    """A zone's popup: names, layer, class, control requirement and citation, clause, area or length, code, id.

    The requirement is the rule table's general rule of the zone (``rule``);
    without one, the class's control level and the plan clause.
    """
    t, alt_lang = TEXT[lang], other_lang(lang)
    zone_class = plain(row.get("zone_class"))
    main, alt = names(row, lang, plain(row.get("zone_id")))
    cls = spec.classes.get(zone_class, {})
    cls_text = esc(cls.get(lang) or row.get(f"class_{lang}") or zone_class)
    cls_alt = cls.get(alt_lang, "")
    if cls_alt:
        cls_text += f' <span class="ez-alt">{esc(cls_alt)}</span>'
    clause = plain(row.get("clause")) or spec.clause
    if rule is not None:
        cond = rule.condition_zh if lang == "zh" else rule.condition_en
        control = f"{badge(rule.verdict, lang)} {esc(cond)}" + (esc(t["judgement"]) if rule.judgement else "")
        citation = rule.citation
    else:
        level = plain(row.get("control")) or cls.get("control", "")
        control = esc(CONTROLS.get(level, {}).get(lang, level))
        citation = clause
    rows = [(t["layer"], esc(layer_label)), (t["class"], cls_text), (t["control"], control),
            (t["citation"], esc(citation))]
    if rule is not None and clause and clause != citation:
        rows.append((t["clause"], esc(clause)))
    measure = _measure_text(row, lang)
    if measure:
        rows.append((measure[0], esc(measure[1])))
    if plain(row.get("zone_code")):
        rows.append((t["code"], esc(row.get("zone_code"))))
    rows.append((t["id"], esc(row.get("zone_id"))))
    head = f'<div class="ez-name">{esc(main)}</div>'
    if alt:
        head += f'<div class="ez-alt">{esc(alt)}</div>'
    return f'<div class="ez-pop">{head}{_table(rows)}</div>'


def site_popup(row, lang: str) -> str:
    """A checked site's popup: name, verdict, project type, reasons, citations, id."""
    t, alt_lang = TEXT[lang], other_lang(lang)
    verdict = plain(row.get("verdict")) or "unknown"
    name = plain(row.get("name")) or plain(row.get("site_id"))
    ptype = plain(row.get("project_type"))
    ptype_text = " ".join(x for x in (ptype, plain(row.get("project_type_zh")) if lang == "zh" else "") if x)
    reasons = plain(row.get(f"reasons_{lang}")) or plain(row.get(f"reasons_{alt_lang}"))
    rows = [(t["verdict"], badge(verdict, lang) + f' <span class="ez-alt">{esc(VERDICTS[verdict][alt_lang])}</span>'),
            (t["type"], esc(ptype_text)), (t["reasons"], esc(reasons)),
            (t["citation"], esc(row.get("citations"))), (t["id"], esc(row.get("site_id")))]
    return f'<div class="ez-pop ez-site"><div class="ez-name">{esc(name)}</div>{_table(rows)}</div>'
