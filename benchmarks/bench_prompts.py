"""Prompts of several words: how often a denoiser conditioned on shape, colour, size and
position shows each attribute it was asked for, at several guidance scales, and what it does
with the attributes a prompt leaves out. Measured in one run, on this machine, now.

    make shapes-weights     # a grid VAE, then latent diffusion: runs/diffusion-shapes
    .venv/bin/python benchmarks/bench_prompts.py runs/diffusion-shapes --n 300 \
        [--scales 1,2,3,5 --out .bench/prompts.json]

Full prompts draw every attribute uniformly at random (the same ``--n`` prompts and noise at
every scale; DDIM 25 steps). The shape is read by the run's judge (pixelab's cached small_cnn
for the data when the run's own is gone), colour, size and position off the pixels
(``read_attributes``: exact on the real images). ``all`` is the share with all four right
(chance: 1/648), ``all_on_unseen`` the same over prompts whose combination never occurred in
training. Partial prompts name one attribute at the default guidance; for the others the
table gives how evenly the model spreads their values (entropy over log of the value count:
1 is all values alike, 0 always the same one). ``images_per_second`` is the median of three
timed samplings of 50 images.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _common import machine

from pixelab._core.io import write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default="shipped-shapes")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--scales", default="1,2,3,5")
    ap.add_argument("--out", default=".bench/prompts.json")
    args = ap.parse_args()

    from pixelab.apps.cnn import _read_config
    from pixelab.apps.diffusion import (
        DEFAULT_GUIDANCE,
        QUALITY_STEPS,
        attribute_honour,
        conditions,
        load_diffusion,
        random_conditions,
    )
    from pixelab.apps.diffusion_edit import run_judge
    from pixelab.data import load_train_test
    from pixelab.data.shapes import read_attributes
    from pixelab.generate.diffusion import NoiseSchedule, guided_eps, sample_loop

    torch.manual_seed(0)
    model, rec = load_diffusion(args.run)
    values, cfg, space = rec["attributes"], rec["config"], rec["space"]
    saved = _read_config(rec["path"], kind="diffusion")
    train, _ = load_train_test(saved["data"], size=saved["size"], gray=saved["gray"],
                               limit=saved["limit"], seed=cfg.seed)  # fmt: skip
    _, seen = conditions(train, True)
    judge_net, judge_info = run_judge(rec, remake=True)
    schedule = NoiseSchedule(cfg.schedule, cfg.steps)

    def draw(y: torch.Tensor, w: float, seed: int) -> np.ndarray:
        with torch.inference_mode():
            x, _ = sample_loop(guided_eps(model, w, y), space.shape(len(y)), schedule,
                               steps=QUALITY_STEPS, seed=seed, clip=space.clip)  # fmt: skip
        return space.images(x)

    y = random_conditions(values, args.n, seed=11)
    full = []
    for w in [float(v) for v in args.scales.split(",")]:
        speeds = []
        for r in range(3):
            t0 = time.perf_counter()
            draw(y[:50], w, seed=100 + r)
            speeds.append(50 / (time.perf_counter() - t0))
        scores = attribute_honour(draw(y, w, seed=1), y, values, judge_net, seen=seen)
        row = {"guidance": w, **scores["honoured"],
               "unseen_combinations": scores.get("unseen_combinations"),
               "all_on_unseen": scores.get("all_on_unseen"),
               "images_per_second": round(float(np.median(speeds)), 2)}  # fmt: skip
        print(row, flush=True)
        full.append(row)
    names = list(values)
    partial = []
    unknown = torch.tensor([len(v) for v in values.values()])
    for j, a in enumerate(names):  # a prompt naming one attribute only
        yy = unknown.repeat(args.n, 1)
        yy[:, j] = y[:, j]
        images = draw(yy, DEFAULT_GUIDANCE, seed=2)
        read = read_attributes(images)
        scores = attribute_honour(images, torch.where(yy < unknown, yy, 0), values,
                                  judge_net)["honoured"]  # fmt: skip
        read[names[0]] = None
        spread = {}
        for b in ("colour", "size", "position"):
            if b == a:
                continue
            counts = np.bincount(read[b][read[b] >= 0], minlength=len(values[b]))
            p = counts[counts > 0] / counts.sum()
            spread[b] = round(max(0.0, float(-(p * np.log(p)).sum() / np.log(len(values[b])))), 3)
        row = {"named": a, "honoured": scores[a], "spread_of_the_rest": spread}
        print(row, flush=True)
        partial.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {"machine": machine(torch=torch.__version__), "run": str(args.run),
                     "judge": judge_info, "samples": args.n,
                     "sampler": f"DDIM, {QUALITY_STEPS} steps",
                     "chance_all": round(float(np.prod([1 / len(v) for v in values.values()])), 6),
                     "full_prompts": full, "partial_prompts": partial})  # fmt: skip
    print(
        "| guidance | shape | colour | size | position | all four | all four, unseen | images/s |"
    )
    for r in full:
        print(f"| {r['guidance']:g} | {r['shape']:.2f} | {r['colour']:.2f} | {r['size']:.2f} "
              f"| {r['position']:.2f} | {r['all']:.2f} | {r['all_on_unseen']} "
              f"({r['unseen_combinations']}) | {r['images_per_second']} |")  # fmt: skip


if __name__ == "__main__":
    main()
