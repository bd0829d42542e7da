"""pixelab's GAN against the PyTorch DCGAN tutorial's recipe, on the same data and the same
wall-clock budget, judged by the same network.

    .venv/bin/python benchmarks/bench_generate.py [--budget-s 180] [--seeds 0,1,2] [--out .bench/generate.json]
        [--mode-seeking 1] [--only unconditional,tutorial]

The tutorial's recipe (pytorch.org/tutorials/beginner/dcgan_faces_tutorial.html), sized for
28-pixel images: transposed convolutions with batch norm in the generator (noise of 100),
strided convolutions with batch norm and LeakyReLU(0.2) in the discriminator, weights from
N(0, 0.02), binary cross-entropy, Adam(2e-4, betas 0.5/0.999) for both, no classes. pixelab's
GAN: its defaults (class-conditional, spectral norm, hinge loss, a faster discriminator, an
averaged generator), the same with the mode-seeking reward for varied samples, and the same
unconditional. Each trains on all 60,000 Fashion-MNIST
training images for ``--budget-s`` seconds of training, then makes 2,000 images (every class
alike where it can choose), which are measured against 2,000 test images in the features of
pixelab's cached judge: "FID (judge features)", KID, class coverage and diversity within a
class. With several ``--seeds`` every recipe runs once per seed and the table takes medians
(GAN numbers move a lot with the seed and the stopping point). Writes a figure of samples from
each (the first seed) beside the JSON.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import machine
from torch import nn

from pixelab._core.io import write_json


class TutorialG(nn.Module):
    """The tutorial's generator, three transposed convolutions for 28 x 28 instead of four."""

    def __init__(self, nz: int = 100, ngf: int = 64):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 7, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z[:, :, None, None])


