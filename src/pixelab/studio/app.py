"""The studio's web application: one FastAPI app per project, its routers and error format.

Every route, the page and its static files included, goes through
:func:`pixelab.studio.security.check_request`. Every error is one JSON object,
``{"error": "...", "hint": "..."}``, with the HTTP status of what went wrong (400 bad input,
403 token, 404 not there, 409 busy, 413 too large, 415 not an image, 422 malformed request).
The OpenAPI description is at ``/api/openapi.json`` (token needed like everything else).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.optional import require
from pixelab.studio.project import Limits, Project, StudioError


@dataclasses.dataclass
class Studio:
    """What the routes share: the project, its jobs, the token and the hosts answered."""

    project: Project
    jobs: Any
    token: str
    hosts: tuple[str, ...]
    models: dict[str, Any] = dataclasses.field(default_factory=dict)
    model_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    export_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def create_app(
    project_dir: str | os.PathLike[str],
    *,
    port: int,
    token: str | None = None,
    limits: Limits | None = None,
) -> Any:
    """The studio app for the project folder ``project_dir`` (made if missing), answering on
    ``127.0.0.1:port`` and ``localhost:port`` with the start ``token`` (a new one if None)."""
    require("fastapi", extra="studio")
    require("python_multipart", package="python-multipart", extra="studio")
    from fastapi import Depends, FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from pixelab import __version__
    from pixelab.studio.api import history, images, jobs, look, page, probe, projects, runs
    from pixelab.studio.jobs import JobManager
    from pixelab.studio.security import allowed_hosts, check_request, new_token

    project = Project(project_dir, limits=limits)
    app = FastAPI(
        title="pixelab studio",
        version=__version__,
        description="Gather images, train with one button, try the model, look inside it, "
        "probe it, compare and export runs: a local JSON API.",
        dependencies=[Depends(check_request)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by page.router behind the token check
    )
    app.state.studio = Studio(project=project, jobs=JobManager(project), token=token or new_token(),
                              hosts=allowed_hosts(port))  # fmt: skip

    def error(status: int, message: str, hint: str | None = None) -> JSONResponse:
        return JSONResponse({"error": message, "hint": hint}, status_code=status)

    @app.exception_handler(PixelabError)
    async def pixelab_error(request: Any, err: PixelabError) -> JSONResponse:
        status = err.status if isinstance(err, StudioError) else 400
        return error(status, err.message, err.hint)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(422, f"invalid request: {where}: {first.get('msg', 'malformed')}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, err: HTTPException) -> JSONResponse:
        return error(err.status_code, str(err.detail))

    for module in (page, projects, images, jobs, runs, look, probe, history):
        app.include_router(module.router)
    return app
