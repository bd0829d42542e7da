"""HOGPixelFeatures ("hog+pixels"): HOG at several cell sizes + raw pixels, by known answer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from pixelab import PixelabError
from pixelab.data.preprocess import resize
from pixelab.features import HOGPixelFeatures, hog_batch, make_features


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)


def test_known_answer_is_hog_of_the_resized_image_then_pixels(images):
    got = HOGPixelFeatures().fit_transform(images)
    big = resize(images, 56, method="bilinear")
    want = np.hstack(
        [
            hog_batch(big, cell=8),
            hog_batch(big, cell=14),
            images.reshape(len(images), -1) / np.float32(255),
        ]
    )
    assert got.dtype == np.float32 and got.shape == (5, 1296 + 324 + 784)
    np.testing.assert_array_equal(got, want)


def test_options_change_the_parts(images):
    f = HOGPixelFeatures(size=28, cells=(4,), orientations=6, block_norm="L1", pixel_size=0)
    np.testing.assert_array_equal(
        f.fit_transform(images), hog_batch(images, cell=4, orientations=6, block_norm="L1")
    )
    seven = HOGPixelFeatures(cells=7, pixel_size=14).fit_transform(images)
    assert seven.shape == (5, 7 * 7 * 36 + 14 * 14)  # 8 x 8 cells of 7 px in 56 px


def test_chunking_changes_nothing_and_reports_progress(images):
    calls = []
    chunked = HOGPixelFeatures(chunk=2, progress=lambda *a: calls.append(a))
    np.testing.assert_array_equal(
        chunked.fit_transform(images), HOGPixelFeatures().fit_transform(images)
    )
    assert calls[0] == ("hog+pixels", 0, 5) and calls[-1] == ("hog+pixels", 5, 5)


def test_any_input_size_and_colour_gives_a_fixed_length():
    rng = np.random.default_rng(1)
    digits = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    photos = rng.integers(0, 256, (2, 100, 70, 3), dtype=np.uint8)
    assert HOGPixelFeatures().fit_transform(digits).shape == (3, 2404)
    assert HOGPixelFeatures().fit_transform(photos).shape == (2, 1296 + 324 + 28 * 28 * 3)


def test_registry_and_clone():
    f = make_features("hog+pixels", cells=(7, 14))
    assert isinstance(f, HOGPixelFeatures) and clone(f).get_params() == f.get_params()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cells": ()}, "one or more cell sizes"),
        ({"cells": (8, 0)}, "cell must be an integer >= 1"),
        ({"cells": (40,)}, "smaller than one HOG block"),
        ({"size": 0}, "size must be an integer >= 1"),
        ({"pixel_size": -1}, "pixel_size must be an integer >= 0"),
        ({"block_norm": "L3"}, "block_norm"),
    ],
)
def test_bad_options_raise(images, kwargs, message):
    with pytest.raises(PixelabError, match=message):
        HOGPixelFeatures(**kwargs).fit(images)


def test_transform_refuses_another_image_size(images):
    f = HOGPixelFeatures().fit(images)
    with pytest.raises(PixelabError, match="fitted on images shaped"):
        f.transform(np.zeros((2, 32, 32, 1), np.uint8))
