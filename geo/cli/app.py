"""``ecozone app``: the planner's web app; ``ecozone app adduser FILE NAME`` adds a user to a users file."""
from __future__ import annotations

import sys

import click

from .options import default_layerset


def _layers(ctx, param, value):
    return list(value) if value else [str(default_layerset())]


@click.group("app", invoke_without_command=True)
@click.option("--layers", "layers_dirs", multiple=True, type=click.Path(file_okay=False), callback=_layers,
              help="图层集目录（可多次；默认 $ECOZONE_LAYERS 或内置金普图层集）/ layer-set folder(s) to serve "
                   "(repeatable; default: $ECOZONE_LAYERS, else the embedded Jinpu set)")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址；非本机地址须给出 --users / address to listen on; any but 127.0.0.1 needs --users")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="端口 / port")
@click.option("--users", "users_file", type=click.Path(dir_okay=False, exists=True),
              help="用户文件（ecozone app adduser 生成）/ users file made by `ecozone app adduser`")
@click.option("--data", "data_dir", type=click.Path(file_okay=False),
              help="上传、结果与历史的存放目录 / folder of uploads, results and history "
                   "(default ~/.local/share/ecozone/app)")
@click.option("--max-upload-mb", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="单个上传文件上限 / largest upload accepted (MB)")
@click.pass_context
def command(ctx, layers_dirs, host, port, users_file, data_dir, max_upload_mb):
    """网页应用 / The planner's web app: upload or draw sites, read the verdicts on the map, download the report.

    \b
    ecozone app                                   本机单用户 / one local user on http://127.0.0.1:8000
    ecozone app adduser users.json 张工            添加用户 / add a user (password asked twice)
    ecozone app --host 0.0.0.0 --users users.json --data /srv/ecozone   局域网 / on an intranet

    只在 127.0.0.1 上可不设用户；其他地址必须给出 --users。/ Without --users it serves only 127.0.0.1.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..app import create_app, refuse_open_host, run_app
    from ..app.store import default_data_dir

    refuse_open_host(host, users_file)  # before the seconds spent opening the layer sets
    app = create_app(layers_dirs, data_dir=data_dir or default_data_dir(), users_file=users_file, host=host,
                     max_upload=max_upload_mb << 20)

    def ready(url):
        who = "用户文件 / users file " + users_file if users_file else "本机单用户 / one local user"
        click.echo(f"ecozone: 网页应用已启动 / the app is serving at {url} ({who}; Ctrl-C 停止 / stops)", err=True)

    run_app(app, host=host, port=port, ready=ready)


@command.command("adduser")
@click.argument("users_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.argument("name")
def adduser(users_file, name):
    """添加或更新用户 / Add a user to FILE (or change their password); Argon2 hash, file mode 0600.

    The password is asked twice on a terminal, else read from the first line of standard input.
    """
    from ..app import add_user

    if sys.stdin.isatty():
        password = click.prompt("密码 / password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    new = add_user(users_file, name, password)
    click.echo(f"ecozone: {'已添加' if new else '已更新'}用户 {name} / {'added' if new else 'updated'} {name} "
               f"in {users_file}", err=True)
