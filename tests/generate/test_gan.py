"""The GAN: shapes and ranges, the same seed gives the same samples, training writes its run
folder and resumes exactly, the monitor flags a forced collapse, bad input is one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelab import PixelabError
from pixelab.generate import GANConfig, sample
from pixelab.generate.gan import build, upsamplings
from tests.cli.test_cli import cli

SMALL = ["--data", "digits", "--size", "16", "--limit", "320", "--width", "8", "--latent", "16",
         "--batch-size", "32"]  # fmt: skip


def test_generator_and_discriminator_fit_every_size_and_the_seed_fixes_them():
    for size, classes in ((16, 3), (28, 0), (32, 10)):
        cfg = GANConfig(latent=8, width=4, conditional=classes > 0, seed=1)
        g, d = build(cfg, 1 if size == 28 else 3, size, classes or 2)
        z = torch.randn(5, 8)
        y = torch.arange(5) % (classes or 1) if classes else None
        x = g.eval()(z, y)
        assert x.shape == (5, 1 if size == 28 else 3, size, size) and x.abs().max() <= 1
        assert d(x, y).shape == (5,)
        again, _ = build(cfg, 1 if size == 28 else 3, size, classes or 2)
        assert np.array_equal(sample(g, z, y), sample(again, z, y))
    assert upsamplings(28) == (2, 7) and upsamplings(64) == (3, 8)
    with pytest.raises(PixelabError, match="multiple of 4"):
        upsamplings(30)


def test_gan_train_writes_its_run_and_samples_by_class(capsys, tmp_path):
    out = tmp_path / "gan"
    code, stdout, err = cli(capsys, "gan", "train", *SMALL, "--epochs", "2", "--out", str(out),
                            "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert len(m["history"]) == 2 and all(np.isfinite(r["d_loss"]) for r in m["history"])
    assert {"diversity", "coverage", "fid", "class_consistency"} <= set(m["history"][-1])
    q = m["quality"]
    assert q["fid_judge"] > q["fid_real_vs_real"] >= 0 and q["kid_judge"] > 0
    assert "judge" in m["quality_note"] and "Inception" in m["quality_note"]
    assert m["precision"]["asked"] == "auto" and isinstance(m["precision"]["bf16"], bool)
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"losses.png", "monitor.png", "samples.png", "interpolation.png", "nearest.png",
            "training.gif"} <= figures  # fmt: skip
    assert len(list((out / "figures" / "epochs").glob("epoch-*.png"))) == 2
    assert not list(out.glob("checkpoint*"))  # a finished run keeps only its model files
    code, stdout, err = cli(capsys, "gan", "sample", str(out), "--n", "6", "--class", "3",
                            "--out", str(tmp_path / "threes.png"))  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "threes.png").is_file()
    from pixelab.apps.gan import gan_sample

    a = gan_sample(out, tmp_path / "a.png", n=6, cls="3", seed=4)
    b = gan_sample(out, tmp_path / "b.png", n=6, cls="3", seed=4)
    assert a["images"].shape == (6, 16, 16, 1) and np.array_equal(a["images"], b["images"])
    assert a["classes"] == ["3"] * 6
    code, _, err = cli(capsys, "gan", "sample", str(out), "--class", "cat")
    assert code == 2 and "no class 'cat'" in err and "0, 1, 2" in err
    code, _, err = cli(capsys, "predict", str(out), str(tmp_path / "threes.png"))
    assert code == 2 and "'gan' run" in err
    # which image is real? both detectors, measured on held-out real and fresh fakes
    det = tmp_path / "detect"
    code, stdout, err = cli(capsys, "gan", "detect", str(out), "--n", "200", "--epochs", "2",
                            "--out", str(det), "--json")  # fmt: skip
    assert code == 0, err
    d = json.loads(stdout)
    assert d["n_real"] == d["n_generated"] == 80  # every held-out image of the 320-image slice
    for key in ("discriminator", "cnn"):
        r = d[key]
        assert 0 <= r["auc"] <= 1
        assert r["accuracy"] == pytest.approx(
            (r["real_called_real"] + r["generated_called_generated"]) / 2, abs=1e-4
        )
    assert d["cnn"]["auc"] > 0.8  # two epochs of a tiny GAN: its images are easy to tell
    assert len(d["quiz"]) == 16 and sum(q["real"] for q in d["quiz"]) == 8
    assert {"quiz.png", "scores.png"} <= {p.name for p in (det / "figures").iterdir()}
    for args, msg in [(["--n", "5"], "--n must be"), (["--epochs", "0"], "--epochs must be")]:
        code, _, err = cli(capsys, "gan", "detect", str(out), *args, "--out", str(tmp_path / "x"))
        assert code == 2 and msg in err and not (tmp_path / "x").exists(), err
    code, _, err = cli(capsys, "gan", "detect", str(det), "--out", str(tmp_path / "x"))
    assert code == 2 and "'gan-detect' run, not a 'gan' run" in err
    # shipped: half the bytes, the same images within float16's rounding, the epoch pictures
    from pixelab.apps.gan import ship_gan

    dest = ship_gan(out, tmp_path / "ship", command="the test's")
    c = gan_sample(dest, tmp_path / "c.png", n=6, cls="3", seed=4)
    assert np.abs(c["images"].astype(int) - a["images"]).max() <= 3
    assert (dest / "generator.safetensors").stat().st_size < 0.6 * (
        out / "generator.safetensors"
    ).stat().st_size
    assert len(list((dest / "figures" / "epochs").glob("epoch-*.png"))) == 2
    made = json.loads((dest / "metrics.json").read_text())
    assert made["made_by"]["command"] == "the test's" and "history" not in made
    assert made["quality"] == q
    code, stdout, err = cli(capsys, "gan", "detect", str(dest), "--n", "200", "--epochs", "1",
                            "--out", str(tmp_path / "detect-shipped"), "--json")  # fmt: skip
    assert code == 0, err
    with pytest.raises(PixelabError, match=r"not a .gan. run"):
        ship_gan(det, tmp_path / "nope")


def test_gan_train_resumes_exactly_after_ctrl_c(capsys, monkeypatch, tmp_path):
    import pixelab._core.progress as progress_module
    from pixelab.train.checkpoint import load_weights

    whole = tmp_path / "whole"
    code, _, err = cli(capsys, "gan", "train", *SMALL, "--epochs", "2", "--out", str(whole))
    assert code == 0, err
    cut = tmp_path / "cut"

    def stop_in_epoch_two(progress, task, done, total):  # fit_gan reports every step
        if task.startswith("epoch 2") and done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress_module, "report", stop_in_epoch_two)
    code, _, err = cli(capsys, "gan", "train", *SMALL, "--epochs", "2", "--out", str(cut))
    assert code == 130 and "--resume" in err and (cut / "checkpoint.json").is_file()
    monkeypatch.undo()
    state = json.loads((cut / "checkpoint.json").read_text())
    del state["config"]["mode_seeking"]  # as a checkpoint from before that option
    (cut / "checkpoint.json").write_text(json.dumps(state))
    code, _, err = cli(capsys, "gan", "train", "--out", str(cut), "--resume")
    assert code == 0, err
    a, b = (load_weights(p / "generator.safetensors") for p in (whole, cut))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_monitor_flags_a_forced_collapse(capsys, tmp_path):
    out = tmp_path / "collapse"  # a generator learning rate 500x too high, no classes to hold on
    code, stdout, err = cli(capsys, "gan", "train", *SMALL, "--epochs", "2", "--unconditional",
                            "--lr-g", "0.1", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["collapse_warning"] and "mode collapse" in m["collapse_warning"]


def test_gan_bad_input_is_one_clear_line(capsys, tmp_path, make_folder):
    out = tmp_path / "bad"
    for args, msg in [
        (["--latent", "0"], "--latent must be"),
        (["--size", "30"], "multiple of 4"),
        (["--loss", "wasserstein"], "unknown GAN loss"),
        (["--batch-size", "1000"], "at least one batch of 1000"),
    ]:
        code, _, err = cli(capsys, "gan", "train", *SMALL, *args, "--out", str(out))
        assert code == 2 and msg in err and not out.exists(), (args, err)
    one = make_folder(classes=1, per_class=40, size=16)
    code, _, err = cli(capsys, "gan", "train", "--data", str(one), "--out", str(out))
    assert code == 2 and not out.exists()
    assert "single class" in err  # the judge (a classifier) and the classes need two
    code, _, err = cli(capsys, "gan", "train", "--out", str(tmp_path / "none"), "--resume")
    assert code == 2 and "not a pixelab run folder" in err


def test_the_mode_seeking_penalty_punishes_a_generator_that_ignores_its_noise():
    from pixelab.generate.gan import mode_seeking_penalty

    z = torch.randn(8, 4)
    same = torch.ones(8, 1, 4, 4)  # every sample alike, whatever the noise
    varied = z[:, :1, None, None].expand(8, 1, 4, 4).clone()
    assert mode_seeking_penalty(same, z, 4) > 1000 > mode_seeking_penalty(varied, z, 4)
    cfg = GANConfig(latent=8, width=4, epochs=1, batch_size=32, mode_seeking=1.0)
    g, d = build(cfg, 1, 16, 2)
    rng = np.random.default_rng(0)
    from pixelab.generate import fit_gan

    images = rng.integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    res = fit_gan(g, d, images, np.arange(64) % 2, cfg)
    assert res.finished and np.isfinite(res.history[0]["g_loss"])
    with pytest.raises(PixelabError, match="--mode-seeking"):
        GANConfig(mode_seeking=-1).check()


def test_fit_gan_stops_at_its_time_budget():
    from pixelab.generate import fit_gan

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (256, 16, 16, 1), dtype=np.uint8)
    labels = np.arange(256) % 2
    cfg = GANConfig(latent=8, width=4, epochs=1000, batch_size=32)
    g, d = build(cfg, 1, 16, 2)
    res = fit_gan(g, d, images, labels, cfg, max_seconds=0.5)
    assert res.finished and 1 <= len(res.history) < 1000
    assert res.train_seconds < 5  # stopped at the first step past half a second


def test_fit_gan_in_bf16_trains_the_same_networks_in_bfloat16_arithmetic():
    from pixelab.generate import fit_gan

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (128, 16, 16, 1), dtype=np.uint8)
    labels = np.arange(128) % 2
    cfg = GANConfig(latent=8, width=4, epochs=1, batch_size=32, average=0)
    runs = {}
    for bf16 in (False, True):
        g, d = build(cfg, 1, 16, 2)
        res = fit_gan(g, d, images, labels, cfg, bf16=bf16)
        assert res.finished and np.isfinite(res.history[0]["d_loss"])
        assert all(p.dtype == torch.float32 for p in g.parameters())  # weights stay float32
        runs[bf16] = torch.cat([p.detach().flatten() for p in g.parameters()])
    gap = (runs[True] - runs[False]).abs().max()
    assert 0 < gap < 0.05  # rounded arithmetic: near the float32 run, not equal to it


def test_the_shipped_gan_is_in_the_package_and_answers_to_its_name(capsys, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    from pixelab.apps._shipped import shipped_folder
    from pixelab.apps.gan import SHIPPED_COMMAND, SHIPPED_NAME, load_gan

    _, rec = load_gan("shipped")
    assert rec["path"] == shipped_folder(SHIPPED_NAME) and rec["size"] == 28
    assert rec["classes"][9] == "Ankle boot" and rec["config"].conditional
    made = json.loads((rec["path"] / "metrics.json").read_text())
    assert made["made_by"]["command"] == SHIPPED_COMMAND and made["n_train"] == 60_000
    assert len(list((rec["path"] / "figures" / "epochs").glob("*.png"))) == made["epochs"]
    weights = sum(p.stat().st_size for p in rec["path"].glob("*.safetensors"))
    assert weights < 5_000_000
    monkeypatch.chdir(tmp_path)  # the package folder is never written to
    code, _, err = cli(capsys, "gan", "sample", "shipped", "--n", "4", "--class", "Sandal")
    assert code == 0, err
    assert (tmp_path / "runs" / "shipped-gan" / "samples-0.png").is_file()


def test_the_generator_rate_defaults_by_whether_classes_are_given():
    from pixelab.generate.gan import LR_G

    assert GANConfig().lr_g == LR_G[True] == 2e-4  # with classes: a faster one collapses them
    assert GANConfig(conditional=False).lr_g == LR_G[False] == 4e-4
    assert GANConfig(conditional=False, lr_g=1e-3).lr_g == 1e-3  # a given rate is kept
    saved = GANConfig(conditional=False).to_dict()
    assert saved["lr_g"] == 4e-4 and GANConfig.from_dict(saved) == GANConfig(conditional=False)
    assert GANConfig.from_dict({**saved, "lr_g": None}).lr_g == 4e-4
    with pytest.raises(PixelabError, match="--lr-g"):
        GANConfig(lr_g=0.0).check()
