"""Layer sizes and the plan's spatial indicators, computed in the measurement CRS."""
from __future__ import annotations

import pandas as pd

from .read import LayerSet

__all__ = ["layer_summary", "indicators", "network_lines", "summary_table"]


def layer_summary(ls: LayerSet) -> pd.DataFrame:
    """One row per layer and class: features, area (km²) or length (km)."""
    rows = []
    for spec in ls.manifest["layers"]:
        gdf = ls.measured(spec.id)
        for zone_class, part in gdf.groupby("zone_class", sort=False):
            row = {"layer": spec.id, "title_zh": spec.title_zh, "title_en": spec.title_en,
                   "zone_class": zone_class, "class_zh": spec.class_label(zone_class, "zh"), "features": len(part)}
            if spec.geometry == "polygon":
                row["area_km2"] = round(part.geometry.area.sum() / 1e6, 2)
            elif spec.geometry == "line":
                row["length_km"] = round(part.geometry.length.sum() / 1e3, 2)
            rows.append(row)
    return pd.DataFrame(rows)


def indicators(ls: LayerSet) -> list[dict]:
    """The plan's spatial indicators declared under ``[indicators]`` in the manifest.

    * red-line share of the land area (%);
    * mainland natural shoreline retention rate (%) = natural mainland coastline
      length / mainland coastline length (docs/legal-basis.md §4.2), against the plan's target.
    """
    conf = ls.manifest.get("indicators", {})
    out = []
    land_id, red_id, coast_id = conf.get("land_layer"), conf.get("red_line_layer"), conf.get("coastline_layer")
    if land_id and red_id:
        land = ls.measured(land_id).geometry.area.sum()
        red = ls.measured(red_id)
        red_land = red.geometry.intersection(ls.measured(land_id).union_all()).area.sum()
        out.append({"indicator": "red_line_share_of_land_pct", "name_zh": "生态保护红线占陆域面积比例",
                    "value": round(100 * red_land / land, 2), "unit": "%",
                    "note": f"land red line {red_land / 1e6:.1f} km² of {land / 1e6:.1f} km²"})
    if coast_id:
        coast = ls.measured(coast_id)
        main = coast[~coast["island"].astype(bool)] if "island" in coast else coast
        total = main.geometry.length.sum()
        natural = main[main["natural"].astype(bool)].geometry.length.sum()
        target = conf.get("natural_shoreline", {})
        value = round(100 * natural / total, 2) if total else float("nan")
        note = f"natural {natural / 1e3:.1f} km of {total / 1e3:.1f} km mainland coast"
        if target:
            status = "meets" if value >= target["target_pct"] else "below"
            note += (f"; plan: {target['base_pct']}% ({target['base_year']}) → {target['target_pct']}% "
                     f"({target['target_year']}), {status} target [{target.get('clause', '')}]")
        out.append({"indicator": "natural_shoreline_retention_pct", "name_zh": "大陆自然岸线保有率",
                    "value": value, "unit": "%", "note": note})
    return out


def summary_table(ls: LayerSet) -> str:
    """The layer summary and indicators as plain text (for the CLI)."""
    df = layer_summary(ls)
    lines = [f"{ls.info['title_zh']} / {ls.info['title_en']}"]
    if ls.illustrative:
        lines.append(f"!! {ls.info.get('notice_zh', '')} {ls.info.get('notice_en', '')}")
    lines.append(f"build {ls.meta.get('build_date', '?')}  content {ls.meta.get('content_hash', '')[:12]}")
    lines.append("")
    lines.append(df.astype(object).where(df.notna(), "").to_string(index=False))
    lines.append("")
    for ind in indicators(ls):
        lines.append(f"{ind['name_zh']} {ind['indicator']}: {ind['value']} {ind['unit']}  ({ind['note']})")
    lines += network_lines(ls)
    return "\n".join(lines)


def network_lines(ls: LayerSet) -> list:
    """The connectivity indices of the layer set's ``[network]`` (none without one; docs/network.md)."""
    from ..network.graph import network_of, ranked

    net = network_of(ls)
    if net is None:
        return []
    nodes, links, s = ranked(net)
    top = nodes.sort_values("dPC", ascending=False).iloc[0] if len(nodes) else None
    out = ["", f"生态网络连通性 network connectivity: IIC {s['IIC']:.6f}, PC {s['PC']:.6f} "
           f"({s['nodes']} nodes, {s['links']} links; p = {s['probability']} @ {s['decay_m']:.0f} m)"]
    if top is not None:
        out.append(f"最重要节点 most important node: {top['name_zh']} / {top['name_en']} (dPC {top['dPC']:.2f} %); "
                   f"ecozone network 列出全部 / lists all")
    return out
