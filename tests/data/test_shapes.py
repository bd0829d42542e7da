"""Tests for the synthetic shapes dataset and its challenge knobs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pixelab._core.errors import PixelabError
from pixelab.data.imageset import ImageSet
from pixelab.data.shapes import (
    CHALLENGES,
    DEFAULT_CLASSES,
    KNOBS,
    SHAPES,
    ShapesConfig,
    challenge_examples,
    make_shapes,
    render_shape,
)

CLEAN = dict.fromkeys(KNOBS, 0.0)


def _canonical(name: str, size: int = 32, color: bool = False):
    return render_shape(name, size=size, color=color)


# --------------------------------------------------------------------------- smoke / shape


def test_constants_follow_the_lecture():
    assert CHALLENGES == (
        "viewpoint",
        "deformation",
        "occlusion",
        "illumination",
        "scale",
        "clutter",
        "intra_class",
    )
    assert set(CHALLENGES) < set(KNOBS) and {"position", "noise"} <= set(KNOBS)
    assert len(SHAPES) >= 6 and set(DEFAULT_CLASSES) <= set(SHAPES)


def test_make_shapes_dtypes_shapes_and_metadata():
    ds = make_shapes(n_per_class=3, size=24, seed=0)
    n = 3 * len(DEFAULT_CLASSES)
    assert isinstance(ds, ImageSet) and ds.name == "shapes"
    assert ds.images.dtype == np.uint8 and ds.images.shape == (n, 24, 24, 1)
    assert ds.masks is not None and ds.masks.dtype == bool and ds.masks.shape == (n, 24, 24)
    assert ds.labels.dtype == np.int64 and ds.labels.shape == (n,)
    assert ds.classes == list(DEFAULT_CLASSES)
    assert ds.paths == [f"shapes:{i}" for i in range(n)]
    assert ds.notes and "seed=0" in ds.notes[0]


def test_color_gives_rgb_and_grey_is_the_luminance_of_it():
    grey, _ = render_shape("star", size=32)
    rgb, _ = render_shape("star", size=32, color=True)
    assert rgb.shape == (32, 32, 3) and grey.shape == (32, 32, 1)
    luma = rgb.astype(float) @ [0.299, 0.587, 0.114]
    assert np.abs(luma - grey[..., 0]).max() <= 1.5
    ds = make_shapes(n_per_class=2, size=16, color=True)
    assert ds.images.shape[1:] == (16, 16, 3)


def test_render_shape_every_shape_and_size():
    for name in SHAPES:
        for size in (16, 33, 64):
            image, mask = render_shape(name, size=size, rng=0, **ShapesConfig().severities)
            assert image.shape == (size, size, 1) and image.dtype == np.uint8
            assert mask.shape == (size, size) and mask.dtype == bool


def test_challenge_examples_shape_and_rows():
    grid = challenge_examples("clutter", severities=(0, 0.5, 1), n=2, size=32)
    assert grid.shape == (3, 2, 32, 32, 3) and grid.dtype == np.uint8
    grey = challenge_examples("scale", n=1, size=16, color=False)
    assert grey.shape == (5, 1, 16, 16, 1)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_arrays_different_seed_different():
    a = make_shapes(n_per_class=4, size=16, seed=3)
    b = make_shapes(n_per_class=4, size=16, seed=3)
    c = make_shapes(n_per_class=4, size=16, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_config_and_overrides_agree_and_round_trip():
    cfg = ShapesConfig(size=16, n_per_class=2, clutter=0.0, seed=5)
    a = make_shapes(cfg, occlusion=0.5)
    b = make_shapes(cfg.replace(occlusion=0.5))
    np.testing.assert_array_equal(a.images, b.images)
    assert ShapesConfig.from_dict(cfg.to_dict()) == cfg
    assert ShapesConfig(classes=["star", "cross"]).classes == ("star", "cross")


def test_labels_are_balanced_and_interleaved():
    ds = make_shapes(n_per_class=7, size=16, classes=SHAPES, seed=0)
    assert ds.class_counts() == dict.fromkeys(SHAPES, 7)
    assert not np.array_equal(ds.labels, np.sort(ds.labels))  # shuffled


def test_progress_reports_to_the_total():
    calls = []
    ds = make_shapes(n_per_class=5, size=16, progress=lambda *a: calls.append(a))
    assert calls[0] == ("shapes", 0, len(ds)) and calls[-1] == ("shapes", len(ds), len(ds))
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)


# --------------------------------------------------------------------------- known answers


def test_canonical_ignores_the_random_generator():
    for name in SHAPES:
        a, ma = render_shape(name, rng=1)
        b, mb = render_shape(name, rng=np.random.default_rng(99))
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ma, mb)


@pytest.mark.parametrize("knob", KNOBS)
def test_severity_zero_is_the_canonical_image(knob):
    canon, _ = _canonical("star", size=32, color=True)
    grid = challenge_examples(knob, severities=(0, 0.5), n=3, size=32)
    for j in range(3):
        np.testing.assert_array_equal(grid[0, j], canon)
    assert not np.array_equal(grid[1, 0], canon)


@pytest.mark.parametrize("knob", KNOBS)
def test_growing_severity_moves_further_from_canonical(knob):
    # a heart has no rotational symmetry, so every knob (viewpoint too) keeps changing it
    grid = challenge_examples(
        knob, shape="heart", severities=(0, 0.3, 0.65, 1), n=10, size=32, color=False
    )
    dist = np.abs(grid.astype(float) - grid[:1]).mean(axis=(1, 2, 3, 4))
    assert dist[0] == 0
    assert dist[1] < dist[2] < dist[3], dist
    assert dist[3] > 8, dist  # grey levels: clearly visible at full severity


def test_masks_cover_the_object_in_clean_images():
    for name in SHAPES:
        image, mask = _canonical(name)
        fraction = mask.mean()
        assert 0.15 < fraction < 0.7, (name, fraction)
        inside, outside = image[..., 0][mask], image[..., 0][~mask]
        assert inside.min() >= outside.max(), name  # object brighter than the plain background
    ds = make_shapes(n_per_class=3, size=24, **{**CLEAN, "position": 0.5})
    for image, mask in zip(ds.images[..., 0], ds.masks, strict=True):
        assert image[mask].mean() > image[~mask].mean() + 80


def test_occlusion_hides_a_growing_part_of_the_mask():
    canon = _canonical("cross")[1]
    visible = {level: [] for level in (0.25, 0.5, 1.0)}
    for seed in range(8):
        for level in visible:
            mask = render_shape("cross", rng=seed, occlusion=level)[1]
            assert not (mask & ~canon).any()  # occluders only remove object pixels
            visible[level].append(mask.sum() / canon.sum())
    means = [np.mean(v) for v in visible.values()]
    assert 1 > means[0] > means[1] > means[2]
    # hidden fraction is severity * U(0.55, 0.85) up to anti-aliasing
    assert all(0.45 <= v <= 0.8 for v in visible[0.5])
    assert all(0.1 <= v <= 0.5 for v in visible[1.0])


def test_scale_shrinks_objects_down_to_a_few_pixels():
    canon = _canonical("square")[1].sum()
    ratios = np.array(
        [render_shape("square", rng=s, scale=1.0)[1].sum() / canon for s in range(16)]
    )
    assert ratios.max() < 1.3 and ratios.mean() < 0.6
    assert ratios.min() < 0.15  # some squares are a handful of pixels
    assert (ratios > 0).all()


def test_illumination_changes_brightness_and_every_pixel_level():
    canon = _canonical("circle")[0].astype(float)
    lit = [render_shape("circle", rng=s, illumination=1.0)[0].astype(float) for s in range(8)]
    shifts = [image.mean() - canon.mean() for image in lit]
    assert np.mean(np.abs(shifts)) > 12  # grey levels of mean brightness
    assert min(shifts) < -10 and max(shifts) > 10  # both darker and brighter scenes
    assert min(np.abs(image - canon).mean() for image in lit) > 10  # a shadow or gradient


def test_position_moves_the_mask_centre():
    ys, xs = np.nonzero(_canonical("circle")[1])
    centre = np.array([ys.mean(), xs.mean()])
    moves = []
    for s in range(8):
        ys, xs = np.nonzero(render_shape("circle", rng=s, position=1.0)[1])
        moves.append(np.hypot(*(np.array([ys.mean(), xs.mean()]) - centre)))
    assert np.mean(moves) > 3 and max(moves) > 6


def test_noise_has_the_requested_spread():
    canon = _canonical("star")[0].astype(float)
    noisy = render_shape("star", rng=0, noise=0.5)[0].astype(float)
    assert math.isclose((noisy - canon).std(), 0.1 * 255, rel_tol=0.15)


def test_intra_class_makes_instances_differ_from_each_other():
    same = {render_shape("star", rng=s)[0].tobytes() for s in range(6)}
    varied = {render_shape("star", rng=s, intra_class=1.0)[0].tobytes() for s in range(6)}
    assert len(same) == 1 and len(varied) == 6


# --------------------------------------------------------------------------- learnability


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_clean_shapes_are_learnable_and_heavy_challenges_hurt():
    from sklearn.linear_model import LogisticRegression

    def accuracy(**knobs):
        ds = make_shapes(n_per_class=40, size=16, seed=0, **{**CLEAN, "position": 0.15, **knobs})
        x = ds.images.reshape(len(ds), -1) / 255.0
        clf = LogisticRegression(max_iter=200).fit(x[:120], ds.labels[:120])
        return clf.score(x[120:], ds.labels[120:])

    clean = accuracy()
    hard = accuracy(clutter=1.0, occlusion=1.0)
    assert clean > 0.8  # chance is 1/6
    assert hard < clean - 0.25


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), True, "high"])
def test_severity_outside_unit_interval_is_refused(bad):
    with pytest.raises(PixelabError, match=r"clutter must be a severity in \[0, 1\]"):
        render_shape("star", clutter=bad)
    with pytest.raises(PixelabError, match=r"noise must be a severity in \[0, 1\]"):
        ShapesConfig(noise=bad)
    with pytest.raises(PixelabError, match=r"scale must be a severity in \[0, 1\]"):
        challenge_examples("scale", severities=(0, bad))


def test_unknown_names_are_refused_with_the_valid_ones():
    with pytest.raises(PixelabError, match="unknown shape 'hexagon'") as err:
        render_shape("hexagon")
    assert "circle" in str(err.value)
    with pytest.raises(PixelabError, match="unknown shape"):
        ShapesConfig(classes=("star", "blob"))
    with pytest.raises(PixelabError, match="unknown challenge 'lighting'") as err:
        challenge_examples("lighting")
    assert all(c in str(err.value) for c in CHALLENGES)
    with pytest.raises(PixelabError, match="unknown severity knob"):
        render_shape("star", blur=0.5)
    with pytest.raises(PixelabError, match="unknown ShapesConfig option"):
        make_shapes(n_per_class=1, colour=True)


@pytest.mark.parametrize("size", [15, 0, 8.5, True])
def test_too_small_size_is_refused(size):
    with pytest.raises(PixelabError, match="size must be an integer >= 16"):
        render_shape("star", size=size)
    with pytest.raises(PixelabError, match=r'size"? must be an integer'):
        make_shapes(size=size, n_per_class=1)


def test_other_bad_config_values_are_refused():
    with pytest.raises(PixelabError, match="at least two different shapes"):
        ShapesConfig(classes=("star",))
    with pytest.raises(PixelabError, match="at least two different shapes"):
        ShapesConfig(classes=("star", "star"))
    with pytest.raises(PixelabError, match="n_per_class must be an integer >= 1"):
        ShapesConfig(n_per_class=0)
    with pytest.raises(PixelabError, match="config must be a ShapesConfig"):
        make_shapes({"size": 32})
    with pytest.raises(PixelabError, match="n must be an integer >= 1"):
        challenge_examples("scale", n=0)
