"""``ecozone serve``: keep a layer set loaded and answer ``ecozone check --service``."""
from __future__ import annotations

import click

from .options import layers_option

from ..service import DEFAULT_PORT


@click.command("serve")
@layers_option
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="本机端口（0 为任选）/ port on 127.0.0.1 (0: any free one)")
def command(layers_dir, port):
    """常驻核查服务 / Keep a layer set loaded and check sites for `ecozone check --service URL`.

    \b
    ecozone serve --layers layers/jinpu &
    ecozone check sites.csv --type T03 -o result.csv --service http://127.0.0.1:8765

    只监听本机 127.0.0.1，以启动者的身份读写文件；密钥文件（权限 0600）只有启动者可读，客户端先验证服务持有该密钥，
    再发送核查请求。逐个核查；客户端退出则停止其核查。图层集文件变化后自动重新载入。Ctrl-C 停止。

    Listens on 127.0.0.1 only and reads and writes files as the account that started it. Its key
    (a 0600 file) never travels: a client has the service prove it holds the key before sending
    anything, and checks the proof on the answer. Checks run one at a time; a check whose client
    went away stops. Opens the layer set again when its files change. Ctrl-C stops it.
    """
    from ..service import serve

    def ready(url, name):
        click.echo(f"ecozone: 核查服务已启动 / serving layer set {name} ({layers_dir}) at {url} "
                   f"（Ctrl-C 停止 / stops）", err=True)

    serve(layers_dir, port=port, ready=ready)
