"""Robustness: how a trained model holds up when its images change (needs a model; beside
explain/): invariance sweeps, and the lecture's challenges of vision as corruption families.
The attacks live in :mod:`pixelab.train.attacks` (adversarial training shares them)."""

from pixelab.robust.challenges import (
    FAMILIES,
    challenge_suite,
    corrupt_family,
    corruption_errors,
    intra_class_suite,
)
from pixelab.robust.sweep import FACTORS, Factor, change, corrupt, sweep

__all__ = [
    "FACTORS",
    "FAMILIES",
    "Factor",
    "challenge_suite",
    "change",
    "corrupt",
    "corrupt_family",
    "corruption_errors",
    "intra_class_suite",
    "sweep",
]
