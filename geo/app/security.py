"""Who is asking and whether the request may change anything: the one place the app decides it.

- Every request on a loopback app must name a loopback ``Host`` (a page on
  another site that rebinds its name to 127.0.0.1 cannot).
- A request that changes something (POST, DELETE) must come with the session's
  CSRF token in ``X-CSRF-Token`` and, when the browser says where it comes from
  (``Origin``), from this app's own origin. Login, which has no session yet,
  must be JSON (a form of another site cannot send it) from this origin.
- Without a users file the app serves one local user: a session is opened for
  whoever asks the page on 127.0.0.1. With one, only a login opens a session.
"""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from .auth import LOCAL_USER, Session, Sessions

__all__ = ["Guard", "COOKIE", "LOOPBACK", "refusal"]

COOKIE = "ecozone_session"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def refusal(status: int, zh: str, en: str) -> JSONResponse:
    """A refusal as the page shows it: one line in Chinese and English."""
    return JSONResponse({"error": f"ecozone: error: {zh} / {en}"}, status_code=status)


def _host(value: str) -> str:
    return (urlsplit(f"//{value}").hostname or "").lower()


class Guard:
    """Sessions, CSRF and origin checks for an app that is ``local`` (one user, loopback) or has users."""

    def __init__(self, *, local: bool):
        self.local = local
        self.sessions = Sessions()

    def session(self, request, *, open_local: bool = False) -> Session | None:
        """The request's session; on a local app a new one when ``open_local`` and none is given."""
        s = self.sessions.get(request.cookies.get(COOKIE))
        if s is None and self.local and open_local:
            s = self.sessions.new(LOCAL_USER)
            request.state.new_session = s
        return s

    def refuse(self, request, *, login: bool = False) -> JSONResponse | None:
        """A refusal for a request that may not go on (None: it may)."""
        if self.local and _host(request.headers.get("host", "")) not in LOOPBACK:
            return refusal(403, "只接受发往本机地址的请求", "only requests to 127.0.0.1 or localhost are answered")
        if request.method not in _CHANGING:
            return None
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            return refusal(403, "请求来自其他网站", "a request from another site is refused")
        if login:
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return refusal(415, "请以 JSON 发送", "send application/json")
            return None
        s = self.session(request)
        if s is None:
            return refusal(401, "请先登录", "sign in first")
        if not hmac.compare_digest(request.headers.get("x-csrf-token", ""), s.csrf):
            return refusal(403, "页面已过期，请刷新", "the page is out of date (CSRF token); reload it")
        return None

    @staticmethod
    def set_cookie(response, request, session: Session | None) -> None:
        """Set (or, for None, clear) the session cookie: HttpOnly, SameSite=Strict, Secure over https."""
        if session is None:
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
            return
        response.set_cookie(COOKIE, session.token, path="/", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=12 * 3600)
