#!/usr/bin/env bash
# The GPU path end to end, for a machine with one (e.g. the one the device tool lends):
# train 1 epoch, resume on the CPU, predict, evaluate, export and the tour's CNN chapter, all
# with --device auto, and check that a GPU was used where one is and the results agree.
#
#   bash benchmarks/check_gpu.sh [OUT_DIR]          # needs a python with torch + CUDA
#   ALLOW_CPU=1 bash benchmarks/check_gpu.sh        # rehearse it on a machine without a GPU
#
# Uses $PYTHON (default python3); pixelab runs from src/ (nothing is installed). The tour chapter
# needs Fashion-MNIST (apt package dataset-fashion-mnist or $PIXELAB_DATA); without it, it is
# reported as skipped. The CPU rehearsal took 53 s on 2 cores; it has not yet run on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-/tmp/pixelab-gpu-check}}
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"
px() { "$PY" -m pixelab.cli.main "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "machine"
"$PY" - <<'EOF'
import os, sys, torch
gpu = torch.cuda.is_available()
print("torch", torch.__version__, "| cuda:", torch.cuda.get_device_name(0) if gpu else "none")
if not gpu and not os.environ.get("ALLOW_CPU"):
    sys.exit("no GPU here: this check is for a machine with one (ALLOW_CPU=1 rehearses it)")
EOF
WANT=$("$PY" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")

step "train 1 epoch with --device auto (expect $WANT), interrupt-free"
px cnn train --data digits --epochs 1 --device auto --seed 0 --out "$OUT_DIR/cnn" --json \
  > "$OUT_DIR/train.json"

step "train 2 epochs on auto, interrupted after epoch 1, then resumed with --device cpu"
"$PY" - "$OUT_DIR" <<'EOF'
import sys
import pixelab.train.loop as loop
from pixelab.apps.cnn import train_cnn
from pixelab.train import CNNConfig

real = loop.save_checkpoint
def stop_after_first(*args, state, **kwargs):
    real(*args, state=state, **kwargs)
    if state["epoch"] == 0:
        raise KeyboardInterrupt
loop.save_checkpoint = stop_after_first
cfg = CNNConfig(data="digits", epochs=2, device="auto", seed=0)
out = sys.argv[1] + "/resumed"
assert train_cnn(cfg, out)["interrupted"]
loop.save_checkpoint = real
m = train_cnn(None, out, resume=True, changes={"device": "cpu"})
assert m["device"] == "cpu" and m["epochs"] == 2, m
print("resumed on the cpu: accuracy", m["accuracy"])
EOF

step "predict, evaluate (auto) and export"
"$PY" - "$OUT_DIR" <<'EOF'
import sys
from PIL import Image
from pixelab.data import load
ds = load("digits")
for i in range(3):
    Image.fromarray(ds.images[i][..., 0]).resize((32, 32)).save(f"{sys.argv[1]}/digit{i}.png")
EOF
px predict "$OUT_DIR/cnn" "$OUT_DIR"/digit*.png --json > "$OUT_DIR/predict.json"
px cnn evaluate "$OUT_DIR/cnn" --data digits --json > "$OUT_DIR/evaluate.json" 2> "$OUT_DIR/evaluate.err"
if "$PY" -c "import onnx, onnxruntime" 2>/dev/null; then
  px export "$OUT_DIR/cnn" --json > "$OUT_DIR/export.json"
else
  echo '{"skipped": "onnx/onnxruntime not installed"}' > "$OUT_DIR/export.json"
fi

step "tour: the CNN chapter (quick)"
if "$PY" -c "from pixelab.data.fashion_mnist import load_fashion_mnist as f; f('test')" 2>/dev/null; then
  "$PY" -c "from pixelab.apps.tour import run_tour; import sys; \
m = run_tour(sys.argv[1], quick=True, chapters=['cnn']); print('tour cnn accuracy', m['chapters']['cnn'])" \
    "$OUT_DIR/tour" > "$OUT_DIR/tour.txt"
else
  echo "skipped: Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or PIXELAB_DATA)" \
    > "$OUT_DIR/tour.txt"
fi

step "results"
"$PY" - "$OUT_DIR" "$WANT" <<'EOF'
import json, sys
out, want = sys.argv[1], sys.argv[2]
train = json.load(open(f"{out}/train.json"))
ev = json.load(open(f"{out}/evaluate.json"))
pred = json.load(open(f"{out}/predict.json"))
export = json.load(open(f"{out}/export.json"))
assert train["device"] == want, f"trained on {train['device']}, expected {want}"
assert abs(ev["accuracy"] - train["accuracy"]) < 0.1 or ev["n_test"] != train["n_test"]
assert len(pred["predictions"]) == 3 and not pred["skipped"]
assert export.get("skipped") or export["max_abs_difference"] < 1e-3, export
print(json.dumps({"device": train["device"], "train_accuracy_on_test": train["accuracy"],
                  "evaluate_accuracy_all_digits": ev["accuracy"],
                  "predictions": [p["top"][0]["class"] for p in pred["predictions"]],
                  "onnx_max_abs_difference": export.get("max_abs_difference"),
                  "tour": open(f"{out}/tour.txt").read().strip()}, indent=1))
print("GPU CHECK PASSED")
EOF
