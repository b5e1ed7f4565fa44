"""Writing and printing a network: its nodes, links and indices (GeoPackage, text)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio

from ..atomic import atomic_path, writing

__all__ = ["network_text", "write_layers", "write_network"]


def network_text(nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame, summary: dict, *, top: int = 10) -> str:
    """The indices and the ``top`` nodes and links by dPC, as plain text (zh/en)."""
    lines = [f"生态网络 / ecological network: {summary['nodes']} 节点 nodes, {summary['links']} 连接 links; "
             f"A_L {summary['landscape_km2']:.1f} km²",
             f"IIC = {summary['IIC']:.6f}   PC = {summary['PC']:.6f}   "
             f"(p = {summary['probability']} @ {summary['decay_m']:.0f} m, p = exp(-k·d))", ""]
    cols = ["node_id", "name_zh", "name_en", "area_m2", "dIIC", "dPC", "dPC_intra", "dPC_flux", "dPC_connector"]
    head = nodes.sort_values("dPC", ascending=False)[cols].head(top).copy()
    head["area_m2"] = (head["area_m2"] / 1e6).round(2)
    lines.append("节点重要性 / node importance (dPC %, area km²):")
    lines.append(head.rename(columns={"area_m2": "area_km2"}).to_string(index=False))
    if len(links):
        lcols = ["link_id", "kind", "name_zh", "nodes", "length_m", "width_m", "dIIC", "dPC"]
        lk = links.sort_values("dPC", ascending=False)[lcols].head(top).copy()
        lk["length_m"] = lk["length_m"].round(0)
        lines += ["", "连接重要性 / link importance (dPC %):", lk.to_string(index=False)]
    return "\n".join(lines)


def write_layers(layers: dict, out, *, crs, overwrite: bool) -> None:
    """Write GeoDataFrames (reprojected to ``crs``) and plain tables as layers of one GeoPackage, atomically."""
    with atomic_path(out, overwrite=overwrite) as tmp, writing(out):
        for name, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame):
                pyogrio.write_dataframe(frame.to_crs(crs), tmp, layer=name, driver="GPKG", append=tmp.exists())
            else:
                pyogrio.write_dataframe(pd.DataFrame(frame), tmp, layer=name, driver="GPKG", append=tmp.exists())


def write_network(nodes, links, summary: dict, out, *, crs, overwrite: bool) -> None:
    """The network as layers ``nodes`` and ``links`` and a table ``indices`` (name, value)."""
    table = pd.DataFrame({"name": list(summary), "value": [float(v) for v in summary.values()]})
    write_layers({"nodes": nodes, "links": links, "indices": table}, out, crs=crs, overwrite=overwrite)
