"""Diffusion's schedules and samplers: the same numbers as diffusers' schedulers, the forward
process ends in pure noise, samplers are seeded, and ``diffusion forward`` writes its run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from pixelab import PixelabError
from pixelab.generate.diffusion import (
    NoiseSchedule,
    ddim_step,
    ddpm_step,
    sample_loop,
    timesteps,
)
from tests.cli.test_cli import cli

DIFFUSERS_NAME = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedules_and_forward_noise_equal_diffusers(kind):
    ours = NoiseSchedule(kind, 1000)
    theirs = DDPMScheduler(num_train_timesteps=1000, beta_schedule=DIFFUSERS_NAME[kind])
    assert torch.allclose(ours.betas, theirs.betas, atol=1e-7)
    assert torch.allclose(ours.alphas_cumprod, theirs.alphas_cumprod, atol=1e-6)
    x0, noise = torch.rand(4, 1, 8, 8) * 2 - 1, torch.randn(4, 1, 8, 8)
    t = torch.tensor([0, 10, 500, 999])
    assert torch.allclose(ours.add_noise(x0, noise, t), theirs.add_noise(x0, noise, t), atol=1e-6)
    # at the last step nothing of the image is left: x_T is standard normal noise
    ones = torch.ones(64, 1, 16, 16)
    x_T = ours.add_noise(ones, torch.randn_like(ones), torch.full((64,), 999))
    assert abs(float(x_T.mean())) < 0.03 and abs(float(x_T.std()) - 1) < 0.03
    assert float(ours.alphas_cumprod[0]) > 0.999 and float(ours.alphas_cumprod[-1]) < 1e-3


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_ddim_and_ddpm_steps_equal_diffusers_given_the_same_predictions(kind, spacing):
    schedule = NoiseSchedule(kind, 1000)
    ddim = DDIMScheduler(num_train_timesteps=1000, beta_schedule=DIFFUSERS_NAME[kind],
                         timestep_spacing=spacing, clip_sample=True, set_alpha_to_one=True)  # fmt: skip
    ddim.set_timesteps(10)
    ts = ddim.timesteps.tolist()
    assert ts == timesteps(1000, 10, spacing=spacing)
    gen = torch.Generator().manual_seed(0)
    for eta in (0.0, 1.0):
        x = torch.randn(3, 1, 8, 8, generator=gen)
        for i, t in enumerate(ts):
            eps = 1.5 * torch.randn(x.shape, generator=gen)  # large: x0 gets clamped
            noise = torch.randn(x.shape, generator=gen)
            theirs = ddim.step(eps, t, x, eta=eta, use_clipped_model_output=True,
                               variance_noise=noise).prev_sample  # fmt: skip
            t_prev = ts[i + 1] if i + 1 < len(ts) else -1
            ours = ddim_step(x, eps, t, t_prev, schedule, eta=eta, noise=noise)
            assert float((ours - theirs).abs().max()) <= 1e-4, (eta, t)
            if i == 0:  # the comparison can fail: without the clamp the step differs
                loose = ddim_step(x, eps, t, t_prev, schedule, eta=eta, noise=noise, clip=False)
                assert float((loose - theirs).abs().max()) > 1e-2
            x = theirs
    ddpm = DDPMScheduler(num_train_timesteps=1000, beta_schedule=DIFFUSERS_NAME[kind],
                         timestep_spacing=spacing, clip_sample=True, variance_type="fixed_small")  # fmt: skip
    ddpm.set_timesteps(10)
    x = torch.randn(3, 1, 8, 8, generator=gen)
    for i, t in enumerate(ts):
        eps = torch.randn(x.shape, generator=gen)
        theirs = ddpm.step(eps, t, x, generator=torch.Generator().manual_seed(i)).prev_sample
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(i))
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        ours = ddpm_step(x, eps, t, t_prev, schedule, noise=noise)
        assert float((ours - theirs).abs().max()) <= 1e-4, t
        x = theirs


def test_samplers_are_seeded_and_an_oracle_denoiser_recovers_its_image():
    schedule = NoiseSchedule("cosine", 1000)
    target = torch.linspace(-0.8, 0.8, 64).view(1, 1, 8, 8).repeat(2, 1, 1, 1)

    def oracle(x, t):  # the noise that separates x from the one image it could be
        abar = schedule.alphas_cumprod[t].view(-1, 1, 1, 1)
        return (x - abar.sqrt() * target) / (1 - abar).sqrt()

    for sampler in ("ddim", "ddpm"):
        a, snaps = sample_loop(oracle, (2, 1, 8, 8), schedule, steps=20, sampler=sampler, keep=4)
        b, _ = sample_loop(oracle, (2, 1, 8, 8), schedule, steps=20, sampler=sampler)
        assert torch.equal(a, b) and float((a - target).abs().max()) < 1e-3, sampler
        assert snaps[0][0] == 1000 and snaps[-1][0] == 0 and len(snaps) == 5
    other, _ = sample_loop(
        lambda x, t: torch.zeros_like(x), (2, 1, 8, 8), schedule, steps=5, seed=1
    )
    again, _ = sample_loop(
        lambda x, t: torch.zeros_like(x), (2, 1, 8, 8), schedule, steps=5, seed=2
    )
    assert not torch.equal(other, again)


def test_bad_schedules_and_samplers_are_one_clear_line():
    for make, msg in [
        (lambda: NoiseSchedule("quadratic"), "unknown noise schedule"),
        (lambda: NoiseSchedule("linear", 1), "--steps must be"),
        (lambda: timesteps(100, 200), "more than the schedule's 100 steps"),
        (lambda: timesteps(100, 10, spacing="middle"), "unknown timestep spacing"),
        (lambda: sample_loop(None, (1, 1, 4, 4), NoiseSchedule(), sampler="euler"),
         "unknown sampler"),
        (lambda: sample_loop(None, (1, 1, 4, 4), NoiseSchedule(), eta=2), "--eta must lie"),
    ]:  # fmt: skip
        with pytest.raises(PixelabError, match=msg):
            make()


def test_diffusion_forward_draws_an_image_buried_in_noise(capsys, tmp_path):
    out = tmp_path / "forward"
    code, stdout, err = cli(capsys, "diffusion", "forward", "chelsea", "--show", "6",
                            "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    shown = m["shown"]
    assert [r["t"] for r in shown] == [0, 200, 400, 599, 799, 999]
    shares = [r["signal_share"] for r in shown]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.99 and shares[-1] < 1e-3
    corr = [r["correlation"] for r in shown]
    assert corr[0] > 0.99 and abs(corr[-1]) < 0.05  # the image is gone at t = T
    assert abs(m["x_T"]["mean"]) < 0.05 and abs(m["x_T"]["std"] - 1) < 0.05
    assert m["half_signal_step"]["cosine"] > m["half_signal_step"]["linear"]
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"forward.png", "schedules.png", "forward.gif"} <= figures
    code, _, err = cli(capsys, "diffusion", "forward", "chelsea", "--schedule", "quadratic",
                       "--out", str(tmp_path / "bad"))  # fmt: skip
    assert code == 2 and "unknown noise schedule" in err and not (tmp_path / "bad").exists()
    code, _, err = cli(capsys, "diffusion", "forward", str(tmp_path / "missing.png"),
                       "--out", str(tmp_path / "bad"))  # fmt: skip
    assert code == 2 and not (tmp_path / "bad").exists()


TINY = ["--data", "digits", "--size", "16", "--limit", "320", "--width", "8", "--batch-size",
        "32", "--steps", "100", "--eval-samples", "40"]  # fmt: skip


def test_diffusion_train_writes_its_run_and_samples_with_guidance(capsys, tmp_path):
    out = tmp_path / "diffusion"
    code, stdout, err = cli(capsys, "diffusion", "train", *TINY, "--epochs", "2", "--out",
                            str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    losses = [r["loss"] for r in m["history"]]
    assert len(losses) == 2 and losses[1] < losses[0] < 1.5  # it learns to guess the noise
    q = m["quality"]
    assert q["fid_judge"] > q["fid_real_vs_real"] >= 0 and 0 <= q["class_consistency"] <= 1
    assert "Inception" in m["quality_note"] and q["samples"] == 40
    assert len(list((out / "figures" / "epochs").glob("epoch-*.png"))) == 2
    assert {"losses.png", "samples.png", "training.gif"} <= {
        p.name for p in (out / "figures").iterdir()
    }
    assert not list(out.glob("checkpoint*"))
    from pixelab.apps.diffusion import diffusion_sample

    a = diffusion_sample(out, tmp_path / "a.png", n=3, cls="4", steps=5, seed=2)
    b = diffusion_sample(out, tmp_path / "b.png", n=3, cls="4", steps=5, seed=2)
    assert a["images"].shape == (3, 16, 16, 1) and np.array_equal(a["images"], b["images"])
    assert a["classes"] == ["4"] * 3 and a["steps"][0] == 100 and a["steps"][-1] == 0
    assert (tmp_path / "a-reverse.png").is_file() and (tmp_path / "a-reverse.gif").is_file()
    # guidance 0 ignores the class: every class gives the unconditional sample
    c = diffusion_sample(out, tmp_path / "c.png", n=3, cls="1", steps=5, seed=2, guidance=0)
    d = diffusion_sample(out, tmp_path / "d.png", n=3, cls="7", steps=5, seed=2, guidance=0)
    assert np.array_equal(c["images"], d["images"]) and not np.array_equal(a["images"], c["images"])
    for args, msg in [(["--class", "cat"], "no class 'cat'"), (["--guidance", "-1"], "--guidance must be"),
                      (["--steps", "500"], "more than the schedule's 100 steps"),
                      (["--sampler", "euler"], "unknown sampler")]:  # fmt: skip
        code, _, err = cli(capsys, "diffusion", "sample", str(out), *args)
        assert code == 2 and msg in err, (args, err)
    code, _, err = cli(capsys, "predict", str(out), str(tmp_path / "a.png"))
    assert code == 2 and "'diffusion' run" in err


def test_diffusion_train_resumes_exactly_after_ctrl_c(capsys, monkeypatch, tmp_path):
    import pixelab._core.progress as progress_module
    from pixelab.train.checkpoint import load_weights

    whole = tmp_path / "whole"
    code, _, err = cli(capsys, "diffusion", "train", *TINY, "--epochs", "2", "--out", str(whole))
    assert code == 0, err
    cut = tmp_path / "cut"

    def stop_in_epoch_two(progress, task, done, total):
        if task.startswith("epoch 2") and done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress_module, "report", stop_in_epoch_two)
    code, _, err = cli(capsys, "diffusion", "train", *TINY, "--epochs", "2", "--out", str(cut))
    assert code == 130 and "--resume" in err and (cut / "checkpoint.json").is_file()
    monkeypatch.undo()
    code, _, err = cli(capsys, "diffusion", "train", "--out", str(cut), "--resume")
    assert code == 0, err
    a, b = (load_weights(p / "denoiser.safetensors") for p in (whole, cut))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_unconditional_run_samples_and_refuses_guidance(capsys, tmp_path):
    out = tmp_path / "plain"
    code, _, err = cli(capsys, "diffusion", "train", *TINY, "--epochs", "1", "--unconditional",
                       "--out", str(out))  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "diffusion", "sample", str(out), "--n", "2", "--steps", "3")
    assert code == 0, err
    for args, msg in [(["--guidance", "3"], "no class to guide towards"),
                      (["--class", "1"], "trained without classes"),
                      (["--prompt", "a one"], "a prompt cannot steer it")]:  # fmt: skip
        code, _, err = cli(capsys, "diffusion", "sample", str(out), *args)
        assert code == 2 and msg in err, (args, err)


def test_diffusion_train_bad_input_is_one_clear_line(capsys, tmp_path):
    out = tmp_path / "bad"
    for args, msg in [
        (["--schedule", "quadratic"], "unknown noise schedule"),
        (["--budget-min", "0"], "--budget-min must be"),
        (["--uncond-share", "1"], "--uncond-share must lie"),
        (["--size", "30"], "multiple of 4"),
        (["--batch-size", "1000"], "at least one batch of 1000"),
        (["--eval-samples", "3"], "--eval-samples must be"),
    ]:
        code, _, err = cli(capsys, "diffusion", "train", *TINY, *args, "--out", str(out))
        assert code == 2 and msg in err and not out.exists(), (args, err)
    code, _, err = cli(capsys, "diffusion", "train", "--out", str(tmp_path / "none"), "--resume")
    assert code == 2 and "not a pixelab run folder" in err


def test_sampling_keeps_no_autograd_graph_so_big_batches_fit_in_memory():
    # without no_grad every step's graph stayed alive through x: 500 guided samples took >24 GB
    from pixelab.generate.diffusion import DiffusionConfig, build, guided_eps

    net = build(DiffusionConfig(width=8), 1, 8, 3).eval()
    y = torch.tensor([0, 1])
    x, snaps = sample_loop(guided_eps(net, 2.0, y), (2, 1, 8, 8), NoiseSchedule(), steps=3, keep=3)
    assert not x.requires_grad and x.grad_fn is None
    assert all(s.grad_fn is None for _, s in snaps)


def test_latent_diffusion_denoises_a_vaes_codes_and_decodes_them(capsys, monkeypatch, tmp_path):
    import pixelab._core.progress as progress_module
    from pixelab.apps.diffusion import diffusion_sample, load_diffusion
    from pixelab.train.checkpoint import load_weights

    vae, flat = tmp_path / "vae", tmp_path / "flat"
    small = ["--data", "digits", "--size", "16", "--limit", "320", "--width", "8",
             "--batch-size", "32", "--epochs", "2", "--no-plain"]  # fmt: skip
    code, _, err = cli(capsys, "vae", "train", *small, "--grid", "--latent", "2",
                       "--out", str(vae))  # fmt: skip
    assert code == 0, err
    out = tmp_path / "latent"
    code, stdout, err = cli(capsys, "diffusion", "train", *TINY, "--epochs", "2", "--vae",
                            str(vae), "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["space"] == "latent" and m["denoised_numbers"] == 2 * 4 * 4  # not 16 * 16 pixels
    assert m["latent"]["code_shape"] == [2, 4, 4] and m["latent"]["scale"] > 0
    assert m["latent"]["range"] > 1  # the scaled codes' range: the sampler keeps x0 within it
    assert m["history"][1]["loss"] < m["history"][0]["loss"] and m["train_step_ms"] > 0
    assert (
        0 <= m["quality"]["class_consistency"] <= 1 and (out / "autoencoder.safetensors").exists()
    )
    model, rec = load_diffusion(out)
    assert model.channels == 2 and model.size == 4 and rec["space"].autoencoder is not None
    a = diffusion_sample(out, tmp_path / "a.png", n=3, cls="4", steps=5, seed=2)
    b = diffusion_sample(out, tmp_path / "b.png", n=3, cls="4", steps=5, seed=2)
    assert a["images"].shape == (3, 16, 16, 1) and np.array_equal(a["images"], b["images"])
    code, _, err = cli(capsys, "diffusion", "guidance", str(out), "--scales", "0,2", "--n", "20",
                       "--steps", "3", "--out", str(tmp_path / "g"))  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "diffusion", "img2img", str(out), "digits", "--out",
                       str(tmp_path / "i2i"))  # fmt: skip
    assert code == 2 and "not pixels" in err and not (tmp_path / "i2i").exists()
    # an exact resume, the VAE found again from the run's config
    cut = tmp_path / "cut"

    def stop_in_epoch_two(progress, task, done, total):
        if task.startswith("epoch 2") and done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress_module, "report", stop_in_epoch_two)
    code, _, err = cli(capsys, "diffusion", "train", *TINY, "--epochs", "2", "--vae", str(vae),
                       "--out", str(cut))  # fmt: skip
    assert code == 130, err
    monkeypatch.undo()
    code, _, err = cli(capsys, "diffusion", "train", "--out", str(cut), "--resume")
    assert code == 0, err
    w1, w2 = (load_weights(p / "denoiser.safetensors") for p in (out, cut))
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    # a VAE with flat codes, or one of other images, is refused in one line
    code, _, err = cli(capsys, "vae", "train", *small, "--latent", "2", "--out", str(flat))
    assert code == 0, err
    for args, msg in [(["--vae", str(flat)], "flat list of numbers"),
                      (["--vae", str(vae), "--size", "12"], "not on digits at 12x12x1"),
                      (["--vae", str(out)], "'diffusion' run, not a 'vae' run")]:  # fmt: skip
        bad = tmp_path / "bad"
        code, _, err = cli(capsys, "diffusion", "train", *TINY, *args, "--out", str(bad))
        assert code == 2 and msg in err and not bad.exists(), (args, err)


def test_a_numeric_clip_keeps_x0_within_a_codes_range_and_none_lets_it_explode():
    from pixelab.generate.diffusion import predict_x0

    schedule = NoiseSchedule("cosine", 1000)
    abar = schedule.alphas_cumprod[999]
    x_t, eps = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3) * 0.9  # a slightly wrong guess
    free, _ = predict_x0(x_t, eps, abar, clip=False)
    kept, eps2 = predict_x0(x_t, eps, abar, clip=3.0)
    assert free.abs().max() > 100  # near t = T the error is magnified thousands of times
    assert kept.abs().max() <= 3.0 and torch.allclose(
        abar.sqrt() * kept + (1 - abar).sqrt() * eps2, x_t, atol=1e-4
    )  # epsilon recomputed: the pair still explains x_t
    x, _ = sample_loop(lambda x, t: torch.zeros_like(x), (2, 2, 3, 3), schedule, steps=5,
                       clip=2.5)  # fmt: skip
    assert x.abs().max() <= 2.5
    with pytest.raises(PixelabError, match="clipping range"):
        predict_x0(x_t, eps, abar, clip=-1.0)
