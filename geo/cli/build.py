"""``ecozone build``: assemble a layer set into its GeoPackage."""
import click

from .options import layerset_argument

from ..layerset import build_layerset, read_layerset
from ..layerset.summary import summary_table


@click.command("build")
@layerset_argument
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="GeoPackage to write (default LAYERSET/build/NAME.gpkg)")
def command(layerset, out):
    """组装图层集 / Assemble LAYERSET from its sources into one GeoPackage and print its summary."""
    path = build_layerset(layerset, out=out)
    click.echo(f"built {path}")
    click.echo(summary_table(read_layerset(layerset, build_path=path, rebuild="never")))
