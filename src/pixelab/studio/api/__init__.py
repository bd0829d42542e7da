"""The studio's JSON API, one router per area: the page, the project, images, jobs, runs.

Routes stay thin: they check what came in and call :mod:`pixelab.studio.project`,
:mod:`pixelab.studio.jobs` or the apps; the security check is the app's, not theirs.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request


def get_studio(request: Request) -> Any:
    """FastAPI dependency: the :class:`~pixelab.studio.app.Studio` of this app."""
    return request.app.state.studio
