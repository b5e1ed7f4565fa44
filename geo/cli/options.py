"""Arguments and options every command shares: one convention, said once.

- ``LAYERSET`` (argument) names the layer set a command is about: ``build``, ``validate``, ``layers``,
  ``map``, ``export``. ``--layers DIR`` names the layer set a command checks against: ``check``,
  ``serve``. Both take a layer-set folder and both default to ``$ECOZONE_LAYERS``, else the
  embedded Jinpu set beside the installed package (``layers/jinpu``), whatever the current folder.
- ``--overwrite``: an existing output is replaced only when it is given, in every command.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["layerset_argument", "layers_option", "overwrite_option", "default_layerset", "ENV"]

ENV = "ECOZONE_LAYERS"
_HELP = f"图层集目录，默认 ${ENV} 或内置金普图层集 / layer-set folder (default: ${ENV}, else the embedded Jinpu set)"


def default_layerset() -> Path:
    """``$ECOZONE_LAYERS``, else the embedded Jinpu set; an error that says how to name one when neither exists."""
    given = os.environ.get(ENV)
    if given:
        return Path(given)
    embedded = Path(__file__).resolve().parents[2] / "layers" / "jinpu"
    if (embedded / "manifest.toml").is_file():
        return embedded
    raise click.UsageError(f"no layer set given and none found: name one (LAYERSET or --layers DIR), or set {ENV}")


def _resolve(ctx, param, value) -> str:
    return value if value else str(default_layerset())


def layerset_argument(f):
    """``LAYERSET``: the layer set the command is about."""
    return click.argument("layerset", required=False, type=click.Path(file_okay=False), callback=_resolve)(f)


def layers_option(f):
    """``--layers DIR``: the layer set the command checks against."""
    return click.option("--layers", "layers_dir", type=click.Path(file_okay=False), callback=_resolve,
                        help=_HELP)(f)


def overwrite_option(f):
    """``--overwrite``: replace existing outputs (never by default)."""
    return click.option("--overwrite", is_flag=True, help="替换已有输出（默认不替换）/ replace existing outputs")(f)
