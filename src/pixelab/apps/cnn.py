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

from pixelab._core.config import flag as option_flag
from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json, write_json
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
    config: CNNConfig | None,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    changes: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train ``config.model`` on ``config.data``; write the run folder; return the metrics.

    The folder is made only once the options, the device and the data have been checked, and
    a folder holding another run is refused unless ``overwrite``. With ``resume=True`` the
    options are read back from ``out/config.json`` (``config`` is not used) and training goes
    on from the last checkpoint; ``changes`` (option -> value, e.g. the flags a user gave)
    must agree with the saved options, except ``device`` and ``threads``, which are applied
    and recorded. Ctrl-C at any moment leaves a folder that ``resume=True`` completes, and
    returns ``{"interrupted": True, ...}``.
    """
    from pixelab.models import create_model
    from pixelab.train.distributed import check_batch, from_env
    from pixelab.train.loop import resolve_device, saved_options

    out = Path(out)
    applied: dict[str, Any] = {}
    saved = None
    if resume:
        saved = _read_config(out, kind="cnn")
        if (out / "metrics.json").is_file():
            raise PixelabError(
                f"{out} is a finished run; nothing to resume",
                hint="start a new run with another --out",
            )
        config = CNNConfig.from_dict(saved_options(_options(saved)))
        config, applied = _resume_changes(config, changes or {})
    elif config is None:
        raise PixelabError("train_cnn needs a config unless it resumes a run")
    config.check()
    resolve_device(config.device)  # --device cuda without a GPU: refused before any work
    group = from_env(config.device)  # under torchrun: this process's place, else None
    check_batch(config.batch_size, group)
    train, val, test = _load_data(config, progress)
    model = create_model(config.model, num_classes=len(train.classes), in_channels=train.channels,
                         image_size=train.shape[0], seed=config.seed,
                         **config.model_options)  # fmt: skip
    if group is None:
        return _train_main(config, model, train, val, test, out, resume, overwrite, saved,
                           applied, progress)  # fmt: skip
    done = False
    try:
        if group.main:
            result = _train_main(config, model, train, val, test, out, resume, overwrite, saved,
                                 applied, progress, group=group)  # fmt: skip
        else:
            result = _train_other_rank(group, config, model, train, val, out, resume)
        done = not result.get("interrupted")
        return result
    finally:
        group.close(wait=done)  # every process finished: leave together


def _train_main(
    config: CNNConfig, model: Any, train: Any, val: Any, test: Any, out: Path, resume: bool,
    overwrite: bool, saved: dict[str, Any] | None, applied: dict[str, Any],
    progress: ProgressFn | None, *, group: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """The process that writes (the only one, or rank 0): the run folder, training, report."""
    with RunDir.create(out, kind="cnn", resume=resume, overwrite=overwrite) as run:
        if resume:
            if applied:
                saved.setdefault("resumed", []).append(
                    {"after_epochs": epochs_done(run.path), **applied}
                )
                write_json(run.path / "config.json", saved)
        else:
            run.write_config(
                {**config.to_dict(), "train": train.summary(), "test": test.summary()},
                kind="cnn",
            )
        run.keep_on_error = True  # from here on the folder is a run that --resume completes
        if group is not None:
            group.barrier()  # the folder is checked and made: the other processes may start
        try:
            return _train_and_report(run, config, model, train, val, test, resume, progress,
                                     group=group)  # fmt: skip
        except KeyboardInterrupt:
            return _interrupted(run.path)


def _train_other_rank(
    group: Any, config: CNNConfig, model: Any, train: Any, val: Any, out: Path, resume: bool
) -> dict[str, Any]:
    """A process of rank > 0 under torchrun: once rank 0 has checked and made the run folder,
    train its share of every batch (reading rank 0's checkpoint to resume) and write nothing."""
    from pixelab.train.checkpoint import has_checkpoint
    from pixelab.train.loop import fit

    group.barrier()
    try:
        result = fit(model, train, val=val, config=config, checkpoint_dir=out,
                     resume=resume and has_checkpoint(out), group=group)  # fmt: skip
    except KeyboardInterrupt:
        return {"interrupted": True, "rank": group.rank}
    return {"rank": group.rank, "finished": result.finished}


def _options(saved: dict[str, Any]) -> dict[str, Any]:
    """The CNNConfig options of a saved config.json (without the run's own records)."""
    return {k: v for k, v in saved.items() if k not in ("kind", "format_version", "train",
                                                      "test", "resumed")}  # fmt: skip


def _resume_changes(config: CNNConfig, changes: dict[str, Any]) -> tuple[CNNConfig, dict[str, Any]]:
    """Check the options given with --resume against the saved run; apply the allowed ones."""
    from pixelab.train.loop import RESUME_MAY_CHANGE

    saved = config.to_dict()
    applied: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None or key not in saved or value == saved[key]:
            continue
        if key in RESUME_MAY_CHANGE:
            applied[key] = value
            continue
        flag = option_flag(key)
        raise PixelabError(
            f"{flag} {value} conflicts with the run being resumed, which was started with "
            f"{flag} {saved[key]}",
            hint="leave it out when resuming (only --device may change), or start a new run "
            "with another --out",
        )
    return (CNNConfig.from_dict({**saved, **applied}) if applied else config), applied


def epochs_done(path: Path) -> int:
    """The epochs a training run folder has checkpointed (0 without a checkpoint)."""
    from pixelab.train.checkpoint import STATE

    if not (path / STATE).is_file():
        return 0
    try:
        return int(read_json(path / STATE)["epoch"]) + 1
    except (ValueError, KeyError, TypeError):
        return 0


def checkpoint_history(path: Path) -> list[dict[str, Any]]:
    """The per-epoch history (loss, accuracy, ...) a training has checkpointed so far in the
    run folder ``path``: what a page draws while it trains; [] before the first epoch."""
    from pixelab.train.checkpoint import STATE

    try:
        history = read_json(path / STATE)["history"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return history if isinstance(history, list) else []


def _interrupted(path: Path, command: str = "pixelab cnn train") -> dict[str, Any]:
    """What an interrupted training job returns: epochs saved and the command that goes on."""
    return {
        "interrupted": True,
        "epochs_done": epochs_done(path),
        "resume": f"{command} --out {path} --resume",
    }


def _train_and_report(
    run: RunDir,
    config: CNNConfig,
    model: Any,
    train: Any,
    val: Any,
    test: Any,
    resume: bool,
    progress: ProgressFn | None,
    *,
    group: Any = None,
) -> dict[str, Any]:
    """Fit (or resume), then evaluate, save the model and figures; metrics.json comes last."""
    import torch

    from pixelab.data.preprocess import ImagePreprocess
    from pixelab.evaluate import classification
    from pixelab.models import save_model
    from pixelab.train.checkpoint import has_checkpoint, remove_checkpoints
    from pixelab.train.loop import fit, predict_logits, resolve_device

    result = fit(
        model,
        train,
        val=val,
        config=config,
        checkpoint_dir=run.path,
        resume=resume and has_checkpoint(run.path),  # interrupted before epoch 1: start over
        progress=progress,
        group=group,
    )
    if not result.finished:
        return _interrupted(run.path)
    t0 = time.perf_counter()
    logits = predict_logits(model, test.images, device=config.device)
    predict_seconds = time.perf_counter() - t0
    pred = logits.argmax(1)
    scores = classification(test.labels, pred, classes=train.classes)
    meta = {
        "classes": train.classes,
        "preprocess": ImagePreprocess(size=train.shape[0], channels=train.channels).to_dict(),
        "data": config.data,
        "run_format_version": RUN_FORMAT_VERSION,
    }
    save_model(model, run.path, meta=meta)
    write_predictions(run.path, config.data, test.paths, test.labels, probabilities(logits),
                      train.classes)  # fmt: skip
    metrics = {
        "accuracy": scores["accuracy"],
        "train_seconds": round(result.train_seconds, 2),
        "predict_seconds": round(predict_seconds, 3),
        "n_train": len(train),
        "n_test": len(test),
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
        "skipped_files": len(train.skipped),
        "model": config.model,
        "data": config.data,
        "device": resolve_device(config.device).type,
        "threads": torch.get_num_threads(),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch + 1,
        "stopped_early": result.stopped_early,
        "augment": result.augment,
        "precision": result.precision,
        "processes": 1 if group is None else group.world,
        "train_samples_per_second": round(result.samples_per_second, 1),
        "predict_images_per_second": round(len(test) / max(predict_seconds, 1e-9), 1),
        "history": result.history,
        **{k: v for k, v in scores.items() if k != "accuracy"},
    }
    if result.plan:  # --budget-s: what was planned, and the seconds it took
        metrics["budget"] = {**result.plan, "train_seconds": metrics["train_seconds"]}
    metrics["figures"] = _train_figures(run, model, test, pred, metrics)
    augmented = augment_figure(run, train, result.augment, config.seed)
    metrics["figures"] += [augmented] if augmented else []
    run.write_metrics(metrics)  # last: from now on the run is finished
    remove_checkpoints(run.path)
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


def augment_figure(run: RunDir, train: Any, augment: str, seed: int) -> str | None:
    """A grid of 16 training images as an augmentation policy changed them (None for the
    built-in shift/flip options, drawn by ``pixelab augment show``, and for adversarial
    training, drawn by ``pixelab robust attack``)."""
    from pixelab.apps.augment import policy_draws
    from pixelab.train.attacks import adversarial_eps
    from pixelab.train.loop import AUGMENTS

    if augment in AUGMENTS or adversarial_eps(augment) is not None:
        return None
    pick = np.linspace(0, len(train) - 1, 16).astype(int)
    draws = policy_draws(train.images[pick], augment, n=16, seed=seed)
    fig = F.image_grid(list(draws), ncols=8, cell=1.1,
                       suptitle=f"16 training images as --augment {augment} changes them")  # fmt: skip
    return str(run.save_figure(fig, "augmented").relative_to(run.path))


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


#: Run kinds whose folder holds a trained PixelabModel (predict, evaluate, export, explain).
MODEL_RUN_KINDS = ("cnn", "transfer")


def _read_config(path: Path, *, kind: str | tuple[str, ...]) -> dict[str, Any]:
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise PixelabError(f"{path} is not a pixelab run folder (no config.json)")
    cfg = read_json(cfg_path)
    if cfg.get("format_version", 0) > RUN_FORMAT_VERSION:
        raise PixelabError(
            f"{path} was written by a newer pixelab (run format {cfg['format_version']})",
            hint="upgrade pixelab to use it",
        )
    kinds = (kind,) if isinstance(kind, str) else kind
    if cfg.get("kind") not in kinds:
        wanted = " or ".join(repr(k) for k in kinds)
        raise PixelabError(f"{path} is a {cfg.get('kind')!r} run, not a {wanted} run")
    return cfg


def resumed_config(path: Path, *, kind: str) -> dict[str, Any]:
    """The saved config of the unfinished ``kind`` run in ``path``, for ``--resume``; one clear
    error for a finished run, another kind of run, or no run."""
    saved = _read_config(path, kind=kind)
    if (path / "metrics.json").is_file():
        raise PixelabError(f"{path} is a finished run; nothing to resume",
                           hint="start a new run with another --out")  # fmt: skip
    return saved


def load_run_model(
    run: str | os.PathLike[str], *, device: str = "cpu"
) -> tuple[Any, dict[str, Any]]:
    """The trained model of a CNN run folder and its metadata (classes, preprocessing)."""
    from pixelab.models import load_model

    path = Path(run)
    _read_config(path, kind=MODEL_RUN_KINDS)
    if not (path / "model.json").is_file() or not (path / "metrics.json").is_file():
        raise PixelabError(
            f"{path} has no trained model yet",
            hint=f"finish training first: pixelab cnn train --out {path} --resume",
        )
    return load_model(path, device=device)


def run_preprocess(meta: dict[str, Any]) -> Any:
    """The :class:`~pixelab.data.preprocess.ImagePreprocess` a run's model was trained with."""
    from pixelab.data.preprocess import ImagePreprocess

    return ImagePreprocess.from_dict(meta.get("preprocess"))


def read_inputs(pre: Any, files: list[str]) -> tuple[list[np.ndarray], list[Any], list[dict]]:
    """Images of files, folders and sample photo names (e.g. chelsea), each through ``pre``
    (an ImagePreprocess); unreadable files are skipped and listed, none readable is an error."""
    from pixelab.data import photo, photo_names
    from pixelab.data.folder import iter_image_files

    samples = [f for f in files if not Path(f).exists() and f in photo_names()]
    paths = [*samples, *iter_image_files([f for f in files if f not in samples])]
    if not paths:
        raise PixelabError("no images given", hint="pass image files or folders of them")
    images, kept, skipped = [], [], []
    for p in paths:
        try:
            images.append(pre.apply(photo(p)) if p in samples else pre.read(p))
            kept.append(p)
        except PixelabError as err:
            skipped.append({"path": str(p), "reason": err.message.split(": ", 1)[-1]})
    if not images:
        raise PixelabError(
            f"none of the {len(paths)} file(s) could be read as an image",
            hint=f"first problem: {skipped[0]['path']}: {skipped[0]['reason']}",
        )
    return images, kept, skipped


def predict_files(
    run: str | os.PathLike[str], files: list[str], *, top_k: int = 3, device: str = "auto"
) -> dict[str, Any]:
    """Top-k class predictions with probabilities for image files (and folders of them), by
    a model run's network or a classic run's saved pipeline.

    Files that cannot be read are skipped and listed under "skipped" with the reason; only
    when none can be read is it an error. A classic classifier without probabilities (an
    SVM) gives its class probability 1, and the result says so under "note".
    """
    from pixelab._core.checks import check_positive_int
    from pixelab.report.rundir import run_kind
    from pixelab.train.loop import predict_logits, resolve_device

    check_positive_int(top_k, name="--top")
    resolve_device(device)
    note = None
    if run_kind(run) == "classic":
        from pixelab.apps.classic import load_classic_run, predict_classic

        pipe, meta = load_classic_run(run)
        images, kept, skipped = read_inputs(run_preprocess(meta), files)
        probs, own = predict_classic(pipe, meta, images)
        if not own:
            note = f"the {meta['classifier']} classifier gives a class, not probabilities"
    else:
        model, meta = load_run_model(run)
        images, kept, skipped = read_inputs(run_preprocess(meta), files)
        probs = probabilities(predict_logits(model, np.stack(images), device=device))
    result = {"predictions": top_predictions(kept, probs, meta["classes"], top_k),
              "skipped": skipped}  # fmt: skip
    return result if note is None else {**result, "note": note}


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax over the classes of (N, K) logits, stable for large values.

    >>> probabilities(np.array([[0.0, 0.0], [1000.0, 0.0]])).round(3).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    z = np.exp(logits - logits.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def top_predictions(
    names: list[Any], probs: np.ndarray, classes: list[str], k: int
) -> list[dict[str, Any]]:
    """Per image: its name and its ``k`` most likely classes with their probabilities."""
    k = min(k, probs.shape[1])
    return [
        {
            "path": str(name),
            "top": [
                {"class": classes[i], "probability": round(float(row[i]), 4)}
                for i in np.argsort(-row)[:k]
            ],
        }
        for name, row in zip(names, probs, strict=True)
    ]


#: The file of a model run that lists each test image with the model's prediction.
PREDICTIONS = "predictions.csv"
#: Its columns.
PREDICTION_COLUMNS = ("file", "true", "predicted", "probability")


def write_predictions(
    path: str | os.PathLike[str],
    data: str,
    files: list[str],
    labels: np.ndarray,
    probs: np.ndarray,
    classes: list[str],
) -> Path:
    """Write ``predictions.csv`` into the run folder ``path``: per evaluated image its file, true
    class, predicted class and the probability the model gave that class, so a confusion
    matrix's cell can be opened image by image (the studio, a spreadsheet) without running the
    model again. Files under the folder ``data`` are written relative to it
    (``cats/001.jpg``); images of a built-in set by their name (``digits:17``)."""
    import csv
    import io

    from pixelab._core.io import atomic_write_text

    root = Path(data) if Path(data).is_dir() else None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PREDICTION_COLUMNS)
    for f, y, p in zip(files, labels, probs, strict=True):
        k = int(np.argmax(p))
        inside = root is not None and Path(f).is_relative_to(root)
        name = Path(f).relative_to(root).as_posix() if inside else str(f)
        writer.writerow([name, classes[int(y)], classes[k], f"{float(p[k]):.4f}"])
    return atomic_write_text(Path(path) / PREDICTIONS, buf.getvalue())


def read_predictions(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a run's ``predictions.csv`` (probability as a float); a clear error when the
    run has none (runs made before pixelab wrote it, or a classic run)."""
    import csv

    path = Path(run) / PREDICTIONS
    if not path.is_file():
        raise PixelabError(f"{Path(run).name} has no per-image predictions ({PREDICTIONS})",
                           hint="train it again: runs record them since this version")  # fmt: skip
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and set(PREDICTION_COLUMNS) - set(rows[0]):
        raise PixelabError(f"{path} lacks the columns {', '.join(PREDICTION_COLUMNS)}")
    try:
        return [{**r, "probability": float(r["probability"])} for r in rows]
    except (TypeError, ValueError) as err:
        raise PixelabError(f"{path} holds a probability that is not a number ({err})") from None


def load_run_data(meta: dict[str, Any], data: str, *, seed: int = 0, progress: Any = None) -> Any:
    """``data`` loaded as the run's images were (size, mode; Fashion-MNIST's test split), with
    the run's classes checked: what evaluate and every explanation measure on."""
    from pixelab.data import load

    pre = run_preprocess(meta)
    subset = "test" if data == "fashion-mnist" else "all"
    ds = load(data, preprocess=pre, subset=subset, seed=seed, progress=progress)
    if ds.classes != meta["classes"]:
        raise PixelabError(
            f"the model knows the classes {meta['classes']} but {data} has {ds.classes}",
            hint="use data with the same class folders (same names)",
        )
    return ds


def held_out_data(
    run: str | os.PathLike[str],
    meta: dict[str, Any],
    data: str,
    *,
    seed: int = 0,
    progress: Any = None,
) -> tuple[Any, bool]:
    """``data`` prepared as the run's images were; when it is the data the run was trained on,
    only the run's own test images (those training never saw): for a folder, the files its
    ``predictions.csv`` lists (still there), so images added since do not slip in; else, for a
    cnn run, its test split made again. Returns (images, held out?)."""
    from pixelab.data import load_train_test

    cfg = _read_config(Path(run), kind=MODEL_RUN_KINDS)
    same = data != "fashion-mnist" and _same_data(data, str(cfg.get("data", "")))
    listed = _listed_test_images(Path(run), meta, data, progress) if same else None
    if listed is not None:
        return listed, True
    if cfg.get("kind") != "cnn" or not same:
        return load_run_data(meta, data, seed=seed, progress=progress), data == "fashion-mnist"
    _, test = load_train_test(cfg["data"], size=cfg.get("size"), gray=cfg.get("gray"),
                              test_size=cfg.get("test_size", 0.2), limit=cfg.get("limit"),
                              seed=cfg.get("seed", 0), progress=progress)  # fmt: skip
    if test.classes != meta["classes"] or test.shape[:2] != (meta["preprocess"]["size"],) * 2:
        return load_run_data(meta, data, seed=seed, progress=progress), False
    return test, True


def _listed_test_images(run: Path, meta: dict[str, Any], data: str, progress: Any) -> Any:
    """The test images a run's ``predictions.csv`` lists under the folder ``data``, prepared as
    in training (files gone since, or outside the folder, left out); None when there are none
    or the run was measured by leaving each image out (all of them trained the model)."""
    from pixelab._core.progress import report
    from pixelab.data.imageset import ImageSet

    root = Path(data)
    if not (root.is_dir() and (run / PREDICTIONS).is_file()):
        return None
    try:
        if RunDir(run).read_metrics().get("evaluation") == "leave-one-out":
            return None
        rows = read_predictions(run)
    except PixelabError:
        return None
    pre, classes = run_preprocess(meta), list(meta["classes"])
    images, labels, paths = [], [], []
    for k, row in enumerate(rows):
        path = root / row["file"]
        if row["true"] in classes and path.resolve().is_relative_to(root.resolve()):
            try:
                images.append(pre.read(path))
            except PixelabError:  # removed or damaged since the training
                continue
            labels.append(classes.index(row["true"]))
            paths.append(str(path))
        report(progress, "reading test images", k + 1, len(rows))
    if not images:
        return None
    return ImageSet(images=np.stack(images), labels=np.asarray(labels, np.int64),
                    classes=classes, paths=paths, name=root.name)  # fmt: skip


def _same_data(a: str, b: str) -> bool:
    """True when two --data values name the same dataset or folder."""
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def evaluate_run(
    run: str | os.PathLike[str],
    data: str,
    *,
    out: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    device: str = "auto",
    tta: str = "none",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Evaluate a trained run on another dataset or folder with the same classes.

    Images are prepared exactly as in training (the run's recorded preprocessing). Evaluating
    on the data the run was trained on warns: most of those images were seen in training.
    With ``tta`` the accuracy of test-time augmentation is reported too, apart from the plain one.
    """
    from pixelab._core.checks import check_choice, check_positive_int
    from pixelab.data import limit_per_class
    from pixelab.evaluate import classification
    from pixelab.train.loop import TTA, predict_logits, resolve_device

    if limit is not None:
        check_positive_int(limit, name="--limit")
    check_choice(tta, TTA, name="--tta")
    resolve_device(device)
    model, meta = load_run_model(run)
    ds = load_run_data(meta, data, seed=seed, progress=progress)
    if limit:
        ds = limit_per_class(ds, limit, seed=seed)
    warnings = []
    trained_on = str(_read_config(Path(run), kind=MODEL_RUN_KINDS).get("data", ""))
    if data != "fashion-mnist" and _same_data(data, trained_on):
        warnings.append(
            f"{data} is the data this run was trained on: most of these images were seen in "
            "training, so this accuracy is optimistic (evaluate on images kept apart)"
        )
    t0 = time.perf_counter()
    pred = predict_logits(model, ds.images, device=device).argmax(1)
    seconds = time.perf_counter() - t0
    scores = classification(ds.labels, pred, classes=ds.classes)
    metrics = {
        "accuracy": scores["accuracy"],
        **_tta_accuracy(model, ds, tta, device),
        "predict_seconds": round(seconds, 3),
        "n_test": len(ds),
        "skipped_files": len(ds.skipped),
        "run": str(run),
        "data": data,
        "warnings": warnings,
        **{k: v for k, v in scores.items() if k != "accuracy"},
    }
    if out:
        with RunDir.create(out, kind="evaluate", replace_same_kind=True) as rd:
            rd.write_config({"run": str(run), "data": data, "limit": limit}, kind="evaluate")
            ax = F.plot_confusion(scores["confusion"], ds.classes)
            ax.set_title(f"accuracy {scores['accuracy']:.3f} on {len(ds)} images of {data}")
            metrics["figures"] = [str(rd.save_figure(ax.figure, "confusion").relative_to(rd.path))]
            rd.write_metrics(metrics)
    return metrics


def _tta_accuracy(model: Any, ds: Any, tta: str, device: str) -> dict[str, Any]:
    """Accuracy with test-time augmentation and its time, as keys of metrics (none: nothing)."""
    from pixelab.train.loop import predict_logits

    if tta == "none":
        return {}
    t0 = time.perf_counter()
    pred = predict_logits(model, ds.images, device=device, tta=tta).argmax(1)
    return {"tta": tta, "accuracy_tta": float((pred == ds.labels).mean()),
            "predict_seconds_tta": round(time.perf_counter() - t0, 3)}  # fmt: skip


def export_run(
    run: str | os.PathLike[str], *, fmt: str = "onnx", verify: bool = True
) -> dict[str, Any]:
    """Export a run's model (ONNX) next to it and check it against PyTorch when possible.

    The ONNX file carries the class names and the preprocessing as metadata ("classes",
    "preprocess", JSON), so it can be used without its run folder.
    """
    import json

    from pixelab._core.checks import check_choice
    from pixelab.models import export_onnx

    check_choice(fmt, ("onnx",), name="export format")
    model, meta = load_run_model(run)
    pre = run_preprocess(meta)
    path = Path(run) / "model.onnx"
    metadata = {
        "classes": json.dumps(meta["classes"]),
        "preprocess": json.dumps(pre.to_dict()),
        "input": "images: float32 (batch, channels, size, size) in [0, 1], after preprocess",
    }
    export_onnx(model, path, image_size=pre.size, in_channels=pre.channels, metadata=metadata)
    result: dict[str, Any] = {"path": str(path), "format": fmt, "bytes": path.stat().st_size}
    if verify:
        result["max_abs_difference"] = verify_onnx(model, path, pre.size, pre.channels)
    return result


def verify_onnx(model: Any, path: Path, size: int, channels: int) -> float:
    """Largest difference between ONNX Runtime and PyTorch logits on random images."""
    import torch

    from pixelab._core.optional import require

    ort = require("onnxruntime", extra="export")
    x = torch.rand(4, channels, size, size, generator=torch.Generator().manual_seed(0))
    model = model.cpu().eval()
    with torch.inference_mode():
        ref = model(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    return float(np.abs(got - ref).max())


#: The kinds of run that hold a trained model and can be compared.
MODEL_KINDS = ("cnn", "transfer", "classic")


def compare_runs(runs: list[str], *, out: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Accuracy, size, training time and inference throughput of runs side by side, with
    each run's per-class scores and confusion matrix, and the settings (``config.json``
    entries) that differ between them ("settings": name -> one value per run).

    Folders that are not finished classic or CNN runs are left out and listed under
    "skipped" with the reason (so ``compare runs/*`` works); none left is an error.
    """
    from pixelab.report.rundir import run_kind

    rows, skipped, configs = [], [], []
    for r in runs:
        path = Path(r)
        kind = run_kind(path)
        if kind not in MODEL_KINDS:
            why = "not a pixelab run folder" if kind is None else f"a {kind} run, not a model"
            skipped.append({"path": str(path), "reason": why})
            continue
        if not (path / "metrics.json").is_file():
            skipped.append({"path": str(path), "reason": "unfinished (no metrics.json)"})
            continue
        cfg, m = read_json(path / "config.json"), RunDir(path).read_metrics()
        what = {
            "cnn": cfg.get("model"),
            "transfer": f"{cfg.get('backbone')} {cfg.get('mode')}",
        }.get(kind, f"{cfg.get('features')} + {cfg.get('classifier')}")
        rows.append({
            "run": path.name, "path": str(path), "kind": kind, "what": what,
            "data": cfg.get("data"), "accuracy": m.get("accuracy"),
            "num_parameters": m.get("num_parameters"), "train_seconds": m.get("train_seconds"),
            "images_per_second": round(m["n_test"] / m["predict_seconds"], 1) if m.get("predict_seconds") else None,
            "n_train": m.get("n_train"), "n_test": m.get("n_test"),
            "classes": list(m["per_class"]) if isinstance(m.get("per_class"), dict) else None,
            "per_class": m.get("per_class"), "confusion": m.get("confusion"),
        })  # fmt: skip
        configs.append(cfg)
    if not rows:
        raise PixelabError(
            f"none of the {len(runs)} folder(s) is a finished classic, CNN or transfer run ("
            + "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3])
            + ")",
            hint="pass folders written by 'pixelab classic train', 'cnn train' or 'transfer train'; "
            "an unfinished CNN run completes with 'pixelab cnn train --out RUN --resume'",
        )
    result: dict[str, Any] = {"runs": rows, "skipped": skipped,
                              "settings": differing_settings(configs)}  # fmt: skip
    if out:
        with RunDir.create(out, kind="compare", replace_same_kind=True) as rd:
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


#: config.json entries that are records of a run, not settings to compare.
NOT_SETTINGS = ("format_version", "kind", "train", "test", "notes", "resumed")


def differing_settings(configs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The settings that differ between runs' ``config.json``: name -> one value per run
    (None where a run has no such setting), in the order of the first run that has it.

    >>> differing_settings([{"epochs": 3, "lr": 0.1, "kind": "cnn"},
    ...                     {"epochs": 5, "lr": 0.1, "mode": "probe", "kind": "transfer"}])
    {'epochs': [3, 5], 'mode': [None, 'probe']}
    """
    names = list(dict.fromkeys(k for c in configs for k in c if k not in NOT_SETTINGS))
    values = {k: [c.get(k) for c in configs] for k in names}
    return {k: v for k, v in values.items() if any(x != v[0] for x in v)}
