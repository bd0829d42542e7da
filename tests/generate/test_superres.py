"""Super-resolution: networks that enlarge by 2, 3 or 4 starting from bicubic, a training that
resumes exactly, tile-by-tile enlargement equal to one pass, the literature's measures (PSNR
and SSIM on Y with the border cropped), and the ``superres`` verbs with their bad inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from pixelab import PixelabError
from pixelab.generate.superres import (
    ESPCN,
    SRConfig,
    SRResNet,
    build,
    check_scale,
    downscale,
    fit_superres,
    luma,
    psnr_y,
    ssim_y,
    upscale_bicubic,
    upscale_tiled,
)
from tests.cli.test_cli import cli
from tests.models.test_tfjs import fake_esrgan_slim


def _pictures(n: int, side: int = 48, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.integers(0, 256, (side // 6, side // 6, 3), dtype=np.uint8)
        out.append(np.asarray(Image.fromarray(base).resize((side + 12, side), Image.BICUBIC)))
    return out


def _shake(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights everywhere (a fresh network is exactly bicubic)."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return model.eval()


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("kind", [ESPCN, SRResNet])
def test_output_is_scale_times_the_input_and_starts_as_bicubic(kind, scale):
    net = kind(scale, 8) if kind is ESPCN else kind(scale, 8, 2)
    x = torch.rand(2, 3, 7, 10)
    with torch.no_grad():
        out = net(x)
    assert out.shape == (2, 3, 7 * scale, 10 * scale)
    assert torch.allclose(out, upscale_bicubic(x, scale))  # the detail branch starts at zero


def test_an_unsupported_scale_is_refused():
    for bad in (1, 5, 2.5, True):
        with pytest.raises(PixelabError, match="unsupported --scale"):
            check_scale(bad)
    with pytest.raises(PixelabError, match="unknown super-resolution --model"):
        SRConfig(model="srcnn").check()


def test_luma_psnr_and_ssim_follow_the_literature():
    white, black = np.full((1, 1, 3), 255, np.uint8), np.zeros((1, 1, 3), np.uint8)
    assert luma(white)[0, 0] == pytest.approx(235.0) and luma(black)[0, 0] == pytest.approx(16.0)
    a = np.random.default_rng(0).integers(0, 250, (20, 24, 3), dtype=np.uint8)
    assert psnr_y(a, a) == math.inf and ssim_y(a, a) == pytest.approx(1.0)
    b = a.copy()
    b[..., 1] += 4  # green +4: Y moves by 4 * 128.553 / 255 everywhere
    assert psnr_y(b, a) == pytest.approx(10 * math.log10(255**2 / (4 * 128.553 / 255) ** 2))
    c = a.copy()
    c[:2] = 0  # damage only the top rows: a border of 2 hides it
    assert psnr_y(c, a) < 40 and psnr_y(c, a, border=2) == math.inf
    with pytest.raises(PixelabError, match="different sizes"):
        psnr_y(a, a[:10])
    with pytest.raises(PixelabError, match="nothing left inside a border"):
        ssim_y(a, a, border=10)


@pytest.mark.parametrize("kind", ["espcn", "srresnet"])
def test_tile_by_tile_equals_one_pass(kind):
    net = _shake(build(SRConfig(model=kind, scale=2, width=8, blocks=2)))
    x = torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(1))
    calls = []
    tiled = upscale_tiled(net, x, tile=16, progress=lambda t, d, n: calls.append((d, n)))
    with torch.no_grad():
        whole = net(x).clamp(0, 1)
    assert tiled.shape == (1, 3, 74, 100)
    assert torch.allclose(tiled, whole, atol=1e-5)
    assert calls[-1] == (12, 12)  # 3 x 4 tiles, each reported


CFG = SRConfig(model="espcn", scale=2, width=8, steps=6, batch=4, patch=8, checkpoint_every=2)


def test_training_lowers_the_error_and_resumes_exactly(tmp_path):
    pics = _pictures(3)
    res = fit_superres(build(CFG.replace(steps=40, checkpoint_every=10, lr=3e-3)), pics,
                       CFG.replace(steps=40, checkpoint_every=10, lr=3e-3))  # fmt: skip
    assert res.finished and res.history[-1]["l1"] < res.history[0]["l1"]
    whole = build(CFG)
    fit_superres(whole, pics, CFG, checkpoint_dir=tmp_path / "a")

    def stop(task, done, total):
        if done == 3:
            raise KeyboardInterrupt

    res = fit_superres(build(CFG), pics, CFG, checkpoint_dir=tmp_path / "b", progress=stop)
    assert not res.finished and res.steps_done == 3
    again = build(CFG)
    res = fit_superres(again, pics, CFG, checkpoint_dir=tmp_path / "b", resume=True)
    assert res.finished and [h["step"] for h in res.history] == [2, 4, 6]
    for (k, v), w in zip(whole.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    with pytest.raises(PixelabError, match="smaller than a 64-px patch"):
        fit_superres(build(CFG), pics, CFG.replace(patch=32))


def test_downscale_then_bicubic_is_close_on_smooth_images():
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 6), size=(48, 48), mode="bicubic",
                                        align_corners=False).clamp(0, 1)  # fmt: skip
    small = downscale(x, 2)
    assert small.shape == (1, 3, 24, 24) and small.min() >= 0 and small.max() <= 1
    assert (upscale_bicubic(small, 2) - x).abs().mean() < 0.02


def test_train_apply_and_eval_from_the_command_line(capsys, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, pic in enumerate(_pictures(10, side=40)):
        Image.fromarray(pic).save(photos / f"p{i}.png")
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(photos / "tiny.png")  # below a patch
    runs = []
    for model in ("espcn", "srresnet"):
        run = tmp_path / model
        code, stdout, err = cli(capsys, "superres", "train", "--data", str(photos), "--model",
                                model, "--steps", "3", "--patch", "8", "--width", "8",
                                "--blocks", "1", "--out", str(run), "--json")  # fmt: skip
        assert code == 0, err
        m = json.loads(stdout)
        assert m["steps"] == 3 and m["n_pictures"] == 9 and m["held_out"] == ["p4.png"]
        assert "smaller than a 16-px patch" in m["notes"][0]
        assert m["held_out_scores"]["images"] == 1 and "gain_db" in m["held_out_scores"]
        runs.append(str(run))
    (photos / "tiny.png").unlink()  # too small to measure: refused by eval (tested below)
    out = tmp_path / "eval"
    peer = fake_esrgan_slim(tmp_path / "esrgan-slim.tgz")
    code, stdout, err = cli(capsys, "superres", "eval", *runs, "--data", str(photos), "--out",
                            str(out), "--esrgan-slim", str(peer), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert [r["method"] for r in m["table"]] == ["bicubic", f"espcn ({runs[0]})",
                                                 f"srresnet ({runs[1]})",
                                                 "esrgan-slim (pretrained RDN)"]  # fmt: skip
    assert m["table"][0]["gain_db"] == 0 and m["table"][1]["ms_per_megapixel"] > 0
    assert (out / "figures" / "crops.png").is_file() and len(m["per_image"]["bicubic"]) == 10
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 410, 3), np.uint8)).save(big)
    code, stdout, err = cli(capsys, "superres", "apply", runs[0], str(big), "--tile", "64",
                            "--out", str(tmp_path / "big-x2.png"), "--json")  # fmt: skip
    assert code == 0, err
    a = json.loads(stdout)
    assert a["output"] == [820, 600] and a["tiles"] == 35
    with Image.open(tmp_path / "big-x2.png") as im, Image.open(a["bicubic"]) as bic:
        assert im.size == bic.size == (820, 600)
    code, _, err = cli(capsys, "predict", runs[0], "chelsea")
    assert code == 2 and "'superres' run" in err


def test_bad_superres_input_is_one_clear_line(capsys, tmp_path):
    out = tmp_path / "bad"
    base = ["superres", "train", "--out", str(out), "--steps", "1"]
    for args, msg in [(["--scale", "5"], "unsupported --scale 5"),
                      (["--model", "srgan9"], "unknown super-resolution --model"),
                      (["--patch", "2"], "--patch must be"), (["--budget-min", "-1"], "--budget-min"),
                      (["--data", str(tmp_path / "none")], "neither 'photos' nor a folder"),
                      (["--data", str(tmp_path)], "no usable picture")]:  # fmt: skip
        code, _, err = cli(capsys, *base, *args)
        assert code == 2 and msg in err and not out.exists(), (args, err)
    run = tmp_path / "run"
    folder = tmp_path / "few"
    folder.mkdir()
    for i, pic in enumerate(_pictures(2, side=40)):
        Image.fromarray(pic).save(folder / f"p{i}.png")
    code, _, err = cli(capsys, "superres", "train", "--data", str(folder), "--steps", "1",
                       "--patch", "8", "--width", "4", "--scale", "3", "--out", str(run))  # fmt: skip
    assert code == 0, err
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(tmp_path / "dot.png")
    code, _, err = cli(capsys, "superres", "apply", str(run), str(tmp_path / "dot.png"))
    assert code == 2 and "image too small (3x3" in err
    code, _, err = cli(capsys, "superres", "apply", str(run), "chelsea", "--out", "x.jpg")
    assert code == 2 and "must be a .png file" in err
    other = tmp_path / "run2"
    cli(capsys, "superres", "train", "--data", str(folder), "--steps", "1", "--patch", "8",
        "--width", "4", "--out", str(other))  # fmt: skip
    code, _, err = cli(capsys, "superres", "eval", str(run), str(other), "--out", str(out))
    assert code == 2 and "different scales" in err and not out.exists()
    code, _, err = cli(capsys, "superres", "eval", str(tmp_path / "few"), "--out", str(out))
    assert code == 2 and "not a pixelab run folder" in err
    Image.fromarray(np.zeros((14, 14, 3), np.uint8)).save(folder / "small.png")
    code, _, err = cli(capsys, "superres", "eval", str(other), "--data", str(folder), "--out",
                       str(out))  # fmt: skip
    assert code == 2 and "small.png is too small to shrink by 2 and measure" in err


def test_adversarial_fine_tuning_resumes_exactly_and_writes_a_superres_run(capsys, tmp_path):
    from pixelab.generate.superres import SRGANConfig, build_discriminator, fit_srgan
    from pixelab.models.vgg16 import vgg16_features

    vgg = vgg16_features()
    pics = _pictures(3)
    cfg = SRGANConfig(steps=4, batch=2, patch=8, disc_width=4, checkpoint_every=2)
    gen_cfg = SRConfig(model="srresnet", width=4, blocks=1)
    whole = build(gen_cfg)
    res = fit_srgan(whole, build_discriminator(cfg), vgg, pics, cfg, checkpoint_dir=tmp_path / "a")
    assert res.finished and {"vgg", "adversarial", "disc", "disc_real_right"} <= set(res.history[0])

    def stop(task, done, total):
        if done == 3:
            raise KeyboardInterrupt

    cut = build(gen_cfg)
    res = fit_srgan(cut, build_discriminator(cfg), vgg, pics, cfg, checkpoint_dir=tmp_path / "b",
                    progress=stop)  # fmt: skip
    assert not res.finished and res.steps_done == 3
    again = build(gen_cfg)
    fit_srgan(again, build_discriminator(cfg), vgg, pics, cfg, checkpoint_dir=tmp_path / "b",
              resume=True)  # fmt: skip
    for (k, v), w in zip(whole.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    # from the command line: a trained run, sharpened into a new run that apply and eval take
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, pic in enumerate(_pictures(6, side=40)):
        Image.fromarray(pic).save(photos / f"p{i}.png")
    base = tmp_path / "base"
    code, _, err = cli(capsys, "superres", "train", "--data", str(photos), "--model", "srresnet",
                       "--steps", "2", "--patch", "8", "--width", "4", "--blocks", "1",
                       "--out", str(base))  # fmt: skip
    assert code == 0, err
    sharp = tmp_path / "sharp"
    code, stdout, err = cli(capsys, "superres", "gan", str(base), "--steps", "2", "--patch", "8",
                            "--batch-size", "2", "--out", str(sharp), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["adversarial"] and m["source_run"] == str(base) and m["steps"] == 2
    assert (
        "vgg_distance" in m["held_out_scores"]["model"]
        and "vgg_distance" in m["source_scores"]["model"]
    )
    code, stdout, err = cli(capsys, "superres", "eval", str(base), str(sharp), "--data",
                            str(photos), "--out", str(tmp_path / "ev"), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["table"][2]["method"] == f"srresnet SRGAN-style ({sharp})"
    code, _, err = cli(capsys, "superres", "gan", str(photos), "--out", str(tmp_path / "no"))
    assert code == 2 and "not a pixelab run folder" in err
