"""The autoencoders: the pixel distribution is a true code length, the bits fall while training,
the run folder holds reconstructions, bits and the latent map, resume is exact, sampling is
seeded, and bad input is one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelab.generate.vae import (
    VAEConfig,
    build,
    decode,
    discretized_logistic_nll,
    evaluate,
    fit_vae,
    kl_normal,
    latent_grid,
)
from tests.cli.test_cli import cli

SMALL = ["--data", "digits", "--size", "16", "--limit", "320", "--width", "8", "--batch-size",
         "32", "--epochs", "2"]  # fmt: skip


def test_the_pixel_distribution_sums_to_one_and_the_prior_costs_nothing():
    levels = torch.arange(256).float().div(127.5).sub(1)
    for mean, log_scale in [(0.01, -2.0), (0.95, -4.5), (-1.0, -7.0), (0.3, 0.5)]:
        p = torch.exp(
            -discretized_logistic_nll(levels, torch.tensor(mean), torch.tensor(log_scale))
        )
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-4), (mean, log_scale)
        if log_scale < 0:  # a narrow distribution peaks at the level nearest its mean
            assert int(p.argmax()) == round((mean + 1) * 127.5)
    assert float(p[-1]) > float(p[200])  # a wide one: the last level takes the whole tail
    zero = torch.zeros(3, 4)
    assert torch.allclose(kl_normal(zero, zero), torch.zeros(3))
    assert (kl_normal(torch.ones(3, 4), zero) > 0).all()


def test_models_fit_every_size_the_seed_fixes_them_and_the_grid_reads_like_a_plot():
    for kind, size, channels in (("vae", 16, 1), ("ae", 28, 1), ("vae", 32, 3)):
        cfg = VAEConfig(kind=kind, latent=3, width=4, seed=2)
        a, b = build(cfg, channels, size), build(cfg, channels, size)
        z = torch.randn(4, 3)
        out = decode(a, z)
        assert out.shape == (4, size, size, channels) and out.dtype == np.uint8
        assert np.array_equal(out, decode(b, z))
    grid = latent_grid(5)
    assert grid.shape == (25, 2)
    assert grid[0, 0] < grid[4, 0] and grid[0, 1] > grid[20, 1]  # left to right, top down
    assert float(grid.abs().max()) == pytest.approx(1.645, abs=1e-3)
    box = latent_grid(3, low=(0, 10), high=(2, 12))
    assert (
        box[:, 0].tolist() == [0, 1, 2] * 3 and box[:, 1].tolist() == [12] * 3 + [11] * 3 + [10] * 3
    )


def test_training_lowers_the_bits_below_the_raw_pixels():
    from pixelab.data import load_train_test

    train, test = load_train_test("digits", size=16, limit=320)
    cfg = VAEConfig(latent=4, width=8, epochs=3, batch_size=32)
    model = build(cfg, 1, 16)
    before = evaluate(model, test.images)
    res = fit_vae(model, train.images, cfg)
    after = evaluate(model, test.images)
    assert res.finished and len(res.history) == 3
    assert res.history[-1]["bits_per_image"] < res.history[0]["bits_per_image"]
    assert after["bits_per_image"] < before["bits_per_image"] and after["rms"] < before["rms"]
    assert after["bits_per_image"] < after["raw_bits"] == 8 * 16 * 16
    assert after["rate_bits"] > 0  # the code carries information about the image
    ae = build(VAEConfig(kind="ae", latent=4, width=8), 1, 16)
    assert evaluate(ae, test.images)["rate_bits"] == 16 * 4  # float16 per number


def test_vae_train_writes_its_run_and_samples(capsys, tmp_path):
    out = tmp_path / "vae"
    code, stdout, err = cli(capsys, "vae", "train", *SMALL, "--latent", "2,6", "--out", str(out),
                            "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    names = [r["name"] for r in m["models"]]
    assert names == ["vae-2", "ae-2", "vae-6", "ae-6"]
    for r in m["models"]:
        assert r["bits_per_image"] == pytest.approx(r["rate_bits"] + r["distortion_bits"], abs=0.02)
        assert len(r["history"]) == 2 and r["psnr"] > 0
        assert ("samples_fid_judge" in r) == (r["kind"] == "vae")
    assert m["raw_bits"] == 2048 and m["png_bits_median"] > 0
    assert "Inception" in m["quality_note"]
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"reconstructions.png", "bits.png", "samples.png", "latent_map.png"} <= figures
    assert not (out / "training").exists()  # a finished run keeps only its model files
    from pixelab.apps.vae import vae_sample

    a = vae_sample(out, tmp_path / "a.png", latent=6, n=5, seed=3)
    b = vae_sample(out, tmp_path / "b.png", latent=6, n=5, seed=3)
    assert a["images"].shape == (5, 16, 16, 1) and np.array_equal(a["images"], b["images"])
    code, stdout, err = cli(capsys, "vae", "sample", str(out), "--n", "4")
    assert code == 0 and "2-number VAE" in stdout and (out / "samples-0.png").is_file()
    code, _, err = cli(capsys, "vae", "sample", str(out), "--latent", "3")
    assert code == 2 and "latent size 3" in err and "2, 6" in err
    code, _, err = cli(capsys, "predict", str(out), str(tmp_path / "a.png"))
    assert code == 2 and "'vae' run" in err


def test_vae_train_resumes_exactly_after_ctrl_c(capsys, monkeypatch, tmp_path):
    import pixelab._core.progress as progress_module
    from pixelab.train.checkpoint import load_weights

    args = [*SMALL, "--latent", "2,3", "--no-plain"]
    whole = tmp_path / "whole"
    code, _, err = cli(capsys, "vae", "train", *args, "--out", str(whole))
    assert code == 0, err
    cut = tmp_path / "cut"

    def stop_in_the_second_model(progress, task, done, total):  # fit_vae reports every step
        if task == "vae 3: epoch 2/2" and done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress_module, "report", stop_in_the_second_model)
    code, _, err = cli(capsys, "vae", "train", *args, "--out", str(cut))
    assert code == 130 and "--resume" in err and "vae-2" in err
    assert (cut / "vae-2.safetensors").is_file() and (cut / "training" / "vae-3").is_dir()
    monkeypatch.undo()
    code, _, err = cli(capsys, "vae", "train", "--out", str(cut), "--resume")
    assert code == 0, err
    for name in ("vae-2", "vae-3"):
        a, b = (load_weights(p / f"{name}.safetensors") for p in (whole, cut))
        assert all(torch.equal(a[k], b[k]) for k in a), name
    m_whole, m_cut = (json.loads((p / "metrics.json").read_text()) for p in (whole, cut))
    assert [r["bits_per_image"] for r in m_whole["models"]] == [
        r["bits_per_image"] for r in m_cut["models"]
    ]


def test_an_autoencoder_needs_no_classes(capsys, tmp_path, make_folder):
    import shutil

    one = make_folder(classes=1, per_class=40, size=16)  # one class folder
    flat = tmp_path / "loose"  # and the same images lying loose in a folder
    shutil.copytree(one / "class0", flat)
    for data in (one, flat):
        out = tmp_path / f"vae-{data.name}"
        code, stdout, err = cli(capsys, "vae", "train", "--data", str(data), "--latent", "2",
                                "--no-plain", "--width", "4", "--batch-size", "16", "--epochs",
                                "1", "--out", str(out), "--json")  # fmt: skip
        assert code == 0, err
        m = json.loads(stdout)
        assert m["judge"] is None and "samples_fid_judge" not in m["models"][0]  # no classes
        assert m["n_train"] + m["n_eval"] == 40 and (out / "figures" / "latent_map.png").is_file()
    code, _, err = cli(capsys, "gan", "train", "--data", str(flat), "--out", str(tmp_path / "g"))
    assert code == 2 and "no class subfolders" in err  # a GAN's judge still needs classes


def test_vae_bad_input_is_one_clear_line(capsys, tmp_path):
    out = tmp_path / "bad"
    for args, msg in [
        (["--latent", "0"], "--latent must be from 1"),
        (["--latent", "2,x"], "sizes separated by commas"),
        (["--latent", "4,4"], "lists a size twice"),
        (["--size", "30"], "an autoencoder makes square images"),
        (["--batch-size", "1000"], "at least one batch of 1000"),
        (["--beta", "-1"], "--beta must be 0 or more"),
    ]:
        code, _, err = cli(capsys, "vae", "train", *SMALL, *args, "--out", str(out))
        assert code == 2 and msg in err and not out.exists(), (args, err)
    code, _, err = cli(capsys, "vae", "train", "--out", str(tmp_path / "none"), "--resume")
    assert code == 2 and "not a pixelab run folder" in err
    code, _, err = cli(capsys, "vae", "sample", str(tmp_path / "none"))
    assert code == 2 and "not a pixelab run folder" in err


def test_a_grid_code_is_numbers_at_every_place_of_a_small_grid():
    from pixelab.generate.vae import losses

    for size, side in ((28, 7), (32, 8), (16, 4)):
        model = build(VAEConfig(latent=4, width=4, grid=True), 1, size)
        assert model.code_shape == (4, side, side) and model.code_numbers == 4 * side * side
        z = torch.randn(2, *model.code_shape)
        assert decode(model, z).shape == (2, size, size, 1)
        x = torch.randint(0, 256, (2, 1, size, size), dtype=torch.uint8)
        out = losses(model, x)
        assert out["code"].shape == (2, 4, side, side) and out["rate"].shape == (2,)
    mu, logvar = torch.randn(2, 4, 7, 7), torch.zeros(2, 4, 7, 7)
    assert torch.allclose(kl_normal(mu, logvar), 0.5 * mu.pow(2).flatten(1).sum(1))
    ae = build(VAEConfig(kind="ae", latent=4, width=4, grid=True), 1, 28)
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    assert evaluate(ae, images)["rate_bits"] == 16 * 4 * 7 * 7  # float16 per number


def test_vae_train_grid_writes_its_run_without_a_latent_plane(capsys, tmp_path):
    out = tmp_path / "grid"
    code, stdout, err = cli(capsys, "vae", "train", *SMALL, "--latent", "2", "--grid",
                            "--no-plain", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    (row,) = m["models"]
    assert row["code"] == "2x4x4" and row["code_numbers"] == 32 and "samples_fid_judge" in row
    assert not (out / "figures" / "latent_map.png").exists()  # no plane for a grid code
    code, stdout, err = cli(capsys, "vae", "sample", str(out), "--n", "3")
    assert code == 0, err
    code, _, err = cli(capsys, "vae", "train", *SMALL, "--latent", "2,65", "--grid", "--out",
                       str(tmp_path / "bad"))  # fmt: skip
    assert code == 2 and "at most 64" in err and not (tmp_path / "bad").exists()
