"""The web app: a Starlette application of static pages and a JSON API, served by uvicorn.

:func:`create_app` assembles it; :func:`run_app` serves it. Pages are static
files (``geo/static/app/``) whose script fetches JSON and sets every text from
data with ``textContent``; the map is the layer set's web map
(:func:`geo.maps.build_map`) in a frame of the same origin. Every handler of
the API is wrapped by :func:`guarded`, which applies :class:`~geo.app.security.Guard`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import AppError
from .audit import AuditLog
from .auth import LoginBrake, Users
from .jobs import JobRunner
from .layersets import LayerSets
from .context import HEADERS, AppState, client, guarded
from .security import LOOPBACK, Guard, refusal
from .store import Store
from .uploads import MAX_UPLOAD_BYTES

__all__ = ["create_app", "run_app", "refuse_open_host"]

log = logging.getLogger(__name__)
PAGES = Path(__file__).resolve().parents[1] / "static" / "app"
#: what a page may load: its own files, the map frame; tiles (https) and data: images
CSP_PAGE = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def refuse_open_host(host: str, users) -> None:
    """An app listening beyond this machine needs a users file."""
    if host not in LOOPBACK and not users:
        raise AppError(f"--host {host} 会向网络开放，须同时给出 --users / --host {host} opens the app to the network",
                       hint="give --users FILE (make it with: ecozone app adduser FILE NAME), or serve on 127.0.0.1")


async def page(request):
    """The app's page; on an app with users, the login page until signed in."""
    ez: AppState = request.app.state.ez
    refused = ez.guard.refuse(request)
    if refused is not None:
        return refused
    name = "app.html" if ez.guard.session(request, open_local=True) is not None else "login.html"
    if request.url.path == "/login":
        name = "login.html"
    response = FileResponse(PAGES / name, media_type="text/html; charset=utf-8")
    response.headers.update({**HEADERS, "Content-Security-Policy": CSP_PAGE, "X-Frame-Options": "DENY"})
    new = getattr(request.state, "new_session", None)
    if new is not None:
        ez.guard.set_cookie(response, request, new)
    return response


@guarded
async def session_info(request):
    from ..export.formats import FORMATS
    from ..text import VERDICTS, project_types

    ez: AppState = request.app.state.ez
    sets = [LayerSets.describe(ez.layersets.get(n)) for n in ez.layersets.names]
    types = [{"code": c, "zh": t["name_zh"], "en": t["name_en"]} for c, t in project_types().items()]
    return JSONResponse({"user": request.state.user, "csrf": request.state.session.csrf, "local": ez.guard.local,
                         "layersets": sets, "types": types, "max_upload": ez.max_upload,
                         "verdicts": VERDICTS, "export_formats": list(FORMATS)})


@guarded(login=True, user=False)
async def login(request):
    ez: AppState = request.app.state.ez
    if ez.users is None:
        return refusal(400, "本机单用户，无需登录", "a local app has no sign-in")
    try:
        body = await request.json()
        name, password = str(body["name"])[:64], str(body["password"])[:1024]
    except (ValueError, KeyError, TypeError):
        return refusal(400, "请填写用户名和密码", "give a name and a password")
    keys = (f"user:{name}", f"client:{client(request)}")
    wait = ez.brake.wait_s(*keys)
    if wait > 0:
        return refusal(429, f"失败次数过多，请 {wait:.0f} 秒后再试", f"too many failures; try again in {wait:.0f} s")
    if not await asyncio.to_thread(ez.users.verify, name, password):
        ez.brake.failed(*keys)
        ez.audit.write("login_failed", user=name, client=client(request))
        return refusal(401, "用户名或密码错误", "wrong name or password")
    ez.brake.passed(*keys)
    s = ez.guard.sessions.new(name)
    ez.audit.write("login", user=name, client=client(request))
    response = JSONResponse({"user": name, "csrf": s.csrf})
    ez.guard.set_cookie(response, request, s)
    return response


@guarded
async def logout(request):
    ez: AppState = request.app.state.ez
    ez.guard.sessions.end(request.state.session.token)
    ez.audit.write("logout", user=request.state.user, client=client(request))
    response = JSONResponse({"user": None})
    ez.guard.set_cookie(response, request, None)
    return response


def create_app(layer_roots, *, data_dir, users_file=None, host: str = "127.0.0.1",
               max_upload: int = MAX_UPLOAD_BYTES, workers: int = 2) -> Starlette:
    """The app serving ``layer_roots`` (the first is the default), keeping its data in ``data_dir``."""
    from . import api_checks, api_layers

    refuse_open_host(host, users_file)
    users = Users(users_file) if users_file else None
    store = Store(data_dir)
    audit = AuditLog(store.root / "audit.jsonl")
    layersets = LayerSets(layer_roots)
    runner = JobRunner(store, audit, workers=workers, prepare=layersets.warm_all)
    state = AppState(guard=Guard(local=users is None), users=users, brake=LoginBrake(), store=store, audit=audit,
                     runner=runner, layersets=layersets, max_upload=max_upload)
    routes = [
        Route("/", page), Route("/login", page),
        Route("/api/session", session_info), Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        *api_checks.ROUTES, *api_layers.ROUTES,
        Mount("/static", StaticFiles(directory=PAGES), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        state.runner.shutdown()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ez = state
    return app


def run_app(app, *, host: str, port: int, ready=None) -> None:
    """Serve ``app`` with uvicorn until interrupted (``ready(url)`` once listening)."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=True,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    if ready is not None:
        original = server.startup

        async def startup(sockets=None):
            await original(sockets)
            ready(f"http://{'[' + host + ']' if ':' in host else host}:{port}")

        server.startup = startup
    server.run()
