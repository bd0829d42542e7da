"""What every tour chapter gets: the report, the run folder, the tour's size, a seed, a cache."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pixelab._core.progress import ProgressFn
from pixelab.report import Chapter, HtmlReport, RunDir


@dataclasses.dataclass
class TourContext:
    """What every chapter gets: the report, the run folder, the size of the tour and a seed."""

    report: HtmlReport
    run: RunDir
    quick: bool
    seed: int
    progress: ProgressFn | None
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)

    def figure(self, chapter: Chapter, fig: Any, name: str, caption: str) -> None:
        """Save ``fig`` under figures/ and embed it in ``chapter``."""
        chapter.figure(self.run.save_figure(fig, name), caption)

    def fashion(self) -> tuple[Any, Any]:
        """Fashion-MNIST (train, test), sliced in the quick tour; loaded once."""
        if "fashion" not in self.cache:
            from pixelab.data import load_train_test

            limit = 2000 if self.quick else None
            self.cache["fashion"] = load_train_test("fashion-mnist", limit=limit, seed=self.seed)
        return self.cache["fashion"]


#: A chapter: adds its text, figures and tables to ``ctx.report`` and returns its metrics.
ChapterFn = Callable[[TourContext], dict[str, Any]]
