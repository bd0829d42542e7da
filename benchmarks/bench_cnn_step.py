"""Training-step speed of the default CNN by memory layout and precision (no data, no accuracy).

    .venv/bin/python benchmarks/bench_cnn_step.py [--rounds 3] [--steps 20] [--batch 64]
        [--out .bench/cnn_step.json] [--profile]

One step = forward + cross-entropy + backward + AdamW update of ``create_model("small_cnn")`` on a
random batch of 28x28 grey images. The variants take turns within each round, so drifts in the
machine's speed hit all of them alike; each round records the median step time, and the table
shows the median over rounds and the speed relative to contiguous fp32.

``--profile`` then profiles 10 steps of the default (fp32 channels-last) with
``torch.profiler``: the busiest operators, and the convolutions' forward and backward time per
step with the GFLOP/s they reach (forward FLOPs from ``torch.utils.flop_counter``; the backward
pass computes two products of the same size, the input and the weight gradients).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

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


def make_step(*, channels_last: bool, bf16: bool, batch: int) -> Callable[[], None]:
    """One training step of a fresh default model on a fixed random batch."""
    torch.manual_seed(0)
    model = create_model("small_cnn", num_classes=10)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def step_seconds(*, channels_last: bool, bf16: bool, batch: int, steps: int) -> float:
    """Median seconds of one training step after 3 warm-up steps."""
    step = make_step(channels_last=channels_last, bf16=bf16, batch=batch)
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def profile(batch: int, steps: int = 10) -> dict[str, Any]:
    """Where one fp32 channels-last step spends its time; conv forward/backward GFLOP/s."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    from torch.utils.flop_counter import FlopCounterMode

    model = create_model("small_cnn", num_classes=10).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.rand(batch, 1, 28, 28))
    conv_flops = sum(n for op, n in counter.get_flop_counts()["Global"].items()
                     if "convolution" in str(op))  # fmt: skip
    step = make_step(channels_last=True, bf16=False, batch=batch)
    for _ in range(3):
        step()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=12))
    total = sum(e.self_cpu_time_total for e in events) / steps / 1e3
    ms = {e.key: e.self_cpu_time_total / steps / 1e3 for e in events}
    fwd, bwd = ms.get("aten::mkldnn_convolution", 0.0), ms.get("aten::convolution_backward", 0.0)
    return {
        "ms_per_step": round(total, 1),
        "conv_forward_ms": round(fwd, 1),
        "conv_backward_ms": round(bwd, 1),
        "conv_forward_gflops": round(conv_flops / fwd / 1e6, 1) if fwd else None,
        "conv_backward_gflops": round(2 * conv_flops / bwd / 1e6, 1) if bwd else None,
        "top_ops_ms": {k: round(v, 2) for k, v in sorted(ms.items(), key=lambda kv: -kv[1])[:8]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", default=".bench/cnn_step.json")
    parser.add_argument("--profile", action="store_true")
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
    prof = profile(args.batch) if args.profile else None
    write_json(args.out, {"benchmark": "cnn training step", "batch": args.batch,
                          "threads": torch.get_num_threads(), "results": results, "profile": prof,
                          "machine": machine(torch=torch.__version__)})  # fmt: skip
    if prof:
        print(f"profile of one fp32 channels-last step: {prof['ms_per_step']} ms; convolutions "
              f"forward {prof['conv_forward_ms']} ms ({prof['conv_forward_gflops']} GFLOP/s), "
              f"backward {prof['conv_backward_ms']} ms ({prof['conv_backward_gflops']} GFLOP/s)")  # fmt: skip
    print(f"{'variant':<28} {'ms/step':>8} {'img/s':>7} {'vs fp32':>8}  rounds (ms)")
    for name, r in results.items():
        print(f"{name:<28} {r['ms_per_step']:>8.1f} {r['images_per_second']:>7} "
              f"{r['speed_vs_fp32_contiguous']:>7.2f}x  {r['ms_per_step_rounds']}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
