"""Evaluation: metrics as JSON-ready dicts (accuracy, per-class scores, confusion)."""

from pixelab.evaluate.classification import classification, confusion_matrix

__all__ = ["classification", "confusion_matrix"]
