"""A linear probe: logistic regression on frozen embeddings, folded into a model's classifier.

Training only the last layer is convex, so scikit-learn's L-BFGS solves it exactly in seconds;
the fitted weights become the ``nn.Linear`` head, and the run is then an ordinary model that
``predict``, ``evaluate`` and ``export`` use as it is. The embeddings go in as they are, not
standardised: with one to five images per class, each of the 1,280 numbers would be scaled by
a spread measured on a handful of images, which amplifies noise (it cost accuracy on
Fashion-MNIST and faces in a scratch comparison).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError


def fit_linear_probe(
    vectors: np.ndarray, labels: np.ndarray, num_classes: int, *, c: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (num_classes, D) and biases (num_classes,) so that ``vectors @ W.T + b`` are the
    multinomial logistic regression's scores (L2 penalty, inverse strength ``c``)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(vectors, np.float64)
    y = np.asarray(labels)
    present = np.unique(y)
    if len(present) < 2:
        raise PixelabError("a probe needs images of at least two classes to train on")
    from threadpoolctl import threadpool_limits

    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    # One BLAS thread: L-BFGS makes hundreds of tiny products, which two OpenBLAS threads run
    # several times slower than one on 2-core machines (BENCHMARKS.md, transfer learning).
    with threadpool_limits(1, user_api="blas"):
        clf.fit(x, y)
    coef = clf.coef_ if len(present) > 2 else np.vstack([-clf.coef_[0] / 2, clf.coef_[0] / 2])
    icpt = (
        clf.intercept_
        if len(present) > 2
        else np.array([-clf.intercept_[0] / 2, clf.intercept_[0] / 2])
    )
    # Classes absent from the training split never win: a very low score.
    weight = np.zeros((num_classes, x.shape[1]))
    bias = np.full(num_classes, -1e4)
    weight[clf.classes_] = coef
    bias[clf.classes_] = icpt
    return weight.astype(np.float32), bias.astype(np.float32)


def set_classifier(model: Any, weight: np.ndarray, bias: np.ndarray) -> None:
    """Copy probe weights into the model's classifier (``get_classifier()``)."""
    import torch

    head = model.get_classifier()
    if tuple(head.weight.shape) != weight.shape:
        raise PixelabError(
            f"probe weights {weight.shape} do not fit the classifier {tuple(head.weight.shape)}"
        )
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weight))
        head.bias.copy_(torch.from_numpy(bias))
