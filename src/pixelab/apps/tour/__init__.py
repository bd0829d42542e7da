"""The tour: the lecture's story as one self-contained HTML report, computed on real data.

One module per chapter, each with ``chapter(ctx) -> metrics`` that adds text, figures and tables
to the report. A new capability adds its chapter as a new module here and registers it in
``CHAPTERS`` below, in lecture order; ``run_tour`` runs them.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab.apps.tour import (
    challenges,
    classic,
    cnn,
    diffusion,
    features,
    generalisation,
    generative,
    image2image,
    learn,
    pixels,
    similarity,
    transfer,
)
from pixelab.apps.tour._context import ChapterFn, TourContext
from pixelab.apps.tour.classic import COMPARISON, _most_common_mistake
from pixelab.apps.tour.cnn import _convolve_demo, _versus_classic
from pixelab.report import HtmlReport, RunDir

__all__ = [
    "CHAPTERS",
    "COMPARISON",
    "ChapterFn",
    "TourContext",
    "_convolve_demo",
    "_most_common_mistake",
    "_versus_classic",
    "chapter_challenges",
    "chapter_classic",
    "chapter_cnn",
    "chapter_features",
    "chapter_pixels",
    "chapter_similarity",
    "run_tour",
]

#: The chapters, in lecture order: (key, function). A new chapter is a new module in this
#: package with ``chapter(ctx) -> dict``, registered here.
CHAPTERS: list[tuple[str, ChapterFn]] = [
    ("challenges", challenges.chapter),
    ("pixels", pixels.chapter),
    ("similarity", similarity.chapter),
    ("features", features.chapter),
    ("classic", classic.chapter),
    ("cnn", cnn.chapter),
    ("learn", learn.chapter),
    ("generalisation", generalisation.chapter),
    ("transfer", transfer.chapter),
    ("generative", generative.chapter),
    ("diffusion", diffusion.chapter),
    ("image2image", image2image.chapter),
]

# The names the chapters had when the tour was one module.
chapter_challenges = challenges.chapter
chapter_pixels = pixels.chapter
chapter_similarity = similarity.chapter
chapter_features = features.chapter
chapter_classic = classic.chapter
chapter_cnn = cnn.chapter


def run_tour(
    out: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    chapters: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Compute every chapter and write ``out/report.html``, ``metrics.json`` and figures.

    The report is rewritten after each chapter, so an interrupted tour keeps what it finished.
    """
    selected = [(k, f) for k, f in CHAPTERS if chapters is None or k in chapters]
    if not selected:
        raise PixelabError(
            f"no tour chapter is called {', '.join(chapters or [])}",
            hint=f"chapters: {', '.join(k for k, _ in CHAPTERS)}",
        )
    with RunDir.create(out, kind="tour", replace_same_kind=True) as run:
        run.write_config(
            {"quick": quick, "seed": seed, "chapters": [k for k, _ in selected]}, kind="tour"
        )
        run.keep_on_error = True  # an interrupted tour keeps the chapters it finished
        return _run_chapters(run, selected, quick, seed, progress)


def _run_chapters(
    run: RunDir, selected: list[Any], quick: bool, seed: int, progress: ProgressFn | None
) -> dict[str, Any]:
    rep = HtmlReport(
        "pixelab tour: machine learning for images",
        lede=("Quick tour (" if quick else "Full tour (")
        + "every number and picture below was computed on this machine just now).",
    )
    ctx = TourContext(rep, run, quick, seed, progress)
    metrics: dict[str, Any] = {"quick": quick, "chapters": {}, "seconds": {}}
    t_start = time.perf_counter()
    for i, (key, fn) in enumerate(selected):
        report(progress, "tour chapters", i, len(selected))
        t0 = time.perf_counter()
        metrics["chapters"][key] = fn(ctx)
        metrics["seconds"][key] = round(time.perf_counter() - t0, 2)
        metrics["total_seconds"] = round(time.perf_counter() - t_start, 2)
        rep.write(run.path / "report.html")
        run.write_metrics(metrics)
    report(progress, "tour chapters", len(selected), len(selected))
    accs = [metrics["chapters"].get("classic", {}).get("best", {}).get("accuracy"),
            metrics["chapters"].get("cnn", {}).get("cnn_accuracy")]  # fmt: skip
    if any(a is not None for a in accs):
        metrics["accuracy"] = max(a for a in accs if a is not None)  # the tour's best model
    metrics["total_seconds"] = round(time.perf_counter() - t_start, 2)
    run.write_metrics(metrics)
    return metrics
