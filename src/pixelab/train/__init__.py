"""Training: classic scikit-learn pipelines and a readable, resumable neural-network loop."""

from pixelab.train.classic import (
    CLASSIFIERS,
    ClassicConfig,
    classic_pipeline,
    fit_classic,
    make_classifier,
)
from pixelab.train.loop import CNNConfig, TrainConfig, TrainResult, fit, predict_logits

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
