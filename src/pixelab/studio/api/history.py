"""History: two runs side by side, a network exported to ONNX (and downloaded), an interrupted
training resumed.

Compare is :func:`pixelab.apps.cnn.compare_runs` (``pixelab compare``) on two finished runs of
the same classes: accuracy, per-class scores, confusion matrices and the settings that differ.
Export is :func:`pixelab.apps.cnn.export_run` (``pixelab export RUN --format onnx``): the run
folder gets ``model.onnx``, checked against PyTorch, with the class names and preprocessing in
its metadata, and the page a link to download it. Resume is a job like a training
(:meth:`pixelab.studio.jobs.JobManager.resume`: ``--resume`` from the run's last checkpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from pixelab._core.errors import PixelabError
from pixelab.studio.api import get_studio
from pixelab.studio.jobs import CHALLENGES
from pixelab.studio.project import StudioError, run_summary

router = APIRouter(tags=["history"])

#: The file ``pixelab export --format onnx`` writes into a run folder.
ONNX = "model.onnx"


def finished_run(studio: Any, run: str, *, to: str) -> dict[str, Any]:
    """The summary of ``run``, a finished run: 404 when there is none, 409 while it trains or
    when it stopped unfinished, 400 for a folder that is not a run (``to``: what the caller
    wants to do, for the messages)."""
    summary = run_summary(studio.project.run_path(run))
    job = studio.jobs.current()
    if job is not None and job.kind != CHALLENGES and job.run == run:
        raise StudioError(f"run {run} is still training", status=409,
                          hint=f"wait for it to finish to {to} it")  # fmt: skip
    if summary["state"] != "finished":
        status = 409 if summary["state"] == "unfinished" else 400
        hint = "resume it first" if summary.get("resumable") else "pick a finished run"
        raise StudioError(f"run {run} is {summary['state']}: nothing to {to}", status=status,
                          hint=hint)  # fmt: skip
    return summary


@router.get("/api/compare")
def compare(
    a: str = Query(..., description="a finished run"),
    b: str = Query(..., description="another finished run of the same classes"),
    studio: Any = Depends(get_studio),
) -> dict[str, Any]:
    """Two runs side by side, as ``pixelab compare`` sees them: per run its method, accuracy,
    parameters, training seconds, images per second, per-class scores and confusion matrix;
    and the settings that differ. 400 for one run twice or runs of different classes, 409
    for a run still training or unfinished."""
    from pixelab.apps.cnn import compare_runs

    if a == b:
        raise StudioError(f"pick two different runs to compare (both are {a})")
    summaries = [finished_run(studio, run, to="compare") for run in (a, b)]
    classes = [s.get("classes") for s in summaries]
    if classes[0] != classes[1]:
        shown = [", ".join(c or ["?"]) for c in classes]
        raise StudioError(
            f"runs {a} and {b} were trained on different classes ({shown[0]} against "
            f"{shown[1]}): their scores do not line up",
            hint="compare runs trained on the same classes",
        )  # fmt: skip
    result = compare_runs([str(studio.project.runs / run) for run in (a, b)])
    if result["skipped"]:
        left = result["skipped"][0]
        raise StudioError(f"run {Path(left['path']).name} cannot be compared: {left['reason']}")
    rows = [{k: v for k, v in row.items() if k != "path"} for row in result["runs"]]
    for row, summary in zip(rows, summaries, strict=True):
        row["method"] = summary.get("method")
    return {"runs": rows, "classes": classes[0], "settings": result["settings"]}


def _export(studio: Any, run: str, path: Path) -> dict[str, Any]:
    from pixelab.apps.cnn import export_run

    with studio.export_lock:  # one export at a time: two would write the same file
        try:
            result = export_run(path, fmt="onnx")
        except PixelabError as err:
            message = err.message.replace(f"{studio.project.root}/", "")
            raise StudioError(message, hint=err.hint) from err
    return {"run": run, "bytes": result["bytes"],
            "max_abs_difference": result.get("max_abs_difference"),
            "download": f"/api/runs/{run}/{ONNX}"}  # fmt: skip


@router.post("/api/runs/{run}/export")
async def export(run: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Export the run's network to ONNX (``pixelab export RUN --format onnx``): ``model.onnx``
    in the run folder, checked against PyTorch (``max_abs_difference``), carrying the class
    names and preprocessing; ``download`` is its address. 400 for a run that is not a network
    (a classic pipeline), 409 for one still training or unfinished."""
    summary = finished_run(studio, run, to="export")
    if not summary.get("network"):
        what = ("the classic HOG pipeline, which is not a network"
                if summary.get("kind") == "classic" else "not a trained model")  # fmt: skip
        raise StudioError(f"run {run} is {what}: ONNX export is for neural networks",
                          hint="export a transfer-learning or CNN run")  # fmt: skip
    return await run_in_threadpool(_export, studio, run, studio.project.runs / run)


@router.get("/api/runs/{run}/model.onnx")
def onnx_file(run: str, studio: Any = Depends(get_studio)) -> FileResponse:
    """The run's exported ``model.onnx`` as a download (``<run>.onnx``); 404 before export."""
    path = studio.project.run_path(run) / ONNX
    if not path.is_file():
        raise StudioError(f"run {run} has not been exported yet", status=404,
                          hint="export it to ONNX first")  # fmt: skip
    return FileResponse(path, media_type="application/octet-stream", filename=f"{run}.onnx",
                        headers={"Cache-Control": "no-store"})  # fmt: skip


@router.post("/api/runs/{run}/resume", status_code=202)
def resume(run: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Go on with an interrupted CNN or finetuning run (cancelled, or cut off by a studio
    that stopped) from its last checkpoint, as a job like a training; 409 for a run with
    nothing to resume or while another job runs."""
    return studio.jobs.resume(run).snapshot()
