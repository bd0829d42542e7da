"""Augmentation policies in training: recorded, drawn, exactly resumable, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pixelab import PixelabError
from tests.cli.test_cli import cli
from tests.cli.test_cli_runs import TINY, _colour_folder, _Once, stable

POLICY = "rotate:20,translate:0.1,erase:0.3,mixup:0.4"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _colour_folder(tmp_path_factory.mktemp("data") / "imgs")


@pytest.mark.parametrize("policy", [POLICY, "adversarial:8"])
def test_a_policy_trains_is_recorded_and_resumes_exactly(
    capsys, monkeypatch, folder, tmp_path, policy
):
    import pixelab.train.loop as loop

    args = ["cnn", "train", "--data", str(folder), *TINY, "--augment", policy]
    code, _, err = cli(capsys, *args, "--out", str(tmp_path / "straight"))
    assert code == 0, err
    straight = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    drawn = "figures/augmented.png" in straight["figures"]
    assert straight["augment"] == policy and drawn == (policy == POLICY)
    config = json.loads((tmp_path / "straight" / "config.json").read_text())
    assert config["augment"] == policy
    code, _, err = cli(capsys, *args[:-2], "--augment", "none", "--out", str(tmp_path / "plain"))
    plain = json.loads((tmp_path / "plain" / "metrics.json").read_text())
    assert plain["history"][0]["train_loss"] != straight["history"][0]["train_loss"]
    out = tmp_path / "cut"
    patch = _Once(loop.save_checkpoint, lambda *a, state, **k: state["epoch"] == 0, after=True)
    monkeypatch.setattr(loop, "save_checkpoint", patch)
    assert cli(capsys, *args, "--out", str(out))[0] == 130
    monkeypatch.undo()
    code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume")
    assert code == 0, err
    assert stable(json.loads((out / "metrics.json").read_text())) == stable(straight)


def test_mixing_trains_on_soft_labels():
    from pixelab.data import ImageSet
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit

    rng = np.random.default_rng(0)
    ds = ImageSet(rng.integers(0, 256, (32, 12, 12, 1), dtype=np.uint8), np.arange(32) % 2,
                  ["a", "b"])  # fmt: skip
    model = create_model("small_cnn", num_classes=2, in_channels=1, image_size=12, seed=0)
    result = fit(model, ds, config=TrainConfig(epochs=1, batch_size=16, augment="cutmix:1",
                                               average=0.0))  # fmt: skip
    assert result.augment == "cutmix:1" and np.isfinite(result.history[0]["train_loss"])
    one = ImageSet(ds.images, np.zeros(32, np.int64), ["a"])
    model = create_model("small_cnn", num_classes=1, in_channels=1, image_size=12, seed=0)
    with pytest.raises(PixelabError, match="data has one"):
        fit(model, one, config=TrainConfig(epochs=1, augment="mixup:0.2"))


def test_bad_policies_are_one_line_before_any_work(capsys, folder, tmp_path):
    out = tmp_path / "bad"
    for bad, msg in [("spin:3", "unknown augmentation 'spin'"), ("rotate:500", "out of range"),
                     ("rotate:x", "must be a number"), ("adversarial:100", "(0, 64]")]:  # fmt: skip
        code, _, err = cli(capsys, "cnn", "train", "--data", str(folder), "--augment", bad,
                           "--out", str(out))  # fmt: skip
        assert code == 2 and msg in err and "--augment" in err and not out.exists()
