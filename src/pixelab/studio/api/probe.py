"""Probe it: turn, move, zoom, darken or cover a test image with sliders and watch the prediction
move; run the challenge suite on a run as a background job and read its results.

The sliders' changes are :func:`pixelab.robust.change`, the factors of ``pixelab robust sweep``
at chosen amounts and places, applied to the image as the model takes it (after the run's
preprocessing), so the studio and the sweep change images alike. The suite is
:func:`pixelab.apps.robust.robust_challenges` through the one-job-at-a-time machinery of
:mod:`pixelab.studio.jobs` (progress by Server-Sent Events at ``/api/jobs/{id}/events``, cancel).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from pixelab.studio.api import get_studio
from pixelab.studio.api.images import unreadable_as_415
from pixelab.studio.api.look import data_url
from pixelab.studio.api.runs import predict_file
from pixelab.studio.jobs import CHALLENGES
from pixelab.studio.project import StudioError, challenge_summary

router = APIRouter(tags=["probe"])


class ProbeRequest(BaseModel):
    """The sliders, in the units of ``pixelab robust sweep``; the defaults change nothing."""

    model_config = ConfigDict(extra="forbid")

    #: degrees, either way
    rotate: float = Field(0.0, ge=-180, le=180)
    #: pixels of the image the model takes, right (+) or left (-); at most half its side
    shift_x: float = Field(0.0, ge=-512, le=512)
    #: pixels, down (+) or up (-)
    shift_y: float = Field(0.0, ge=-512, le=512)
    #: times the size
    scale: float = Field(1.0, ge=0.1, le=1.9)
    #: times the light (below 1: darker)
    brightness: float = Field(1.0, ge=0, le=2)
    #: the share of the image a grey square covers
    occlude: float = Field(0.0, ge=0, le=0.9)
    #: where the square's centre is, as shares of the width and height
    occlude_x: float = Field(0.5, ge=0, le=1)
    occlude_y: float = Field(0.5, ge=0, le=1)


def changer(body: ProbeRequest) -> Any:
    """The function that changes a prepared uint8 image (H, W, C) as the sliders say."""
    from pixelab.augment import to_uint8
    from pixelab.robust import change

    def apply(image: Any) -> Any:
        x = change(image[None], rotate=body.rotate, shift=(body.shift_x, body.shift_y),
                   scale=body.scale, brightness=body.brightness, occlude=body.occlude,
                   occlude_at=(body.occlude_x, body.occlude_y))  # fmt: skip
        return to_uint8(x)[0]

    return apply


def _probe(studio: Any, run: str, name: str, file: str, body: ProbeRequest) -> dict[str, Any]:
    path = studio.project.run_path(run)
    image = studio.project.image_path(name, file)
    with unreadable_as_415(image, file):
        result = predict_file(studio, path, image, change=changer(body))
    return {**result, "input": data_url(result["input"]), "changes": body.model_dump()}


@router.post("/api/runs/{run}/probe/{name}/{file}")
async def probe(
    run: str, name: str, file: str, body: ProbeRequest, studio: Any = Depends(get_studio)
) -> dict[str, Any]:
    """Every class's probability for the project image ``name/file`` changed as the sliders
    say, and the changed image as the model saw it (``input``, a PNG data URL). All sliders at
    their defaults give the plain prediction; an amount the image cannot take (a shift beyond
    half its side) is refused with the largest it can."""
    return await run_in_threadpool(_probe, studio, run, name, file, body)


class ChallengeRequest(BaseModel):
    """Which challenges to run (default: all eight) on at most ``limit`` test images."""

    model_config = ConfigDict(extra="forbid")

    families: list[str] | None = Field(None, min_length=1, max_length=8)
    limit: int = Field(1000, ge=1, le=100_000)


@router.post("/api/runs/{run}/challenges", status_code=202)
def start_challenges(
    run: str, body: ChallengeRequest | None = None, studio: Any = Depends(get_studio)
) -> dict[str, Any]:
    """Start the challenge suite (``pixelab robust challenges``: turned, bent, covered, dim,
    zoomed, cluttered, noisy, blurred images, five severities each) on the run's test images;
    a background job like a training (its events at ``/api/jobs/{id}/events``), 409 while
    another job runs."""
    options = (body or ChallengeRequest()).model_dump(exclude_none=True)
    return studio.jobs.start_challenges(run, options).snapshot()


@router.get("/api/runs/{run}/challenges")
def challenges(run: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """The run's last challenge-suite result: accuracy per challenge and severity, the clean
    accuracy, on how many images and whether they were held out; 404 before the first."""
    return challenge_summary(studio.project.run_path(run) / CHALLENGES)


@router.get("/api/runs/{run}/challenges/figure")
def challenges_figure(run: str, studio: Any = Depends(get_studio)) -> FileResponse:
    """The heat map of the last challenge-suite result (PNG), as ``pixelab`` draws it."""
    path = studio.project.run_path(run) / CHALLENGES / "figures" / "challenges.png"
    if not path.is_file():
        raise StudioError(f"no challenge results for run {run} yet", status=404,
                          hint="run the challenge suite first")  # fmt: skip
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-store"})
