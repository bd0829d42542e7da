"""Training: classic scikit-learn pipelines (and, later, neural-network loops)."""

from pixelab.train.classic import (
    CLASSIFIERS,
    ClassicConfig,
    classic_pipeline,
    fit_classic,
    make_classifier,
)

__all__ = ["CLASSIFIERS", "ClassicConfig", "classic_pipeline", "fit_classic", "make_classifier"]
