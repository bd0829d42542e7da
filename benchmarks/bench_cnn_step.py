"""Training-step speed of the default CNN by memory layout and precision (no data, no accuracy).

    .venv/bin/python benchmarks/bench_cnn_step.py [--rounds 3] [--steps 20] [--batch 64]
        [--out .bench/cnn_step.json]

One step = forward + cross-entropy + backward + AdamW update of ``create_model("small_cnn")`` on a
random batch of 28x28 grey images. The variants take turns within each round, so drifts in the
machine's speed hit all of them alike; each round records the median step time, and the table
shows the median over rounds and the speed relative to contiguous fp32.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from _common import machine

from pixelab._core.io import write_json
from pixelab.models import create_model

VARIANTS = {
    "fp32 contiguous": {"channels_last": False, "bf16": False},
    "fp32 channels_last": {"channels_last": True, "bf16": False},
    "bf16 autocast channels_last": {"channels_last": True, "bf16": True},
}


def step_seconds(*, channels_last: bool, bf16: bool, batch: int, steps: int) -> float:
    """Median seconds of one training step after 3 warm-up steps."""
    torch.manual_seed(0)
    model = create_model("small_cnn", num_classes=10)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", default=".bench/cnn_step.json")
    args = parser.parse_args()
    rounds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, kw in VARIANTS.items():
            rounds[name].append(step_seconds(**kw, batch=args.batch, steps=args.steps))
    base = statistics.median(rounds["fp32 contiguous"])
    results = {
        name: {
            "ms_per_step_rounds": [round(t * 1e3, 1) for t in ts],
            "ms_per_step": round(statistics.median(ts) * 1e3, 1),
            "images_per_second": round(args.batch / statistics.median(ts)),
            "speed_vs_fp32_contiguous": round(base / statistics.median(ts), 2),
        }
        for name, ts in rounds.items()
    }
    write_json(args.out, {"benchmark": "cnn training step", "batch": args.batch,
                          "threads": torch.get_num_threads(), "results": results,
                          "machine": machine(torch=torch.__version__)})  # fmt: skip
    print(f"{'variant':<28} {'ms/step':>8} {'img/s':>7} {'vs fp32':>8}  rounds (ms)")
    for name, r in results.items():
        print(f"{name:<28} {r['ms_per_step']:>8.1f} {r['images_per_second']:>7} "
              f"{r['speed_vs_fp32_contiguous']:>7.2f}x  {r['ms_per_step_rounds']}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
