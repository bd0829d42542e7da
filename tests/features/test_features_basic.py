"""Colour histograms, Canny edges, Harris corners."""

from __future__ import annotations

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.features import color_histogram, corners, edges


def test_color_histogram_shapes_and_sum():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    h = color_histogram(rgb, bins=4)
    assert h.shape == (64,) and h.dtype == np.float32
    assert h.sum() == pytest.approx(1.0)
    grey = color_histogram(rgb[..., 0], bins=16)
    assert grey.shape == (16,) and grey.sum() == pytest.approx(1.0)


def test_color_histogram_known_answer():
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = (255, 255, 255)  # one white pixel in the last box
    h = color_histogram(img, bins=2)
    assert h.tolist() == [0.75, 0, 0, 0, 0, 0, 0, 0.25]
    assert color_histogram(np.array([[0, 127], [128, 255]], np.uint8), bins=2).tolist() == [
        0.5,
        0.5,
    ]


def test_color_histogram_rejects_bad_bins():
    with pytest.raises(PixelabError, match="bins"):
        color_histogram(np.zeros((4, 4), np.uint8), bins=300)


def test_edges():
    img = np.zeros((32, 32, 3), np.uint8)
    img[8:24, 8:24] = 255
    e = edges(img)
    assert e.dtype == bool and e.shape == (32, 32)
    assert e[8:24, 7:9].any() and not e[14:18, 14:18].any()  # the border, not the inside
    assert not edges(np.full((32, 32), 90, np.uint8)).any()
    with pytest.raises(PixelabError, match="sigma"):
        edges(img, sigma=-1)


def test_corners_of_a_square():
    img = np.zeros((40, 40), np.uint8)
    img[10:30, 10:30] = 255
    coords, response = corners(img)
    assert coords.dtype == np.int64 and coords.shape == (4, 2)
    assert response.shape == (40, 40) and response.dtype == np.float64
    expected = np.array([[10, 10], [10, 29], [29, 10], [29, 29]])
    dist = np.abs(np.sort(coords, axis=0) - np.sort(expected, axis=0))
    assert dist.max() <= 1
    flat, _ = corners(np.zeros((20, 20), np.uint8))
    assert flat.shape == (0, 2)
    with pytest.raises(PixelabError, match="threshold"):
        corners(img, threshold=2)
    with pytest.raises(PixelabError, match="uint8"):
        corners(img.astype(np.float32))
