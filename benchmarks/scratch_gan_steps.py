"""FID (judge) of one GAN recipe at fixed step counts, for choosing options: steps, not seconds.

    .venv/bin/python benchmarks/scratch_gan_steps.py --name lrg4 --cfg '{"conditional": false,
        "lr_g": 0.0004}' [--bf16] [--seed 0] [--at 1400,1900,2300] [--decays 0.99,0.999]
        [--threads 1] [--out .bench/gan_steps.jsonl]

Trains ``fit_gan`` on all 60,000 Fashion-MNIST training images with ``GANConfig(**cfg)`` and,
after each step count in ``--at``, makes 2,000 samples (every class alike where the GAN takes
classes) from the generator's weight average at each of ``--decays`` and from its raw weights,
and measures them as ``bench_generate.py`` does (the cached judge, 2,000 test images). One
thread each, two runs can share this 2-core machine without changing their numbers: the
results depend on the steps taken, not on the time they took. Appends one JSON line to
``--out``; the scratch tables in BENCHMARKS.md ("GANs", 2026-12-06) came from it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from bench_generate import measure

import pixelab.train.averaging as averaging
from pixelab.apps.gan import judge_run
from pixelab.data import load_train_test
from pixelab.generate import GANConfig, fit_gan, sample
from pixelab.generate.gan import build
from pixelab.generate.judge import judge

STEPS_PER_EPOCH = 937  # 60,000 images in batches of 64


class _Stop(Exception):
    """Raised after the last step count measured: the run has nothing more to give."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--cfg", default="{}", help="GANConfig options as JSON")
    ap.add_argument("--at", default="1400,1900,2300", help="step counts, separated by commas")
    ap.add_argument("--decays", default="0.99,0.999", help="weight-average decays to measure")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=".bench/gan_steps.jsonl")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    at = sorted(int(s) for s in a.at.split(","))
    decays = [float(s) for s in a.decays.split(",")]
    train, test = load_train_test("fashion-mnist")
    judge_model, _ = judge_run("fashion-mnist", size=28, channels=1, classes=train.classes)
    real_feats, _ = judge(judge_model, test.subset(np.arange(2000)).images)
    cfg = GANConfig(**{**json.loads(a.cfg), "epochs": 1 + at[-1] // STEPS_PER_EPOCH,
                       "seed": a.seed})  # fmt: skip
    asked = np.arange(2000) % 10 if cfg.conditional else None
    z = torch.randn(2000, cfg.latent, generator=torch.Generator().manual_seed(a.seed + 3))
    rows: list[dict] = []
    base = averaging.WeightAverage

    class Measured(base):  # fit_gan's own average, plus one per decay, measured at each count
        def __init__(self, model, decay):
            super().__init__(model, decay)
            self.raw, self.extra = model, {str(d): base(model, d) for d in decays}

        def update(self, step: int) -> None:
            super().update(step)
            for avg in self.extra.values():
                avg.update(step)
            if step in at:
                row: dict = {"steps": step}
                nets = {**{d: w.module for d, w in self.extra.items()}, "raw": self.raw}
                for key, net in nets.items():
                    was = net.training
                    fakes = sample(net, z, None if asked is None else torch.as_tensor(asked))
                    net.train(was)
                    row[key] = measure(fakes, asked, judge_model, real_feats)
                rows.append(row)
                print(a.name, json.dumps(row), flush=True)
                if step == at[-1]:
                    raise _Stop

    averaging.WeightAverage = Measured  # fit_gan imports it when it starts
    try:
        fit_gan(*build(cfg, 1, 28, 10), train.images, train.labels, cfg, bf16=a.bf16)
    except _Stop:
        pass
    finally:
        averaging.WeightAverage = base
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "a") as f:
        f.write(
            json.dumps({"name": a.name, "cfg": cfg.to_dict(), "bf16": a.bf16, "rows": rows}) + "\n"
        )


if __name__ == "__main__":
    main()
