"""The map's JavaScript and CSS: vendored in ``geo/static/``, inlined into the page or linked on jsDelivr.

``geo/static/assets.toml`` lists each package, its version and files; images
that stylesheets refer to are inlined as data: URIs, so an inlined page needs
no other file and no network.
"""
from __future__ import annotations

import base64
import mimetypes
import posixpath
import re
import tomllib
from functools import lru_cache
from pathlib import Path

from ..errors import MapError

__all__ = ["STATIC", "asset_html", "icon_urls"]

#: the vendored scripts and stylesheets
STATIC = Path(__file__).parents[1] / "static"


@lru_cache(maxsize=1)
def _asset_config() -> dict:
    return tomllib.loads((STATIC / "assets.toml").read_text(encoding="utf-8"))


def _data_uri(path: Path) -> str:
    mime = {".svg": "image/svg+xml"}.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(pkg_dir: Path, rel: str) -> str:
    """A vendored stylesheet with every file it refers to inlined as a data: URI."""
    text = (pkg_dir / rel).read_text(encoding="utf-8")

    def repl(m):
        ref = m.group(1)
        if ref.startswith(("data:", "#", "http:", "https:", "//")):
            return m.group(0)
        target = pkg_dir / posixpath.normpath(posixpath.join(posixpath.dirname(rel), ref))
        if not target.exists():
            raise MapError(f"vendored file {target} is missing", hint="run scripts/vendor_static.py")
        return f"url({_data_uri(target)})"

    text = re.sub(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""", repl, text)
    if "</style" in text.lower():
        raise MapError(f"{rel} contains </style> and cannot be inlined")
    return text


def _inline_js(text: str) -> str:
    """A script that keeps the HTML parser in its element: no ``</script`` and no ``<!--`` in it."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I).replace("<!--", "<\\!--")


@lru_cache(maxsize=2)
def asset_html(inline: bool) -> tuple:
    """(name, HTML) of every stylesheet and script, in load order; ecozone's own are always inlined."""
    cfg = _asset_config()
    css, js = [], []
    for pkg in cfg["package"]:
        pkg_dir = STATIC / pkg["name"]
        for rel in pkg.get("css", []):
            if inline:
                css.append((f"ez_css_{pkg['name']}", f"<style>\n{_inline_css(pkg_dir, rel)}\n</style>"))
            else:
                css.append((f"ez_css_{pkg['name']}",
                            f'<link rel="stylesheet" href="{cfg["cdn"]}/{pkg["name"]}@{pkg["version"]}/{rel}"/>'))
        for rel in pkg.get("js", []):
            if inline:
                js.append((f"ez_js_{pkg['name']}",
                           f"<script>\n{_inline_js((pkg_dir / rel).read_text(encoding='utf-8'))}\n</script>"))
            else:
                js.append((f"ez_js_{pkg['name']}",
                           f'<script src="{cfg["cdn"]}/{pkg["name"]}@{pkg["version"]}/{rel}"></script>'))
    own_css = (STATIC / "ecozone-map.css").read_text(encoding="utf-8")
    own_js = _inline_js((STATIC / "ecozone-map.js").read_text(encoding="utf-8"))
    css.append(("ez_css_ecozone", f"<style>\n{own_css}</style>"))
    js.append(("ez_js_ecozone", f"<script>\n{own_js}</script>"))
    return tuple(css + js)


@lru_cache(maxsize=2)
def icon_urls(inline: bool) -> dict:
    """Leaflet's default marker images (data: URIs when inlined; the page has no image folder)."""
    cfg = _asset_config()
    out = {}
    for pkg in cfg["package"]:
        for option, rel in pkg.get("images", {}).items():
            out[option] = (_data_uri(STATIC / pkg["name"] / rel) if inline
                           else f"{cfg['cdn']}/{pkg['name']}@{pkg['version']}/{rel}")
    return out
