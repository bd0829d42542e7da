"""The lecture's invariance claim on Fashion-MNIST: the default small_cnn (flat head, 1-pixel
shifts) against a global-average-pooling head and against stronger augmentation.

    .venv/bin/python benchmarks/bench_robust.py [--limit 20000] [--epochs 5] [--out .bench/robust.json]

Each model trains on the first ``--limit`` training images with one seed, then
``pixelab robust sweep`` (translate, rotate, scale; seed 0, so every model sees the same
changed images) measures it on 3,000 test images. Writes the runs under ``runs/bench-robust``
and one figure with every model's curves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from _common import machine

from pixelab._core.io import write_json

MODELS: dict[str, dict[str, Any]] = {
    "default (flat head, shifts of 1 px)": {},
    "GAP head": {"model_options": {"head": "gap"}},
    "flat head, shifts of 15 %": {"augment": "translate:0.15"},
    "flat head, strong policy": {"augment": "strong"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=".bench/robust.json")
    args = ap.parse_args()
    from pixelab.apps.cnn import train_cnn
    from pixelab.apps.robust import robust_sweep
    from pixelab.report.robust import plot_sweep
    from pixelab.train import CNNConfig

    root = Path("runs/bench-robust")
    report: dict[str, Any] = {"machine": machine(torch=torch.__version__), "limit": args.limit,
                              "epochs": args.epochs, "models": {}}  # fmt: skip
    sweeps = {}
    for k, (label, options) in enumerate(MODELS.items()):
        run = root / f"model{k}"
        cfg = CNNConfig(data="fashion-mnist", limit=args.limit, epochs=args.epochs, seed=0,
                        **options)  # fmt: skip
        t0 = time.perf_counter()
        trained = train_cnn(cfg, run, overwrite=True)
        train_s = time.perf_counter() - t0
        sweeps[label] = robust_sweep(run, "fashion-mnist", root / f"sweep{k}",
                                     factors=("translate", "rotate", "scale"))  # fmt: skip
        report["models"][label] = {"options": options, "accuracy": trained["accuracy"],
                                   "train_seconds": round(train_s, 1),
                                   "summary": sweeps[label]["summary"],
                                   "factors": sweeps[label]["factors"]}  # fmt: skip
        print(label, trained["accuracy"], sweeps[label]["summary"], flush=True)
    first = next(iter(sweeps.values()))
    fig = plot_sweep(first, runs=sweeps, title="Fashion-MNIST: which network is unmoved?")
    root.mkdir(parents=True, exist_ok=True)
    fig.savefig(root / "sweeps.png", dpi=110, bbox_inches="tight")
    write_json(args.out, report)
    print(f"wrote {args.out} and {root / 'sweeps.png'}")


if __name__ == "__main__":
    main()
