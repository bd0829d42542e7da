"""Fashion-MNIST on the CPU: pixelab's default CNN recipe vs the official PyTorch MNIST example.

    .venv/bin/python benchmarks/bench_cnn.py [--out .bench/cnn.json] [--ref-epochs 14]
        [--ref-max-seconds 900] [--long-epochs 0] [--long-model M] [--long-augment A] [--threads N]
        [--budget-ref-epochs 8] [--budget-model M] [--budget-option KEY=VALUE ...]
        [--budget-train-option KEY=VALUE ...]
        [--share-of-ref 0.25]

Trains, one after the other on the official 60,000 / 10,000 split:

(a) the reference: the network and recipe of the official PyTorch MNIST example
    (conv 32 - conv 64 - max-pool - dropout - fc 128 - dropout - fc 10, log-softmax + NLL,
    Adadelta lr 1.0, StepLR gamma 0.7 per epoch, batch 64), fed by a torchvision ``DataLoader``
    over a map-style Dataset with ``ToTensor`` + ``Normalize((0.1307,), (0.3081,))``;
(b) pixelab's default recipe through the public API: ``create_model(CNNConfig().model, ...)``,
    ``fit(..., config=CNNConfig().train_config())`` and ``predict_logits`` -- what
    ``pixelab cnn train --data fashion-mnist`` runs;
(c) optionally (``--long-epochs N``) the default recipe run for N epochs (``--long-model`` and
    ``--long-augment`` change its model and augmentation);
(d) unless ``--budget-ref-epochs 0``: the default recipe given the time of that many reference
    epochs (their mean time, measured in (a)) as its ``budget_s`` -- what
    ``pixelab cnn train --budget-s S`` runs; ``--budget-model`` and ``--budget-option`` (model
    constructor options as KEY=VALUE, JSON values) change its model, ``--budget-train-option``
    its training options (``batch_size=128``);
(e) unless ``--share-of-ref 0``: the default recipe given that share of the reference's time to
    0.92 as its ``budget_s``: with 0.25, whether pixelab reaches 0.92 in a quarter of the time.

The reference trains until it reaches 0.92 test accuracy, ``--ref-epochs`` epochs or
``--ref-max-seconds`` of training, whichever comes first.

Each run records the test accuracy after every epoch against the cumulative training seconds
(evaluation and checkpointing are not counted), the training throughput, and the first time each
reaches 0.92 test accuracy. For pixelab it also counts the FLOPs of one forward pass
(``torch.utils.flop_counter``; training ~ 3x forward) and reports the achieved GFLOP/s against
the CPU's fp32 peak: cores x clock (``cpu MHz`` in /proc/cpuinfo) x 32 FLOP/cycle (two 256-bit
FMA pipes, or one 512-bit, = 16 multiply-adds per cycle per core).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _common import cpu_name, cpuinfo, machine
from torch import nn

from pixelab._core.io import write_json
from pixelab.data import load_train_test
from pixelab.models import create_model
from pixelab.train.loop import CNNConfig, fit, predict_logits

TARGET = 0.92


# ---- (a) the official PyTorch MNIST example ----------------------------------------------------


class RefNet(nn.Module):
    """pytorch/examples mnist/main.py ``Net``, unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


