"""Runs and Try: the project's run folders with their scores, and predictions for an image.

Predictions go through the same functions as ``pixelab predict``
(:func:`pixelab.apps.cnn.load_run_model`, or for a classic run
:func:`pixelab.apps.classic.load_classic_run` and ``predict_classic``; the run's own
preprocessing, ``top_predictions``);
the loaded model is kept while its files are unchanged, so trying many images (and the live
webcam's frames) stays quick. Two things are for speed: the model's weights are kept
channels-last, and a run that trained in bfloat16 (``"precision": "bf16"`` in its
metrics.json: transfer learning on a CPU with native bf16, whose probe head learned from bf16
embeddings) predicts under bf16 autocast too, about twice as fast as float32 on such a CPU
(``benchmarks/bench_studio.py``); ``pixelab predict`` stays float32: the probabilities differ
in the second decimal at most, the ranking not at all on the tests' images. And one image is
run on :data:`PREDICT_THREADS` CPU thread: at batch 1 the network's layers are too small to
share, and on a busy machine two threads waited on each other at every layer (measured on 2
cores beside another training, 224 px: one thread 17 ms, two 45 ms with a tail of 600 ms).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from pixelab.studio.api import get_studio, multipart_body
from pixelab.studio.api.images import read_uploads
from pixelab.studio.project import StudioError, run_summary

router = APIRouter(tags=["runs"])

#: CPU threads one prediction runs on (None: torch's setting, e.g. all cores). Set for the
#: calling thread only and put back after, so a training running beside keeps its threads.
PREDICT_THREADS: int | None = 1


@router.get("/api/runs")
def runs(studio: Any = Depends(get_studio)) -> list[dict[str, Any]]:
    """Every run folder of the project, newest first, with its state and scores."""
    return studio.project.runs_list()


@router.get("/api/runs/{run}")
def run(run: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """One run's summary: state, accuracy, per-class precision/recall/F1, confusion matrix."""
    return run_summary(studio.project.run_path(run))


class Loaded(NamedTuple):
    """A run's model as the routes use it: a network (channels-last) or, for a classic run, its
    fitted pipeline; its metadata, preprocessing, and whether it predicts in bf16."""

    model: Any
    meta: dict[str, Any]
    pre: Any
    bf16: bool
    classic: bool


def run_model(studio: Any, path: Path, *, network: bool = False) -> Loaded:
    """The run's model, loaded once per version of its files. ``network=True`` (saliency,
    feature maps) refuses a classic run's pipeline with what it cannot do."""
    import torch

    from pixelab._core.io import read_json
    from pixelab.apps.cnn import load_run_model, run_preprocess
    from pixelab.report.rundir import run_kind
    from pixelab.train.classic import PIPELINE_JSON

    classic = run_kind(path) == "classic"
    if classic and network:
        raise StudioError(
            f"run {path.name} is the classic HOG pipeline: it has no feature maps or saliency "
            "(a logistic regression on hand-made HOG features, not a network)",
            hint="pick a transfer-learning or CNN run to look inside",
        )  # fmt: skip
    files = (PIPELINE_JSON if classic else "model.json", "metrics.json")
    try:
        stamp = tuple((path / f).stat().st_mtime_ns for f in files)
    except OSError:
        stamp = None
    cached = studio.models.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    if classic:
        from pixelab.apps.classic import load_classic_run

        pipe, meta = load_classic_run(path)
        loaded = Loaded(pipe, meta, run_preprocess(meta), False, True)
    else:
        model, meta = load_run_model(path)
        try:
            precision = read_json(path / "metrics.json").get("precision")
        except (OSError, ValueError, AttributeError):
            precision = None
        # transfer runs say "bf16" or "fp32"; CNN runs say what choose_precision chose (a dict)
        bf16 = precision == "bf16" or (
            isinstance(precision, dict) and precision.get("bf16") is True
        )
        model = model.to(memory_format=torch.channels_last).eval()
        loaded = Loaded(model, meta, run_preprocess(meta), bf16, False)
    studio.models.clear()  # one model at a time: they can be large
    studio.models[str(path)] = (stamp, loaded)
    return loaded


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Torch's CPU threads at ``n`` for the block (nothing when None), then as they were."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def predict_file(
    studio: Any, path: Path, image: Path, change: Callable[[np.ndarray], np.ndarray] | None = None
) -> dict[str, Any]:
    """Every class's probability for the image file ``image`` (prepared as in training, then
    through ``change`` when given: the probe's sliders; the image the model saw is then
    returned too, as ``input``), with where the time went."""
    from pixelab.apps.classic import predict_classic
    from pixelab.apps.cnn import probabilities, top_predictions
    from pixelab.data.folder import read_image
    from pixelab.train.loop import predict_logits

    clock = [time.perf_counter()]
    with studio.model_lock:
        model, meta, pre, bf16, classic = run_model(studio, path)
        clock.append(time.perf_counter())
        pixels = read_image(image, mode=pre.mode, max_pixels=studio.project.limits.max_pixels)
        clock.append(time.perf_counter())
        x = pre.apply(pixels) if change is None else change(pre.apply(pixels))
        clock.append(time.perf_counter())
        with _threads(PREDICT_THREADS):
            if classic:
                probs = predict_classic(model, meta, [x])[0]
            else:
                probs = probabilities(predict_logits(model, x[None], device="auto", bf16=bf16))
        clock.append(time.perf_counter())
    classes = list(meta["classes"])
    (top,) = top_predictions(["upload"], probs, classes, len(classes))
    steps = ("load", "decode", "preprocess", "model")
    spans = zip(steps, clock[:-1], clock[1:], strict=True)
    timing = {k: round(1000 * (b - a), 2) for k, a, b in spans}
    result = {"run": path.name, "predictions": top["top"], "precision": "bf16" if bf16 else "fp32",
              "timing_ms": timing}  # fmt: skip
    return result if change is None else {**result, "input": x}


@router.post("/api/runs/{run}/predict", openapi_extra=multipart_body("file", many=False))
async def predict(
    run: str, request: Request, response: Response, studio: Any = Depends(get_studio)
) -> dict[str, Any]:
    """Every class's probability for one image (multipart field ``file``), most likely first;
    the image is checked like an upload and not kept. The page's live webcam view sends its
    frames here one at a time. ``timing_ms`` (also the ``Server-Timing`` header) says where
    the time went: reading the upload (its check included), loading the model (once per run),
    decoding, preprocessing, the network."""
    start = time.perf_counter()
    path = studio.project.run_path(run)
    checked = await read_uploads(request, studio, "file")
    try:
        if len(checked) != 1:
            raise StudioError(f"send one image to predict, not {len(checked)}")
        received = time.perf_counter()
        result = await run_in_threadpool(predict_file, studio, path, checked[0][1])
    finally:
        studio.project.discard([tmp for _, tmp in checked])
    timing = {"upload": round(1000 * (received - start), 2), **result["timing_ms"]}
    timing["total"] = round(1000 * (time.perf_counter() - start), 2)
    result["timing_ms"] = timing
    response.headers["Server-Timing"] = ", ".join(f"{k};dur={v}" for k, v in timing.items())
    return result
