"""``ecozone validate``: check a built layer set."""
import click

from .options import layerset_argument

from ..layerset.read import read_layerset
from ..layerset.validate import format_findings, validate_layerset


@click.command("validate")
@layerset_argument
@click.pass_context
def command(ctx, layerset):
    """校验图层集 / Validate LAYERSET; exit 1 on any error."""
    findings = validate_layerset(read_layerset(layerset))
    click.echo(format_findings(findings))
    if any(f.severity == "error" for f in findings):
        ctx.exit(1)
