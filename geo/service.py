"""A resident check service: one layer set kept loaded, checks run on request.

``ecozone serve`` opens a layer set once (zones, their index, the rule table)
and answers ``ecozone check ... --service URL`` from then on, so a check costs
reading the sites, checking them and writing the outputs, not starting Python
and opening the layer set again. The outputs, messages and exit codes are
those of the plain command: the service runs the same code
(:func:`geo.cli.check.run`) on the paths the client names.

It listens on 127.0.0.1 only, reads and writes files as the account that
started it, takes one request at a time and opens the layer set again when its
files change (a rebuild, an edited rule table). Requests must be JSON with a
loopback ``Host``, which a web page in a browser cannot send to it.

The client side (:func:`check_remote`) uses the standard library only, so the
command that calls a service starts in a fraction of a second.
"""
from __future__ import annotations

import json
import os
import traceback
import warnings
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from . import __version__
from .errors import EcozoneError, error_line, warning_line

__all__ = ["CheckService", "serve", "check_remote", "DEFAULT_PORT"]

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
_PATHS = ("sites", "out", "detail", "report")  # parameters naming files: sent as absolute paths


class ServiceError(EcozoneError, OSError):
    """The check service cannot be reached or refused the request."""


# -- server ----------------------------------------------------------------------------------------

class CheckService:
    """A layer set kept loaded, opened again when its files change."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.ls, self._stamp = None, None
        self.current()

    def _files(self) -> list:
        r = self.root
        return ([r / "manifest.toml"] + sorted(p for p in (r / "data").rglob("*") if p.is_file())
                + sorted(r.glob("rules*")) + sorted(p for p in (r / "build").glob("*") if p.is_file()))

    def _stat(self) -> tuple:
        out = []
        for f in self._files():
            try:
                st = f.stat()
            except OSError:
                continue
            out.append((str(f), st.st_mtime_ns, st.st_size))
        return tuple(out)

    def current(self):
        """The layer set, opened (and built, warmed) again if any of its files changed since."""
        stamp = self._stat()
        if stamp != self._stamp:
            from .layerset import read_layerset

            self.ls = read_layerset(self.root)
            _warm(self.ls)
            self._stamp = self._stat()  # after a rebuild the build's files are new
        return self.ls

    def info(self) -> dict:
        ls = self.current()
        return {"layerset": ls.name, "root": str(self.root), "content_hash": ls.meta.get("content_hash"),
                "build_date": ls.meta.get("build_date"), "ecozone_version": __version__}

    def check(self, request: dict) -> dict:
        """Run one ``ecozone check``; the answer holds its exit code and the lines it prints."""
        from .cli.check import run

        lines = []
        with warnings.catch_warnings(record=True) as caught:
            try:
                layers = request.get("layers")
                if layers and Path(layers).resolve() != self.root:
                    raise ServiceError(f"the check service serves layer set {self.ls.name} ({self.root}), not {layers}",
                                       hint="drop --layers, or start a service for that folder: "
                                            f"ecozone serve --layers {layers} --port {DEFAULT_PORT + 1}")
                code, summary = run(self.current(), request["params"])
                tail = [] if request.get("quiet") else [summary]
            except Exception as exc:
                line, code = error_line(exc), 2
                if line is None:  # a bug: the traceback goes to the service's log
                    traceback.print_exc()
                    line, code = f"ecozone: error: the check service failed ({type(exc).__name__}: {exc}); see its log", 1
                tail = [line]
            lines = [warning_line(w.message) for w in caught] + tail
        return {"code": code, "lines": lines}


def _warm(ls) -> None:
    """Index the zones, read the rules and run a first check (one-off work) before the first request."""
    import tempfile

    import numpy as np
    import pyarrow.parquet  # noqa: F401 (readers of the common sites files, imported now)
    import pyogrio  # noqa: F401
    import pyproj
    import shapely

    from .cli.check import params_of, run

    p = ls.coverage.representative_point()
    to_lonlat = pyproj.Transformer.from_crs(ls.measure_crs, "EPSG:4326", always_xy=True)
    wkts = [shapely.transform(g, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1]))).wkt
            for g in (p, p.buffer(200, quad_segs=2))]
    with tempfile.TemporaryDirectory(prefix="ecozone-warm-") as tmp:
        sites = Path(tmp, "sites.csv")
        sites.write_text("site_id,wkt\n" + "".join(f'w{i},"{w}"\n' for i, w in enumerate(wkts)), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(ls, params_of([str(sites), "--type", "T01", "-o", str(Path(tmp, "result.csv"))]))


class _Handler(BaseHTTPRequestHandler):
    server_version = f"ecozone/{__version__}"

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _local(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in (HOST, "localhost"):  # a page served from elsewhere (DNS rebinding)
            self._answer(403, {"error": "only requests to 127.0.0.1 or localhost are answered"})
            return False
        return True

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        if not self._local():
            return
        if self.path.rstrip("/") in ("", "/info"):
            self._answer(200, self.server.service.info())
        else:
            self._answer(404, {"error": f"no {self.path}; ask GET / or POST /check"})

    def do_POST(self):  # noqa: N802
        if not self._local():
            return
        if self.path != "/check":
            return self._answer(404, {"error": f"no {self.path}; ask GET / or POST /check"})
        if self.headers.get_content_type() != "application/json":  # what a browser cannot send unasked
            return self._answer(415, {"error": "send application/json"})
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            request["params"]["out"]
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"error": "the body is not a check request"})
        self._answer(200, self.server.service.check(request))

    def log_message(self, format, *args):  # noqa: A002 (the signature http.server calls)
        pass  # the client reports; the service stays quiet


def serve(root, *, port: int = DEFAULT_PORT, ready=None) -> None:
    """Serve checks against the layer set at ``root`` on 127.0.0.1:``port`` until interrupted.

    ``ready(url, name)`` is called once the layer set is loaded and the port is open.
    """
    service = CheckService(root)
    try:
        server = HTTPServer((HOST, port), _Handler)
    except OSError as exc:
        raise ServiceError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc})",
                           hint="give another --port (0 picks a free one)") from None
    server.service = service
    with server:
        if ready:
            ready(f"http://{HOST}:{server.server_address[1]}", service.ls.name)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


# -- client ----------------------------------------------------------------------------------------

def check_remote(url: str, params: dict, *, layers_given: bool, quiet: bool) -> tuple:
    """Ask the service at ``url`` to run a check; its exit code and the lines to print."""
    params = {k: (os.path.abspath(v) if k in _PATHS and v else v) for k, v in params.items()}
    body = {"params": params, "quiet": quiet,
            "layers": os.path.abspath(params["layers_dir"]) if layers_given else None}
    req = urllib.request.Request(url.rstrip("/") + "/check", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise ServiceError(f"the check service at {url} refused the request ({exc.code} {exc.reason})",
                           hint="is it an ecozone service of this version?") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(f"no check service answers at {url} ({reason})",
                           hint="start one with: ecozone serve --layers DIR, or drop --service") from None
    return int(answer["code"]), list(answer["lines"])
