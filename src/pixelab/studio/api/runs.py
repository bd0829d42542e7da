"""Runs and Try: the project's run folders with their scores, and predictions for an image.

Predictions go through the same functions as ``pixelab predict``
(:func:`pixelab.apps.cnn.load_run_model`, the run's own preprocessing, ``top_predictions``);
the loaded model is kept while its files are unchanged, so trying many images stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from pixelab.studio.api import get_studio
from pixelab.studio.api.images import read_uploads
from pixelab.studio.project import StudioError, run_summary

router = APIRouter(tags=["runs"])

#: The multipart body of a prediction, for the OpenAPI description.
PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


@router.get("/api/runs")
def runs(studio: Any = Depends(get_studio)) -> list[dict[str, Any]]:
    """Every run folder of the project, newest first, with its state and scores."""
    return studio.project.runs_list()


@router.get("/api/runs/{run}")
def run(run: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """One run's summary: state, accuracy, per-class precision/recall/F1, confusion matrix."""
    return run_summary(studio.project.run_path(run))


def _model(studio: Any, path: Path) -> tuple[Any, dict[str, Any], Any]:
    """The run's model, metadata and preprocessing, loaded once per version of its weights."""
    from pixelab.apps.cnn import load_run_model, run_preprocess

    try:
        stamp = tuple((path / f).stat().st_mtime_ns for f in ("model.json", "metrics.json"))
    except OSError:
        stamp = None
    cached = studio.models.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    model, meta = load_run_model(path)
    loaded = (model, meta, run_preprocess(meta))
    studio.models.clear()  # one model at a time: they can be large
    studio.models[str(path)] = (stamp, loaded)
    return loaded


def _predict(studio: Any, path: Path, image: Path) -> dict[str, Any]:
    import numpy as np

    from pixelab.apps.cnn import top_predictions
    from pixelab.data.folder import read_image
    from pixelab.train.loop import predict_logits

    with studio.model_lock:
        model, meta, pre = _model(studio, path)
        x = pre.apply(read_image(image, mode=pre.mode, max_pixels=studio.project.limits.max_pixels))
        logits = predict_logits(model, x[None], device="auto")
    z = np.exp(logits - logits.max(1, keepdims=True))
    probs = z / z.sum(1, keepdims=True)
    classes = list(meta["classes"])
    (top,) = top_predictions(["upload"], probs, classes, len(classes))
    return {"run": path.name, "predictions": top["top"]}


@router.post("/api/runs/{run}/predict", openapi_extra=PREDICT_BODY)
async def predict(run: str, request: Request, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Every class's probability for one image (multipart field ``file``), most likely first;
    the image is checked like an upload and not kept."""
    path = studio.project.run_path(run)
    checked = await read_uploads(request, studio, "file")
    try:
        if len(checked) != 1:
            raise StudioError(f"send one image to predict, not {len(checked)}")
        return await run_in_threadpool(_predict, studio, path, checked[0][1])
    finally:
        studio.project.discard([tmp for _, tmp in checked])
