"""The check API: upload or draw sites, follow the job, read the verdicts, download the outputs, history, re-run.

Every check belongs to the user who made it: ids are looked up in that user's
folder only (:meth:`geo.app.store.Store.check_dir`), so another user's id is
"not found", whatever is typed.
"""
from __future__ import annotations

import asyncio
import re
import shutil
import time
from datetime import datetime, timezone

from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from ..errors import RequestTooLarge, error_line
from .jobs import problem_line
from .outputs import (DERIVED, DOWNLOADS, check_params, derived_download, downloads_of, ensure_outputs, make_report,
                      output_files, site_findings, verdict_changes)
from .security import refusal
from .context import AppState, client, guarded
from .uploads import save_upload

__all__ = ["ROUTES"]

_OPTIONS = ("project_type", "crs", "coord_sys", "layer", "encoding")
#: how often a waiting status request looks at its job, and the longest it waits
POLL_S, MAX_WAIT_S = 0.02, 10.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value, limit: int = 255) -> str | None:
    """A client's text kept as text (no control characters, bounded); None when blank."""
    value = _CONTROL.sub("", str(value or "")).strip()[:limit]
    return value or None


def _bad(exc: BaseException, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": problem_line(exc)}, status_code=status)


def _start(request, ez: AppState, ls, folder, cid: str, spec: dict, input_name: str, parent: str | None = None):
    """Check ``spec`` (sites in ``folder``) against ``ls`` as a job; the answer with the check's id."""
    params = check_params(folder, spec, ls, **output_files(folder, ls))
    meta = {"id": cid, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "input_name": input_name,
            "check": spec, "layerset": ls.name, "content_hash": ls.meta.get("content_hash"), "parent": parent}
    ez.runner.submit(request.state.user, cid, folder, meta, ls, params)
    ez.audit.write("rerun" if parent else "check", user=request.state.user, client=client(request), check=cid,
                   input=input_name, layerset=ls.name, content_hash=ls.meta.get("content_hash"), parent=parent)
    return JSONResponse({"id": cid}, status_code=202)


@guarded
async def upload(request):
    """POST the file as the body; options in the query: name, layers, project_type, crs, coord_sys, layer, encoding."""
    ez: AppState = request.app.state.ez
    q = request.query_params
    ls = ez.layersets.get(q.get("layers"))
    if ls is None:
        return refusal(404, "没有该图层集", "no such layer set")
    name = _text(q.get("name")) or "upload"
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > ez.max_upload:
        ez.audit.write("refused", user=request.state.user, client=client(request), input=name, reason="413")
        return _bad(RequestTooLarge(f"上传文件超过 {ez.max_upload / (1 << 20):.3g} MB / the upload exceeds "
                                    f"{ez.max_upload / (1 << 20):.3g} MB", path=name,
                                    hint="split the sites into smaller files"), 413)
    cid, folder = ez.store.new_check(request.state.user)
    try:
        saved = await save_upload(request.stream(), folder / "input", name, limit=ez.max_upload)
        spec = {"sites": f"input/{saved.name}", **{k: _text(q.get(k), 64) for k in _OPTIONS}}
        return _start(request, ez, ls, folder, cid, spec, name)
    except ClientDisconnect:
        shutil.rmtree(folder, ignore_errors=True)
        return refusal(400, "上传中断", "the upload broke off")
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)  # nothing half-done stays
        if error_line(exc) is None and not isinstance(exc, (ValueError, TypeError)):
            raise
        ez.audit.write("refused", user=request.state.user, client=client(request), input=name,
                       reason=problem_line(exc))
        return _bad(exc, 413 if isinstance(exc, RequestTooLarge) else 400)


