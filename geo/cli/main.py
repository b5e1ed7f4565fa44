"""``ecozone``: the command group, logging and the one place errors become exit codes.

Exit codes: 0 done; 1 validation found errors; 2 bad input (one line on
stderr, no traceback unless -vv); 3 a checked site reached ``--fail-on``.
"""
from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
import warnings

import click

from .. import __version__
from ..errors import Terminated, error_line, warning_line

#: the commands, each in the module of geo.cli of its name (imported when used, so the start stays light)
COMMANDS = ["init", "add", "build", "validate", "layers", "check", "diff", "network", "corridors", "serve", "app", "map",
            "export"]


class EcozoneGroup(click.Group):
    """Finds its commands when asked and turns ecozone's errors into one line and exit code 2."""

    def list_commands(self, ctx):
        return COMMANDS

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f".{name}", __package__).command

    def invoke(self, ctx):
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
        try:
            return super().invoke(ctx)
        except Terminated:
            click.echo("ecozone: stopped (SIGTERM); nothing written", err=True)
            ctx.exit(128 + signal.SIGTERM)
        except Exception as exc:
            line = error_line(exc)
            if line is None or (ctx.obj and ctx.obj.get("verbose", 0) >= 2):
                raise
            click.echo(line, err=True)
            ctx.exit(2)
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)


def _on_sigterm(signum, frame):
    raise Terminated()


def _warning_line(message, category, filename, lineno, file=None, line=None):
    click.echo(warning_line(message), err=True)


@click.group(cls=EcozoneGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecozone")
@click.option("-v", "--verbose", count=True, help="更多日志 / more log output (-vv: tracebacks)")
@click.option("-q", "--quiet", is_flag=True, help="只报错误 / errors only")
@click.pass_context
def cli(ctx, verbose, quiet):
    """生态空间分区管控 ecozone: assemble zoning layers, check project sites, draw maps, export layers.

    \b
    ecozone build layers/jinpu            组装图层 / assemble a layer set
    ecozone validate layers/jinpu         校验 / validate it
    ecozone layers layers/jinpu           图层与指标 / layers and plan indicators
    ecozone check sites.csv -o out.csv    选址核查 / check project sites
    ecozone serve --layers layers/jinpu   常驻核查服务 / keep a layer set loaded for checks
    ecozone map -o maps/jinpu.html        网页地图 / web map
    ecozone export --format shp -o out/   导出 / export layers
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    level = logging.ERROR if quiet else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="ecozone: %(message)s", stream=sys.stderr, force=True)
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    if verbose < 2:  # Dask's own notes (comms closing, workers starting) only with -vv
        logging.getLogger("distributed").setLevel(max(level, logging.WARNING))
    warnings.showwarning = _warning_line
