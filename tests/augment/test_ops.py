"""Augmentation ops: identity at 0, replayable, shapes kept, agreement with torchvision."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from pixelab import PixelabError
from pixelab.augment import (
    OPS,
    POLICIES,
    GeneratedSamples,
    augment_images,
    get_op,
    parse_policy,
    to_float,
    to_uint8,
)
from tests.cli.test_cli import cli


@pytest.fixture
def batch():
    return torch.rand(6, 3, 20, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_is_the_identity_at_zero_and_replays_exactly(name, batch):
    op = get_op(name, 0.0)
    out = op.apply(batch, op.sample(np.random.default_rng(0), len(batch)))
    assert torch.allclose(out, batch, atol=1e-5), name
    strong = get_op(name, OPS[name].show_max)
    params = strong.sample(np.random.default_rng(1), len(batch))
    a, b = strong.apply(batch, params), strong.apply(batch, params)
    assert torch.equal(a, b) and a.shape == batch.shape and a.dtype == batch.dtype
    assert a.min() >= 0 and a.max() <= 1
    if name not in ("hue", "saturation", "grayscale"):  # grey: colour ops leave it as it is
        grey = batch[:, :1]
        assert strong.apply(grey, params).shape == grey.shape
    if name != "grayscale":  # at show_max every op visibly changes the batch
        assert not torch.allclose(a, batch, atol=1e-3), name


def test_flip_twice_and_exact_moves(batch):
    flip = get_op("flip", 1.0)
    p = flip.sample(np.random.default_rng(0), len(batch))
    assert torch.equal(flip.apply(flip.apply(batch, p), p), batch)
    square = batch[:, :, :20, :20]
    turned = get_op("rotate", 90).apply(square, {"amount": np.full(len(batch), 90.0)})
    assert any(torch.allclose(turned, torch.rot90(square, k, (2, 3)), atol=1e-5) for k in (1, -1))
    moved = get_op("translate", 0.5).apply(batch, {"dx": np.full(6, 2 / 28), "dy": np.zeros(6)})
    expected = torch.zeros_like(batch)
    expected[..., 2:] = batch[..., :-2]
    assert torch.allclose(moved, expected, atol=1e-5)
    sweep = get_op("translate", 0.5).sample(np.random.default_rng(0), 100, value=0.1)
    assert np.allclose(np.hypot(sweep["dx"], sweep["dy"]), 0.1)  # exactly that far, any way


@pytest.mark.parametrize(("name", "peer"), [
    ("brightness", TF.adjust_brightness), ("contrast", TF.adjust_contrast),
    ("saturation", TF.adjust_saturation), ("gamma", None),
])  # fmt: skip
def test_colour_ops_agree_with_torchvision(name, peer, batch):
    for factor in (0.6, 1.3):
        ours = get_op(name, 0.9).apply(batch, {"amount": np.full(len(batch), factor - 1)})
        theirs = TF.adjust_gamma(batch, factor) if peer is None else peer(batch, factor)
        assert torch.allclose(ours, theirs, atol=1e-5), (name, factor)


def test_blur_and_rotation_agree_with_torchvision(batch):
    ours = get_op("blur", 3).apply(batch, {"amount": np.full(len(batch), 1.5)})
    theirs = TF.gaussian_blur(batch, kernel_size=[11, 11], sigma=[1.5, 1.5])
    assert torch.allclose(ours, theirs, atol=1e-5)
    ours = get_op("rotate", 90).apply(batch, {"amount": np.full(len(batch), 30.0)})
    theirs = TF.rotate(batch, -30, interpolation=TF.InterpolationMode.BILINEAR)
    inner = (slice(None), slice(None), slice(6, 14), slice(10, 18))  # away from the borders
    assert (ours[inner] - theirs[inner]).abs().mean() < 0.02


def test_mixing_ops_blend_labels_with_the_pixels(batch):
    y = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).float()
    for name in ("mixup", "cutmix"):
        op = get_op(name, 1.0)
        p = op.sample(np.random.default_rng(0), len(batch))
        soft = op.mix_labels(y, p, tuple(batch.shape[-2:]))
        assert torch.allclose(soft.sum(1), torch.ones(6)) and (soft >= 0).all()
        assert (soft.max(1).values >= 0.5 - 1e-6).all()  # an image's own class leads
    cut = get_op("cutmix", 1.0)
    p = cut.sample(np.random.default_rng(3), len(batch))
    mixed = cut.apply(batch, p)
    taken = (mixed != batch).any(1).float().mean((1, 2))  # the pasted share of each image
    share = 1 - cut.mix_labels(torch.eye(6), p, (20, 28)).diagonal()
    same = torch.as_tensor(p["perm"]) == torch.arange(6)
    assert torch.allclose(taken[~same], share[~same], atol=1e-6)


def test_policies_parse_and_replay(batch):
    for name in POLICIES:
        assert parse_policy(parse_policy(name).spec) == parse_policy(name)
    pol = parse_policy("rotate:30, erase ,mixup:0.2")
    assert pol.spec == "rotate:30,erase:0.25,mixup:0.2" and pol.mixes
    params = pol.sample(np.random.default_rng(0), len(batch))
    assert torch.equal(pol.apply(batch, params), pol.apply(batch, params))  # two models: same
    for bad, msg in [("spin:3", "unknown augmentation 'spin'"), ("rotate:400", r"\[0, 180\]"),
                     ("rotate:x", "must be a number"), ("flip,flip", "twice"),
                     ("erase:-0.1", "out of range")]:  # fmt: skip
        with pytest.raises(PixelabError, match=msg):
            parse_policy(bad)
    images = to_uint8(batch)
    assert augment_images(images, "strong", seed=1).shape == images.shape
    assert np.array_equal(augment_images(images, "none"), images)
    with pytest.raises(PixelabError, match="uint8 images shaped"):
        to_float(images.astype(np.float32))


def test_generated_samples_swap_in_images_of_the_same_classes(batch):
    def generator(labels, seed):  # a "model" that paints each class its own grey
        return (labels.float() / 2)[:, None, None, None].expand(len(labels), 3, 20, 28)

    gen = GeneratedSamples(generator, 0.5)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    p = gen.sample(np.random.default_rng(0), 6)
    out = gen.apply(batch, p, labels)
    swap = torch.as_tensor(p["swap"])
    assert 0 < swap.sum() < 6
    assert torch.equal(out[~swap], batch[~swap])
    assert torch.allclose(out[swap][:, 0, 0, 0], labels[swap].float() / 2)
    assert torch.equal(GeneratedSamples(generator, 0).apply(batch, {"swap": np.zeros(6, bool),
                                                                    "seed": np.array([0])}), batch)  # fmt: skip
    with pytest.raises(PixelabError, match="shaped"):
        GeneratedSamples(lambda y, s: torch.zeros(len(y), 1, 4, 4), 1.0).apply(
            batch, {"swap": np.ones(6, bool), "seed": np.array([0])}, labels
        )
    with pytest.raises(PixelabError, match=r"\[0, 1\]"):
        GeneratedSamples(generator, 1.5)


def test_augment_show_draws_each_op(capsys, tmp_path):
    out = tmp_path / "aug"
    code, stdout, err = cli(capsys, "augment", "show", "chelsea", "--ops", "rotate,erase,mixup",
                            "--policy", "strong", "--steps", "3", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert [o["name"] for o in m["ops"]] == ["rotate", "erase", "mixup"]
    assert m["ops"][0]["values"] == [0, 45, 90] and m["policy"].startswith("translate:0.1")
    assert {p.name for p in (out / "figures").iterdir()} == {"ops.png", "policy.png"}
    code, _, err = cli(capsys, "augment", "show", "fashion-mnist", "--ops", "blur", "--out",
                       str(tmp_path / "fm"))  # fmt: skip
    assert code == 0, err
    for bad, msg in [(["--ops", "spin"], "unknown augmentation 'spin'"),
                     (["--steps", "1"], "--steps"), (["--policy", "rotate:999"], "out of range")]:  # fmt: skip
        code, _, err = cli(capsys, "augment", "show", "chelsea", *bad, "--out", str(tmp_path / "b"))
        assert code == 2 and msg in err and not (tmp_path / "b").exists()
    code, stdout, _ = cli(capsys, "augment", "list")
    assert code == 0 and "cutmix" in stdout and "strong" in stdout


def test_a_policy_fuses_consecutive_moves_into_one_warp(batch):
    from pixelab.augment import Policy

    there_and_back = Policy((get_op("rotate", 90), get_op("scale", 0.5)))
    params = [{"amount": np.full(6, 90.0)}, {"amount": np.full(6, 0.0)}]
    back = Policy((get_op("rotate", 90), get_op("translate", 0.5), get_op("rotate", 90)))
    p2 = [{"amount": np.full(6, 45.0)}, {"dx": np.zeros(6), "dy": np.zeros(6)},
          {"amount": np.full(6, -45.0)}]  # fmt: skip
    # one warp: turning 45 degrees and back loses no corner (two warps would cut them off)
    assert torch.allclose(back.apply(batch, p2), batch, atol=1e-5)
    one_by_one = batch
    for op, p in zip(back.ops, p2, strict=True):
        one_by_one = op.apply(one_by_one, p)
    assert not torch.allclose(one_by_one, batch, atol=1e-2)
    fused = there_and_back.apply(batch, params)  # fused and sequential agree where both see
    single = get_op("scale", 0.5).apply(get_op("rotate", 90).apply(batch, params[0]), params[1])
    assert torch.allclose(fused, single, atol=1e-5)
    strong = parse_policy("strong")
    p3 = strong.sample(np.random.default_rng(0), 6)
    assert torch.equal(strong.apply(batch, p3), strong.apply(batch, p3))
