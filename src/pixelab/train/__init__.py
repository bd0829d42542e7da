"""Training: classic scikit-learn pipelines and a readable, resumable neural-network loop.

Names load on first use (as in :mod:`pixelab`), so that reading a config's defaults, as the
command line does, does not import numpy, scikit-learn or torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "CLASSIFIERS": "config",
    "CNNConfig": "config",
    "ClassicConfig": "config",
    "TrainConfig": "config",
    "TrainResult": "loop",
    "classic_pipeline": "classic",
    "fit": "loop",
    "fit_classic": "classic",
    "make_classifier": "classic",
    "predict_logits": "loop",
}
__all__ = [
    "CLASSIFIERS",
    "CNNConfig",
    "ClassicConfig",
    "TrainConfig",
    "TrainResult",
    "classic_pipeline",
    "fit",
    "fit_classic",
    "make_classifier",
    "predict_logits",
]

if TYPE_CHECKING:
    from pixelab.train.classic import classic_pipeline, fit_classic, make_classifier
    from pixelab.train.config import CLASSIFIERS, ClassicConfig, CNNConfig, TrainConfig
    from pixelab.train.loop import TrainResult, fit, predict_logits


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"pixelab.train.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'pixelab.train' has no attribute {name!r}")
