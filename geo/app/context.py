"""What every handler of the app shares (:class:`AppState`) and the wrapper that guards them (:func:`guarded`)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from .audit import AuditLog
from .auth import LoginBrake, Users
from .jobs import JobRunner
from .layersets import LayerSets
from .security import Guard, refusal
from .store import Store

__all__ = ["AppState", "guarded", "client", "HEADERS"]

HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass
class AppState:
    """Everything the handlers share."""

    guard: Guard
    users: Users | None
    brake: LoginBrake
    store: Store
    audit: AuditLog
    runner: JobRunner
    layersets: LayerSets
    max_upload: int


def guarded(handler=None, *, login: bool = False, user: bool = True):
    """Wrap an API handler: refusals of the guard first, then the signed-in user in ``request.state.user``."""
    if handler is None:
        return functools.partial(guarded, login=login, user=user)

    @functools.wraps(handler)
    async def wrapper(request):
        ez: AppState = request.app.state.ez
        refused = ez.guard.refuse(request, login=login)
        if refused is not None:
            return refused
        if user:
            s = ez.guard.session(request)
            if s is None:
                return refusal(401, "请先登录", "sign in first")
            request.state.user, request.state.session = s.user, s
        response = await handler(request)
        response.headers.update(HEADERS)
        return response

    return wrapper


def client(request) -> str | None:
    return request.client.host if request.client else None
