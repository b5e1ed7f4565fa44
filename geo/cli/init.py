"""``ecozone init``: create a layer-set folder that builds and validates at once (with a boundary)."""
import click


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--name", help="图层集名称（ASCII）/ layer-set name, ASCII (default: the folder's name)")
@click.option("--title-zh", help="中文标题 / Chinese title")
@click.option("--title-en", help="英文标题 / English title")
@click.option("--boundary", type=click.Path(dir_okay=False), help="行政区边界文件，作为研究范围 / district boundary file "
              "(becomes the study_area layer)")
@click.option("--source-layer", metavar="NAME",
              help="边界文件含多个图层时读取的图层 / the boundary's layer when its file holds several (a GeoPackage)")
@click.option("--measure-crs", default="auto", show_default=True,
              help="量算坐标系 EPSG，auto 取边界中心所在的 CGCS2000 3 度带 / measurement CRS (EPSG code), auto: the "
                   "CGCS2000 3-degree GK zone of the boundary's centre")
@click.option("--encoding", type=click.Choice(["gbk", "utf-8"], case_sensitive=False),
              help="边界文件字符编码（默认检测）/ text encoding of the boundary (default: detected)")
@click.option("--crs", help="边界文件坐标系（无 .prj 时）/ CRS of a boundary without .prj, e.g. EPSG:4529")
@click.option("--sea-m", type=float, default=0, show_default=True,
              help="覆盖范围含陆域外多少米海域（沿海区县）/ metres of sea counted as covered (coastal districts)")
@click.option("--status", type=click.Choice(["official", "illustrative"]), default="official", show_default=True,
              help="official：主管部门批准的数据；illustrative：示例或草稿 / official: the bureau's approved files; "
                   "illustrative: examples or drafts")
def command(folder, name, title_zh, title_en, boundary, source_layer, measure_crs, encoding, crs, sea_m, status):
    """新建图层集目录 / Create the layer-set FOLDER (manifest, data/, rules.csv, industries.csv, README)."""
    from ..layerset.init import init_layerset

    for line in init_layerset(folder, name=name, title_zh=title_zh, title_en=title_en, boundary=boundary,
                              measure_crs=measure_crs, encoding=encoding, crs=crs, sea_m=sea_m, status=status,
                              source_layer=source_layer):
        click.echo(line)