class ArrayDataset(torch.utils.data.Dataset):
    """A torchvision-style map Dataset over uint8 (N, 28, 28, 1) arrays, with transforms."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Any) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), int(self.labels[i])


def run_reference(
    train: Any, test: Any, *, epochs: int, max_seconds: float, stop_at: float = TARGET
) -> dict[str, Any]:
    from torchvision import transforms

    torch.manual_seed(1)  # as in the example
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    # The example shuffles only when it runs on CUDA; we shuffle (the fair, usual choice).
    train_loader = torch.utils.data.DataLoader(
        ArrayDataset(train.images, train.labels, tf), batch_size=64, shuffle=True
    )
    test_loader = torch.utils.data.DataLoader(
        ArrayDataset(test.images, test.labels, tf), batch_size=1000
    )
    model = RefNet()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    curve, elapsed, seen = [], 0.0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        for x, y in train_loader:
            opt.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            opt.step()
            seen += len(y)
        sched.step()
        elapsed += time.perf_counter() - t0
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += int((model(x).argmax(1) == y).sum())
        curve.append(
            {"epoch": epoch, "seconds": round(elapsed, 2), "accuracy": correct / len(test)}
        )
        print(f"  reference epoch {epoch}: {curve[-1]}", file=sys.stderr, flush=True)
        if elapsed > max_seconds or curve[-1]["accuracy"] >= stop_at:
            break
    return {
        "recipe": "pytorch/examples mnist: Adadelta lr 1.0, StepLR 0.7, batch 64, DataLoader",
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "curve": curve,
        "train_seconds": round(elapsed, 2),
        "samples_per_second": round(seen / elapsed, 1),
        "accuracy": curve[-1]["accuracy"],
    }


# ---- (b), (c) pixelab through the public API ---------------------------------------------------


def forward_flops(model: nn.Module, size: int = 28) -> int:
    """FLOPs (2 per multiply-add) of one forward pass of one image."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.rand(8, 1, size, size))
    return counter.get_total_flops() // 8


