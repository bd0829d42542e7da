"""Prompts of several words: a denoiser conditioned on shape, colour, size and position, the
prompt reader that turns "a small red star at the top left" into those four, and how often
each asked-for attribute shows in what comes out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelab import PixelabError
from pixelab.data.shapes import attribute_values
from pixelab.generate.diffusion import DiffusionConfig, build, fit_diffusion, guided_eps
from pixelab.generate.prompt import match_attributes
from tests.cli.test_cli import cli

VALUES = attribute_values()


@pytest.mark.parametrize(
    ("prompt", "named", "unused"),
    [
        ("a small red star at the top left",
         {"shape": "star", "colour": "red", "size": "small", "position": "top left"}, ()),
        ("two big blue hearts in the upper right corner",
         {"shape": "heart", "colour": "blue", "size": "large", "position": "top right"}, ("two",)),
        ("a star, left top", {"shape": "star", "position": "top left"}, ()),
        ("a tiny cross in the middle", {"shape": "cross", "size": "small", "position": "centre"}, ()),
        ("a crimson cirlce", {"shape": "circle", "colour": "red"}, ()),
        ("a green triangle wearing a hat", {"shape": "triangle", "colour": "green"},
         ("wearing", "hat")),
        ("bottom", {"position": "bottom"}, ()),
    ],
)  # fmt: skip
def test_prompts_name_attributes_and_report_the_words_left_unused(prompt, named, unused):
    m = match_attributes(prompt, VALUES)
    assert m.names == named and m.unused == unused
    assert {a for a, v in m.values.items() if v is None} == set(VALUES) - set(named)
    assert all(VALUES[a][m.values[a]] == v for a, v in named.items())
    line = m.describe()
    assert "left to the model" in line if len(named) < 4 else "left to" not in line
    assert ("not used" in line) == bool(unused)


def test_prompts_naming_two_values_of_one_attribute_or_nothing_are_refused():
    for prompt, msg in [("a red blue star", r"two of colour \(red, blue\)"),
                        ("a star at the top and the bottom", "two of position"),
                        ("a banana", "names nothing this model knows"), ("the", "names nothing")]:  # fmt: skip
        with pytest.raises(PixelabError, match=msg) as e:
            match_attributes(prompt, VALUES)
        if "nothing" in msg:
            assert "colour: red" in str(e.value)  # the error lists what the model knows


def test_a_unet_with_attributes_reads_a_class_alone_as_all_attributes_unknown():
    cfg = DiffusionConfig(width=8, steps=50)
    net = build(cfg, 3, 16, 6, (6, 2, 9)).eval()
    torch.nn.init.normal_(net.out[-1].weight, std=0.1)  # a fresh net predicts zeros
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([10, 30])
    full = net.full_labels(torch.tensor([1, 4]))
    assert full.tolist() == [[1, 6, 2, 9], [4, 6, 2, 9]]
    assert torch.equal(net(x, t, torch.tensor([1, 4])), net(x, t, full))
    assert net.null_class(2).tolist() == [[6, 6, 2, 9]] * 2
    other = torch.tensor([[1, 0, 0, 0], [4, 5, 1, 8]])
    assert not torch.allclose(net(x, t, full), net(x, t, other))  # the attributes matter
    with pytest.raises(PixelabError, match="knows the class and 3 attribute"):
        net(x, t, torch.tensor([[1, 0], [4, 0]]))
    # guidance 0 ignores every attribute: the unconditional prediction
    assert torch.equal(guided_eps(net, 0, other)(x, t), net(x, t, None))


def test_a_denoiser_learns_from_labels_of_several_attributes():
    from pixelab.data.shapes import make_attribute_shapes

    ds = make_attribute_shapes(256, size=16, seed=0)
    labels = np.stack([ds.labels, ds.attributes["colour"], ds.attributes["size"],
                       ds.attributes["position"]], 1)  # fmt: skip
    cfg = DiffusionConfig(width=8, steps=100, epochs=3, batch_size=32, average=0)
    net = build(cfg, 3, 16, 6, (6, 2, 9))
    result = fit_diffusion(net, ds.images, labels, cfg)
    losses = [r["loss"] for r in result.history]
    assert result.finished and losses[-1] < losses[0]


def test_diffusion_on_attribute_scenes_answers_prompts_and_measures_them(capsys, tmp_path):
    out = tmp_path / "attributes"
    code, stdout, err = cli(capsys, "diffusion", "train", "--data", "shapes-attributes",
                            "--size", "16", "--limit", "320", "--width", "8", "--batch-size",
                            "32", "--steps", "100", "--eval-samples", "20", "--epochs", "1",
                            "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    honour = m["quality"]["attributes"]
    assert set(honour["honoured"]) == {"shape", "colour", "size", "position", "all"}
    assert all(0 <= v <= 1 for v in honour["honoured"].values()) and honour["samples"] == 20
    assert honour["chance_all"] == pytest.approx(1 / (6 * 6 * 2 * 9), abs=1e-6)
    assert "prompts.png" in {p.name for p in (out / "figures").iterdir()}
    rec = json.loads((out / "diffusion.json").read_text())
    assert rec["attributes"] == VALUES
    code, stdout, err = cli(capsys, "diffusion", "sample", str(out), "--n", "2", "--steps", "3",
                            "--prompt", "a small red star with a hat", "--out",
                            str(tmp_path / "s.png"))  # fmt: skip
    assert code == 0, err
    assert "colour red" in stdout and "left to the model: position" in stdout
    assert "hat" in stdout and "images showing what was asked: shape" in stdout
    from pixelab.apps.diffusion import diffusion_sample

    a = diffusion_sample(out, tmp_path / "a.png", n=2, steps=3, prompt="a big blue heart, top")
    assert a["classes"] == ["large blue heart, top"] * 2
    assert set(a["prompt"]["honoured"]) == {"shape", "colour", "size", "position"}
    for args, msg in [(["--prompt", "a red blue star"], "two of colour"),
                      (["--prompt", "a banana"], "names nothing this model knows")]:  # fmt: skip
        code, _, err = cli(capsys, "diffusion", "sample", str(out), *args)
        assert code == 2 and msg in err, (args, err)
