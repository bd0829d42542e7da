"""Augmentation throughput: pixelab's ``strong`` policy against torchvision v2 and kornia.

    .venv/bin/python benchmarks/bench_augment.py [--rounds 7] [--out .bench/augment.json]

The ``strong`` policy (shift 10 %, flip, rotate 15 degrees, zoom +-15 %, brightness and
contrast +-20 %, one erased box up to 25 % of the area) on batches of 64 images, 28 px grey and
64 px RGB, images per second (medians over ``--rounds``, in turns in the same run):

- pixelab: ``policy.sample`` + ``policy.apply`` on the batch (its own parameters per image);
- torchvision v2, per image: the same transforms in a Python loop (own parameters per image,
  what a DataLoader does);
- torchvision v2, per batch: the same transforms called once on the batch tensor (one set of
  parameters for the whole batch: faster, but every image moves alike);
- kornia (``pip install kornia``; skipped when missing): its augmentation module on the batch
  (own parameters per image).

Then the cost inside training: one epoch of ``small_cnn`` on 10,000 Fashion-MNIST images with
``--augment none``, ``shift`` (today's default for large sets) and ``strong``, training
images per second, medians over ``--rounds`` taken in turns.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import torch
from _common import machine

from pixelab._core.io import write_json


def _torchvision() -> Any:
    from torchvision.transforms import v2

    return v2.Compose([
        v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15)),
        v2.RandomHorizontalFlip(0.5),
        v2.ColorJitter(brightness=0.2, contrast=0.2),
        v2.RandomErasing(p=1.0, scale=(0.0, 0.25), value=0.5),
    ])  # fmt: skip


def _kornia() -> Any:
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    return torch.nn.Sequential(
        K.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15), p=1.0),
        K.RandomHorizontalFlip(p=0.5),
        K.ColorJitter(brightness=0.2, contrast=0.2, p=1.0),
        K.RandomErasing(p=1.0, scale=(0.01, 0.25), value=0.5),
    )


def _rate(fn: Any, x: torch.Tensor, rounds: int) -> list[float]:
    fn(x)  # warm-up
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(5):
            fn(x)
        out.append(5 * len(x) / (time.perf_counter() - t0))
    return out


def throughput(rounds: int) -> dict[str, Any]:
    from pixelab.augment import parse_policy

    policy = parse_policy("strong")
    tv = _torchvision()
    kn = _kornia()
    rng = np.random.default_rng(0)
    result: dict[str, Any] = {}
    for name, shape in (("28px grey", (64, 1, 28, 28)), ("64px RGB", (64, 3, 64, 64))):
        x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        runs: dict[str, Any] = {
            "pixelab": lambda b: policy.apply(b, policy.sample(rng, len(b))),
            "torchvision v2, per image": lambda b: torch.stack([tv(im) for im in b]),
            "torchvision v2, per batch": lambda b: tv(b),
        }
        if kn is not None:
            runs["kornia"] = lambda b: kn(b)
        rates: dict[str, list[float]] = {k: [] for k in runs}
        with torch.no_grad():
            for _ in range(rounds):  # in turns: drifts of the machine hit all alike
                for key, fn in runs.items():
                    rates[key] += _rate(fn, x, 1)
        med = {k: round(statistics.median(v), 1) for k, v in rates.items()}
        fairest = max(v for k, v in med.items() if k != "pixelab" and "per batch" not in k)
        result[name] = {"images_per_second": med,
                        "pixelab_vs_fastest_per_image_peer": round(med["pixelab"] / fairest, 2)}  # fmt: skip
        print(name, result[name], flush=True)
    return result


def training_overhead(rounds: int) -> dict[str, Any]:
    """Training throughput of small_cnn with no augmentation, shifts, and the strong policy."""
    from pixelab.data import load
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit

    ds = load("fashion-mnist", subset="train").subset(np.arange(10_000))
    rates: dict[str, list[float]] = {"none": [], "shift": [], "strong": []}
    for _ in range(rounds):
        for augment in rates:
            model = create_model("small_cnn", num_classes=10, in_channels=1, image_size=28, seed=0)
            result = fit(model, ds, config=TrainConfig(epochs=1, augment=augment, seed=0))
            rates[augment].append(result.samples_per_second)
    med = {k: round(statistics.median(v), 1) for k, v in rates.items()}
    out = {"train_images_per_second": med,
           "strong_slowdown_vs_none": round(1 - med["strong"] / med["none"], 3),
           "strong_slowdown_vs_shift": round(1 - med["strong"] / med["shift"], 3)}  # fmt: skip
    print(out, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=".bench/augment.json")
    args = ap.parse_args()
    import torchvision

    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    try:
        import kornia

        versions["kornia"] = kornia.__version__
    except ImportError:
        pass
    report = {"machine": machine(**versions), "threads": torch.get_num_threads(),
              "throughput": throughput(args.rounds),
              "training": training_overhead(max(3, args.rounds // 2))}  # fmt: skip
    write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
