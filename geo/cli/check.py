"""``ecozone check``: verdicts for project sites."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ExportError
from ..layerset import read_layerset
from ..parallel import checked_batches
from ..results import ResultWriter
from ..sites import read_sites, sites_from_inline
from ..text import VERDICT_ORDER

CHUNK = 100_000  # sites per batch
PARALLEL_FROM = 20_000  # fewer sites are checked in one process


@click.command("check")
@click.argument("sites", required=False, type=click.Path(dir_okay=False))
@click.option("--layers", "layers_dir", default="layers/jinpu", show_default=True, type=click.Path(file_okay=False),
              help="图层集目录 / layer-set folder")
@click.option("--type", "project_type", help="未标类型的项目类型（T01–T14 或别名）/ type for sites without one")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="结果文件 .csv .json .geojson .gpkg / results file")
@click.option("--detail", type=click.Path(dir_okay=False), help="逐区域明细 CSV / one row per site and zone met")
@click.option("--report", type=click.Path(dir_okay=False), help="HTML 报告 / self-contained HTML report")
@click.option("--point", "points", multiple=True, help="LON,LAT（可多次）/ an inline point site (repeatable)")
@click.option("--wkt", "wkts", multiple=True, help="WKT 几何（经纬度）/ an inline WKT site in lon/lat")
@click.option("--crs", help="文件未声明时的坐标系，如 EPSG:4550 / CRS of coordinates the file does not declare")
@click.option("--encoding", help="文本编码 utf-8|gbk / text encoding of CSV, TXT or shapefile attributes")
@click.option("--coord-sys", type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"], case_sensitive=False),
              help="经纬度所用坐标系：gcj02（高德/腾讯/奥维）、bd09（百度）会转换为 WGS84 / "
                   "system of lon/lat in CSV, KML, TXT; gcj02 and bd09 are converted to WGS84")
@click.option("--ddd-mmss", is_flag=True,
              help="经纬度为“度.分秒”格式（121.4530 = 121°45′30″）/ read plain-number angles as ddd.mmss")
@click.option("--layer", help="图层、工作表或 CAD 图层名 / layer, sheet or CAD layer(s) to read")
@click.option("--fail-on", type=click.Choice(["prohibited", "restricted"]),
              help="有项目达到该级别时退出码为 3 / exit 3 when a site reaches this level")
@click.option("--overwrite/--no-overwrite", default=True, show_default=True, help="替换已有输出 / replace outputs")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="并行进程数（2 万个项目以上启用）/ worker processes for 20,000 sites or more")
@click.pass_context
def command(ctx, sites, layers_dir, project_type, out, detail, report, points, wkts, crs, encoding, coord_sys, ddd_mmss,
            layer, fail_on, overwrite, jobs):
    """选址核查 / Check project SITES against a layer set and write verdicts with reasons and citations.

    \b
    ecozone check sites.csv --type T03 -o result.csv --detail detail.csv --report report.html
    ecozone check --point 121.905,39.10 --type linear -o result.json
    ecozone check 界址点.txt --type T03 -o result.csv     （带号或 8 位 Y 定带 / zone from 带号 or an 8-digit Y）
    ecozone check drawing.dxf --crs EPSG:4550 --type T03 -o result.csv
    ecozone check gaode_points.csv --coord-sys gcj02 --type T07 -o result.csv
    """
    ls = read_layerset(layers_dir)
    options = {k: v for k, v in {"encoding": encoding, "coord_sys": coord_sys and coord_sys.lower(),
                                 "ddd_mmss": ddd_mmss, "layer": layer}.items() if v}
    frames = []
    if sites:
        frames.append(read_sites(sites, crs=crs, project_type=project_type, **options))
    if points or wkts:
        frames.append(sites_from_inline(points, wkts, project_type=project_type))
    if not frames:
        raise click.UsageError("give a SITES file, --point or --wkt")
    if len(frames) == 1:
        gdf = frames[0]
    else:
        import geopandas as gpd
        import pandas as pd

        frames = [f.to_crs(ls.storage_crs) for f in frames]
        frames[1]["site_id"] = [f"inline-{i + 1}" for i in range(len(frames[1]))]
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ls.storage_crs)
    quiet = ctx.obj.get("quiet", False) if ctx.obj else False
    if report and Path(report).exists() and not overwrite:
        raise ExportError("output exists", path=report, hint="give --overwrite to replace it")
    # batches of CHUNK sites are checked (by several processes when there are several batches)
    # and written one after another, so memory stays bounded
    with ResultWriter(out, detail=detail, overwrite=overwrite, keep=bool(report)) as writer:
        size = CHUNK if jobs == 1 or len(gdf) < PARALLEL_FROM else min(CHUNK, -(-len(gdf) // (2 * jobs)))
        batches = checked_batches(gdf, ls, size=size, prepare=writer.prepare, jobs=jobs)
        with click.progressbar(length=len(gdf), label="checking", file=sys.stderr,
                               hidden=quiet or len(gdf) <= CHUNK) as bar:
            for batch in batches:
                writer.add(batch)
                bar.update(batch.n)
        if report:
            from ..report import write_report

            write_report(writer.result(), report, overwrite=overwrite)
    counts = writer.counts
    if not quiet:
        click.echo(f"checked {writer.n} sites against {ls.name}: "
                   + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICT_ORDER + ["unknown"]), err=True)
    if fail_on:
        severe = VERDICT_ORDER[: VERDICT_ORDER.index(fail_on) + 1]
        if any(counts.get(v, 0) for v in severe):
            ctx.exit(3)
