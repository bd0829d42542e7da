"""Classification metrics as JSON-ready dicts, with plain-language names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of true class i predicted as class j.

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2).tolist()
    [[1, 0], [1, 1]]
    """
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def classification(y_true: Any, y_pred: Any, *, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix.

    ``most_confused`` is the most frequent mistake (true class, predicted class, count), or
    None when no image was misclassified.

    >>> r = classification([0, 1, 1, 1], [0, 1, 0, 1], classes=["a", "b"])
    >>> r["accuracy"], r["per_class"]["b"]["recall"]
    (0.75, 0.6667)
    """
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    k = len(classes)
    if t.shape != p.shape:
        raise PixelabError(f"{len(t)} true labels but {len(p)} predictions")
    if len(t) == 0:
        raise PixelabError("no predictions to evaluate")
    if min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= k:
        raise PixelabError(f"labels must lie in [0, {k - 1}] for {k} classes")
    cm = confusion_matrix(t, p, k)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    per_class = {
        c: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, c in enumerate(classes)
    }
    present = support > 0
    off = cm.copy()
    np.fill_diagonal(off, 0)
    worst = np.unravel_index(int(off.argmax()), off.shape)
    most_confused = None  # no image was misclassified
    if off[worst] > 0:
        most_confused = {
            "true": classes[worst[0]],
            "predicted": classes[worst[1]],
            "count": int(off[worst]),
        }
    return {
        "accuracy": round(float(tp.sum() / len(t)), 4),
        "macro_f1": round(float(f1[present].mean()), 4),
        "per_class": per_class,
        "confusion": cm.tolist(),
        "most_confused": most_confused,
    }
