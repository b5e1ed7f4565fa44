"""``ecozone add``: bring a bureau's file (or a 准入清单 with --requirements) into a layer set."""
import click


def _fields(text):
    return [f.strip() for f in text.replace("，", ",").split(",") if f.strip()] if text is not None else None


@click.command("add")
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--layer", help="图层 id（默认按字段识别）/ layer id (default: recognised from the fields)")
@click.option("--source-layer", metavar="NAME",
              help="文件含多个图层时读取的图层（如 GeoPackage 的 corridors）/ the layer to read from a file of several "
                   "(e.g. corridors of an ecozone corridors GeoPackage)")
@click.option("--class-field", help="类别字段 / field holding the zone class")
@click.option("--class-map", help='值到类别，如 "一级保护区=L1;二级保护区=L2"，"*=land" 表示全部 / value=class pairs '
                                  '("*=land": every feature)')
@click.option("--name-field", help="名称字段 / field holding the zone name")
@click.option("--code-field", help="编码字段 / field holding the official code")
@click.option("--keep", help="保留的其他字段，逗号分隔 / other fields to keep, comma-separated")
@click.option("--encoding", type=click.Choice(["gbk", "utf-8"], case_sensitive=False),
              help="字符编码（无 .cpg 时默认检测）/ text encoding (default: .cpg, else detected)")
@click.option("--crs", help="坐标系（无 .prj 时）/ CRS of a file without .prj, e.g. EPSG:4529")
@click.option("--requirements", is_flag=True, help="FILE 是生态环境准入清单（xlsx/csv）/ FILE is a 准入清单 (xlsx or csv)")
@click.option("--code-column", help="准入清单中的单元编码列 / the unit-code column of the list")
@click.option("--dry-run", is_flag=True, help="只显示识别结果，不写入 / print the mapping, write nothing")
def command(folder, file, layer, source_layer, class_field, class_map, name_field, code_field, keep, encoding, crs,
            requirements, code_column, dry_run):
    """添加数据文件到图层集 / Add FILE to the layer set FOLDER and print the mapping it chose.

    \b
    ecozone add layers/jinzhou 生态保护红线.shp
    ecozone add layers/model corridors.gpkg --source-layer corridors --layer eco_corridors
    """
    if requirements:
        from ..layerset.requirements import import_requirements

        summary = import_requirements(folder, file, layer=layer or "control_units", code_column=code_column,
                                      encoding=encoding, dry_run=dry_run)
        for line in summary.describe():
            click.echo(line)
        if dry_run:
            click.echo("（试运行，未写入 / dry run: nothing written）")
        return
    from ..layerset.add import apply_add, plan_add

    plan = plan_add(folder, file, layer=layer, class_field=class_field, class_map=class_map, name_field=name_field,
                    code_field=code_field, keep=_fields(keep), encoding=encoding, crs=crs, source_layer=source_layer)
    for line in plan.describe():
        click.echo(line)
    if dry_run:
        click.echo("（试运行，未写入 / dry run: nothing written）")
        return
    for line in apply_add(plan):
        click.echo(line)
