"""A whole classic run: load data, fit features + classifier, evaluate, write the run folder.

Besides ``config.json``, ``metrics.json`` and ``figures/``, a classic run keeps its fitted
pipeline (``pipeline.safetensors`` + ``pipeline.json``, with the class names and the image
preprocessing; no pickle) where its steps allow (:data:`pixelab.train.classic.SAVED_STEPS`:
every feature but SIFT, and the logreg, linear_svm and svm classifiers), so ``pixelab predict``
and the studio predict new images with it; and ``predictions.csv``, its test images one by one,
as model runs do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn
from pixelab.data import load_train_test
from pixelab.report import RunDir
from pixelab.report import figures as F
from pixelab.train.classic import ClassicConfig, fit_classic


def run_classic(
    config: ClassicConfig,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train and evaluate one classic pipeline; writes config.json, metrics.json, figures/.

    Nothing is written until the options and data are checked; a failure or Ctrl-C leaves no
    half-written folder, and a folder holding another run is refused unless ``overwrite``.

    >>> import tempfile
    >>> cfg = ClassicConfig(data="digits", features="pixels", classifier="logreg")
    >>> run_classic(cfg, tempfile.mkdtemp())["accuracy"] > 0.9
    True
    """
    config.check()  # fail fast on bad options, before any data is loaded or folder made
    train, test = load_train_test(
        config.data,
        size=config.size,
        gray=config.gray,
        test_size=config.test_size,
        limit=config.limit,
        seed=config.seed,
        progress=progress,
    )
    with RunDir.create(out, kind="classic", overwrite=overwrite) as run:  # gone on failure
        pipe, metrics, pred = fit_classic(config, train, test, progress=progress)
        metrics["skipped"] = [{"path": p, "reason": r} for p, r in train.skipped]
        metrics["model_saved"] = _save(run, pipe, config, train, test, pred)
        run.write_config(
            {**config.to_dict(), "train": train.summary(), "test": test.summary(),
             "notes": train.notes},
            kind="classic",
        )  # fmt: skip
        metrics["figures"] = _figures(run, test, pred, metrics)
        run.write_metrics(metrics)
    return metrics


def _save(
    run: RunDir, pipe: Any, config: ClassicConfig, train: Any, test: Any, pred: np.ndarray
) -> bool:
    """Keep the fitted pipeline (where its steps can be saved) and the test images'
    predictions; whether the pipeline was kept."""
    from pixelab.apps.cnn import write_predictions
    from pixelab.data.preprocess import ImagePreprocess
    from pixelab.train.classic import pipeline_probabilities, pipeline_saveable, save_pipeline

    probs, _ = pipeline_probabilities(pipe, test.images, len(train.classes), predicted=pred)
    write_predictions(run.path, config.data, test.paths, test.labels, probs, train.classes)
    if pipeline_saveable(pipe) is not None:
        return False
    pre = ImagePreprocess(size=train.shape[0], channels=train.channels)
    save_pipeline(pipe, run.path, meta={"classes": train.classes, "preprocess": pre.to_dict(),
                                        "data": config.data, "features": config.features,
                                        "classifier": config.classifier})  # fmt: skip
    return True


def load_classic_run(run: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The fitted pipeline of a finished classic run folder and its metadata (classes,
    preprocessing); one clear error for a run that kept none (its classifier is not saved)."""
    from pixelab.apps.cnn import _read_config
    from pixelab.train.classic import PIPELINE_JSON, load_pipeline

    path = Path(run)
    config = _read_config(path, kind="classic")
    if not (path / "metrics.json").is_file():
        raise PixelabError(f"{path} is an unfinished classic run", hint="train it again")
    if not (path / PIPELINE_JSON).is_file():
        raise PixelabError(
            f"{path} kept no model: its {config.get('classifier')} classifier is not one pixelab "
            "saves (or it was trained before pixelab saved classic runs)",
            hint="train again with --classifier logreg, linear_svm or svm to predict new images",
        )
    return load_pipeline(path)


def predict_classic(
    pipe: Any, meta: dict[str, Any], images: list[np.ndarray] | np.ndarray
) -> tuple[np.ndarray, bool]:
    """Each class's probability (N, K) for images already prepared with the run's
    preprocessing, and whether they are the classifier's own (an SVM gives a class only)."""
    from pixelab.train.classic import pipeline_probabilities

    return pipeline_probabilities(pipe, np.stack(list(images)), len(meta["classes"]))


def _figures(run: RunDir, test: Any, pred: np.ndarray, metrics: dict[str, Any]) -> list[str]:
    ax = F.plot_confusion(metrics["confusion"], test.classes)
    ax.set_title(f"accuracy {metrics['accuracy']:.3f} on {metrics['n_test']} test images")
    paths = [run.save_figure(ax.figure, "confusion")]
    fig = F.mistakes_grid(test.images, test.labels, pred, test.classes)
    if fig is not None:
        paths.append(run.save_figure(fig, "mistakes"))
    return [str(p.relative_to(run.path)) for p in paths]
