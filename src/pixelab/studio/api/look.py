"""Look under the hood: a run's test images per confusion cell, and why the model decides what
it does for one image (saliency map and feature maps).

The test images come from the run's ``predictions.csv`` (written by the training, as for
``pixelab`` users), never from running the model again; a listed file is shown only when it
is an image of the project (``<class>/<file>`` under ``images/``, names checked like every
other): a hand-edited list cannot make the studio serve anything else. Explanations call
:func:`pixelab.apps.explain.explain_image` on the run's loaded model and send its arrays back as
PNGs (data URLs) in the colours of ``pixelab explain``'s figures.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from pixelab._core.errors import PixelabError
from pixelab.studio.api import get_studio, multipart_body
from pixelab.studio.api.images import png, read_uploads, unreadable_as_415
from pixelab.studio.api.runs import run_model
from pixelab.studio.project import StudioError, check_name

router = APIRouter(tags=["look"])

#: The saliency methods the page offers (pixelab.explain.saliency.METHODS), Grad-CAM first.
Method = Literal["gradcam", "gradients", "integrated-gradients", "occlusion"]
#: The class whose reasons are shown.
Target = Annotated[str | None, Query(description="explain this class (default: the predicted)")]
#: Feature maps shown per layer.
PER_LAYER = 6


def data_url(image: np.ndarray) -> str:
    """A uint8 image as a ``data:image/png`` URL (what an ``<img>`` shows without a request)."""
    return "data:image/png;base64," + base64.b64encode(png(image)).decode("ascii")


def project_image(studio: Any, file: str) -> tuple[str, str] | None:
    """``(class, file name)`` of a ``predictions.csv`` entry that names an image of the
    project's ``images/`` folder, else None (another folder's file, a path that leaves it)."""
    parts = file.split("/")
    if len(parts) != 2:
        return None
    try:
        name, leaf = check_name(parts[0], what="class name"), check_name(parts[1], what="file")
    except StudioError:
        return None
    return (name, leaf) if (studio.project.images / name / leaf).is_file() else None


@router.get("/api/runs/{run}/predictions")
def predictions(
    run: str,
    true: str | None = Query(None, description="only the images of this true class"),
    predicted: str | None = Query(None, description="only those predicted as this class"),
    studio: Any = Depends(get_studio),
) -> dict[str, Any]:
    """The run's test images with the class the model gave each and its probability (one
    confusion-matrix cell with ``true`` and ``predicted``), least confident first. An image
    still in the project has ``class`` and ``name`` (its thumbnail's address); 404 for a run
    that recorded none (trained before pixelab wrote ``predictions.csv``), 400 for a damaged
    list."""
    from pixelab.apps.cnn import PREDICTIONS, read_predictions

    path = studio.project.run_path(run)
    try:
        rows = read_predictions(path)
    except PixelabError as err:  # none (404), or damaged (400): said without the full path
        message = err.message.replace(f"{studio.project.root}/", "")
        status = 400 if (path / PREDICTIONS).is_file() else 404
        raise StudioError(message, status=status, hint=err.hint) from err
    picked = [r for r in rows if true in (None, r["true"]) and predicted in (None, r["predicted"])]
    images = []
    for r in sorted(picked, key=lambda r: r["probability"]):
        found = project_image(studio, r["file"])
        where = {"class": found[0], "name": found[1]} if found else {"class": None, "name": None}
        images.append({**r, **where, "in_project": found is not None})
    return {"run": run, "true": true, "predicted": predicted, "count": len(images),
            "total": len(rows), "images": images}  # fmt: skip


def _explain(studio: Any, path: Path, image: Path, method: str, target: str | None) -> dict:
    """The explanation of one image file, its arrays made into PNGs."""
    from pixelab.apps.cnn import top_predictions
    from pixelab.apps.explain import explain_image
    from pixelab.data.folder import read_image
    from pixelab.report.explain import feature_map_image, saliency_overlay

    start = time.perf_counter()
    with studio.model_lock:
        model, meta, pre, _, _ = run_model(studio, path, network=True)
        pixels = read_image(image, mode=pre.mode, max_pixels=studio.project.limits.max_pixels)
        r = explain_image(model, meta, pixels, method=method, target=target, per_layer=PER_LAYER)
    classes, smap = r["classes"], r["saliency"]
    (top,) = top_predictions(["image"], r["probabilities"][None], classes, len(classes))
    top_value = float(smap.max()) or 1.0
    grey = (np.clip(smap / top_value, 0, 1) * 255).round().astype(np.uint8)
    layers = [{"name": name, "shape": found["shape"],
               "maps": [{"channel": c, "image": data_url(feature_map_image(m))}
                        for c, m in zip(found["channels"], found["maps"], strict=True)]}
              for name, found in r["layers"].items()]  # fmt: skip
    return {
        "run": path.name, "method": method, "layer": r["layer"],
        "predicted": classes[r["predicted"]], "target": classes[r["target"]],
        "predictions": top["top"], "size": list(smap.shape),
        "input": data_url(r["image"]), "overlay": data_url(saliency_overlay(r["image"], smap)),
        "saliency": data_url(grey), "layers": layers, "warnings": r["warnings"],
        "seconds": round(time.perf_counter() - start, 3),
    }  # fmt: skip


@router.get("/api/runs/{run}/explain/{name}/{file}")
async def explain(
    run: str,
    name: str,
    file: str,
    method: Method = "gradcam",
    target: Target = None,
    studio: Any = Depends(get_studio),
) -> dict[str, Any]:
    """Why the run's model predicts what it does for the project image ``name/file``: the
    image as the model sees it, every class's probability, the saliency map of ``target``
    (a grey PNG of the image's size, white: what the prediction rests on, and laid over the
    image) and the most active feature maps of three layers. A model without feature maps
    (an MLP) is refused for Grad-CAM with the methods left."""
    path = studio.project.run_path(run)
    image = studio.project.image_path(name, file)
    with unreadable_as_415(image, file):
        return await run_in_threadpool(_explain, studio, path, image, method, target)


@router.post("/api/runs/{run}/explain", openapi_extra=multipart_body("file", many=False))
async def explain_upload(
    run: str,
    request: Request,
    method: Method = "gradcam",
    target: Target = None,
    studio: Any = Depends(get_studio),
) -> dict[str, Any]:
    """The same for an image sent as multipart field ``file`` (Try's dropped image), checked
    like an upload and not kept."""
    path = studio.project.run_path(run)
    checked = await read_uploads(request, studio, "file")
    try:
        if len(checked) != 1:
            raise StudioError(f"send one image to explain, not {len(checked)}")
        return await run_in_threadpool(_explain, studio, path, checked[0][1], method, target)
    finally:
        studio.project.discard([tmp for _, tmp in checked])
