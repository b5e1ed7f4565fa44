"""``ecozone export``: not written yet."""
import click


@click.command("export")
def command():
    """(not yet available)"""
    raise click.UsageError("ecozone export is not available yet")
