"""CappedPCA: the classic pipeline's PCA step."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA

from pixelab import PixelabError
from pixelab.train._pca import CappedPCA


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(200, 30)) @ rng.normal(size=(30, 30))


def test_same_subspace_as_sklearn_pca(data):
    ours = CappedPCA(n_components=5).fit(data)
    ref = PCA(n_components=5).fit(data)
    assert ours.n_components_ == 5 and ours.transform(data).shape == (200, 5)
    np.testing.assert_allclose(
        np.abs(ours.pca_.components_), np.abs(ref.components_), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(ours.fit_transform(data), ours.transform(data), atol=1e-8)


def test_few_features_pass_through_and_few_samples_cap(data):
    for n in (30, 40):  # nothing to reduce
        pca = CappedPCA(n_components=n).fit(data)
        assert pca.pca_ is None and pca.n_components_ == 30
        np.testing.assert_array_equal(pca.transform(data), data)
    assert CappedPCA(n_components=20).fit(data[:10]).n_components_ == 10


def test_many_features_use_the_randomized_solver():
    x = np.random.default_rng(1).normal(size=(50, 5000)).astype(np.float32)
    pca = CappedPCA(n_components=4, random_state=0).fit(x)
    assert pca.pca_.svd_solver == "auto" and pca.transform(x).shape == (50, 4)


def test_errors_and_clone(data):
    with pytest.raises(PixelabError, match="not fitted"):
        CappedPCA().transform(data)
    with pytest.raises(PixelabError, match=r"shaped \(N, 30\)"):
        CappedPCA(n_components=3).fit(data).transform(data[:, :5])
    with pytest.raises(PixelabError, match="n_components must be an integer >= 1"):
        CappedPCA(n_components=0).fit(data)
    fitted = CappedPCA(n_components=3).fit(data)
    assert not hasattr(clone(fitted), "pca_")
