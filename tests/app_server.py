"""A real ``ecozone app`` (uvicorn on a free loopback port, in a thread) and a small HTTP client for it."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode


@contextmanager
def running(app, host: str = "127.0.0.1"):
    """Serve ``app`` on a free port of ``host``; yield (host, port)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield host, port
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


class Client:
    """One browser's worth of HTTP: its cookie and CSRF token, requests with or without them."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.host, self.port, self.cookie, self.csrf = host, port, None, None

    def request(self, method, path, body=None, *, headers=None, query=None, csrf=True):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        h = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf and method != "GET":
            h.setdefault("X-CSRF-Token", self.csrf)
        if isinstance(body, (dict, list)):
            body, h["Content-Type"] = json.dumps(body).encode(), "application/json"
        conn.request(method, path + ("?" + urlencode(query) if query else ""), body=body, headers=h,
                     encode_chunked=h.get("Transfer-Encoding") == "chunked")
        r = conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                value = v.split(";")[0]
                self.cookie = None if value.endswith("=") or value.endswith('=""') else value
                self.set_cookie_header = v
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, body=None, **kw):
        status, headers, data = self.request(method, path, body, **kw)
        return status, (json.loads(data) if data and headers.get("content-type", "").startswith("application/json")
                        else data)

    def start_local(self):
        """Open the page (a local app opens a session), then read the CSRF token."""
        status, _, _ = self.request("GET", "/")
        assert status == 200
        status, info = self.json("GET", "/api/session")
        assert status == 200, info
        self.csrf = info["csrf"]
        return info

    def login(self, name, password):
        status, info = self.json("POST", "/api/login", {"name": name, "password": password})
        if status == 200:
            self.csrf = info["csrf"]
        return status, info

    def upload(self, path_or_bytes, name, **options):
        data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
        return self.json("POST", "/api/checks", data, query={"name": name, **options},
                         headers={"Content-Type": "application/octet-stream"})

    def wait(self, cid, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            status, meta = self.json("GET", f"/api/checks/{cid}", query={"wait": 2})  # answered when it ends
            assert status == 200, meta
            if meta["status"] not in ("queued", "running"):
                return meta
            assert time.monotonic() < deadline, meta
