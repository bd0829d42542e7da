"""Why compress first: pixel-space against latent-space diffusion, measured in one run. Each
diffusion run (pixel or latent: ``diffusion train --vae``) gets the cost of one training step,
its sampling speed and the judge's numbers for its samples, all on this machine, now.

    .venv/bin/pixelab vae train --data fashion-mnist --grid --latent 4 --no-plain --epochs 5 \
        --out runs/vae-grid
    .venv/bin/pixelab diffusion train --data fashion-mnist --vae runs/vae-grid --budget-min 7 \
        --out runs/diffusion-latent
    .venv/bin/pixelab diffusion train --data fashion-mnist --budget-min 7 --out runs/diffusion-pixel
    .venv/bin/python benchmarks/bench_latent.py runs/diffusion-pixel runs/diffusion-latent shipped \
        --n 300 --speed-n 40 [--repeats 3 --out .bench/latent.json]

Per run: ``step_ms``, the median of 15 timed training steps (a batch of 128: forward, backward,
Adam) of a fresh copy of its U-Net on its own inputs (pixels, or the VAE's scaled codes);
``images_per_second``, the median of ``--repeats`` samplings of ``--speed-n`` images (DDIM 25
steps, guidance 2; a latent run's time includes decoding its codes to pixels); the judge's FID
(its features, not Inception's), KID and class-consistency on ``--n`` samples of every class
alike against 2,000 test images, with pixelab's cached judge for Fashion-MNIST; and the
training minutes its run recorded (for a latent run, the VAE's own minutes beside them).
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

from pixelab._core.io import read_json, write_json


def draw(model: Any, rec: dict[str, Any], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of every class alike (DDIM 25, guidance 2) as uint8 images, and the classes."""
    from pixelab.apps.gan import asked_classes
    from pixelab.generate.diffusion import NoiseSchedule, guided_eps, sample_loop

    space, cfg = rec["space"], rec["config"]
    y = asked_classes(None, rec["classes"], True, n)
    schedule = NoiseSchedule(cfg.schedule, cfg.steps)
    parts = []
    with torch.inference_mode():
        for i in range(0, n, 250):
            yy = y[i : i + 250]
            x, _ = sample_loop(guided_eps(model, 2.0, yy), space.shape(len(yy)), schedule,
                               steps=25, seed=seed + i, clip=space.clip)  # fmt: skip
            parts.append(space.images(x))
    return np.concatenate(parts), y.numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="diffusion runs (pixel or latent), or shipped")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--speed-n", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=".bench/latent.json")
    args = ap.parse_args()

    from pixelab.apps.diffusion import load_diffusion
    from pixelab.apps.gan import judge_run
    from pixelab.data import load_train_test
    from pixelab.generate.diffusion import time_training_step
    from pixelab.generate.judge import judge

    torch.manual_seed(0)
    _, test = load_train_test("fashion-mnist", seed=0)
    real = test.subset(np.arange(2000))
    judge_model = judge_run("fashion-mnist", size=28, channels=1, classes=test.classes)
    real_feats, _ = judge(judge_model[0], real.images)
    rows = []
    for run in args.runs:
        model, rec = load_diffusion(run)
        space = rec["space"]
        made = read_json(rec["path"] / "metrics.json")
        speeds = []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            draw(model, rec, args.speed_n, seed=100 + r)
            speeds.append(args.speed_n / (time.perf_counter() - t0))
        fakes, asked = draw(model, rec, args.n, seed=1)
        row = {
            "run": str(run), "space": "latent" if rec.get("latent") else "pixels",
            "denoised_shape": list(space.shape(1)[1:]),
            "denoised_numbers": int(np.prod(space.shape(1)[1:])),
            "train_minutes": round(made["train_seconds"] / 60, 2),
            "step_ms": round(1000 * time_training_step(model, space.shape(128), repeats=15,
                                                       warmup=2), 2),
            "images_per_second": round(float(np.median(speeds)), 2),
            **measure(fakes, asked, judge_model[0], real_feats),
        }  # fmt: skip
        if rec.get("latent"):
            vae_metrics = Path(rec["latent"]["vae_run"]) / "metrics.json"
            if vae_metrics.is_file():
                (m,) = [r for r in read_json(vae_metrics)["models"]
                        if r["latent"] == rec["latent"]["latent"] and r["kind"] == "vae"]  # fmt: skip
                row["vae_train_minutes"] = round(m["train_seconds"] / 60, 2)
                row["vae_psnr"] = m["psnr"]
        print(row, flush=True)
        rows.append(row)
    base = rows[0]
    for r in rows:
        r["step_speedup_vs_first"] = round(base["step_ms"] / r["step_ms"], 2)
        r["sampling_speedup_vs_first"] = round(
            r["images_per_second"] / base["images_per_second"], 2
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {"machine": machine(torch=torch.__version__), "judge": judge_model[1],
                     "samples": args.n, "sampler": "DDIM, 25 steps, guidance 2", "runs": rows})  # fmt: skip
    print("| run | denoises | train min | step ms | images/s | FID (judge) | consistency |")
    for r in rows:
        print(f"| {r['run']} | {'x'.join(map(str, r['denoised_shape']))} | {r['train_minutes']} "
              f"| {r['step_ms']} | {r['images_per_second']} | {r['fid_judge']} "
              f"| {r.get('class_consistency')} |")  # fmt: skip


if __name__ == "__main__":
    main()
