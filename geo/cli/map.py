"""``ecozone map``: not written yet."""
import click


@click.command("map")
def command():
    """(not yet available)"""
    raise click.UsageError("ecozone map is not available yet")
