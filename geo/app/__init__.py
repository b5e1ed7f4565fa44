"""The planner's web app (``ecozone app``): upload or draw sites, see the verdicts on the map, download the report.

Modules: ``server`` (the Starlette application and uvicorn), ``context`` (shared
state, the guard around every handler), ``security`` (sessions, CSRF, origins),
``auth`` (users file, Argon2, login brake), ``api_checks`` and ``api_layers``
(the JSON API), ``uploads`` (size limit while streaming, zip checks), ``jobs``
(checks on worker threads with progress and cancel; small checks waiting together
share one check), ``quick`` (small checks answered from their result), ``view``
(what the page draws and the panels read), ``outputs`` (the files of a check,
written when first downloaded), ``store`` (per-user folders),
``audit`` (append-only log), ``layersets`` (the sets served). The pages are in
``geo/static/app/``.
"""
from .auth import add_user
from .server import create_app, refuse_open_host, run_app

__all__ = ["create_app", "run_app", "add_user", "refuse_open_host"]
