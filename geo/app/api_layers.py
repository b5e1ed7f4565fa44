"""The layers API: the layer sets served, their layers as the plan groups them, the web map, exports.

The map is the layer set's own web map (:func:`geo.maps.build_map`: grouped
layers, legend, identify on click, search by name or code), built once per
layer set, content hash and language and kept in memory. Exports are written
by :func:`geo.export.export_layers` once per layer set, content hash and format
into ``DATA/exports/`` (a folder format zipped) and then served from there.
"""
from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import error_line
from .context import HEADERS, AppState, client, guarded
from .jobs import problem_line
from .layersets import LayerSets
from .security import refusal

__all__ = ["ROUTES"]

#: the map frame runs the map's inlined scripts; tiles may come from the basemap's servers
CSP_MAP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: https: http:; "
           "connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
_export_lock = threading.Lock()


_maps: dict = {}


def _map_html(ls, lang: str) -> bytes:
    """The layer set's web map in ``lang``, built once per content hash."""
    from ..maps import build_map, render_map

    key = (str(ls.root), ls.meta.get("content_hash"), lang)
    if key not in _maps:
        _maps[key] = render_map(build_map(ls, lang=lang)).encode("utf-8")
    return _maps[key]


def _layer_list(ls) -> list[dict]:
    from ..layerset.manifest import group_of
    from ..maps.plan import group_title, map_layout, map_plan
    from ..text import CONTROLS

    layout = map_layout(ls.manifest)
    out = []
    for gid, specs in map_plan(ls, layout):
        layers = [{"id": s.id, "title_zh": s.title_zh, "title_en": s.title_en, "geometry": s.geometry,
                   "clause": s.clause, "group": group_of(s),
                   "classes": [{"code": k, "zh": c.get("zh", k), "en": c.get("en", k), "color": c.get("color"),
                                "control_zh": CONTROLS.get(c.get("control"), {}).get("zh", ""),
                                "control_en": CONTROLS.get(c.get("control"), {}).get("en", "")}
                               for k, c in s.classes.items()]}
                  for s in specs]
        out.append({"id": gid, "title_zh": group_title(layout, gid, specs, "zh"),
                    "title_en": group_title(layout, gid, specs, "en"), "layers": layers})
    return out


@guarded
async def layersets(request):
    ez: AppState = request.app.state.ez
    out = []
    for name in ez.layersets.names:
        ls = ez.layersets.get(name)
        out.append({**LayerSets.describe(ls), "groups": _layer_list(ls)})
    return JSONResponse({"layersets": out})


@guarded
async def map_page(request):
    ez: AppState = request.app.state.ez
    ls = ez.layersets.get(request.path_params["name"])
    lang = request.query_params.get("lang", "zh")
    if ls is None or lang not in ("zh", "en"):
        return refusal(404, "没有该图层集", "no such layer set")
    html = await asyncio.to_thread(_map_html, ls, lang)
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={**HEADERS, "Content-Security-Policy": CSP_MAP, "X-Frame-Options": "SAMEORIGIN",
                             "Cache-Control": "private, max-age=600"})


def _export(ls, fmt: str, folder: Path) -> Path:
    from ..export import export_layers
    from ..export.formats import FORMATS

    kind, ext = FORMATS[fmt]
    target = folder / f"{ls.name}-{(ls.meta.get('content_hash') or 'nohash')[:12]}-{fmt}"
    done = target.with_name(target.name + (".zip" if kind == "folder" else ext))
    with _export_lock:
        if done.exists():
            return done
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            export_layers(ls, fmt, done)
            return done
        scratch = target.with_name(target.name + ".part")
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            export_layers(ls, fmt, scratch)
            zipped = shutil.make_archive(str(target.with_name(target.name + ".tmp")), "zip", scratch)
            Path(zipped).replace(done)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return done


@guarded
async def export(request):
    from ..export.formats import FORMATS

    ez: AppState = request.app.state.ez
    ls = ez.layersets.get(request.path_params["name"])
    fmt = request.path_params["fmt"]
    if ls is None or fmt not in FORMATS:
        return refusal(404, "没有该图层集或格式", "no such layer set or format")
    try:
        path = await asyncio.to_thread(_export, ls, fmt, ez.store.root / "exports")
    except Exception as exc:
        if error_line(exc) is None:
            raise
        return JSONResponse({"error": problem_line(exc)}, status_code=500)
    ez.audit.write("export", user=request.state.user, client=client(request), layerset=ls.name,
                   content_hash=ls.meta.get("content_hash"), format=fmt)
    return FileResponse(path, filename=path.name)


ROUTES = [
    Route("/api/layersets", layersets),
    Route("/map/{name}", map_page),
    Route("/api/layersets/{name}/export/{fmt}", export),
]
