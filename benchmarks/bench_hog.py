"""HOG on all 70,000 Fashion-MNIST images: a plain scikit-image loop vs ``hog_batch``.

    .venv/bin/python benchmarks/bench_hog.py [--out .bench/hog.json] [--limit N] [--repeats 3]

Times a Python loop of ``skimage.feature.hog`` once over every image and ``hog_batch``
(median of ``--repeats`` runs), checks the largest absolute difference over all images, prints
a table and writes the numbers as JSON. Parameters: 9 orientations, 4x4-pixel cells, 2x2 blocks,
L2-Hys (1296 numbers per 28x28 image).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import numpy as np
import skimage
from _common import machine
from skimage.feature import hog as sk_hog

from pixelab._core.io import write_json
from pixelab.data.fashion_mnist import load_fashion_mnist
from pixelab.features import hog_batch

PARAMS = {"orientations": 9, "cell": 4, "block": 2, "block_norm": "L2-Hys"}


def skimage_loop(images: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds for a plain loop of skimage.feature.hog, and its (N, D) float64 results."""
    first = sk_hog(
        images[0, :, :, 0].astype(np.float64) / 255,
        orientations=PARAMS["orientations"],
        pixels_per_cell=(PARAMS["cell"], PARAMS["cell"]),
        cells_per_block=(PARAMS["block"], PARAMS["block"]),
        block_norm=PARAMS["block_norm"],
        feature_vector=True,
    )
    out = np.empty((len(images), first.size), np.float64)
    start = time.perf_counter()
    for i, img in enumerate(images[:, :, :, 0]):
        out[i] = sk_hog(
            img.astype(np.float64) / 255,
            orientations=PARAMS["orientations"],
            pixels_per_cell=(PARAMS["cell"], PARAMS["cell"]),
            cells_per_block=(PARAMS["block"], PARAMS["block"]),
            block_norm=PARAMS["block_norm"],
            feature_vector=True,
        )
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".bench/hog.json", help="where to write the JSON")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--repeats", type=int, default=3, help="hog_batch runs (median)")
    args = parser.parse_args(argv)

    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    images = np.concatenate([train.images, test.images])
    if args.limit:
        images = images[: args.limit]
    n = len(images)
    print(f"{n} Fashion-MNIST images {images.shape[1:]}, HOG {PARAMS}", flush=True)

    hog_batch(images[:64], **PARAMS)  # build the lookup table once, outside the timing
    batch_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        ours = hog_batch(images, **PARAMS)
        batch_times.append(time.perf_counter() - start)
    batch_s = statistics.median(batch_times)
    print(f"hog_batch: {batch_s:.2f} s (runs: {', '.join(f'{t:.2f}' for t in batch_times)})")

    loop_s, ref = skimage_loop(images)
    print(f"skimage loop: {loop_s:.2f} s", flush=True)
    max_diff = float(np.abs(ours.astype(np.float64) - ref).max())

    result = {
        "benchmark": "hog",
        "command": ".venv/bin/python benchmarks/bench_hog.py"
        + (f" --limit {args.limit}" if args.limit else ""),
        "n_images": n,
        "image_shape": list(images.shape[1:]),
        "params": PARAMS,
        "feature_dim": int(ours.shape[1]),
        "skimage_loop_seconds": loop_s,
        "skimage_images_per_s": n / loop_s,
        "hog_batch_seconds": batch_s,
        "hog_batch_runs_seconds": batch_times,
        "hog_batch_images_per_s": n / batch_s,
        "speedup": loop_s / batch_s,
        "max_abs_diff": max_diff,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(numpy=np.__version__, **{"scikit-image": skimage.__version__}),
    }
    rows = [
        ("method", "seconds", "images/s"),
        ("skimage.feature.hog loop", f"{loop_s:.2f}", f"{n / loop_s:,.0f}"),
        ("pixelab hog_batch (median)", f"{batch_s:.2f}", f"{n / batch_s:,.0f}"),
    ]
    for a, b, c in rows:
        print(f"{a:<28} {b:>9} {c:>10}")
    print(f"speed-up {loop_s / batch_s:.1f}x, max |difference| {max_diff:.2e}")
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
