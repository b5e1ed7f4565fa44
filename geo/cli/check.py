"""``ecozone check``: verdicts for project sites."""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import click

from .options import layers_option, overwrite_option


CHUNK = 100_000  # sites per batch
PARALLEL_FROM = 20_000  # fewer sites are checked in one process
REPORT_FORMATS = (".html", ".htm")


def _types_epilog() -> str:
    from ..text import project_types

    rows = [f"  {code}  {t['alias']:<14} {t['name_zh']} / {t['name_en']}" for code, t in project_types().items()]
    return "\b\n项目类型 Project types (--type, or a type/项目类型 column; code or alias):\n" + "\n".join(rows)


@click.command("check", epilog=_types_epilog())
@click.argument("sites", required=False, type=click.Path(dir_okay=False))
@layers_option
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
                   "system of lon/lat in files, --point and --wkt; gcj02 and bd09 are converted to WGS84")
@click.option("--ddd-mmss", is_flag=True,
              help="经纬度为“度.分秒”格式（121.4530 = 121°45′30″）/ read plain-number angles as ddd.mmss")
@click.option("--layer", help="图层、工作表或 CAD 图层名 / layer, sheet or CAD layer(s) to read")
@click.option("--fail-on", type=click.Choice(["prohibited", "restricted"]),
              help="有项目达到该级别时退出码为 3 / exit 3 when a site reaches this level")
@overwrite_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="并行进程数（2 万个项目以上启用）/ worker processes for 20,000 sites or more")
@click.option("--service", metavar="URL",
              help="交给常驻核查服务（ecozone serve）/ let a running `ecozone serve` check, its layer set kept loaded")
@click.pass_context
def command(ctx, sites, points, wkts, service, **params):
    """选址核查 / Check project SITES against a layer set and write verdicts with reasons and citations.

    \b
    ecozone check sites.csv --type T03 -o result.csv --detail detail.csv --report report.html
    ecozone check --point 121.905,39.10 --type linear -o result.json
    ecozone check 界址点.txt --type T03 -o result.csv     （带号或 8 位 Y 定带 / zone from 带号 or an 8-digit Y）
    ecozone check drawing.dxf --crs EPSG:4550 --type T03 -o result.csv
    ecozone check gaode_points.csv --coord-sys gcj02 --type T07 -o result.csv
    ecozone check sites.csv --type T03 -o result.csv --service http://127.0.0.1:8765
    """
    if not (sites or points or wkts):
        raise click.UsageError("give a SITES file, --point or --wkt")
    params.update(sites=sites, points=list(points), wkts=list(wkts))
    quiet = ctx.obj.get("quiet", False) if ctx.obj else False
    if service:  # the service has the layer set loaded; this process stays light
        from ..service import check_remote

        code, lines = check_remote(service, params, quiet=quiet, verbose=ctx.obj.get("verbose", 0) if ctx.obj else 0)
        for line in lines:
            click.echo(line, err=True)
        ctx.exit(code)
    from ..layerset.read import read_layerset

    code, summary = run(read_layerset(params["layers_dir"]), params, progress=not quiet)
    if not quiet:
        click.echo(summary, err=True)
    ctx.exit(code)


def _unless(stop) -> None:
    if stop is not None and stop():
        raise InterruptedError("the command that asked for this check stopped; nothing written")


def _with_digest(prepare, result):
    """A batch for the writer and its share of the report (may run in a worker process)."""
    from ..report import ReportDigest

    return prepare(result), ReportDigest.part(result)


def params_of(args: list) -> dict:
    """The parameters :func:`run` takes, from command-line arguments of ``ecozone check``."""
    p = command.make_context("check", list(args)).params
    p.update(points=list(p["points"]), wkts=list(p["wkts"]))
    return p


def run(ls, p: dict, *, progress: bool = False, stop=None) -> tuple:
    """Check the sites ``p`` names (the command's parameters) against ``ls`` and write the outputs.

    ``stop()``, asked between batches and before the outputs are committed,
    abandons the check when true: nothing is written. Returns the exit code
    (0, or 3 when a site reaches ``fail_on``) and the summary line.
    """
    from ..errors import ExportError
    from ..check.batches import checked_batches
    from ..paths import refuse_clobber
    from ..atomic import atomic_path
    from ..results import ResultWriter
    from ..sites.read import read_sites, sites_from_inline
    from ..text import VERDICT_ORDER, summary_line

    sites, points, wkts, project_type = p["sites"], p["points"], p["wkts"], p["project_type"]
    out, detail, report, overwrite, jobs = p["out"], p["detail"], p["report"], p["overwrite"], p["jobs"]
    refuse_clobber({"-o": out, "--detail": detail, "--report": report}, inputs=[x for x in (sites, ls.root) if x])
    if report and Path(report).suffix.lower() not in REPORT_FORMATS:
        raise ExportError(f"unknown report format {Path(report).suffix!r}", path=report,
                          hint=f"ecozone writes reports as HTML: name it {Path(report).stem}.html")
    options = {k: v for k, v in {"encoding": p["encoding"], "coord_sys": p["coord_sys"] and p["coord_sys"].lower(),
                                 "ddd_mmss": p["ddd_mmss"], "layer": p["layer"]}.items() if v}
    frames = []
    if sites:
        frames.append(read_sites(sites, crs=p["crs"], project_type=project_type, **options))
    if points or wkts:
        frames.append(sites_from_inline(points, wkts, project_type=project_type, coord_sys=options.get("coord_sys")))
    if len(frames) == 1:
        gdf = frames[0]
    else:
        import geopandas as gpd
        import pandas as pd

        frames = [f.to_crs(ls.storage_crs) for f in frames]
        frames[1]["site_id"] = [f"inline-{i + 1}" for i in range(len(frames[1]))]
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ls.storage_crs)
    if report and Path(report).exists() and not overwrite:
        raise ExportError("output exists", path=report, hint="give --overwrite to replace it")
    # batches of CHUNK sites are checked (by several processes when there are several batches)
    # and written one after another, so memory stays bounded
    digest = None
    if report:  # what the report needs, gathered batch by batch: memory stays bounded
        from ..report import ReportDigest, render_report

        digest = ReportDigest(ls)
    with ResultWriter(out, detail=detail, overwrite=overwrite) as writer:
        size = CHUNK if jobs == 1 or len(gdf) < PARALLEL_FROM else min(CHUNK, -(-len(gdf) // (2 * jobs)))
        prepare = writer.prepare if digest is None else partial(_with_digest, writer.prepare)
        batches = checked_batches(gdf, ls, size=size, prepare=prepare, jobs=jobs)
        with click.progressbar(length=len(gdf), label="checking", file=sys.stderr,
                               hidden=not progress or len(gdf) <= CHUNK) as bar:
            for batch in batches:
                _unless(stop)
                if digest is not None:
                    batch, part = batch
                    digest.add(part)
                writer.add(batch)
                bar.update(batch.n)
        html = None
        if report:
            html = render_report(digest)
        _unless(stop)  # the last moment nothing is in place yet
        if html is not None:  # a failure here still leaves the results unwritten
            with atomic_path(report, overwrite=overwrite) as tmp:
                tmp.write_text(html, encoding="utf-8")
    counts = writer.counts
    summary = summary_line(writer.n, ls.name, counts)
    fail_on = p["fail_on"]
    if fail_on and any(counts.get(v, 0) for v in VERDICT_ORDER[: VERDICT_ORDER.index(fail_on) + 1]):
        return 3, summary
    return 0, summary
