from __future__ import annotations

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.data import flatten, resize, to_float01, to_gray, to_rgb, to_uint8


def test_to_gray_known_answer_and_shape():
    img = np.zeros((1, 2, 2, 3), np.uint8)
    img[..., 0] = 255  # pure red
    g = to_gray(img)
    assert g.shape == (1, 2, 2, 1) and g.dtype == np.uint8
    assert int(g[0, 0, 0, 0]) == round(0.299 * 255)
    assert to_gray(g) is g  # grey stays as it is


def test_to_rgb_repeats_channel():
    g = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    rgb = to_rgb(g)
    assert rgb.shape == (1, 4, 4, 3) and (rgb[..., 2] == g[..., 0]).all()


@pytest.mark.parametrize("method", ["area", "bilinear", "bicubic", "nearest"])
def test_resize_shapes_and_constant_image(method):
    x = np.full((3, 28, 28, 1), 77, np.uint8)
    y = resize(x, 7, method=method)
    assert y.shape == (3, 7, 7, 1) and y.dtype == np.uint8
    assert (y == 77).all()


def test_area_downsampling_averages_blocks():
    x = np.zeros((1, 4, 4, 1), np.uint8)
    x[0, :2, :2] = 200  # one bright 2x2 block
    y = resize(x, 2, method="area")
    assert y[0, :, :, 0].tolist() == [[200, 0], [0, 0]]


def test_resize_rejects_unknown_method_and_float_input():
    with pytest.raises(PixelabError, match="unknown resize method"):
        resize(np.zeros((1, 4, 4, 1), np.uint8), 2, method="magic")
    with pytest.raises(PixelabError, match="dtype uint8"):
        resize(np.zeros((1, 4, 4, 1), np.float32), 2)


def test_flatten_is_row_major():
    x = np.arange(6, dtype=np.uint8).reshape(1, 2, 3, 1)
    assert flatten(x).tolist() == [[0, 1, 2, 3, 4, 5]]


def test_float_round_trip_and_range_errors():
    x = np.array([[0, 128, 255]], np.uint8)
    f = to_float01(x)
    assert f.dtype == np.float32 and f.max() == 1.0
    assert (to_uint8(f) == x).all()
    with pytest.raises(PixelabError, match=r"\[0, 1\]"):
        to_uint8(np.array([0.0, 2.0]))
    with pytest.raises(PixelabError, match="uint8"):
        to_float01(np.array([1.0]))


def test_wrong_shapes_are_explained():
    with pytest.raises(PixelabError, match=r"C = 1 or 3"):
        to_gray(np.zeros((1, 4, 4, 4), np.uint8))
