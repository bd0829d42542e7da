"""Test accuracy of one CNN recipe after a fixed number of steps, for choosing options.

    .venv/bin/python benchmarks/scratch_cnn_steps.py --name flip --mo '{"convs_per_block": 2}'
        --to '{"steps": 5600, "threads": 1, "batch_size": 128, "lr": 0.003,
               "augment": "shift+flip"}' [--model small_cnn] [--out .bench/cnn_steps.jsonl]

Trains ``create_model(model, **mo)`` on all 60,000 Fashion-MNIST training images with
``CNNConfig(**to)`` (the options of ``pixelab cnn train``), then scores the 10,000 test images
plainly and with test-time augmentation (shifts; shifts and flips). With ``"threads": 1`` two
runs can share this 2-core machine without changing their numbers: fixed steps, not seconds.
Appends one JSON line to ``--out``; the scratch tables in BENCHMARKS.md ("CNNs") came from it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pixelab.data import load_train_test
from pixelab.models import create_model
from pixelab.train.loop import CNNConfig, fit, predict_logits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--model", default="small_cnn")
    ap.add_argument("--mo", default="{}", help="model options as JSON")
    ap.add_argument("--to", default="{}", help="CNNConfig (training) options as JSON")
    ap.add_argument("--out", default=".bench/cnn_steps.jsonl")
    a = ap.parse_args()
    train, test = load_train_test("fashion-mnist")
    cfg = CNNConfig(model=a.model, model_options=json.loads(a.mo), **json.loads(a.to)).check()
    model = create_model(cfg.model, num_classes=10, in_channels=1, image_size=28,
                         **cfg.model_options)  # fmt: skip
    t0 = time.perf_counter()
    result = fit(model, train, config=cfg.train_config())
    wall = time.perf_counter() - t0

    def accuracy(tta: str) -> float:
        return float((predict_logits(model, test.images, tta=tta).argmax(1) == test.labels).mean())

    row = {"name": a.name, "model": a.model, "mo": cfg.model_options, "to": json.loads(a.to),
           "acc": accuracy("none"), "tta_shift": accuracy("shift"),
           "tta_flip": accuracy("shift+flip"), "train_s": round(result.train_seconds, 1),
           "wall": round(wall, 1)}  # fmt: skip
    print(json.dumps(row), flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