class TutorialD(nn.Module):
    """The tutorial's discriminator, sized for 28 x 28."""

    def __init__(self, ndf: int = 64):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).flatten()


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def train_tutorial(
    images: np.ndarray, budget_s: float, seed: int, *, bf16: bool = False
) -> tuple[Any, dict[str, Any]]:
    """The tutorial's training loop (D on real + fake, then G, BCE), stopped at the budget;
    ``bf16``: its networks under bfloat16 autocast, as pixelab runs its own on such a CPU."""
    from functools import partial

    from pixelab.train.loop import bf16_autocast

    cast = partial(bf16_autocast, torch.device("cpu"), bf16)
    torch.manual_seed(seed)
    g, d = TutorialG(), TutorialD()
    g.apply(_init)
    d.apply(_init)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    x_all = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    gen = torch.Generator().manual_seed(seed)
    elapsed, steps = 0.0, 0
    while elapsed < budget_s:
        order = torch.randperm(len(x_all), generator=gen)
        for i in range(len(x_all) // 64):
            t0 = time.perf_counter()
            real = x_all[order[i * 64 : (i + 1) * 64]].float().div(127.5).sub(1)
            with cast():
                fake = g(torch.randn(64, g.nz, generator=gen))
                s_real, s_fake = d(real).float(), d(fake.detach()).float()
            loss_d = bce(s_real, torch.ones(64)) + bce(s_fake, torch.zeros(64))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            with cast():
                s_fake = d(fake).float()
            loss_g = bce(s_fake, torch.ones(64))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            elapsed += time.perf_counter() - t0
            steps += 1
            if elapsed >= budget_s:
                break
    g.eval()
    return g, {"steps": steps, "train_seconds": round(elapsed, 1)}


def _tutorial_samples(g: TutorialG, n: int, seed: int) -> np.ndarray:
    z = torch.randn(n, g.nz, generator=torch.Generator().manual_seed(seed + 3))
    with torch.no_grad():
        x = g(z)
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def measure(
    fakes: np.ndarray, asked: np.ndarray | None, judge_model: Any, real_feats: np.ndarray
) -> dict[str, Any]:
    """The judge's numbers for ``fakes`` (``asked``: the classes asked for, if any)."""
    from pixelab.generate import class_coverage, class_diversity, frechet_distance, kernel_distance
    from pixelab.generate.judge import judge

    feats, pred = judge(judge_model, fakes)
    kid, _ = kernel_distance(real_feats, feats, subsets=50, subset_size=500)
    out = {
        "fid_judge": round(frechet_distance(real_feats, feats), 4),
        "kid_judge": round(kid, 5),
        "coverage": class_coverage(pred, 10)["entropy"],
        "missing_classes": class_coverage(pred, 10)["missing"],
        "diversity_within_class": round(
            class_diversity(feats, pred if asked is None else asked), 4
        ),
    }
    if asked is not None:
        out["class_consistency"] = round(float((pred == asked).mean()), 4)
    return out


def recipes(mode_seeking: float) -> list[tuple[str, bool, float]]:
    """pixelab's recipes: (name, conditional, mode-seeking weight)."""
    return [("pixelab (defaults, classes)", True, 0.0),
            (f"pixelab (classes, --mode-seeking {mode_seeking:g})", True, mode_seeking),
            ("pixelab (unconditional)", False, 0.0)]  # fmt: skip


TUTORIAL = "DCGAN tutorial recipe"


def _wanted(name: str, only: str | None) -> bool:
    """Whether recipe ``name`` runs: every one, or those holding one of ``only``'s words."""
    return only is None or any(w.strip() in name for w in only.split(","))


def run_seed(
    seed: int, budget_s: float, train: Any, judge_model: Any, real_feats: np.ndarray, *,
    mode_seeking: float = 1.0, only: str | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:  # fmt: skip
    """Every recipe (or those whose name holds one of ``only``'s comma-separated words) once
    with ``seed``: (results by recipe, 60 samples by recipe). pixelab's GANs run in the
    precision pixelab picks for this machine (bf16 where the CPU has it); the tutorial's
    recipe as written (float32) and, on such a CPU, also under bf16 autocast."""
    from pixelab.generate import GANConfig, fit_gan, sample
    from pixelab.generate.gan import build
    from pixelab.train.loop import choose_precision

    bf16 = choose_precision(None, torch.device("cpu"))["bf16"]
    results: dict[str, Any] = {}
    grids = {}
    n = 2000
    for name, conditional, ms in recipes(mode_seeking):
        if not _wanted(name, only):
            continue
        cfg = GANConfig(conditional=conditional, epochs=1000, seed=seed, mode_seeking=ms)
        g, d = build(cfg, 1, 28, 10)
        t0 = time.perf_counter()
        res = fit_gan(g, d, train.images, train.labels, cfg, max_seconds=budget_s, bf16=bf16)
        asked = np.arange(n) % 10 if conditional else None
        z = torch.randn(n, cfg.latent, generator=torch.Generator().manual_seed(seed + 3))
        fakes = sample(g, z, None if asked is None else torch.as_tensor(asked))
        results[name] = {"train_seconds": round(res.train_seconds, 1), "steps": res.steps,
                         "bf16": bf16, "wall_seconds": round(time.perf_counter() - t0, 1),
                         **measure(fakes, asked, judge_model, real_feats)}  # fmt: skip
        grids[name] = fakes[:60]
        print(seed, name, results[name], flush=True)
    for name, cast in ((TUTORIAL, False), (f"{TUTORIAL}, bf16", True)):
        if not _wanted(name, only) or (cast and not bf16):
            continue
        g, info_t = train_tutorial(train.images, budget_s, seed, bf16=cast)
        fakes = _tutorial_samples(g, n, seed)
        results[name] = {**info_t, "bf16": cast, **measure(fakes, None, judge_model, real_feats)}
        grids[name] = fakes[:60]
        print(seed, name, results[name], flush=True)
    return results, grids


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per recipe, the median of every number over the seeds' runs."""
    out: dict[str, Any] = {}
    for name in runs[0]:
        keys = [k for k, v in runs[0][name].items() if isinstance(v, (int, float))]
        out[name] = {k: round(float(np.median([r[name][k] for r in runs])), 5) for k in keys}
        out[name]["fid_judge_all"] = [r[name]["fid_judge"] for r in runs]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-s", type=float, default=180.0)
    ap.add_argument("--seeds", default="0", help="seeds separated by commas, e.g. 0,1,2")
    ap.add_argument("--out", default=".bench/generate.json")
    ap.add_argument("--mode-seeking", type=float, default=1.0, help="its recipe's weight")
    ap.add_argument("--only", default=None,
                    help="only the recipes whose name holds one of these comma-separated words")  # fmt: skip
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(max(1, torch.get_num_threads()))

    from pixelab.apps.gan import judge_run
    from pixelab.data import load_train_test
    from pixelab.generate import class_diversity, frechet_distance
    from pixelab.generate.judge import judge
    from pixelab.report.generate import mosaic

    train, test = load_train_test("fashion-mnist")
    judge_model, info = judge_run("fashion-mnist", size=28, channels=1, classes=train.classes)
    real = test.subset(np.arange(2000))
    real_feats, _ = judge(judge_model, real.images)
    real_info = {"fid_real_vs_real": round(frechet_distance(real_feats[::2], real_feats[1::2]), 4),
                 "diversity_within_class": round(class_diversity(real_feats, real.labels), 4)}  # fmt: skip
    runs, first_grids = [], None
    for seed in seeds:
        res, grids = run_seed(seed, args.budget_s, train, judge_model, real_feats,
                              mode_seeking=args.mode_seeking, only=args.only)  # fmt: skip
        runs.append(res)
        first_grids = first_grids or grids
    results = medians(runs)
    for name, r in results.items():
        print("median", name, r, flush=True)

    from pixelab.report.figures import new_figure

    fig = new_figure(4 * len(first_grids), 3.2)
    for ax, (name, images) in zip(
        fig.subplots(1, len(first_grids)), first_grids.items(), strict=True
    ):
        ax.imshow(mosaic(images, ncols=10), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{name}\nFID (judge) {runs[0][name]['fid_judge']:.3f}", fontsize=9)
        ax.axis("off")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.with_suffix(".png"), dpi=110, bbox_inches="tight")
    write_json(out, {"machine": machine(), "budget_s": args.budget_s, "seeds": seeds,
                     "real": real_info, "judge": info, "medians": results, "runs": runs})  # fmt: skip
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
