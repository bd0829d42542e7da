"""Super-resolution on photos no network saw in training: bicubic, pixelab's networks and the
pretrained RDN of @upscalerjs/esrgan-slim, measured in one run on this machine (PSNR and SSIM
on the luma channel with a border of ``scale`` pixels cropped, a VGG16 feature distance, and
milliseconds per output megapixel, the median over the photos).

    .venv/bin/python benchmarks/bench_superres.py RUN [RUN ...] [--esrgan-slim PKG.tgz]
        [--repeats 3 --out .bench/superres.json]

RUNs are ``pixelab superres train`` / ``superres gan`` runs (or shipped, shipped-srresnet,
shipped-srgan) of one scale. The speed is the median of ``--repeats`` timings per photo
(then the median over photos); the quality numbers do not change between repeats.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from _common import machine

from pixelab._core.io import write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--esrgan-slim", default=os.environ.get("PIXELAB_ESRGAN_SLIM"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=".bench/superres.json")
    args = ap.parse_args()

    from pixelab.apps.superres import (
        PEER,
        crop_to_scale,
        enlargements,
        load_superres,
        method_name,
        score,
        sr_pictures,
    )
    from pixelab.models.tfjs import ESRGANSlim
    from pixelab.models.vgg16 import vgg16_features

    models = [load_superres(r) for r in args.runs]
    scales = {rec["config"].scale for _, rec in models}
    assert len(scales) == 1, f"runs of one scale, got {scales}"
    scale = scales.pop()
    nets = {}
    for (m, rec), run in zip(models, args.runs, strict=True):
        nets[method_name(rec, run)] = m
    if args.esrgan_slim:
        nets[PEER] = ESRGANSlim(args.esrgan_slim, scale)
    pictures, names, _ = sr_pictures("photos", held_out=True)
    vgg = vgg16_features()
    rows: dict[str, list[dict[str, float]]] = {"bicubic": [], **{k: [] for k in nets}}
    speed: dict[str, list[float]] = {k: [] for k in nets}
    for pic, name in zip(pictures, names, strict=True):
        hr = crop_to_scale(pic, scale)
        timings = []
        for _ in range(args.repeats):
            _, made, ms = enlargements(nets, hr, scale)
            timings.append(ms)
        for k in nets:
            speed[k].append(float(np.median([t[k] for t in timings])))
        for k, img in made.items():
            rows[k].append(score(img, hr, scale, vgg))
        print(name, {k: round(v[-1]["psnr_y"], 2) for k, v in rows.items()}, flush=True)
    table = []
    for k, v in rows.items():
        table.append({"method": k, **{m: round(float(np.mean([r[m] for r in v])), 4)
                                     for m in ("psnr_y", "ssim_y", "vgg_distance")},
                      "ms_per_megapixel": round(float(np.median(speed[k])), 1) if k in speed else None})  # fmt: skip
    for row in table:
        row["gain_db"] = round(row["psnr_y"] - table[0]["psnr_y"], 3)
    result = {"machine": machine(torch=torch.__version__), "threads": torch.get_num_threads(),
              "date": time.strftime("%Y-%m-%d"), "scale": scale, "photos": names,
              "runs": args.runs, "esrgan_slim": args.esrgan_slim, "table": table}  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    print(f"\nx{scale} on {len(names)} held-out photos ({', '.join(names)})")
    print("| method | PSNR-Y dB | vs bicubic | SSIM-Y | VGG distance | ms per output MP |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in table:
        ms = "-" if r["ms_per_megapixel"] is None else f"{r['ms_per_megapixel']:,.0f}"
        print(f"| {r['method']} | {r['psnr_y']:.2f} | {r['gain_db']:+.2f} | {r['ssim_y']:.4f} "
              f"| {r['vgg_distance']:.4f} | {ms} |")  # fmt: skip


if __name__ == "__main__":
    main()
