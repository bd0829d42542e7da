"""Neural-network runs: train, resume, evaluate, predict, export and compare run folders.

A CNN run folder holds ``config.json`` (the resolved CNNConfig), ``checkpoint.json`` +
``checkpoint-e*.safetensors`` while training, ``model.safetensors`` + ``model.json`` (the
registry name, its kwargs, the class names and how images were preprocessed),
``metrics.json`` and ``figures/``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json
from pixelab._core.progress import ProgressFn
from pixelab.report import RUN_FORMAT_VERSION, RunDir
from pixelab.report import figures as F
from pixelab.train.loop import CNNConfig


def _load_data(cfg: CNNConfig, progress: ProgressFn | None):
    from pixelab.data import load_train_test, split

    train, test = load_train_test(
        cfg.data, size=cfg.size, gray=cfg.gray, test_size=cfg.test_size, limit=cfg.limit,
        seed=cfg.seed, progress=progress,
    )  # fmt: skip
    val = None
    if cfg.val_fraction > 0:
        train, val = split(train, test_size=cfg.val_fraction, seed=cfg.seed)
    return train, val, test


def train_cnn(
    config: CNNConfig,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train ``config.model`` on ``config.data``; write the run folder; return the metrics.

    With ``resume=True`` the config is read back from ``out/config.json`` and training goes
    on from the last checkpoint. Returns ``{"interrupted": True, ...}`` after Ctrl-C.
    """
    from pixelab.models import create_model, save_model
    from pixelab.train.loop import fit, predict_logits, saved_options

    if not resume:
        config.check()  # before the run folder exists: a bad option leaves nothing behind
    run = RunDir(out)
    if resume:
        saved = _read_config(run.path, kind="cnn")
        config = CNNConfig.from_dict(saved_options(
            {k: v for k, v in saved.items() if k not in ("kind", "format_version", "train", "test")}
        ))  # fmt: skip
    config.check()
    train, val, test = _load_data(config, progress)
    model = create_model(config.model, num_classes=len(train.classes), in_channels=train.channels,
                         image_size=train.shape[0])  # fmt: skip
    if not resume:
        run.write_config(
            {**config.to_dict(), "train": train.summary(), "test": test.summary()}, kind="cnn"
        )
    result = fit(
        model,
        train,
        val=val,
        config=config,
        checkpoint_dir=run.path,
        resume=resume,
        progress=progress,
    )
    if not result.finished:
        done = len(result.history)
        return {
            "interrupted": True,
            "epochs_done": done,
            "resume": f"pixelab cnn train --out {run.path} --resume",
        }
    t0 = time.perf_counter()
    logits = predict_logits(model, test.images, device=config.device)
    predict_seconds = time.perf_counter() - t0
    pred = logits.argmax(1)
    from pixelab.evaluate import classification

    scores = classification(test.labels, pred, classes=train.classes)
    meta = {
        "classes": train.classes,
        "preprocess": {
            "size": train.shape[0],
            "channels": train.channels,
            "crop": "centre-square",
            "resize": "area",
        },
        "run_format_version": RUN_FORMAT_VERSION,
    }
    save_model(model, run.path, meta=meta)
    metrics = {
        "accuracy": scores["accuracy"],
        "train_seconds": round(result.train_seconds, 2),
        "predict_seconds": round(predict_seconds, 3),
        "n_train": len(train),
        "n_test": len(test),
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
        "skipped_files": len(train.skipped),
        "model": config.model,
        "epochs": len(result.history),
        "best_epoch": result.best_epoch + 1,
        "stopped_early": result.stopped_early,
        "augment": result.augment,
        "train_samples_per_second": round(result.samples_per_second, 1),
        "predict_images_per_second": round(len(test) / max(predict_seconds, 1e-9), 1),
        "history": result.history,
        **{k: v for k, v in scores.items() if k != "accuracy"},
    }
    metrics["figures"] = _train_figures(run, model, test, pred, metrics)
    run.write_metrics(metrics)
    return metrics


