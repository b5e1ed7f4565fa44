"""``ecozone export``: write the zoning layers in the formats planners exchange."""
import click

from ..export.formats import DXF_VERSIONS, ENCODINGS, FORMATS
from .options import layerset_argument, overwrite_option


@click.command("export")
@layerset_argument
@click.option("-f", "--format", "fmt", required=True, type=click.Choice(list(FORMATS), case_sensitive=False),
              help="格式 / format: gpkg kml kmz dxf 写一个文件 (one file); shp geojson fgb parquet tif "
                   "写入文件夹，每层一个文件 (a folder, one file per layer; shp: one zip per layer)")
@click.option("-o", "--out", required=True, type=click.Path(),
              help="输出文件或文件夹 / the output file or folder")
@click.option("--crs", default=None, metavar="CRS",
              help="坐标系 / output CRS: EPSG:4490, EPSG:4326, EPSG:3857, a CGCS2000 GK code such as EPSG:4550, "
                   "auto-gk (按数据选3度带 / zone from the data) or auto-gk-prefix (带号 / with zone prefix)")
@click.option("--layer", "layers", multiple=True, metavar="ID",
              help="只导出这些图层（可重复）/ export only these layers (repeatable)")
@click.option("--encoding", type=click.Choice(list(ENCODINGS), case_sensitive=False), default=None,
              help="shp 属性编码（默认 GBK + .cpg）/ shapefile encoding (default GBK with .cpg); "
                   "dxf: gbk = R2000 ANSI_936, utf-8 = R2010")
@overwrite_option
@click.option("--dxf-version", type=click.Choice(DXF_VERSIONS, case_sensitive=False), default=None,
              help="DXF 版本（默认 R2010 UTF-8；R2000/R2004 为 GBK）/ DXF version (default R2010, UTF-8; "
                   "R2000/R2004 use ANSI_936)")
@click.option("--resolution", "resolution_m", type=float, default=None, metavar="M",
              help="tif 像元大小，米（默认 10）/ GeoTIFF pixel size in metres (default 10)")
@click.option("--verdict-for", default=None, metavar="T",
              help="tif：另写该项目类型最严格结论栅格 / GeoTIFF: also write the most severe verdict for "
                   "project type T (e.g. T05 or its alias)")
@click.pass_context
def command(ctx, layerset, fmt, out, crs, layers, encoding, overwrite, dxf_version, resolution_m, verdict_for):
    """导出分区图层 / Export the zoning layers of LAYERSET in an exchange format.

    \b
    ecozone export --format gpkg -o out/jinpu.gpkg
    ecozone export --format shp -o out/shp                 (GBK + .cpg, one zip per layer)
    ecozone export --format dxf -o out/jinpu.dxf --crs auto-gk-prefix
    ecozone export --format tif -o out/tif --resolution 20 --verdict-for T05

    Outputs are written beside the target and moved into place when complete; an existing
    output is replaced only with --overwrite; nothing is written inside a layer-set folder.
    """
    from ..export import export_layers
    from ..layerset.read import read_layerset
    from ..paths import refuse_clobber

    refuse_clobber({"-o": out}, inputs=[layerset])  # before the layer set is read (and perhaps rebuilt)
    ls = read_layerset(layerset)
    paths = export_layers(ls, fmt.lower(), out, crs=crs, layers=list(layers) or None, encoding=encoding,
                          overwrite=overwrite, dxf_version=dxf_version, resolution_m=resolution_m,
                          verdict_for=verdict_for)
    if not (ctx.obj or {}).get("quiet"):
        files = [p for p in paths if p.suffix != ".tfw"]
        where = out if len(files) > 1 else files[0]
        click.echo(f"exported {len(files)} file(s) to {where}")
