"""HOG: equal to scikit-image, invariants, shapes and errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from skimage.feature import hog as sk_hog

from pixelab import PixelabError
from pixelab.features import BLOCK_NORMS, hog, hog_batch, hog_image


def reference(img: np.ndarray, orientations=9, cell=4, block=2, block_norm="L2-Hys"):
    return sk_hog(
        img.astype(np.float64) / 255,
        orientations=orientations,
        pixels_per_cell=(cell, cell),
        cells_per_block=(block, block),
        block_norm=block_norm,
        feature_vector=True,
        channel_axis=-1 if img.ndim == 3 else None,
    )


def random_images(rng, n, shape, rgb):
    imgs = rng.integers(0, 256, (n, *shape, 3) if rgb else (n, *shape)).astype(np.uint8)
    imgs[0] = imgs[0] // 64 * 64  # coarse levels: many 45/90-degree gradients and RGB ties
    if rgb:
        imgs[1] = imgs[1][..., :1]  # grey stored as RGB: every channel ties
    return imgs


@pytest.mark.parametrize("rgb", [False, True])
@pytest.mark.parametrize("shape", [(8, 8), (17, 23), (28, 28)])
@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
def test_hog_batch_matches_skimage(rgb, shape, block_norm):
    # a seed that is the same in every process (hash() of a str changes with PYTHONHASHSEED)
    rng = np.random.default_rng(zlib.crc32(repr((rgb, shape, block_norm)).encode()))
    imgs = random_images(rng, 3, shape, rgb)
    for orientations, cell, block in [(9, 4, 2), (8, 3, 2), (6, 2, 3), (7, 5, 1)]:
        if shape[0] // cell < block or shape[1] // cell < block:
            continue
        kw = dict(orientations=orientations, cell=cell, block=block, block_norm=block_norm)
        got = hog_batch(imgs, **kw)
        want = np.stack([reference(im, **kw) for im in imgs])
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-5
        assert np.abs(hog(imgs[2], **kw) - want[2]).max() <= 1e-5


def test_hog_shape_dtype_and_batch_consistency():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    out = hog_batch(imgs)
    assert out.dtype == np.float32 and out.shape == (5, 6 * 6 * 2 * 2 * 9)
    single = hog(imgs[3])
    assert single.dtype == np.float32 and single.ndim == 1
    np.testing.assert_array_equal(single, out[3])
    np.testing.assert_array_equal(hog_batch(imgs, chunk=2), out)  # chunking changes nothing


def test_hog_constant_image_is_zero():
    assert not hog(np.full((16, 16), 77, np.uint8)).any()


def test_hog_edge_direction_picks_the_bin():
    step = np.zeros((8, 16), np.uint8)  # two cells of 8x8, side by side
    step[:, 8:] = 200  # left-right step: horizontal gradient -> 0-degree bin
    cells = hog(step, cell=8, block=1, orientations=9).reshape(2, 9)
    assert cells[:, 1:].sum() == 0 and cells[:, 0].min() > 0
    cells = hog(step.T, cell=8, block=1, orientations=9).reshape(2, 9)  # vertical gradient
    assert cells.argmax(axis=1).tolist() == [4, 4]  # bin 4 holds 80-100 degrees


def test_hog_ignores_brightness_offset():
    img = np.random.default_rng(1).integers(0, 240, (20, 20, 3), dtype=np.uint8)
    np.testing.assert_array_equal(hog(img), hog(img + 15))


def test_hog_progress_reports_chunks():
    calls = []
    hog_batch(np.zeros((5, 8, 8), np.uint8), chunk=2, progress=lambda *a: calls.append(a))
    assert calls == [("hog", 0, 5), ("hog", 2, 5), ("hog", 4, 5), ("hog", 5, 5)]


@pytest.mark.parametrize(
    ("image", "kwargs", "match"),
    [
        (np.zeros((16, 16), np.float64), {}, "uint8"),
        (np.zeros((16, 16, 4), np.uint8), {}, "C = 1 or 3"),
        (np.zeros((7, 16), np.uint8), {}, "smaller than one HOG block"),
        (np.zeros((16, 16), np.uint8), {"block_norm": "L3"}, "block_norm"),
        (np.zeros((16, 16), np.uint8), {"orientations": 0}, "orientations"),
        (np.zeros((16, 16), np.uint8), {"cell": 2.5}, "cell"),
    ],
)
def test_hog_rejects_bad_input(image, kwargs, match):
    with pytest.raises(PixelabError, match=match):
        hog(image, **kwargs)


def test_hog_batch_rejects_bad_chunk():
    with pytest.raises(PixelabError, match="chunk"):
        hog_batch(np.zeros((2, 8, 8), np.uint8), chunk=0)


def test_hog_image():
    img = np.zeros((24, 24, 3), np.uint8)
    img[:, 12:] = 255
    picture = hog_image(img, cell=8)
    assert picture.shape == (24, 24) and picture.dtype.kind == "f"
    assert picture.max() > 0 and picture.min() >= 0
    assert not hog_image(np.zeros((24, 24), np.uint8), cell=8).any()
    with pytest.raises(PixelabError, match="smaller than one HOG block"):
        hog_image(np.zeros((4, 4), np.uint8), cell=8)
