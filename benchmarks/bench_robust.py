"""The lecture's invariance claim on Fashion-MNIST: the default small_cnn (flat head, 1-pixel
shifts) against a global-average-pooling head and against stronger augmentation.

    .venv/bin/python benchmarks/bench_robust.py [--limit 20000] [--epochs 5] [--out .bench/robust.json]

Each model trains on the first ``--limit`` training images with one seed, then
``pixelab robust sweep`` (translate, rotate, scale; seed 0, so every model sees the same
changed images) measures it on 3,000 test images. Writes the runs under ``runs/bench-robust``
and one figure with every model's curves.

``--only shapes``: the same question on the shapes dataset (32 px, 70 % of 3,000 images to
train, 6 epochs, seeds 0-2): a network trained without turns against one trained with
``rotate:180``, at 0/45/90 degrees and 0/4/8 pixels, on the other 900 images.
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


def shapes(seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    """Rotation against translation on shapes, with and without rotation augmentation."""
    import numpy as np

    from pixelab.data import load
    from pixelab.data.split import split
    from pixelab.models import create_model
    from pixelab.robust import sweep
    from pixelab.train import TrainConfig, fit

    ds = load("shapes", size=32)
    train, test = split(ds, test_size=0.3, seed=0)
    out: dict[str, Any] = {}
    for augment in ("none", "rotate:180"):
        rows: dict[str, list[list[float]]] = {"rotate": [], "translate": []}
        for seed in seeds:
            model = create_model("small_cnn", num_classes=6, in_channels=1, image_size=32,
                                 seed=seed)  # fmt: skip
            fit(model, train, config=TrainConfig(epochs=6, augment=augment, seed=seed))
            model.eval()

            def predict(x: Any, model: Any = model) -> Any:
                with torch.no_grad():
                    return torch.softmax(model(x), 1).numpy()

            for factor, amounts in (("rotate", (0, 45, 90)), ("translate", (0, 4, 8))):
                res = sweep(predict, test.images, test.labels, factor, amounts=amounts, seed=seed)
                rows[factor].append([r["accuracy"] for r in res])
        out[augment] = {k: [round(float(v), 3) for v in np.mean(v, 0)] for k, v in rows.items()}
        print(augment, out[augment], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=".bench/robust.json")
    ap.add_argument("--only", choices=["shapes"], help="run only the shapes comparison")
    args = ap.parse_args()
    if args.only == "shapes":
        write_json(args.out, {"machine": machine(torch=torch.__version__), "shapes": shapes()})
        print(f"wrote {args.out}")
        return
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
