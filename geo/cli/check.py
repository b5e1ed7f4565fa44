"""``ecozone check``: not written yet."""
import click


@click.command("check")
def command():
    """(not yet available)"""
    raise click.UsageError("ecozone check is not available yet")
