"""``ecozone diff``: what changed between two builds of a layer set, and which sites it affects."""
import click

from .options import overwrite_option


@click.command("diff")
@click.argument("old", type=click.Path(exists=True))
@click.argument("new", type=click.Path(exists=True))
@click.option("--sites", "register", type=click.Path(exists=True, dir_okay=False), default=None,
              help="项目清单（check 可读的任何文件），列出结论变化的项目 / a sites file (any file ecozone check "
                   "reads): list the sites whose verdict changes")
@click.option("--type", "project_type", default=None, metavar="T",
              help="未注明类型的项目按此类型 / project type for sites without one (e.g. T05 or its alias)")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="写出 GeoPackage（gained、lost、zones 三层）/ write a GeoPackage with layers gained, lost, zones")
@overwrite_option
@click.pass_context
def command(ctx, old, new, register, project_type, out, overwrite):
    """比较两版图层集 / Compare two builds of a layer set: OLD and NEW (folders or their built .gpkg).

    \b
    ecozone diff old/jinpu layers/jinpu
    ecozone diff archive/jinpu-2024.gpkg layers/jinpu --sites sites.csv -o diff.gpkg

    Per layer and class: area gained (only in NEW), lost (only in OLD) and in both (km², lines in km, measured
    in NEW's measurement CRS; plan against modelled corridors: ecozone diff PLAN MODEL);
    zones added, removed or changed, by their official code (zone_code) where both builds have codes,
    else by zone_id; with --sites, the sites whose verdict changes and the zone that decided it.
    """
    from pathlib import Path

    from ..errors import ExportError
    from ..layerset.diff import diff_builds, format_diff, open_build, write_diff
    from ..paths import refuse_clobber

    if out:  # before anything is read or built
        refuse_clobber({"-o": out}, inputs=[x for x in (old, new, register) if x])
        if Path(out).exists() and not overwrite:
            raise ExportError("output exists", path=out, hint="give --overwrite to replace it")
        if Path(out).suffix.lower() != ".gpkg":
            raise ExportError(f"unknown format {Path(out).suffix!r}", path=out,
                              hint=f"the diff is a GeoPackage: name it {Path(out).stem}.gpkg")
    sites = None
    if register:
        from ..sites.read import read_sites

        sites = read_sites(register, project_type=project_type)
    d = diff_builds(open_build(old), open_build(new), sites=sites)
    click.echo(format_diff(d))
    if out:
        write_diff(d, out, overwrite=overwrite)
        if not (ctx.obj or {}).get("quiet"):
            click.echo(f"写出 / written: {out}")
