"""scikit-learn transformers and the feature registry."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from pixelab import PixelabError
from pixelab.features import (
    FEATURES,
    ColorHistogramFeatures,
    HOGFeatures,
    PixelFeatures,
    SiftBoVW,
    dense_sift,
    hog_batch,
    make_features,
)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small problems: BLAS threads only spin (40x slower on a busy 2-core machine)."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    images = (x.reshape(-1, 8, 8) * 255 / 16).astype(np.uint8)
    return images[:1200], y[:1200], images[1200:], y[1200:]


@pytest.mark.parametrize(
    ("features", "floor"),
    [
        (PixelFeatures(), 0.85),
        (HOGFeatures(cell=2, block=2), 0.8),
        (ColorHistogramFeatures(bins=8), 0.2),
        (SiftBoVW(n_words=32, step=2, size=4, n_jobs=1), 0.3),
    ],
    ids=["pixels", "hog", "color", "sift"],
)
def test_pipeline_beats_chance_on_digits(digits, features, floor):
    x_train, y_train, x_test, y_test = digits
    pipe = Pipeline([("features", features), ("clf", LogisticRegression(max_iter=3000))])
    accuracy = pipe.fit(x_train, y_train).score(x_test, y_test)
    assert accuracy > floor  # chance is 0.1


def test_grid_search_over_hog_cells(digits):
    x_train, y_train, _, _ = digits
    pipe = Pipeline([("hog", HOGFeatures()), ("clf", LogisticRegression(max_iter=3000))])
    search = GridSearchCV(pipe, {"hog__cell": [2, 4]}, cv=2).fit(x_train[:300], y_train[:300])
    scores = dict(
        zip(
            search.cv_results_["param_hog__cell"],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
    )
    # on 8x8 digits, 2-pixel cells (16 cells, 324 numbers) see far more shape than 4-pixel
    # ones (4 cells, one block: 36 numbers): about 0.86 against 0.73 cross-validated accuracy.
    # Equal scores would mean the cell never reached the transformer.
    assert scores[2] > scores[4] + 0.05
    assert search.best_params_ == {"hog__cell": 2}
    assert search.best_score_ == scores[2] > 0.8
    refit = search.best_estimator_
    assert refit.named_steps["hog"].cell == 2 and refit.named_steps["clf"].n_features_in_ == 324


@pytest.mark.parametrize("name", FEATURES)
def test_registry_makes_fresh_clonable_transformers(name):
    a, b = make_features(name), make_features(name)
    assert a is not b
    twin = clone(a)
    assert type(twin) is type(a) and twin.get_params() == a.get_params()
    assert not any(k.endswith("_") for k in vars(a))


def test_clone_keeps_params_and_drops_learned_state():
    hogf = HOGFeatures(orientations=6, cell=2, block=3, block_norm="L1").fit(
        np.zeros((2, 12, 12), np.uint8)
    )
    twin = clone(hogf)
    assert twin.get_params()["block_norm"] == "L1" and twin.orientations == 6
    assert hasattr(hogf, "image_shape_") and not hasattr(twin, "image_shape_")


def test_registry_errors():
    with pytest.raises(PixelabError, match=r"choose one of: pixels, hog, hog\+pixels, sift, color"):
        make_features("surf")
    with pytest.raises(PixelabError, match="valid options: orientations"):
        make_features("hog", cells=4)
    assert make_features("hog", cell=8).cell == 8


def test_transformer_shapes_and_dtypes():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)
    rgb = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    pix = PixelFeatures().fit_transform(rgb)
    assert pix.dtype == np.float32 and pix.shape == (3, 768) and 0 <= pix.min() <= pix.max() <= 1
    h = HOGFeatures().fit_transform(grey)
    np.testing.assert_array_equal(h, hog_batch(grey))
    c = ColorHistogramFeatures(bins=4).fit_transform(rgb)
    assert c.shape == (3, 64) and np.allclose(c.sum(axis=1), 1)
    assert ColorHistogramFeatures(bins=4).fit_transform(grey).shape == (3, 4)


def test_sift_bovw_fit_transform_deterministic(digits):
    images = digits[0][:300]
    bovw = SiftBoVW(n_words=16, step=2, size=4, seed=3, n_jobs=2)
    hist = bovw.fit_transform(images)
    assert hist.shape == (300, 16) and hist.dtype == np.float32
    np.testing.assert_allclose(hist.sum(axis=1), 1, rtol=1e-6)
    assert bovw.vocabulary_.shape == (16, 128) and bovw.n_descriptors_ > 0
    again = SiftBoVW(n_words=16, step=2, size=4, seed=3, n_jobs=1).fit(images)
    np.testing.assert_array_equal(again.vocabulary_, bovw.vocabulary_)
    np.testing.assert_array_equal(again.transform(images), hist)
    # each histogram counts the fitted k-means' own word choice for the image's descriptors
    assert bovw.kmeans_.n_clusters == 16
    np.testing.assert_array_equal(bovw.vocabulary_, bovw.kmeans_.cluster_centers_)
    for image, row in zip(images, hist, strict=True):
        _, descriptors = dense_sift(image, step=2, size=4)
        assert len(descriptors) > 0
        words = bovw.kmeans_.predict(descriptors)
        want = np.bincount(words, minlength=16) / len(words)
        np.testing.assert_allclose(row, want, rtol=1e-6, atol=0)


def test_sift_bovw_errors():
    with pytest.raises(PixelabError, match="not fitted"):
        SiftBoVW().transform(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(PixelabError, match="fewer than n_words"):
        SiftBoVW(n_words=64, dense=False, n_jobs=1).fit(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(PixelabError, match="n_words"):
        SiftBoVW(n_words=1).fit(np.zeros((2, 28, 28), np.uint8))


@pytest.mark.parametrize(
    ("transformer", "images", "match"),
    [
        (PixelFeatures(), np.zeros((2, 8, 8), np.float64), "uint8"),
        (HOGFeatures(), np.zeros((2, 8, 8, 4), np.uint8), "C = 1 or 3"),
        (HOGFeatures(cell=8), np.zeros((2, 8, 8), np.uint8), "smaller than one HOG block"),
        (HOGFeatures(block_norm="max"), np.zeros((2, 8, 8), np.uint8), "block_norm"),
        (ColorHistogramFeatures(bins=0), np.zeros((2, 8, 8), np.uint8), "bins"),
        (SiftBoVW(), [[1, 2]], "NumPy array"),
    ],
)
def test_transformers_reject_bad_input(transformer, images, match):
    with pytest.raises(PixelabError, match=match):
        transformer.fit(images)


def test_transform_checks_image_shape():
    pix = PixelFeatures().fit(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(PixelabError, match="fitted on images shaped"):
        pix.transform(np.zeros((2, 9, 9), np.uint8))
