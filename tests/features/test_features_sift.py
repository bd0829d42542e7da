"""SIFT: keypoints, dense grid, matching across a rotation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pixelab import PixelabError
from pixelab.features import dense_sift, match_sift, sift


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return data.camera()


def test_sift_finds_keypoints(camera):
    kp, desc = sift(camera)
    assert kp.dtype == np.float32 and desc.dtype == np.float32
    assert kp.shape[1] == 4 and desc.shape == (len(kp), 128)
    assert len(kp) > 50
    assert (kp[:, 0] >= 0).all() and (kp[:, 0] < 512).all() and (kp[:, 2] > 0).all()


def test_sift_rgb_uses_luma_and_n_features_caps(camera):
    kp, _ = sift(camera)
    kp_rgb, _ = sift(np.dstack([camera] * 3))  # equal channels -> the same grey image
    np.testing.assert_array_equal(kp, kp_rgb)
    assert len(sift(camera, n_features=20)[0]) <= 21  # OpenCV may keep ties at the cut


def test_sift_flat_image_gives_empty_arrays():
    kp, desc = sift(np.full((40, 40, 3), 9, np.uint8))
    assert kp.shape == (0, 4) and desc.shape == (0, 128)


def test_dense_sift_grid():
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    kp, desc = dense_sift(img, step=4, size=8)
    assert kp.shape == (36, 4) and desc.shape == (36, 128) and desc.dtype == np.float32
    assert sorted(set(kp[:, 0].tolist())) == [4, 8, 12, 16, 20, 24]
    assert (desc.sum(axis=1) > 0).all()
    kp, _ = dense_sift(np.zeros((6, 20), np.uint8), step=4, size=8)  # narrower than a patch
    assert set(kp[:, 1].tolist()) == {3.0}


def test_match_sift_rotation_is_consistent(camera):
    m = cv2.getRotationMatrix2D((256.0, 256.0), 30, 1.0)
    rotated = cv2.warpAffine(camera, m, (512, 512))
    pts_a, pts_b = match_sift(camera, rotated)
    assert pts_a.shape == pts_b.shape and pts_a.shape[1] == 2 and len(pts_a) > 50
    error = np.linalg.norm(pts_a @ m[:, :2].T + m[:, 2] - pts_b, axis=1)
    assert np.median(error) < 1.0
    assert (error < 3).mean() > 0.8


def test_match_sift_nothing_to_match(camera):
    pts_a, pts_b = match_sift(camera, np.zeros((64, 64), np.uint8))
    assert pts_a.shape == (0, 2) and pts_b.shape == (0, 2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sift(np.zeros((8, 8), np.float32)), "uint8"),
        (lambda: sift(np.zeros((8, 8, 4), np.uint8)), "C = 1 or 3"),
        (lambda: sift(np.zeros((8, 8), np.uint8), n_features=-1), "n_features"),
        (lambda: dense_sift(np.zeros((8, 8), np.uint8), step=0), "step"),
        (
            lambda: match_sift(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), ratio=2),
            "ratio",
        ),
    ],
)
def test_sift_rejects_bad_input(call, match):
    with pytest.raises(PixelabError, match=match):
        call()
