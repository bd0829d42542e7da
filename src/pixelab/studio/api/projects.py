"""The project as a whole: where it is, its classes, its runs, the training under way."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pixelab.data.folder import IMAGE_EXTENSIONS
from pixelab.studio.api import get_studio

router = APIRouter(tags=["project"])


@router.get("/api/project")
def project(studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """The project folder (scanned afresh), its classes with counts, runs and current job."""
    p = studio.project
    job = studio.jobs.current()
    limits = p.limits
    return {
        "name": p.name,
        "path": str(p.root),
        "images": str(p.images),
        "classes": p.classes(),
        "runs": p.runs_list(),
        "job": None if job is None else job.snapshot(),
        "limits": {
            "max_file_bytes": limits.max_file_bytes,
            "max_pixels": limits.max_pixels,
            "max_files": limits.max_files,
        },
        # what a dropped folder's files may end in (the rest is left out before uploading)
        "image_extensions": list(IMAGE_EXTENSIONS),
        "command_line": f"pixelab transfer train --data {p.images}",
    }
