"""``ecozone network``: the ecological network of a layer set, its connectivity indices and each element's importance."""
import click

from .options import layerset_argument, overwrite_option


@click.command("network")
@layerset_argument
@click.option("-o", "--out", default=None, type=click.Path(dir_okay=False),
              help="写出节点、连接与指标的 GeoPackage / write nodes, links and indices to this GeoPackage")
@click.option("--decay-m", type=float, default=None, metavar="M",
              help="连接概率为 0.5（或 [network] probability）时的距离，米 / distance (m) at which the direct "
                   "probability is 0.5 (or [network] probability); default: the manifest's decay_m")
@click.option("--top", type=int, default=10, show_default=True, help="列出最重要的元素数 / elements to list")
@overwrite_option
@click.pass_context
def command(ctx, layerset, out, decay_m, top, overwrite):
    """生态网络与连通性指数 / The ecological network of LAYERSET: IIC, PC and every node's and link's dPC.

    \b
    ecozone network layers/jinpu
    ecozone network layers/jinpu --decay-m 2000 -o out/network.gpkg
    """
    from ..errors import LayerSetError
    from ..layerset.read import read_layerset
    from ..network.graph import build_network, ranked
    from ..network.output import network_text, write_network
    from ..paths import refuse_clobber

    if decay_m is not None and not decay_m > 0:
        raise click.BadParameter("须为正数 / must be a positive number of metres", param_hint="--decay-m")
    if out:
        refuse_clobber({"-o": out}, inputs=[layerset])
    ls = read_layerset(layerset)
    net = build_network(ls, decay_m=decay_m)
    if net is None:
        raise LayerSetError("图层集未声明生态网络 / the layer set declares no ecological network", path=ls.root,
                            hint='add a [network] table to manifest.toml, e.g. nodes = ["eco_cores"], '
                                 'links = ["eco_corridors"] (docs/network.md)')
    nodes, links, summary = ranked(net)
    click.echo(network_text(nodes, links, summary, top=top))
    if out:
        write_network(nodes, links, summary, out, crs=ls.storage_crs, overwrite=overwrite)
        if not (ctx.obj or {}).get("quiet"):
            click.echo(f"written / 已写出 {out}")