def run_pixelab(train: Any, test: Any, cfg: CNNConfig, *, label: str) -> dict[str, Any]:
    model = create_model(
        cfg.model,
        num_classes=len(train.classes),
        in_channels=train.channels,
        image_size=train.shape[0],
        **cfg.model_options,
    )  # fmt: skip -- exactly what pixelab.apps.cnn.train_cnn builds
    flops = forward_flops(model)

    def progress(task: str, done: int, total: int) -> None:
        if done == total:
            print(f"  {label}: {task} done", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as ckpt:  # checkpoints as in a real run (not timed)
        result = fit(
            model, train, val=test, config=cfg.train_config(), checkpoint_dir=ckpt,
            progress=progress,
        )  # fmt: skip
    acc = float((predict_logits(model, test.images).argmax(1) == test.labels).mean())
    tta = predict_logits(model, test.images, tta="shift").argmax(1)  # reported apart
    curve = [
        {"epoch": h["epoch"], "seconds": h["seconds"], "accuracy": h["val_accuracy"]}
        for h in result.history
    ]
    sps = result.samples_per_second
    return {
        "plan": result.plan,
        "precision": result.precision,
        "recipe": {k: v for k, v in cfg.to_dict().items() if k not in ("data", "limit", "size")},
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "curve": curve,
        "train_seconds": round(result.train_seconds, 2),
        "samples_per_second": round(sps, 1),
        "accuracy": acc,
        "accuracy_tta_shift": float((tta == test.labels).mean()),
        "forward_mflop_per_image": round(flops / 1e6, 2),
        "train_gflop_per_second": round(3 * flops * sps / 1e9, 1),
    }


# ---- helpers -----------------------------------------------------------------------------------


def _pairs(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE arguments as a dict, the values read as JSON."""
    return {k: json.loads(v) for k, v in (p.split("=", 1) for p in pairs)}


def time_to(curve: list[dict[str, Any]], target: float) -> float | None:
    """Cumulative training seconds at the end of the first epoch reaching ``target``."""
    return next((c["seconds"] for c in curve if c["accuracy"] >= target), None)


def acc_within(curve: list[dict[str, Any]], seconds: float) -> float | None:
    """Best test accuracy of an epoch that ended within ``seconds`` of training."""
    accs = [c["accuracy"] for c in curve if c["seconds"] <= seconds]
    return max(accs) if accs else None


def cpu_info() -> dict[str, Any]:
    """Threads, SIMD width and the fp32 peak GFLOP/s the GFLOP/s figures are compared with."""
    mhz, flags = float(cpuinfo("cpu MHz") or 0), set((cpuinfo("flags") or "").split())
    cores = torch.get_num_threads()
    simd = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "other"
    per_cycle = 32 if simd in ("avx512f", "avx2") else 8  # fp32 FLOP/cycle/core, 2x256 or 1x512
    peak = cores * mhz / 1e3 * per_cycle
    return {"mhz": mhz, "threads": cores, "simd": simd,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "bf16_hardware": "avx512_bf16" in flags or "amx_bf16" in flags,
            "flop_per_cycle_per_core": per_cycle, "peak_gflops": round(peak, 1)}  # fmt: skip


def summarize(runs: dict[str, Any], cpu: dict[str, Any], train: Any, test: Any) -> dict[str, Any]:
    """Times to each target, accuracy within each budget, speed-ups; the JSON written."""
    for r in runs.values():
        for t in (TARGET, 0.935, 0.945):
            r[f"time_to_{t}"] = time_to(r["curve"], t)
        r["accuracy_within_120s"] = acc_within(r["curve"], 120)
        r["accuracy_within_600s"] = acc_within(r["curve"], 600)
    summary: dict[str, Any] = {}
    if ref := runs.get("reference"):
        # The issue timed the reference at ~67 s for 2 epochs; >1 means this machine is slower.
        two = next((c["seconds"] for c in ref["curve"] if c["epoch"] == 2), None)
        if two:
            summary["machine_slowdown_vs_issue"] = round(two / 67, 2)
    ref, ours = runs.get("reference"), runs.get("pixelab_default")
    if not ours:
        return {"runs": runs, "summary": summary}
    if ref and ref["time_to_0.92"] and ours["time_to_0.92"]:
        summary["time_to_0.92_speedup"] = round(ref["time_to_0.92"] / ours["time_to_0.92"], 2)
    elif ref and ours["time_to_0.92"]:
        summary["time_to_0.92_speedup_at_least"] = round(
            ref["train_seconds"] / ours["time_to_0.92"], 2
        )  # the reference never got there: its whole run is a lower bound
    if (budgeted := runs.get("pixelab_budget")) and budgeted["curve"]:
        summary["budget_run"] = {
            "reference_epochs": budgeted.get("reference_epochs"),
            "budget_s": budgeted["plan"].get("budget_s"),
            "train_seconds": budgeted["train_seconds"],
            "accuracy": budgeted["accuracy"],
            "accuracy_tta_shift": budgeted["accuracy_tta_shift"],
        }
    if (share := runs.get("pixelab_share")) and share["curve"] and ref and ref["time_to_0.92"]:
        summary["share_run"] = {
            "budget_s": share["plan"].get("budget_s"),
            "train_seconds": share["train_seconds"],
            "accuracy": share["accuracy"],
            "reaches_0.92": share["accuracy"] >= TARGET,
            "speedup_if_reached": round(ref["time_to_0.92"] / share["train_seconds"], 2),
        }
    summary["train_gflops_fraction_of_peak"] = round(
        ours["train_gflop_per_second"] / cpu["peak_gflops"], 3
    )
    result = {
        "benchmark": "cnn fashion-mnist",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {**machine(torch=torch.__version__), **cpu},
        "n_train": len(train),
        "n_test": len(test),
        "runs": runs,
        "summary": summary,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".bench/cnn.json")
    parser.add_argument("--ref-epochs", type=int, default=14, help="at most; stops at 0.92")
    parser.add_argument("--ref-max-seconds", type=float, default=900)
    parser.add_argument("--long-epochs", type=int, default=0, help="0 skips run (c)")
    parser.add_argument("--long-model", default=None, help="default: the default model")
    parser.add_argument("--long-augment", default=None, help="default: the default (auto)")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--budget-ref-epochs", type=float, default=8, help="0 skips run (d)")
    parser.add_argument("--budget-model", default=None, help="default: the default model")
    parser.add_argument("--budget-option", action="append", default=[], help="KEY=VALUE (JSON)")
    parser.add_argument("--budget-train-option", action="append", default=[],
                        help="KEY=VALUE (JSON) of the training config, e.g. batch_size=128")  # fmt: skip
    parser.add_argument("--share-of-ref", type=float, default=0.25, help="0 skips run (e)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    train, test = load_train_test("fashion-mnist")
    cpu = cpu_info()
    runs: dict[str, Any] = {}
    if not args.skip_reference:
        print("(a) reference", file=sys.stderr)
        runs["reference"] = run_reference(
            train, test, epochs=args.ref_epochs, max_seconds=args.ref_max_seconds
        )
        write_json(args.out, summarize(runs, cpu, train, test))  # keep finished runs
    print("(b) pixelab default", file=sys.stderr)
    runs["pixelab_default"] = run_pixelab(train, test, CNNConfig(), label="default")
    write_json(args.out, summarize(runs, cpu, train, test))
    if args.long_epochs:
        print("(c) pixelab long", file=sys.stderr)
        long_cfg = CNNConfig().replace(
            model=args.long_model, epochs=args.long_epochs, augment=args.long_augment
        )
        runs["pixelab_long"] = run_pixelab(train, test, long_cfg, label="long")
        write_json(args.out, summarize(runs, cpu, train, test))

    if args.budget_ref_epochs and "reference" in runs:
        ref_curve = runs["reference"]["curve"]
        budget = args.budget_ref_epochs * ref_curve[-1]["seconds"] / len(ref_curve)
        print(f"(d) pixelab within {args.budget_ref_epochs:g} reference epochs ({budget:.0f} s)",
              file=sys.stderr)  # fmt: skip
        options = _pairs(args.budget_option)
        budget_cfg = CNNConfig(**_pairs(args.budget_train_option)).replace(
            model=args.budget_model, budget_s=round(budget, 1), model_options=options or None
        )
        runs["pixelab_budget"] = run_pixelab(train, test, budget_cfg, label="budget")
        runs["pixelab_budget"]["reference_epochs"] = args.budget_ref_epochs
        write_json(args.out, summarize(runs, cpu, train, test))

    ref_time = runs.get("reference", {}).get("time_to_0.92")
    if args.share_of_ref and ref_time:
        budget = round(args.share_of_ref * ref_time, 1)
        print(f"(e) pixelab in {args.share_of_ref:g} of the reference's time to 0.92 ({budget} s)",
              file=sys.stderr)  # fmt: skip
        runs["pixelab_share"] = run_pixelab(train, test, CNNConfig(budget_s=budget), label="share")
        runs["pixelab_share"]["share_of_reference"] = args.share_of_ref
        write_json(args.out, summarize(runs, cpu, train, test))

    summary = summarize(runs, cpu, train, test)["summary"]

    print(f"\n{cpu_name()}, {cpu['threads']} threads, {cpu['simd']}, peak {cpu['peak_gflops']} "
          f"GFLOP/s fp32 ({cpu['threads']} x {cpu['mhz']} MHz x {cpu['flop_per_cycle_per_core']})")  # fmt: skip
    head = f"{'run':<16} {'epoch':>5} {'train s':>8} {'test acc':>8}"
    print(head)
    for name, r in runs.items():
        for c in r["curve"]:
            print(f"{name:<16} {c['epoch']:>5} {c['seconds']:>8.1f} {c['accuracy']:>8.4f}")
    print()
    print(f"{'run':<16} {'params':>9} {'img/s':>8} {'t->0.92 s':>9} {'t->0.935 s':>10} "
          f"{'acc@120s':>8} {'acc@600s':>8} {'final':>7}")  # fmt: skip
    for name, r in runs.items():
        cells = [
            f"{v:.1f}" if v is not None else "-" for v in (r["time_to_0.92"], r["time_to_0.935"])
        ]
        cells += [f"{v:.4f}" if v is not None else "-"
                  for v in (r["accuracy_within_120s"], r["accuracy_within_600s"])]  # fmt: skip
        print(
            f"{name:<16} {r['num_parameters']:>9,} {r['samples_per_second']:>8.0f} "
            f"{cells[0]:>9} {cells[1]:>10} {cells[2]:>8} {cells[3]:>8} {r['accuracy']:>7.4f}"
        )
    for name, r in runs.items():
        if "train_gflop_per_second" in r:
            print(f"{name}: {r['forward_mflop_per_image']} MFLOP/image forward, "
                  f"{r['train_gflop_per_second']} GFLOP/s training "
                  f"({r['train_gflop_per_second'] / cpu['peak_gflops']:.0%} of peak)")  # fmt: skip
    print(summary)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
