"""``ecozone layers``: each layer's size and the plan's spatial indicators."""
import click

from .options import layerset_argument

from ..layerset.read import read_layerset
from ..layerset.summary import summary_table


@click.command("layers")
@layerset_argument
def command(layerset):
    """图层与规划指标 / List the layers of LAYERSET with counts, areas, lengths and indicators."""
    click.echo(summary_table(read_layerset(layerset)))
