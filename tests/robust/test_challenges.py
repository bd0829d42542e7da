"""The challenge suite: every family grows with severity, the same images for every model,
corruption errors against a baseline, finished families kept through Ctrl-C."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelab import PixelabError
from pixelab.robust import FAMILIES, corrupt_family, corruption_errors
from tests.cli.test_cli import cli
from tests.robust.test_sweep import shapes_run  # noqa: F401  (a shared fixture)


def test_every_family_is_replayable_and_harsher_with_severity():
    rng = np.random.default_rng(0)
    images = (rng.random((8, 20, 20, 3)) * 80 + 120).astype(np.uint8)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    for family in FAMILIES:
        change = []
        for s in (1, 3, 5):
            a = corrupt_family(images, family, s, seed=4)
            assert torch.equal(a, corrupt_family(images, family, s, seed=4)), family
            assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
            change.append(float((a - x).abs().mean()))
        assert change[0] < change[1] < change[2], (family, change)
    with pytest.raises(PixelabError, match="unknown challenge 'fog'"):
        corrupt_family(images, "fog", 1)
    with pytest.raises(PixelabError, match="severity must be one of 1-5"):
        corrupt_family(images, "blur", 6)


def test_corruption_errors_are_error_ratios():
    model = {"blur": {"accuracy": [0.9, 0.8]}, "noise": {"accuracy": [0.5, 0.5]}}
    base = {"blur": {"accuracy": [0.8, 0.6]}, "noise": {"accuracy": [0.5, 0.5]}}
    out = corruption_errors(model, base)
    assert out["ce"] == {"blur": 0.5, "noise": 1.0} and out["mce"] == 0.75


def test_robust_challenges_against_a_baseline_and_after_ctrl_c(capsys, monkeypatch, shapes_run,  # noqa: F811
                                                                tmp_path):  # fmt: skip
    import pixelab.robust.challenges as ch

    out = tmp_path / "suite"
    args = ["robust", "challenges", str(shapes_run), "--data", "shapes", "--limit", "60",
            "--families", "viewpoint,blur,clutter,intra-class", "--baseline", str(shapes_run),
            "--out", str(out)]  # fmt: skip
    real = ch.corrupt_family

    def stop_at_clutter(images, family, *a, **k):
        if family == "clutter":
            raise KeyboardInterrupt
        return real(images, family, *a, **k)

    monkeypatch.setattr(ch, "corrupt_family", stop_at_clutter)
    code, _, err = cli(capsys, *args)
    assert code == 130 and "finished families kept: blur, viewpoint" in err
    assert (out / "partial.json").is_file() and not (out / "metrics.json").exists()
    monkeypatch.undo()
    code, stdout, err = cli(capsys, *args, "--json")
    assert code == 0, err
    m = json.loads(stdout)
    assert list(m["families"]) == ["viewpoint", "blur", "clutter", "intra-class"]
    assert m["held_out"] and m["n_images"] == 60  # the run's own test split, not its training
    assert m["baseline"]["same_images"] and m["baseline"]["mce"] == 1.0  # itself as baseline
    assert all(len(f["accuracy"]) == 5 for f in m["families"].values())
    assert m["not_applicable"] == {}  # on shapes, intra-class variation is measured
    intra = m["families"]["intra-class"]
    assert (
        intra["levels"][0] > 0.4
        and intra["fingerprint"] == (m["baseline"]["families"]["intra-class"]["fingerprint"])
    )
    assert (out / "figures" / "challenges.png").is_file() and not (out / "partial.json").exists()


def test_a_baseline_on_other_classes_is_refused(capsys, shapes_run, tmp_path):  # noqa: F811
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    other = tmp_path / "digits"
    train_cnn(CNNConfig(data="digits", epochs=1, limit=200, seed=0), other)
    out = tmp_path / "bad"
    code, _, err = cli(capsys, "robust", "challenges", str(shapes_run), "--data", "shapes",
                       "--baseline", str(other), "--out", str(out))  # fmt: skip
    assert code == 2 and "corruption errors compare models of the same classes" in err
    assert not out.exists()
    code, _, err = cli(capsys, "robust", "challenges", str(shapes_run), "--data", "shapes",
                       "--families", "fog", "--out", str(out))  # fmt: skip
    assert code == 2 and "unknown challenge 'fog'" in err and not out.exists()
    code, _, err = cli(capsys, "robust", "challenges", str(other), "--data", "digits",
                       "--families", "intra-class", "--out", str(out))  # fmt: skip
    assert code == 2 and "on --data shapes only" in err and not out.exists()


def test_occlusion_covers_the_share_with_patches_and_fences():
    from pixelab.robust.challenges import _fence

    x = torch.zeros(40, 1, 32, 32)
    for share in (0.1, 0.4):  # a fence of bars covers the asked share, upright or lying
        fenced = _fence(x, np.full(40, share), np.random.default_rng(0))
        covered = (fenced != 0).float().mean((1, 2, 3))
        assert torch.allclose(covered, torch.full((40,), share), atol=0.07), covered
    images = np.zeros((40, 32, 32, 1), np.uint8)
    occluded = corrupt_family(images, "occlusion", 5, seed=1)
    shares = (occluded != 0).float().mean((1, 2, 3))
    assert 0.25 < float(shares.mean()) < 0.45  # patches and fences, about 40 % each
    rows = (occluded[:, 0] != 0).float().mean(2)  # a fence leaves whole rows or columns alike
    assert int(((rows == 0) | (rows == 1)).all(1).sum()) > 5


def test_clutter_goes_behind_the_object_where_its_mask_is_known():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    masks = np.zeros((6, 16, 16), bool)
    masks[:, 4:12, 4:12] = True
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    behind = corrupt_family(images, "clutter", 5, seed=0, masks=masks)
    inside = torch.from_numpy(masks)[:, None].expand_as(x)
    assert torch.equal(behind[inside], x[inside])  # the object stays whole
    assert (behind[~inside] - x[~inside]).abs().mean() > 0.1  # its background is another scene
    over = corrupt_family(images, "clutter", 5, seed=0)  # no mask: blended over everything
    assert (over[inside] - x[inside]).abs().mean() > 0.05
    with pytest.raises(PixelabError, match="masks must be shaped"):
        corrupt_family(images, "clutter", 1, masks=masks[:, :8])


def test_illumination_flattens_contrast_shifts_gamma_and_dims():
    ramp = np.tile(np.linspace(40, 215, 16, dtype=np.float32), (16, 1)).astype(np.uint8)
    images = np.repeat(ramp[None, :, :, None], 32, axis=0)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    for s, light in ((1, 0.85), (5, 0.3)):
        lit = corrupt_family(images, "illumination", s, seed=2)
        assert float(lit.mean()) < light * float(x.mean()) * 1.2  # dimmer, about by ``light``
        spread = (lit.std((2, 3)) / lit.mean((2, 3))).mean()  # contrast relative to brightness
        assert s == 1 or float(spread) < float((x.std((2, 3)) / x.mean((2, 3))).mean())
    # each image its own gamma (one way or the other) and shadow side: they do not all move alike
    mid = corrupt_family(images, "illumination", 3, seed=2)[:, 0, 8, 8]
    assert float(mid.std()) > 0.005
