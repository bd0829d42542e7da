"""The studio's JSON API, one router per area: the page, the project, images, jobs, runs (and
Try's predictions), look (confusion cells, why a prediction), probe (sliders, challenges) and
history (compare two runs, export to ONNX, resume).

Routes stay thin: they check what came in and call :mod:`pixelab.studio.project`,
:mod:`pixelab.studio.jobs` or the apps; the security check is the app's, not theirs.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request


def get_studio(request: Request) -> Any:
    """FastAPI dependency: the :class:`~pixelab.studio.app.Studio` of this app."""
    return request.app.state.studio


def multipart_body(field: str, *, many: bool) -> dict[str, Any]:
    """The OpenAPI description of a multipart body with file field ``field`` (one file, or
    ``many``): the routes read their forms by hand, after the token check and the size limits,
    so FastAPI cannot describe them by itself."""
    one = {"type": "string", "format": "binary"}
    schema = {"type": "array", "items": one} if many else one
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {field: schema}, "required": [field]}}}}}  # fmt: skip
