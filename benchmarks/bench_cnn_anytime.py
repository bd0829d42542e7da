"""How accurate is a CNN run at any moment? Raw weights vs their moving average, every half epoch.

    .venv/bin/python -W ignore benchmarks/bench_cnn_anytime.py [--out .bench/anytime.json]
        [--epochs 10] [--stop-after N] [--warmup 0.15] [--lr 2e-3] [--batch-size 64]
        [--optimizer adamw|sgd] [--label-smoothing 0.1] [--augment shift|none] [--decay 0.998]

Trains pixelab's default ``small_cnn`` on Fashion-MNIST (60,000 / 10,000) with the hot loop of
``pixelab.train.fit`` (preloaded uint8 tensor, batched 1-pixel shifts, channels-last, AdamW +
one-cycle), keeping a :class:`~pixelab.train.averaging.WeightAverage`. Every half epoch it
measures test accuracy of the raw weights and of the average (evaluation is not timed).
``--stop-after N`` stops after N epochs of an ``--epochs``-long schedule: a cheap way to compare
how early variants reach a target. Writes the curve as JSON after every evaluation.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F
from _common import machine

from pixelab._core.io import write_json
from pixelab.data import load_train_test
from pixelab.data.tensors import to_tensor_uint8
from pixelab.models import create_model
from pixelab.train.averaging import WeightAverage
from pixelab.train.loop import TrainConfig, _augment, _make_optimizer


def accuracy(model: torch.nn.Module, x_all: torch.Tensor, y_all: torch.Tensor) -> float:
    """Test accuracy in inference mode, 1,000 images at a time."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x_all), 1000):
            x = x_all[i : i + 1000].float().div_(255).contiguous(memory_format=torch.channels_last)
            correct += int((model(x).argmax(1) == y_all[i : i + 1000]).sum())
    return round(correct / len(x_all), 4)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=".bench/anytime.json")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--stop-after", type=int, default=None)
    p.add_argument("--warmup", type=float, default=0.15, help="one-cycle pct_start")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", default="adamw", choices=("adamw", "sgd"))
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--augment", default="shift", choices=("shift", "none"))
    p.add_argument("--decay", type=float, default=0.998)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.manual_seed(args.seed)
    train, test = load_train_test("fashion-mnist")
    model = create_model("small_cnn", num_classes=10, in_channels=1, image_size=28)
    model = model.to(memory_format=torch.channels_last)
    xa, ya = to_tensor_uint8(train.images), torch.from_numpy(train.labels)
    xt, yt = to_tensor_uint8(test.images), torch.from_numpy(test.labels)
    bs, n = args.batch_size, len(xa)
    steps = n // bs
    # as fit(): AdamW or Nesterov SGD, weight decay 5e-4 but none on biases and norms
    opt = _make_optimizer(model, TrainConfig(optimizer=args.optimizer, lr=args.lr))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=args.lr,
        total_steps=args.epochs * steps,
        pct_start=args.warmup,
        div_factor=10,
        final_div_factor=100,
    )  # fmt: skip -- as pixelab.train.loop._make_scheduler
    average = WeightAverage(model, args.decay)
    halfway = {steps // 2, steps}
    curve: list[dict[str, float]] = []
    elapsed = 0.0
    for epoch in range(args.stop_after or args.epochs):
        gen = torch.Generator().manual_seed(args.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen)
        model.train()
        t0 = time.perf_counter()
        for step in range(steps):
            idx = order[step * bs : (step + 1) * bs]
            x = _augment(xa[idx].float().div_(255), args.augment, 1, gen)
            x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), ya[idx], label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            average.update(epoch * steps + step + 1)
            if step + 1 in halfway:
                elapsed += time.perf_counter() - t0
                row = {"epoch": round(epoch + (step + 1) / steps, 2), "seconds": round(elapsed, 1),
                       "raw": accuracy(model, xt, yt), "average": accuracy(average.module, xt, yt)}  # fmt: skip
                curve.append(row)
                print(row, file=sys.stderr, flush=True)
                model.train()
                write_json(args.out, {"benchmark": "cnn anytime", "options": vars(args),
                                      "machine": machine(torch=torch.__version__), "curve": curve,
                                      "samples_per_second": round((epoch * steps + step + 1) * bs / elapsed, 1)})  # fmt: skip
                t0 = time.perf_counter()
    print(f"{'epoch':>5} {'train s':>8} {'raw':>7} {'average':>7}")
    for r in curve:
        print(f"{r['epoch']:>5} {r['seconds']:>8.1f} {r['raw']:>7.4f} {r['average']:>7.4f}")


if __name__ == "__main__":
    main()
