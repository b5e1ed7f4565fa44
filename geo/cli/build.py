"""``ecozone build``: assemble a layer set into its GeoPackage."""
import click

from ..build import build_layerset
from ..layerset import read_layerset
from ..summary import summary_table


@click.command("build")
@click.argument("layerset", type=click.Path(file_okay=False), default="layers/jinpu")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="GeoPackage to write (default LAYERSET/build/NAME.gpkg)")
def command(layerset, out):
    """组装图层集 / Assemble LAYERSET from its sources into one GeoPackage and print its summary."""
    path = build_layerset(layerset, out=out)
    click.echo(f"built {path}")
    click.echo(summary_table(read_layerset(layerset, build_path=path, rebuild="never")))
