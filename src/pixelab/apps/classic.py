"""A whole classic run: load data, fit features + classifier, evaluate, write the run folder."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pixelab._core.checks import check_choice
from pixelab._core.progress import ProgressFn
from pixelab.data import load_train_test
from pixelab.report import RunDir
from pixelab.report import figures as F
from pixelab.train.classic import CLASSIFIERS, ClassicConfig, fit_classic


def run_classic(
    config: ClassicConfig,
    out: str | os.PathLike[str],
    *,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train and evaluate one classic pipeline; writes config.json, metrics.json, figures/.

    >>> import tempfile
    >>> cfg = ClassicConfig(data="digits", features="pixels", classifier="logreg")
    >>> run_classic(cfg, tempfile.mkdtemp())["accuracy"] > 0.9
    True
    """
    from pixelab.features import FEATURES

    # fail fast on unknown names, before any data is loaded
    check_choice(config.features, tuple(FEATURES), name="features")
    check_choice(config.classifier, tuple(CLASSIFIERS), name="classifier")
    run = RunDir(out)
    train, test = load_train_test(
        config.data,
        size=config.size,
        gray=config.gray,
        test_size=config.test_size,
        limit=config.limit,
        seed=config.seed,
        progress=progress,
    )
    run.write_config(
        {
            **config.to_dict(),
            "train": train.summary(),
            "test": test.summary(),
            "notes": train.notes,
        },
        kind="classic",
    )
    _, metrics, pred = fit_classic(config, train, test, progress=progress)
    metrics["skipped"] = [{"path": p, "reason": r} for p, r in train.skipped]
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