@guarded
async def draw(request):
    """POST JSON {wkt, layers, project_type}: a point, line or polygon drawn on the map (lon/lat)."""
    ez: AppState = request.app.state.ez
    try:
        body = await request.json()
        wkts = [w for w in (_text(w, 200_000) for w in body["wkts"]) if w]
        if not wkts or len(wkts) > 100:
            raise ValueError("draw 1–100 sites")
    except (ValueError, KeyError, TypeError) as exc:
        return refusal(400, "请先在地图上绘制", f"draw a site on the map first ({exc})")
    ls = ez.layersets.get(body.get("layers"))
    if ls is None:
        return refusal(404, "没有该图层集", "no such layer set")
    cid, folder = ez.store.new_check(request.state.user)
    try:
        spec = {"wkts": wkts, "project_type": _text(body.get("project_type"), 64)}
        return _start(request, ez, ls, folder, cid, spec, "绘制 / drawn")
    except (ValueError, TypeError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _bad(exc)


def _own(request, ez: AppState):
    """The asking user's check folder of the id in the path, or None."""
    return ez.store.check_dir(request.state.user, request.path_params["cid"])


def _not_found():
    return refusal(404, "没有该核查记录", "no such check")


async def _settled(ez: AppState, user: str, cid: str, seconds: float) -> None:
    """Wait up to ``seconds`` for a job to end (a small check is answered in the page's first request)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = ez.runner.get(user, cid)
        if job is None or job.status not in ("queued", "running", "ending"):
            return
        await asyncio.sleep(POLL_S)


@guarded
async def status(request):
    """A check's meta; ``?wait=S`` (≤ 10 s) first waits that long for it to end."""
    ez: AppState = request.app.state.ez
    folder = _own(request, ez)
    if folder is None:
        return _not_found()
    try:
        wait = min(max(float(request.query_params.get("wait", 0)), 0.0), MAX_WAIT_S)
    except ValueError:
        wait = 0.0
    if wait:
        await _settled(ez, request.state.user, request.path_params["cid"], wait)
    meta = ez.store.read_meta(folder)
    job = ez.runner.get(request.state.user, meta["id"])
    if job is not None and meta["status"] in ("queued", "running"):
        meta.update(job.view())
    parent = meta.get("parent") and ez.store.check_dir(request.state.user, meta["parent"])
    if meta["status"] == "done" and parent:
        meta["changes"] = await asyncio.to_thread(verdict_changes, parent, folder)
    if meta["status"] == "done":
        meta["downloads"] = downloads_of(folder, meta)
    return JSONResponse(meta)


@guarded
async def sites(request):
    ez: AppState = request.app.state.ez
    folder = _own(request, ez)
    if folder is None or not (folder / "page_sites.json").exists():
        return _not_found()
    return FileResponse(folder / "page_sites.json", media_type="application/json")


@guarded
async def findings(request):
    ez: AppState = request.app.state.ez
    folder = _own(request, ez)
    if folder is None or not (folder / "page_sites.json").exists():
        return _not_found()
    return JSONResponse(await asyncio.to_thread(site_findings, folder, request.query_params.get("site", "")))


@guarded
async def download(request):
    ez: AppState = request.app.state.ez
    folder, name = _own(request, ez), request.path_params["name"]
    if folder is None or name not in DOWNLOADS:
        return _not_found()
    meta = ez.store.read_meta(folder)
    path = folder / DOWNLOADS[name]
    if name.startswith("report.") and meta.get("status") == "done":
        ls = ez.layersets.get(meta["layerset"])
        try:
            path = await asyncio.to_thread(make_report, folder, meta, ls, name)
        except Exception as exc:
            if error_line(exc) is None:
                raise
            return _bad(exc, 409)
    elif meta.get("status") == "done":
        ls = ez.layersets.get(meta["layerset"])
        try:
            await asyncio.to_thread(ensure_outputs, folder, meta, ls)
        except Exception as exc:
            if error_line(exc) is None:
                raise
            return _bad(exc, 409)
        if name in DERIVED:
            path = await asyncio.to_thread(derived_download, folder, name, ls)
    if not path.exists():
        return _not_found()
    ez.audit.write("download", user=request.state.user, client=client(request), check=meta["id"], file=name)
    return FileResponse(path, filename=f"ecozone-{meta['id']}-{name}")


@guarded
async def cancel(request):
    ez: AppState = request.app.state.ez
    folder = _own(request, ez)
    if folder is None:
        return _not_found()
    done = ez.runner.cancel(request.state.user, request.path_params["cid"])
    ez.audit.write("cancel", user=request.state.user, client=client(request), check=request.path_params["cid"])
    return JSONResponse({"cancelled": done})


@guarded
async def rerun(request):
    """Check the same input again against the layer set as it is now."""
    ez: AppState = request.app.state.ez
    old = _own(request, ez)
    if old is None:
        return _not_found()
    meta = ez.store.read_meta(old)
    ls = ez.layersets.get(meta["layerset"])
    if ls is None:
        return refusal(404, "该图层集已不再提供", "the layer set of this check is no longer served")
    cid, folder = ez.store.new_check(request.state.user)
    if (old / "input").is_dir():
        shutil.copytree(old / "input", folder / "input")
    return _start(request, ez, ls, folder, cid, meta["check"], meta["input_name"], parent=meta["id"])


@guarded
async def history(request):
    ez: AppState = request.app.state.ez
    keep = ("id", "time", "input_name", "layerset", "content_hash", "status", "counts", "n_sites", "parent", "error")
    rows = [{k: m.get(k) for k in keep} for m in ez.store.history(request.state.user)]
    return JSONResponse({"checks": rows, "now": time.time()})


ROUTES = [
    Route("/api/checks", upload, methods=["POST"]),
    Route("/api/checks", history, methods=["GET"]),
    Route("/api/draw", draw, methods=["POST"]),
    Route("/api/checks/{cid}", status),
    Route("/api/checks/{cid}/sites", sites),
    Route("/api/checks/{cid}/findings", findings),
    Route("/api/checks/{cid}/files/{name}", download),
    Route("/api/checks/{cid}/cancel", cancel, methods=["POST"]),
    Route("/api/checks/{cid}/rerun", rerun, methods=["POST"]),
]
