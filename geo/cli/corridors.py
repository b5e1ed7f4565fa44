"""``ecozone corridors``: least-cost paths and corridors between sources over a resistance raster."""
from pathlib import Path

import click

from .options import layers_option, overwrite_option


@click.command("corridors")
@click.option("--sources", required=True, metavar="FILE|LAYER",
              help="源地：矢量文件，或 --layers 图层集中的图层编号 / sources: a vector file, or a layer id of the "
                   "--layers layer set (e.g. eco_sources)")
@click.option("--resistance", required=True, type=click.Path(exists=True, dir_okay=False),
              help="阻力栅格 GeoTIFF（投影坐标系）；配合 --reclass 时为土地覆被 / resistance GeoTIFF (projected CRS); "
                   "land cover when --reclass is given")
@click.option("--reclass", default=None, metavar="clcd|worldcover|TABLE.csv",
              help="将土地覆被重分类为阻力 / turn land-cover classes into resistance (default tables: clcd, "
                   "worldcover; docs/network.md)")
@click.option("--cutoff", type=float, default=None, metavar="X",
              help="廊道宽度阈值（成本距离单位）：NLCC ≤ X 的像元 / corridor cutoff in cost units: cells whose "
                   "normalised corridor cost is within X of the least cost (omit: paths only)")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="输出 GeoPackage（图层 paths、corridors）/ output GeoPackage (layers paths, corridors)")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="并行进程数（各源地的成本距离）/ worker processes for the per-source cost distances")
@layers_option
@overwrite_option
@click.pass_context
def command(ctx, sources, resistance, reclass, cutoff, jobs, out, layers_dir, overwrite):
    """最小成本廊道 / Least-cost paths and corridors between neighbouring sources (MCR, Linkage Mapper's definition).

    \b
    ecozone corridors --sources eco_sources --resistance cost.tif --cutoff 5000 -j 2 -o corridors.gpkg
    ecozone corridors --sources sources.gpkg --resistance clcd.tif --reclass clcd -o corridors.gpkg
    """
    import pyogrio

    from ..network.corridors import least_cost_corridors, read_resistance
    from ..network.output import write_layers
    from ..paths import refuse_clobber

    if cutoff is not None and not cutoff >= 0:
        raise click.BadParameter("须为非负数 / must be 0 or more", param_hint="--cutoff")
    src_path = Path(sources)
    refuse_clobber({"-o": out}, inputs=[resistance] + ([sources] if src_path.exists() else [layers_dir]))
    if src_path.exists():
        gdf = pyogrio.read_dataframe(src_path)
        if gdf.crs is None:
            from ..errors import CRSError
            raise CRSError("the sources have no CRS / 源地文件缺少坐标系", path=src_path,
                           hint="save them with a .prj or in a GeoPackage")
    else:
        from ..layerset.read import read_layerset

        ls = read_layerset(layers_dir)
        gdf = ls.layer(sources)
        gdf = gdf.assign(name=gdf["name_zh"])
    res = read_resistance(resistance, reclass=reclass)
    paths, corridors = least_cost_corridors(gdf, res, cutoff=cutoff, path=sources, jobs=jobs)
    made_from = Path(resistance).name + (f" (--reclass {reclass})" if reclass else "")
    layers = {"paths": paths.assign(resistance=made_from)}
    if corridors is not None:
        layers["corridors"] = corridors.assign(resistance=made_from)
    write_layers(layers, out, crs=res.crs, overwrite=overwrite)
    if not (ctx.obj or {}).get("quiet"):
        for r in paths.itertuples():
            click.echo(f"{r.from_name} — {r.to_name}: LCD {r.lcd:.0f}, euclid {r.euclid_m:.0f} m, "
                       f"ratio {r.cost_ratio:.2f}")
        click.echo(f"{len(paths)} 条连接 links written / 已写出 {out}")
