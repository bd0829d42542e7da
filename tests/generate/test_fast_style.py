"""The fast style network (Johnson et al.): any size in and out, a training whose losses fall
and that resumes exactly after Ctrl-C, and the ``style train`` / ``style apply`` verbs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pixelab import PixelabError
from pixelab.generate.fast_style import (
    FastStyleConfig,
    StyleNet,
    apply_style_net,
    build,
    fit_style_net,
    random_crops,
)
from pixelab.models.vgg16 import vgg16_features
from tests.cli.test_cli import cli


@pytest.fixture(scope="module")
def vgg():
    return vgg16_features()


def _pictures(n: int, side: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        base = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
        out.append(np.asarray(Image.fromarray(base).resize((side + 8, side), Image.BILINEAR)))
    return out


def _painting() -> torch.Tensor:
    x = torch.zeros(1, 3, 32, 32)
    x[:, 2, ::4] = 1  # blue stripes on black
    x[:, 0, :, ::8] = 0.8
    return x


@pytest.mark.parametrize("shape", [(1, 3, 30, 45), (2, 3, 16, 16), (1, 3, 5, 7), (1, 3, 2, 3)])
def test_the_network_returns_images_of_the_size_it_was_given(shape):
    net = StyleNet(width=4, blocks=1).eval()
    out = apply_style_net(net, torch.rand(shape))
    assert out.shape == shape and out.min() >= 0 and out.max() <= 1
    with pytest.raises(PixelabError, match="RGB images"):
        apply_style_net(net, torch.rand(1, 1, 8, 8))


def test_random_crops_are_seeded_and_inside_the_pictures():
    pics = _pictures(3)
    a = random_crops(pics, 5, 32, np.random.default_rng(1))
    b = random_crops(pics, 5, 32, np.random.default_rng(1))
    assert a.shape == (5, 3, 32, 32) and torch.equal(a, b)
    assert not torch.equal(a, random_crops(pics, 5, 32, np.random.default_rng(2)))


CFG = FastStyleConfig(width=4, blocks=1, steps=6, batch=2, crop=32, style_size=32,
                      checkpoint_every=2, style_weight=20.0)  # fmt: skip


def test_training_lowers_the_style_loss(vgg):
    cfg = CFG.replace(steps=30, checkpoint_every=10, lr=1e-2)
    net = build(cfg)
    res = fit_style_net(net, vgg, _pictures(4), _painting(), cfg)
    assert res.finished and res.steps_done == 30 and len(res.history) == 3
    assert res.history[-1]["style"] < 0.7 * res.history[0]["style"]


def test_an_interrupted_training_resumes_exactly(vgg, tmp_path):
    pics, painting = _pictures(4), _painting()
    whole = build(CFG)
    fit_style_net(whole, vgg, pics, painting, CFG, checkpoint_dir=tmp_path / "a")

    def stop_at_step_3(task, done, total):
        if done == 3:
            raise KeyboardInterrupt

    cut = build(CFG)
    res = fit_style_net(cut, vgg, pics, painting, CFG, checkpoint_dir=tmp_path / "b",
                        progress=stop_at_step_3)  # fmt: skip
    assert not res.finished and res.steps_done == 3 and len(res.history) == 1
    again = build(CFG)  # a fresh process: the weights come from the checkpoint
    res = fit_style_net(again, vgg, pics, painting, CFG, checkpoint_dir=tmp_path / "b", resume=True)
    assert res.finished and [h["step"] for h in res.history] == [2, 4, 6]
    for (k, v), w in zip(whole.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    with pytest.raises(PixelabError, match="changed: lr"):
        fit_style_net(build(CFG), vgg, pics, painting, CFG.replace(lr=0.5),
                      checkpoint_dir=tmp_path / "b", resume=True)  # fmt: skip


def test_train_then_apply_from_the_command_line(capsys, tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for i, pic in enumerate(_pictures(7, side=40)):
        Image.fromarray(pic).save(photos / ("sub" if i % 2 else ".") / f"p{i}.png")
    Image.fromarray(_pictures(1, 40)[0][..., 0]).save(photos / "grey.png")  # grey: copied to RGB
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    run = tmp_path / "net"
    args = ["style", "train", "--style", "starry_night", "--data", str(photos), "--steps", "4",
            "--crop", "32", "--width", "4", "--blocks", "1", "--out", str(run)]  # fmt: skip
    code, stdout, err = cli(capsys, *args, "--json")
    assert code == 0, err
    m = json.loads(stdout)
    assert m["steps"] == 4 and m["n_pictures"] == 6 and len(m["held_out"]) == 2
    assert any("broken.jpg" in n for n in m["notes"]) and m["ms_per_256px_image"] > 0
    assert (run / "figures" / "examples.png").is_file() and not (run / "training").exists()
    code, _, err = cli(capsys, *args, "--resume")
    assert code == 2 and "finished run" in err
    out = tmp_path / "applied"
    code, stdout, err = cli(capsys, "style", "apply", str(run), str(photos / "sub"), "chelsea",
                            "--size", "64", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    a = json.loads(stdout)
    assert [r["size"] for r in a["images"]] == [[64, 53]] * 3 + [[64, 43]]  # chelsea: 451x300
    assert all((out / r["file"]).is_file() for r in a["images"]) and a["style"] == "starry_night"
    # a style network is no classifier, and a style transfer run no style network
    code, _, err = cli(capsys, "predict", str(run), "chelsea")
    assert code == 2 and "'style-net' run" in err
    code, _, err = cli(capsys, "style", "apply", str(out), "chelsea", "--out", str(tmp_path / "x"))
    assert code == 2 and "'style-apply' run, not a 'style-net' run" in err


def test_bad_style_network_input_is_one_clear_line(capsys, tmp_path):
    out = tmp_path / "bad"
    base = ["style", "train", "--style", "starry_night", "--out", str(out), "--steps", "1"]
    for args, msg in [(["--data", str(tmp_path / "none")], "neither 'photos' nor a folder"),
                      (["--crop", "8"], "--crop must be"), (["--width", "0"], "--width must be"),
                      (["--style-layers", "conv9_1"], "no layer 'conv9_1'"),
                      (["--budget-min", "0"], "--budget-min must be"),
                      (["--data", str(tmp_path)], "no usable picture")]:  # fmt: skip
        code, _, err = cli(capsys, *base, *args)
        assert code == 2 and msg in err and not out.exists(), (args, err)
    code, _, err = cli(capsys, "style", "train", "--style", "starry_night", "--resume")
    assert code == 2 and "--resume needs --out" in err
    code, _, err = cli(capsys, "style", "apply", str(tmp_path), "chelsea", "--out", str(out))
    assert code == 2 and "not a pixelab run folder" in err and not out.exists()
