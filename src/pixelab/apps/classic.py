"""A whole classic run: load data, fit features + classifier, evaluate, write the run folder."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

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
        _, metrics, pred = fit_classic(config, train, test, progress=progress)
        metrics["skipped"] = [{"path": p, "reason": r} for p, r in train.skipped]
        run.write_config(
            {**config.to_dict(), "train": train.summary(), "test": test.summary(),
             "notes": train.notes},
            kind="classic",
        )  # fmt: skip
        metrics["figures"] = _figures(run, test, pred, metrics)
        run.write_metrics(metrics)
    return metrics


def _figures(run: RunDir, test: Any, pred: np.ndarray, metrics: dict[str, Any]) -> list[str]:
    ax = F.plot_confusion(metrics["confusion"], test.classes)
    ax.set_title(f"accuracy {metrics['accuracy']:.3f} on {metrics['n_test']} test images")
    paths = [run.save_figure(ax.figure, "confusion")]
    fig = F.mistakes_grid(test.images, test.labels, pred, test.classes)
    if fig is not None:
        paths.append(run.save_figure(fig, "mistakes"))
    return [str(p.relative_to(run.path)) for p in paths]
