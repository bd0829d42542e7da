"""Diffusion's schedules and samplers: the same numbers as diffusers' schedulers, the forward
process ends in pure noise, samplers are seeded, and ``diffusion forward`` writes its run."""

from __future__ import annotations

import json

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
