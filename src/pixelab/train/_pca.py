"""PCA as a pipeline step that adapts to small feature vectors (kept out of ``classic`` so that
importing it stays free of scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pixelab._core.checks import check_positive_int
from pixelab._core.errors import PixelabError

#: Above this many features the covariance matrix (features x features) gets too big to build.
_COVARIANCE_MAX_FEATURES = 4096

__all__ = ["CappedPCA"]


class CappedPCA(TransformerMixin, BaseEstimator):
    """Reduce features to their first ``n_components`` principal components, or fewer.

    Keeps ``min(n_components, n_samples)`` components, and passes the features through
    unchanged when there are no more than ``n_components`` of them, so one default works for
    64-number digits and 2,404-number HOG + pixels alike. With many more samples than
    features the components come from the features' covariance matrix (exact, and about 5x
    faster than scikit-learn's default randomized solver on 60,000 x 2,404).

    Learned: ``pca_`` (the fitted ``sklearn.decomposition.PCA``, None when passing through),
    ``n_components_``.

    >>> CappedPCA(n_components=3).fit_transform(np.random.default_rng(0).random((10, 5))).shape
    (10, 3)
    >>> CappedPCA(n_components=8).fit_transform(np.ones((10, 5))).shape
    (10, 5)
    """

    def __init__(
        self, n_components: int = 96, whiten: bool = False, random_state: int | None = None
    ) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> CappedPCA:
        """Learn the principal components of ``X`` (N, D)."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Learn the components and return ``X`` reduced to them."""
        from sklearn.decomposition import PCA

        n_components = check_positive_int(self.n_components, name="n_components")
        X = np.asarray(X)
        n_samples, n_features = X.shape
        self.n_features_in_ = n_features
        if n_features <= n_components:
            self.pca_, self.n_components_ = None, n_features
            return X
        self.n_components_ = min(n_components, n_samples)
        small = n_features <= _COVARIANCE_MAX_FEATURES and n_samples >= n_features
        self.pca_ = PCA(
            n_components=self.n_components_,
            whiten=self.whiten,
            svd_solver="covariance_eigh" if small else "auto",
            random_state=self.random_state,
        )
        return self.pca_.fit_transform(X)

    def transform(self, X: Any) -> np.ndarray:
        """``X`` (N, D) reduced to the learned components (N, ``n_components_``)."""
        if not hasattr(self, "n_components_"):
            raise PixelabError("this CappedPCA is not fitted yet", hint="call fit(X) first")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise PixelabError(
                f"expected features shaped (N, {self.n_features_in_}), got {X.shape}",
                hint="transform features made the same way as those given to fit",
            )
        return X if self.pca_ is None else self.pca_.transform(X)
