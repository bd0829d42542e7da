"""The page and its files (plain HTML, CSS and JavaScript shipped in the package), and the
OpenAPI description, all behind the token check like every other route."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from pixelab.studio.api import get_studio
from pixelab.studio.project import StudioError

router = APIRouter(tags=["page"])

#: The files under static/ the page loads, with their media types.
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}


def _static(name: str) -> str:
    return resources.files("pixelab.studio").joinpath("static", name).read_text("utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(studio: Any = Depends(get_studio)) -> HTMLResponse:
    """The page; its script and stylesheet links carry the token (URL-safe, no escaping)."""
    html = _static("index.html").replace("__TOKEN__", studio.token)
    return HTMLResponse(
        html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    if name not in STATIC:
        raise StudioError(f"no file {name!r}", status=404)
    return Response(_static(name), media_type=STATIC[name], headers={"Cache-Control": "no-store"})


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    """The API's OpenAPI description."""
    return JSONResponse(request.app.openapi())
