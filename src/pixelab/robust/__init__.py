"""Robustness: how a trained model holds up when its images change (needs a model; beside
explain/). Invariance sweeps now; the challenge suite and adversarial attacks build on them."""

from pixelab.robust.sweep import FACTORS, Factor, corrupt, sweep

__all__ = ["FACTORS", "Factor", "corrupt", "sweep"]
