"""``ecozone map``: an interactive web map of a layer set and checked sites (one HTML file)."""
from __future__ import annotations

from pathlib import Path

import click

from ..text import BASEMAPS
from .options import layerset_argument, overwrite_option


@click.command("map")
@layerset_argument
@click.option("--sites", "sites_paths", multiple=True, type=click.Path(dir_okay=False),
              help="核查结果（ecozone check 输出）或项目文件（即时核查），可多次 / checked results, or a sites file "
                   "to check now (repeatable: every file is drawn)")
@click.option("--type", "project_type", help="未标类型的项目类型（T01–T14 或别名）/ type for sites without one")
@click.option("-o", "--out", type=click.Path(dir_okay=False),
              help="输出 HTML，默认 maps/<图层集>.html / output HTML (default maps/<layer set>.html)")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="地图语言 / map language")
@click.option("--basemap", type=click.Choice(BASEMAPS), default="osm", show_default=True,
              help="底图；gaode 时叠加图层转换为 GCJ-02 / basemap; with gaode the overlays are shifted to GCJ-02")
@click.option("--tianditu-key", envvar="TIANDITU_KEY", metavar="KEY",
              help="天地图密钥（或环境变量 TIANDITU_KEY），写入网页 / Tianditu key (or TIANDITU_KEY); "
                   "it is written into the page")
@click.option("--cdn", is_flag=True, help="从 CDN 加载脚本（文件更小）/ link scripts on a CDN instead of inlining them")
@click.option("--offline", is_flag=True, help="不加载在线底图，完全离线 / no tile basemap: the file needs no network")
@click.option("--tolerance-m", type=click.FloatRange(min=0), default=None, metavar="METRES",
              help="显示简化容差（米）/ display simplification tolerance in metres [default: 3]")
@click.option("--crs", help="项目文件未声明时的坐标系 / CRS of site coordinates the file does not declare")
@click.option("--encoding", help="项目文件编码 utf-8|gbk / text encoding of the sites file")
@overwrite_option
@click.pass_context
def command(ctx, layerset, sites_paths, project_type, out, lang, basemap, tianditu_key, cdn, offline, tolerance_m,
            crs, encoding, overwrite):
    """网页地图 / Draw LAYERSET (default layers/jinpu) and checked sites as one self-contained HTML map.

    \b
    ecozone map -o maps/jinpu.html
    ecozone map layers/jinpu --sites result.geojson -o maps/check.html
    ecozone map --sites sites.csv --type T03 --offline -o maps/offline.html
    ecozone map --sites roads.geojson --sites parcels.csv -o maps/both.html
    """
    from ..layerset.read import read_layerset
    from ..maps import DISPLAY_TOLERANCE_M, read_map_sites, write_map
    from ..paths import refuse_clobber

    if cdn and offline:
        raise click.UsageError("--offline needs the scripts inlined: drop --cdn")
    ls = read_layerset(layerset)
    out = Path(out) if out else Path("maps") / f"{ls.name}.html"
    refuse_clobber({"-o": out}, inputs=[*sites_paths, ls.root])
    sites = None
    if sites_paths:
        import geopandas as gpd
        import pandas as pd

        options = {k: v for k, v in {"crs": crs, "encoding": encoding}.items() if v}
        frames = [read_map_sites(p, ls, project_type=project_type, **options).to_crs(ls.storage_crs)
                  for p in sites_paths]
        sites = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(pd.concat(frames, ignore_index=True),
                                                                     crs=ls.storage_crs)
    write_map(ls, out, sites, overwrite=overwrite, lang=lang, basemap=basemap, tianditu_key=tianditu_key,
              inline=not cdn, offline=offline,
              tolerance_m=DISPLAY_TOLERANCE_M if tolerance_m is None else tolerance_m)
    if not (ctx.obj or {}).get("quiet"):
        n = 0 if sites is None else len(sites)
        click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {n} sites)", err=True)