def _train_figures(
    run: RunDir, model: Any, test: Any, pred: np.ndarray, metrics: dict[str, Any]
) -> list[str]:
    paths = [run.save_figure(plot_curves(metrics["history"]).figure, "curves")]
    ax = F.plot_confusion(metrics["confusion"], test.classes)
    ax.set_title(
        f"{metrics['model']}: accuracy {metrics['accuracy']:.3f} on {metrics['n_test']} test images"
    )
    paths.append(run.save_figure(ax.figure, "confusion"))
    fig = F.mistakes_grid(test.images, test.labels, pred, test.classes)
    if fig is not None:
        paths.append(run.save_figure(fig, "mistakes"))
    return [str(p.relative_to(run.path)) for p in paths]


def plot_curves(history: list[dict[str, Any]], *, ax: Any = None):
    """Training curves: accuracy per epoch (train, and validation when there is one)."""
    ax = ax if ax is not None else F.new_figure(6, 3.6).add_subplot()
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_accuracy"] for h in history], marker="o", label="train accuracy")
    if "val_accuracy" in history[0]:
        ax.plot(
            epochs, [h["val_accuracy"] for h in history], marker="o", label="validation accuracy"
        )
    ax2 = ax.twinx()
    ax2.plot(epochs, [h["train_loss"] for h in history], color="grey", ls="--", label="train loss")
    ax2.set_ylabel("loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(loc="center right", fontsize=8)
    return ax


def _read_config(path: Path, *, kind: str) -> dict[str, Any]:
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise PixelabError(f"{path} is not a pixelab run folder (no config.json)")
    cfg = read_json(cfg_path)
    if cfg.get("format_version", 0) > RUN_FORMAT_VERSION:
        raise PixelabError(
            f"{path} was written by a newer pixelab (run format {cfg['format_version']})",
            hint="upgrade pixelab to use it",
        )
    if cfg.get("kind") != kind:
        raise PixelabError(f"{path} is a {cfg.get('kind')!r} run, not a {kind!r} run")
    return cfg


def load_run_model(run: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The trained model of a CNN run folder and its metadata (classes, preprocessing)."""
    from pixelab.models import load_model

    path = Path(run)
    _read_config(path, kind="cnn")
    if not (path / "model.json").is_file():
        raise PixelabError(
            f"{path} has no trained model yet",
            hint=f"finish training first: pixelab cnn train --out {path} --resume",
        )
    return load_model(path)


def preprocess_images(images: list[np.ndarray], meta: dict[str, Any]) -> np.ndarray:
    """Turn images of any size and mode into what the model was trained on."""
    from pixelab.data.folder import square_resize
    from pixelab.data.preprocess import to_gray, to_rgb

    pre = meta["preprocess"]
    out = []
    for img in images:
        img = to_gray(img) if pre["channels"] == 1 else to_rgb(img)
        out.append(square_resize(img, pre["size"]))
    return np.stack(out)


def predict_files(
    run: str | os.PathLike[str], files: list[str], *, top_k: int = 3
) -> list[dict[str, Any]]:
    """Top-k class predictions with probabilities for image files."""
    from pixelab.data import read_image
    from pixelab.data.folder import iter_image_files
    from pixelab.train.loop import predict_logits

    model, meta = load_run_model(run)
    paths = iter_image_files(files)
    if not paths:
        raise PixelabError("no images given", hint="pass image files or folders")
    images = preprocess_images([read_image(p) for p in paths], meta)
    logits = predict_logits(model, images)
    z = logits - logits.max(1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    k = min(top_k, probs.shape[1])
    results = []
    for p, row in zip(paths, probs, strict=True):
        top = np.argsort(-row)[:k]
        results.append(
            {
                "path": str(p),
                "top": [
                    {"class": meta["classes"][i], "probability": round(float(row[i]), 4)}
                    for i in top
                ],
            }
        )
    return results


def evaluate_run(
    run: str | os.PathLike[str],
    data: str,
    *,
    out: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Evaluate a trained run on another dataset or folder with the same classes."""
    from pixelab.data import limit_per_class, load
    from pixelab.evaluate import classification
    from pixelab.train.loop import predict_logits

    model, meta = load_run_model(run)
    pre = meta["preprocess"]
    subset = "test" if data == "fashion-mnist" else "all"
    ds = load(data, size=pre["size"], gray=pre["channels"] == 1, subset=subset, progress=progress)
    if ds.classes != meta["classes"]:
        raise PixelabError(
            f"the model knows the classes {meta['classes']} but {data} has {ds.classes}",
            hint="evaluate on data with the same class folders (same names)",
        )
    if limit:
        ds = limit_per_class(ds, limit)
    t0 = time.perf_counter()
    pred = predict_logits(model, ds.images).argmax(1)
    seconds = time.perf_counter() - t0
    scores = classification(ds.labels, pred, classes=ds.classes)
    metrics = {
        "accuracy": scores["accuracy"],
        "predict_seconds": round(seconds, 3),
        "n_test": len(ds),
        "skipped_files": len(ds.skipped),
        "run": str(run),
        "data": data,
        **{k: v for k, v in scores.items() if k != "accuracy"},
    }
    if out:
        rd = RunDir(out)
        rd.write_config({"run": str(run), "data": data, "limit": limit}, kind="evaluate")
        ax = F.plot_confusion(scores["confusion"], ds.classes)
        ax.set_title(f"accuracy {scores['accuracy']:.3f} on {len(ds)} images of {data}")
        metrics["figures"] = [str(rd.save_figure(ax.figure, "confusion").relative_to(rd.path))]
        rd.write_metrics(metrics)
    return metrics


def export_run(
    run: str | os.PathLike[str], *, fmt: str = "onnx", verify: bool = True
) -> dict[str, Any]:
    """Export a run's model (ONNX) next to it and check it against PyTorch when possible."""
    from pixelab._core.checks import check_choice
    from pixelab.models import export_onnx

    check_choice(fmt, ("onnx",), name="export format")
    model, meta = load_run_model(run)
    pre = meta["preprocess"]
    path = Path(run) / "model.onnx"
    export_onnx(model, path, image_size=pre["size"], in_channels=pre["channels"])
    result: dict[str, Any] = {"path": str(path), "format": fmt, "bytes": path.stat().st_size}
    if verify:
        result["max_abs_difference"] = verify_onnx(model, path, pre["size"], pre["channels"])
    return result


def verify_onnx(model: Any, path: Path, size: int, channels: int) -> float:
    """Largest difference between ONNX Runtime and PyTorch logits on random images."""
    import torch

    from pixelab._core.optional import require

    ort = require("onnxruntime", extra="export")
    x = torch.rand(4, channels, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref = model.eval()(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    return float(np.abs(got - ref).max())


def compare_runs(runs: list[str], *, out: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Accuracy, size, training time and inference throughput of runs side by side."""
    rows = []
    for r in runs:
        path = Path(r)
        cfg = _any_config(path)
        m = RunDir(path).read_metrics()
        kind = cfg.get("kind", "?")
        what = (
            cfg.get("model")
            if kind == "cnn"
            else f"{cfg.get('features')} + {cfg.get('classifier')}"
        )
        rows.append({
            "run": path.name, "kind": kind, "what": what, "data": cfg.get("data"),
            "accuracy": m.get("accuracy"), "num_parameters": m.get("num_parameters"),
            "train_seconds": m.get("train_seconds"),
            "images_per_second": round(m["n_test"] / m["predict_seconds"], 1) if m.get("predict_seconds") else None,
        })  # fmt: skip
    result: dict[str, Any] = {"runs": rows}
    if out:
        rd = RunDir(out)
        rd.write_config({"runs": runs}, kind="compare")
        fig = F.new_figure(11, 0.45 * len(rows) + 1.6)
        a1, a2 = fig.subplots(1, 2, sharey=True)
        names = [f"{r['run']} ({r['what']})" for r in rows]
        F.plot_bars(names, [r["accuracy"] or 0 for r in rows], xlabel="test accuracy", ax=a1)
        F.plot_bars(
            names,
            [r["train_seconds"] or 0 for r in rows],
            xlabel="training seconds",
            fmt="{:.1f}",
            ax=a2,
        )
        result["figures"] = [str(rd.save_figure(fig, "compare").relative_to(rd.path))]
        rd.write_metrics(result)
    return result


def _any_config(path: Path) -> dict[str, Any]:
    if not (path / "metrics.json").is_file():
        raise PixelabError(f"{path} is not a finished pixelab run (no metrics.json)")
    return read_json(path / "config.json") if (path / "config.json").is_file() else {}
