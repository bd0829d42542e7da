"""pixelab's denoiser against diffusers' UNet2DModel, trained for the same wall-clock budget on
Fashion-MNIST and judged by the same network; then pixelab's samplers by speed and quality.

    .venv/bin/python benchmarks/bench_diffusion.py [--budget-min 10] [--points 4] [--eval-samples 500]
        [--out .bench/diffusion.json] [--samplers] [--sampler-samples 200]
    .venv/bin/python benchmarks/bench_diffusion.py --run shipped --sampler-samples 200

diffusers' side is the recipe of the Hugging Face diffusion course's class-conditioned MNIST
model (huggingface.co/learn/diffusion-course, unit 2): UNet2DModel(sample_size=28,
block_out_channels=(32, 64, 64), two layers per block, attention in the lower two levels),
classes through its own class embedding (``num_class_embeds``, plus a "no class" entry so
that it can be guided), Adam(1e-3), batch 128, the cosine ("squaredcos_cap_v2") schedule of
1,000 steps, no weight averaging. pixelab's side: its U-Net (width 32) with its defaults
(Adam(1e-3), batch 128, cosine, an averaged copy of the weights with decay 0.999). Both see 10 %
of their images as "no class", the same image order and the same noise, through one training
loop (the steps of ``fit_diffusion``); ``--budget-min`` of training each, measured at
``--points`` times along the way (sampling time is not counted). Every measurement samples
with pixelab's DDIM sampler (equal to diffusers' DDIMScheduler, tested), 25 steps,
classifier-free guidance 2, every class alike, against 2,000 test images in the features of
pixelab's cached judge: FID and KID (judge features), class-consistency, diversity.
``--samplers`` then times pixelab's final model under DDPM (all 1,000 steps) and DDIM at
10/25/50 steps, each with its FID; ``--run RUN`` (a diffusion run, or ``shipped``) does only
that, on a model trained before (``--out`` default .bench/diffusion-samplers.json).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import machine
from bench_generate import measure

from pixelab._core.io import write_json


class DiffusersNet(torch.nn.Module):
    """diffusers' UNet2DModel behind the interface pixelab's samplers call: (x, t, y) -> noise,
    ``label``, ``n_classes`` and a "no class" label."""

    def __init__(self, n_classes: int = 10):
        super().__init__()
        from diffusers import UNet2DModel

        self.net = UNet2DModel(
            sample_size=28, in_channels=1, out_channels=1, layers_per_block=2,
            block_out_channels=(32, 64, 64), num_class_embeds=n_classes + 1,
            down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        )  # fmt: skip
        self.n_classes = n_classes
        self.label = True

    def null_class(self, n: int, device: Any) -> torch.Tensor:
        return torch.full((n,), self.n_classes, dtype=torch.long, device=device)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        y = self.null_class(len(x), x.device) if y is None else y
        return self.net(x, t, class_labels=y).sample


def evaluate(model: Any, n: int, judge_model: Any, real_feats: np.ndarray, *, steps: int = 25,
             sampler: str = "ddim", seed: int = 1) -> dict[str, Any]:  # fmt: skip
    """Sample ``n`` images (every class alike, guidance 2) and measure them; with the seconds
    the sampling took."""
    from pixelab.apps.gan import asked_classes
    from pixelab.data.tensors import signed_to_uint8
    from pixelab.generate.diffusion import NoiseSchedule, guided_eps, sample_loop

    model.eval()
    y = asked_classes(None, [str(i) for i in range(10)], True, n)
    t0 = time.perf_counter()
    with torch.inference_mode():
        parts = []
        for i in range(0, n, 250):
            yy = y[i : i + 250]
            x, _ = sample_loop(guided_eps(model, 2.0, yy), (len(yy), 1, 28, 28),
                               NoiseSchedule("cosine", 1000), steps=steps, sampler=sampler,
                               seed=seed + i)  # fmt: skip
            parts.append(signed_to_uint8(x))
    fakes = np.concatenate(parts)
    seconds = time.perf_counter() - t0
    return {**measure(fakes, y.numpy(), judge_model, real_feats),
            "images_per_second": round(n / seconds, 2), "fakes": fakes}  # fmt: skip


def train_for(
    name: str, model: Any, train: Any, budget_s: float, points: int, average: float, *,
    eval_fn: Any, seed: int = 0,
) -> tuple[Any, list[dict[str, Any]]]:  # fmt: skip
    """Train ``model`` to predict noise for ``budget_s`` seconds (``fit_diffusion``'s steps),
    measuring the (averaged) model at ``points`` equal shares of the budget."""
    import copy

    from pixelab.data.tensors import to_signed, to_tensor_uint8
    from pixelab.generate.diffusion import NoiseSchedule
    from pixelab.train.averaging import WeightAverage

    abar = NoiseSchedule("cosine", 1000).alphas_cumprod
    x_all = to_tensor_uint8(train.images)
    y_all = torch.from_numpy(np.asarray(train.labels, np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    avg = WeightAverage(model, average) if average > 0 else None
    gen = torch.Generator().manual_seed(seed)
    curve, elapsed, step, n = [], 0.0, 0, len(train)
    order = torch.randperm(n, generator=gen)
    for k in range(1, points + 1):
        stop = budget_s * k / points
        model.train()
        losses = []
        t0 = time.perf_counter()
        while elapsed + time.perf_counter() - t0 < stop:
            pos = (step % (n // 128)) * 128
            if pos == 0 and step:  # a new epoch, a new order
                order = torch.randperm(n, generator=gen)
            idx = order[pos : pos + 128]
            x0 = to_signed(x_all[idx])
            t = torch.randint(0, 1000, (128,), generator=gen)
            noise = torch.randn(x0.shape, generator=gen)
            a = abar[t].view(-1, 1, 1, 1)
            y = y_all[idx].clone()
            y[torch.rand(128, generator=gen) < 0.1] = 10
            loss = torch.nn.functional.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t, y),
                                                noise)  # fmt: skip
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if avg is not None:
                avg.update(step)
            losses.append(float(loss))
        elapsed += time.perf_counter() - t0
        judged = copy.deepcopy(avg.module if avg is not None else model)
        row = {"minutes": round(elapsed / 60, 2), "steps": step, "images_seen": step * 128,
               "loss": round(float(np.mean(losses[-50:])), 5), **eval_fn(judged)}  # fmt: skip
        row.pop("fakes")
        print(name, row, flush=True)
        curve.append(row)
    final = avg.module if avg is not None else model
    return final.eval(), curve


SAMPLERS = [("ddim", 10), ("ddim", 25), ("ddim", 50), ("ddpm", 1000)]


def sampler_table(model: Any, n: int, judge_model: Any, real_feats: np.ndarray) -> list[dict]:
    """Images per second and the judge's numbers for each of SAMPLERS, from the same noise."""
    rows = []
    for sampler, steps in SAMPLERS:
        r = evaluate(model, n, judge_model, real_feats, steps=steps, sampler=sampler)
        r.pop("fakes")
        rows.append({"sampler": sampler, "steps": steps, **r})
        print(sampler, steps, rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-min", type=float, default=10.0)
    ap.add_argument("--points", type=int, default=4)
    ap.add_argument("--eval-samples", type=int, default=500)
    ap.add_argument("--samplers", action="store_true")
    ap.add_argument("--sampler-samples", type=int, default=200)
    ap.add_argument("--run", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    from pixelab.apps.gan import judge_run
    from pixelab.data import load_train_test
    from pixelab.generate import frechet_distance
    from pixelab.generate.diffusion import DiffusionConfig, build
    from pixelab.generate.judge import judge
    from pixelab.report.generate import mosaic

    train, test = load_train_test("fashion-mnist")
    judge_model, info = judge_run("fashion-mnist", size=28, channels=1, classes=train.classes)
    real = test.subset(np.arange(2000))
    real_feats, _ = judge(judge_model, real.images)
    fid_real = round(frechet_distance(real_feats[::2], real_feats[1::2]), 4)
    if args.run:
        from pixelab.apps.diffusion import load_diffusion

        model, rec = load_diffusion(args.run)
        out = Path(args.out or ".bench/diffusion-samplers.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = sampler_table(model, args.sampler_samples, judge_model, real_feats)
        write_json(out, {"machine": machine(torch=torch.__version__), "run": args.run,
                         "trained_seconds": rec.get("train_seconds"), "judge": info,
                         "fid_real_vs_real": fid_real, "guidance": 2.0, "samplers": rows})  # fmt: skip
        print(f"wrote {out}")
        return

    def eval_fn(model: Any) -> dict[str, Any]:
        return evaluate(model, args.eval_samples, judge_model, real_feats)

    budget_s = args.budget_min * 60
    results, finals = {}, {}
    for name, make, average in [("pixelab", lambda: build(DiffusionConfig(), 1, 28, 10), 0.999),
                                ("diffusers", DiffusersNet, 0.0)]:  # fmt: skip
        torch.manual_seed(0)
        model = make()
        params = sum(p.numel() for p in model.parameters())
        final, curve = train_for(name, model, train, budget_s, args.points, average,
                                 eval_fn=eval_fn)  # fmt: skip
        finals[name] = final
        results[name] = {"parameters": params, "curve": curve,
                         "seconds_per_step": round(curve[-1]["minutes"] * 60 / curve[-1]["steps"], 3)}  # fmt: skip
    last = {k: v["curve"][-1] for k, v in results.items()}
    ratio = round(last["pixelab"]["fid_judge"] / last["diffusers"]["fid_judge"], 3)
    print("FID ratio pixelab / diffusers:", ratio, flush=True)
    samplers = []
    if args.samplers:
        samplers = sampler_table(finals["pixelab"], args.sampler_samples, judge_model, real_feats)
    from pixelab.report.figures import new_figure

    fig = new_figure(8, 4)
    for ax, (name, model) in zip(fig.subplots(1, 2), finals.items(), strict=True):
        fakes = evaluate(model, 60, judge_model, real_feats, seed=7)["fakes"]
        ax.imshow(mosaic(fakes, ncols=10).squeeze(), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{name}: FID (judge) {last[name]['fid_judge']:.3f}", fontsize=9)
        ax.axis("off")
    out = Path(args.out or ".bench/diffusion.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.with_suffix(".png"), dpi=110, bbox_inches="tight")
    write_json(out, {"machine": machine(torch=torch.__version__), "budget_min": args.budget_min,
                     "judge": info, "fid_real_vs_real": fid_real, "results": results,
                     "fid_ratio_pixelab_over_diffusers": ratio, "samplers": samplers})  # fmt: skip
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
