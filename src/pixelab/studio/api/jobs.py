"""Train: start the one training of the project, follow it (Server-Sent Events, with the
epochs' history for the live curves), cancel it."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from pixelab.studio.api import get_studio

router = APIRouter(tags=["jobs"])

#: How often the event stream looks at the job (seconds).
POLL_SECONDS = 0.2


class TrainRequest(BaseModel):
    """What the Train button sends; what is left out gets the defaults of the kind
    (``pixelab transfer train``'s, ``cnn train``'s, ``classic train``'s; 64 px but for
    transfer learning's 224)."""

    model_config = ConfigDict(extra="forbid")

    #: transfer learning, a CNN from scratch, or the classic HOG pipeline (HOG and pixel
    #: features, a logistic regression)
    kind: Literal["transfer", "cnn", "classic"] = "transfer"
    #: transfer only: a new head on the frozen backbone (probe, the default), or its last
    #: layers trained too (finetune)
    mode: Literal["probe", "finetune"] | None = None
    #: the side images are resized to (default 224 for transfer, 64 for the others)
    size: int | None = Field(None, ge=16, le=512)
    #: the share of the images kept apart to measure accuracy (default 0.2)
    test_size: float | None = Field(None, ge=0, lt=1)
    #: finetuning and CNN: passes over the training images (default 10)
    epochs: int | None = Field(None, ge=1, le=1000)
    seed: int | None = Field(None, ge=0)
    limit: int | None = Field(None, ge=1)
    #: the learning rate (finetuning and CNN; each has its own default)
    lr: float | None = Field(None, gt=0, lt=1)
    #: images per step (default 32 for transfer learning, 64 for a CNN)
    batch_size: int | None = Field(None, ge=1, le=1024)
    #: CNN only: auto, none, shift, shift+flip, basic, strong, or ops such as "rotate:15,erase"
    augment: str | None = Field(None, min_length=1, max_length=200)
    #: CNN only: the share of the training images kept apart to watch each epoch
    val_fraction: float | None = Field(None, ge=0, lt=1)


@router.post("/api/jobs", status_code=202)
def start(body: TrainRequest, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Start a training on the project's images; 409 while another one runs."""
    options = body.model_dump(exclude={"kind"}, exclude_none=True)
    return studio.jobs.start(body.kind, options).snapshot()


@router.get("/api/jobs")
def jobs(studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """The running job (or null) and every job recorded in the project's index."""
    job = studio.jobs.current()
    return {"current": None if job is None else job.snapshot(), "jobs": studio.project.jobs()}


@router.get("/api/jobs/{job_id}")
def job(job_id: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """One job: status (running, done, failed, cancelled, interrupted), task and progress,
    and once done the run's summary (accuracy, per-class scores)."""
    return studio.jobs.get(job_id)


@router.post("/api/jobs/{job_id}/cancel")
def cancel(job_id: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Ask the job to stop at its next step; 409 when it is not running."""
    return studio.jobs.cancel(job_id)


@router.get("/api/jobs/{job_id}/events")
async def events(job_id: str, request: Request, studio: Any = Depends(get_studio)) -> Any:
    """Server-Sent Events: a ``progress`` event whenever the job moves, then one ``end``
    event with its final state, and the stream closes."""
    studio.jobs.get(job_id)  # 404 before the stream starts

    async def stream() -> Any:
        seen = None
        while True:
            state = studio.jobs.get(job_id)
            if state.get("status") not in ("running", "queued"):
                yield f"event: end\ndata: {json.dumps(state)}\n\n"
                return
            if state.get("version") != seen:
                seen = state.get("version")
                yield f"event: progress\ndata: {json.dumps(state)}\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})  # fmt: skip
