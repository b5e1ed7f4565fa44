"""``ecozone check``: verdicts for project sites.

Its options are the fields of :class:`geo.check.pipeline.CheckParams`, which
:func:`geo.check.pipeline.run_check` runs, here or in ``ecozone serve``
(``--service``). The pipeline is imported only when the check runs here, so a
``--service`` client starts without the geometry libraries.
"""
from __future__ import annotations

import os
import sys
from contextlib import ExitStack, contextmanager

import click

from .options import layers_option, overwrite_option


def _types_epilog() -> str:
    from ..text import project_types

    rows = [f"  {code}  {t['alias']:<14} {t['name_zh']} / {t['name_en']}" for code, t in project_types().items()]
    return "\b\n项目类型 Project types (--type, or a type/项目类型 column; code or alias):\n" + "\n".join(rows)


def _cluster(ctx, param, value):
    if value is None:
        return None
    from ..check.distributed import parse_cluster

    try:
        parse_cluster(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是 local、local:N 或 tcp://主机:端口 / is not local, local:N or "
                                 "tcp://HOST:PORT", ctx=ctx, param=param) from None
    return value


class _FileOrFolder(click.Path):
    """click's path of a file, or a folder where the check takes one: a GeoParquet dataset of sites, a
    ``.parquet`` output (:func:`geo.check.pipeline.folder_ok`)."""

    def __init__(self):
        super().__init__(dir_okay=False)

    def convert(self, value, param, ctx):
        if os.path.isdir(value):
            from ..check.pipeline import folder_ok

            if folder_ok(param.name, value):
                return value
        return super().convert(value, param, ctx)


@click.command("check", epilog=_types_epilog())
@click.argument("sites", required=False, type=_FileOrFolder())  # a file, a GeoParquet dataset or an fsspec URL
@layers_option
@click.option("--type", "project_type", help="未标类型的项目类型（T01–T14 或别名）/ type for sites without one")
@click.option("-o", "--out", required=True, type=_FileOrFolder(),
              help="结果文件 .csv .json .geojson .gpkg .txt（界址点）或 .parquet（GeoParquet 数据集文件夹，每批一个分片）/ "
                   "results file (.txt: 界址点 coordinate file; .parquet: a GeoParquet dataset, a folder of one part "
                   "per batch)")
@click.option("--detail", type=click.Path(dir_okay=False), help="逐区域明细 CSV / one row per site and zone met")
@click.option("--report", type=click.Path(dir_okay=False),
              help="核查报告 .docx|.pdf|.html（按扩展名）/ report as Word, PDF or HTML (by the extension)")
@click.option("--lang", type=click.Choice(["zh", "en", "both"]), default="both", show_default=True,
              help="报告语言（both：中文在前）/ report language (both: Chinese first)")
@click.option("--report-detail", type=click.Choice(["auto", "all", "flagged", "none"]), default="auto",
              show_default=True,
              help="报告详列哪些项目：auto（200 个以内全部，否则最严重的 200 个）、all、flagged（非“允许”）、none / "
                   "sites the report details: auto (all up to 200, else the 200 most severe), all, flagged "
                   "(every site not allowed), none")
@click.option("--template", type=click.Path(dir_okay=False, exists=True),
              help="Word 模板 .docx（保留其样式、页眉与标志）/ Word template whose styles, header and logo are kept")
@click.option("--compliance", type=click.Path(dir_okay=False),
              help="三线一单符合性分析表 .csv|.xlsx（需图层集有准入清单）/ compliance table against the control "
                   "units' requirement lists (.csv or .xlsx; the layer set needs one)")
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
@click.option("--cluster", metavar="local[:N]|tcp://HOST:PORT", callback=_cluster,
              help="在 Dask 集群上核查：local[:N] 本机 N 个进程，tcp://主机:端口 连接 dask scheduler"
                   "（图层集须在各节点同一路径）/ "
                   "check on a Dask cluster: local[:N] starts N worker processes here, tcp://HOST:PORT joins a running "
                   "`dask scheduler` (the layer set at the same path on every worker); see docs/scale.md")
@click.option("--service", metavar="URL",
              help="交给常驻核查服务（ecozone serve）/ let a running `ecozone serve` check, its layer set kept loaded")
@click.pass_context
def command(ctx, sites, points, wkts, service, **params):
    """选址核查 / Check project SITES against a layer set and write verdicts with reasons and citations.

    \b
    ecozone check sites.csv --type T03 -o result.csv --detail detail.csv --report report.html
    ecozone check 界址点.txt --type T03 -o result.csv --report 报告.docx --template 局模板.docx
    ecozone check sites.csv --type T03 -o result.csv --report report.pdf --lang zh --report-detail flagged
    ecozone check --point 121.905,39.10 --type linear -o result.json
    ecozone check 界址点.txt --type T03 -o result.csv     （带号或 8 位 Y 定带 / zone from 带号 or an 8-digit Y）
    ecozone check drawing.dxf --crs EPSG:4550 --type T03 -o result.csv
    ecozone check gaode_points.csv --coord-sys gcj02 --type T07 -o result.csv
    ecozone check sites.csv --type T03 -o result.csv --service http://127.0.0.1:8765
    ecozone check sites.csv --layers mylayers -o result.csv --compliance 符合性分析.xlsx
    ecozone -v check parcels.parquet --type T03 -o result.csv --cluster tcp://10.0.0.5:8786
    ecozone check parts/ --type T03 -o results.parquet --cluster local:2   （GeoParquet 数据集 / datasets）
    """
    if not (sites or points or wkts):  # (CheckParams says the same; asked here too: a --service client stays light)
        raise click.UsageError("give a SITES file, --point or --wkt")
    params.update(sites=sites, points=list(points), wkts=list(wkts))
    obj = ctx.obj or {}
    quiet = obj.get("quiet", False)
    if params.get("cluster") and (service or params["jobs"] > 1):
        raise click.UsageError("--cluster 不与 --service 或 --jobs 同用 / give --cluster without --service and --jobs"
                               ", not both")
    if service:  # the service has the layer set loaded; this process stays light
        from ..service import check_remote

        code, lines = check_remote(service, params, quiet=quiet, verbose=obj.get("verbose", 0))
        for line in lines:
            click.echo(line, err=True)
        ctx.exit(code)
    from ..check.pipeline import CheckParams, run_check
    from ..layerset.read import read_layerset

    try:
        p = CheckParams(**params)
    except ValueError as exc:  # what click's own types would have said (a folder where a file goes…)
        raise click.UsageError(str(exc)) from None
    with _progressbar(hidden=quiet) as progress:
        outcome = run_check(read_layerset(p.layers_dir), p, progress=progress)
    if not quiet:
        click.echo(outcome.summary, err=True)
    ctx.exit(outcome.exit_code)


@contextmanager
def _progressbar(*, hidden: bool):
    """A ``progress(n_done, n_total)`` callback drawing click's bar on stderr when there is more than one batch."""
    from ..check import pipeline

    with ExitStack() as stack:
        bar = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=total, label="checking", file=sys.stderr,
                                                            hidden=hidden or total <= pipeline.CHUNK))
            bar.update(done - bar.pos)
            if done >= total:
                stack.close()  # the bar ends with the last batch, before the outputs are committed

        yield progress
