"""``robust sweep``: how a trained run's accuracy falls as its test images are moved, turned,
zoomed, darkened, covered, made noisy or blurred. Finished factors are kept in the run folder
as they complete, so an interrupted sweep, run again with the same command, only does the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json, write_json
from pixelab._core.progress import ProgressFn
from pixelab.report import RunDir

#: The factors swept when none are named: the lecture's claims about invariance.
DEFAULT_FACTORS = ("translate", "rotate", "scale", "brightness", "occlude")
#: Finished factors of an unfinished sweep (removed once metrics.json is written).
PARTIAL = "partial.json"


def sweep_model(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    factors: tuple[str, ...] = DEFAULT_FACTORS,
    *,
    seed: int = 0,
    device: str = "cpu",
    done: dict[str, Any] | None = None,
    on_factor: Any = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Sweep ``model`` over ``factors`` on uint8 ``images``: {"clean_accuracy", "chance",
    "factors": {name: {"unit", "rows"}}, "summary"}; ``done`` holds factors already swept,
    ``on_factor(name, result)`` is called after each new one."""
    import torch

    from pixelab.robust import FACTORS, sweep
    from pixelab.train.loop import resolve_device

    unknown = [f for f in factors if f not in FACTORS]
    if unknown:
        raise PixelabError(f"unknown sweep factor {unknown[0]!r}",
                           hint=f"choose from: {', '.join(FACTORS)}")  # fmt: skip
    dev = resolve_device(device)
    model.to(dev).eval()

    def predict(x: Any) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(model(x.to(dev)).float(), 1).cpu().numpy()

    results = dict(done or {})
    for name in factors:
        if name in results:
            continue
        rows = sweep(predict, images, labels, name, seed=seed, progress=progress)
        results[name] = {"unit": FACTORS[name].unit, "rows": rows}
        if on_factor is not None:
            on_factor(name, results[name])
    correct = sum(int((predict(_floats(images[i : i + 500])).argmax(1) == labels[i : i + 500]).sum())
                  for i in range(0, len(images), 500))  # fmt: skip
    out = {
        "clean_accuracy": round(correct / len(images), 4),
        "chance": round(1 / int(labels.max() + 1), 4),
        "factors": {name: results[name] for name in factors},
    }
    out["summary"] = summarise(out)
    return out


def _floats(images: np.ndarray) -> Any:
    from pixelab.augment import to_float

    return to_float(images)


def _at(result: dict[str, Any], factor: str, amount: float) -> float | None:
    rows = result["factors"].get(factor, {}).get("rows", [])
    return next((r["accuracy"] for r in rows if abs(r["amount"] - amount) < 1e-9), None)


def summarise(result: dict[str, Any]) -> str:
    """The lecture's claim as one measured sentence: accuracy at a 4-pixel shift against a 45 or
    90 degree turn and a 0.5x or 1.5x zoom (the parts the sweep measured)."""
    parts = []
    for factor, amount, words in (("translate", 4, "moved 4 pixels"),
                                  ("rotate", 45, "turned 45 degrees"),
                                  ("rotate", 90, "turned 90 degrees"),
                                  ("scale", 0.5, "shrunk to half"),
                                  ("scale", 1.5, "enlarged 1.5 times")):  # fmt: skip
        acc = _at(result, factor, amount)
        if acc is not None:
            parts.append(f"{acc:.0%} {words}")
    head = f"Accuracy {result['clean_accuracy']:.0%} on the unchanged images"
    return head + (": " + ", ".join(parts) + "." if parts else ".")


def robust_sweep(
    run: str | os.PathLike[str],
    data: str,
    out: str | os.PathLike[str],
    *,
    factors: tuple[str, ...] = DEFAULT_FACTORS,
    limit: int | None = 3000,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Sweep a model run over ``factors`` on ``data`` (at most ``limit`` images, the same share
    of every class) and write a run folder with the figure and metrics.json.

    Each factor is saved as it finishes; Ctrl-C returns ``{"interrupted": True, ...}`` and the
    same call again sweeps only the factors still missing.
    """
    from pixelab._core.checks import check_positive_int
    from pixelab.apps.cnn import load_run_data, load_run_model
    from pixelab.data import limit_per_class
    from pixelab.report.robust import plot_sweep
    from pixelab.robust import FACTORS

    factors = tuple(dict.fromkeys(factors))
    if not factors:
        raise PixelabError("--factors is empty", hint=f"e.g. --factors {','.join(DEFAULT_FACTORS)}")
    unknown = [f for f in factors if f not in FACTORS]
    if unknown:
        raise PixelabError(f"unknown sweep factor {unknown[0]!r}",
                           hint=f"choose from: {', '.join(FACTORS)}")  # fmt: skip
    if limit is not None:
        check_positive_int(limit, name="--limit")
    model, meta = load_run_model(run, device="cpu")
    ds = load_run_data(meta, data, seed=seed, progress=progress)
    if limit is not None and len(ds) > limit:
        ds = limit_per_class(ds, limit, seed=seed)
    side = min(ds.shape[:2])
    from pixelab.robust.sweep import _checked_value

    for f in factors:  # an amount the images cannot take: refused before any work
        for a in FACTORS[f].amounts:
            _checked_value(FACTORS[f], float(a), side)
    config = {"run": str(Path(run).resolve()), "data": str(data), "factors": list(factors),
              "limit": limit, "seed": seed}  # fmt: skip
    path = Path(out)
    done: dict[str, Any] = {}
    if (path / PARTIAL).is_file() and (path / "config.json").is_file():
        old = read_json(path / "config.json")
        if {k: old.get(k) for k in config} == config:  # the same sweep: keep what it finished
            done = {k: v for k, v in read_json(path / PARTIAL).items() if k in factors}
    with RunDir.create(out, kind="robust-sweep", replace_same_kind=True) as rd:
        rd.write_config(config, kind="robust-sweep")
        if done:
            write_json(rd.path / PARTIAL, done)
        rd.keep_on_error = True  # finished factors survive Ctrl-C

        def keep(name: str, result: dict[str, Any]) -> None:
            done[name] = result
            write_json(rd.path / PARTIAL, done)

        kept = sorted(done)
        try:
            result = sweep_model(model, ds.images, ds.labels, factors, seed=seed, device=device,
                                 done=done, on_factor=keep, progress=progress)  # fmt: skip
        except KeyboardInterrupt:
            return {"interrupted": True, "factors_done": sorted(done),
                    "resume": "run the same command again: finished factors are kept"}  # fmt: skip
        rd.keep_on_error = False
        fig = plot_sweep(result, title=f"{meta.get('name', Path(run).name)} on {data}: "
                                       f"{len(ds)} images")  # fmt: skip
        result.update({"n_images": len(ds), "run": str(run), "data": str(data),
                       "reused_factors": kept,
                       "figures": [str(rd.save_figure(fig, "sweep").relative_to(rd.path))]})  # fmt: skip
        rd.write_metrics(result)
        (rd.path / PARTIAL).unlink(missing_ok=True)
    return result
