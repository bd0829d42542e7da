"""Invariance sweeps: the same corruptions for every model, clear limits, Ctrl-C keeps work."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelab import PixelabError
from pixelab.robust import FACTORS, corrupt, sweep
from tests.cli.test_cli import cli


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    out = tmp_path_factory.mktemp("run") / "shapes"
    train_cnn(CNNConfig(data="shapes", size=24, limit=600, epochs=4, seed=0), out)
    return out


def test_corruptions_depend_on_the_seed_only_and_the_neutral_amount_changes_nothing():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    for name, f in FACTORS.items():
        a = f.amounts[-1]
        assert torch.equal(corrupt(images, name, a, seed=1), corrupt(images, name, a, seed=1))
        assert torch.allclose(corrupt(images, name, f.neutral), x, atol=1e-5), name
    # another seed, other changes
    whole = corrupt(images, "occlude", 0.3, seed=2)
    assert not torch.equal(whole, corrupt(images, "occlude", 0.3, seed=3))
    with pytest.raises(PixelabError, match="more than these 16-pixel images can take"):
        corrupt(images, "translate", 9)
    with pytest.raises(PixelabError, match="unknown sweep factor 'spin'"):
        corrupt(images, "spin", 1)


def test_a_sweep_measures_accuracy_and_confidence_per_amount():
    images = np.zeros((20, 12, 12, 1), np.uint8)
    images[:10, :, :6] = 255  # class 0: bright on the left; class 1: bright on the right
    images[10:, :, 6:] = 255
    labels = np.repeat([0, 1], 10)

    def predict(x):  # a perfect "model" of left against right, that knows nothing of turns
        left = x[..., :6].mean((1, 2, 3))
        right = x[..., 6:].mean((1, 2, 3))
        p = torch.sigmoid((right - left) * 20)
        return torch.stack([1 - p, p], 1).numpy()

    rows = sweep(predict, images, labels, "rotate", amounts=(0, 90, 180), batch_size=7)
    assert [r["amount"] for r in rows] == [0, 90, 180]
    assert rows[0]["accuracy"] == 1.0 and rows[2]["accuracy"] == 0.0  # 180 degrees: swapped
    assert 0.5 <= rows[0]["confidence"] <= 1.0


def test_robust_sweep_on_a_run_keeps_finished_factors_after_ctrl_c(capsys, monkeypatch, shapes_run,
                                                                    tmp_path):  # fmt: skip
    import pixelab.robust as robust_pkg

    out = tmp_path / "sweep"
    args = ["robust", "sweep", str(shapes_run), "--data", "shapes", "--limit", "120",
            "--factors", "translate,rotate,scale", "--out", str(out)]  # fmt: skip
    real = robust_pkg.sweep
    calls = []

    def flaky(*a, **k):
        calls.append(a[3])
        if a[3] == "scale":
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(robust_pkg, "sweep", flaky)
    code, _, err = cli(capsys, *args)
    assert code == 130 and "finished factors kept: rotate, translate" in err
    assert not (out / "metrics.json").exists() and (out / "partial.json").is_file()
    monkeypatch.setattr(robust_pkg, "sweep", lambda *a, **k: (calls.append(a[3]), real(*a, **k))[1])
    code, stdout, err = cli(capsys, *args, "--json")
    assert code == 0, err
    m = json.loads(stdout)
    assert calls[-1] == "scale" and calls.count("translate") == 1  # only the missing factor
    assert m["reused_factors"] == ["rotate", "translate"] and not (out / "partial.json").exists()
    assert set(m["factors"]) == {"translate", "rotate", "scale"}
    rot = {r["amount"]: r["accuracy"] for r in m["factors"]["rotate"]["rows"]}
    assert rot[0] == m["clean_accuracy"] > m["chance"]
    assert "moved 4 pixels" in m["summary"] and (out / "figures" / "sweep.png").is_file()


def test_robust_sweep_bad_inputs(capsys, shapes_run, tmp_path):
    out = tmp_path / "bad"
    for extra, msg in [(["--factors", "spin"], "unknown sweep factor 'spin'"),
                       (["--factors", ""], "--factors is empty"), (["--limit", "0"], "--limit"),
                       (["--data", "digits"], "classes")]:  # fmt: skip
        data = [] if "--data" in extra else ["--data", "shapes"]
        code, _, err = cli(capsys, "robust", "sweep", str(shapes_run), *data, *extra, "--out",
                           str(out))  # fmt: skip
        assert code == 2 and msg in err, (extra, err)
        assert not out.exists()
    code, _, err = cli(capsys, "robust", "sweep", str(tmp_path), "--data", "shapes")
    assert code == 2 and "not a pixelab run folder" in err


def test_on_shapes_rotation_augmentation_buys_rotation_invariance():
    """Without turns in training a 45-degree turn costs far more than it does with them."""
    from pixelab.data import load
    from pixelab.data.split import split
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit

    ds = load("shapes", size=32)
    train, test = split(ds, test_size=0.3, seed=0)
    test = test.subset(np.arange(400))
    loss = {}
    for augment in ("none", "rotate:180"):
        model = create_model("small_cnn", num_classes=6, in_channels=1, image_size=32, seed=0)
        fit(model, train, config=TrainConfig(epochs=5, augment=augment, seed=0))
        model.eval()

        def predict(x, model=model):
            with torch.no_grad():
                return torch.softmax(model(x), 1).numpy()

        rows = sweep(predict, test.images, test.labels, "rotate", amounts=(0, 45))
        loss[augment] = rows[0]["accuracy"] - rows[1]["accuracy"]
    assert loss["none"] > 0.2 and loss["rotate:180"] < loss["none"] / 3, loss


def test_change_is_the_sweeps_change_with_its_random_choices_given():
    """The studio's sliders: several factors at once at chosen amounts and places; one factor
    alone is corrupt's change, and the neutral amounts change nothing."""
    from pixelab.augment import to_float
    from pixelab.robust import change

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert torch.equal(change(images), to_float(images))
    for kw, (factor, amount) in [({"rotate": 30}, ("rotate", 30)), ({"scale": 0.75}, ("scale", 0.75)),
                                 ({"brightness": 0.5}, ("brightness", 0.5))]:  # fmt: skip
        assert torch.equal(change(images, **kw), corrupt(images, factor, amount)), kw
    # a shift: corrupt draws the way it goes from its seed, change is told
    moved = [corrupt(images[:1], "translate", 4, seed=s) for s in range(8)]
    assert any(torch.equal(change(images[:1], shift=(4, 0)), m) for m in moved)
    right = change(images, shift=(4, 0))
    assert torch.allclose(right[..., 4:], to_float(images)[..., :-4], atol=1e-5)
    assert (right[..., :4] == 0).all()  # what comes in from outside is black
    # a grey square of a quarter of the area in the top left corner, nothing else touched
    covered = change(images, occlude=0.25, occlude_at=(0.25, 0.25))
    assert (covered[..., :8, :8] == 0.5).all()
    assert torch.equal(covered[..., 8:, :], to_float(images)[..., 8:, :])
    both = change(images, rotate=30, shift=(2, -2), scale=1.2, brightness=0.4, occlude=0.1)
    assert both.shape == (3, 3, 16, 16) and both.min() >= 0 and both.max() <= 1
    with pytest.raises(PixelabError, match="more than these 16-pixel images can take"):
        change(images, shift=(9, 0))
    with pytest.raises(PixelabError, match="rotate 200"):
        change(images, rotate=200)
    with pytest.raises(PixelabError, match="occlude_at"):
        change(images, occlude=0.1, occlude_at=(1.5, 0))
