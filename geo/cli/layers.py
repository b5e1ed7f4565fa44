"""``ecozone layers``: each layer's size and the plan's spatial indicators."""
import click

from ..layerset import read_layerset
from ..summary import summary_table


@click.command("layers")
@click.argument("layerset", type=click.Path(file_okay=False), default="layers/jinpu")
def command(layerset):
    """图层与规划指标 / List the layers of LAYERSET with counts, areas, lengths and indicators."""
    click.echo(summary_table(read_layerset(layerset)))
