"""Saliency against its peers, and how faithful each method is.

    .venv/bin/python benchmarks/bench_explain.py [--images 256] [--rounds 5] [--only dream]
        [--out .bench/explain.json]

1. A small_cnn is trained on 12,000 Fashion-MNIST images (3 epochs, about 20 s), and one on the
   synthetic shapes, whose images come with object masks (4 epochs).
2. Speed and agreement on ``--images`` test images, ours and the peer in turns, medians over
   ``--rounds``: Grad-CAM on the last block against pytorch-grad-cam's ``GradCAM``
   (correlation per map), occlusion (4x4 window, stride 2, grey) against Captum's ``Occlusion``
   (largest difference), integrated gradients (32 midpoint steps) against Captum's.
3. Activation maximisation (``--only dream``): for 8 units of each layer but the first and for
   every class, the value made-up images reach (256 steps) over the best of 2,000 test images.
   ``--only lucent`` runs the same objectives with torch-lucent (0.1.8, which needs kornia 0.4;
   install it with ``pip install ipython decorator`` and then ``pip install --no-deps
   torch-lucent==0.1.8 kornia==0.4.1``) in the
   same steps, with lucent's moves set to pixelab's sizes, and reports both values and times.
4. Faithfulness: the deletion curve's area (accuracy as the most salient pixels are set to black
   first; lower is more faithful) for every method, against random deletion, on 500 test
   images of each model; on shapes also the share of each map's mass on the object (and on it or
   within 1 px), for the default flat head, an average-pooled ("gap") head and a bigger GAP
   model, with the mass the best possible map at Grad-CAM's resolution would reach
   (``--only shapes``).
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
from pixelab.data import limit_per_class, load, load_train_test
from pixelab.explain.saliency import (
    METHODS,
    deletion_curve,
    gradcam,
    integrated_gradients,
    mask_share,
    occlusion,
    saliency,
)
from pixelab.models import create_model
from pixelab.train import TrainConfig, fit


def _train(train: Any, epochs: int, head: str = "flat", **options: Any) -> Any:
    model = create_model("small_cnn", num_classes=len(train.classes), in_channels=train.channels,
                         image_size=train.shape[0], head=head, seed=0, **options)  # fmt: skip
    fit(model, train, config=TrainConfig(epochs=epochs, seed=0, channels_last=False))
    return model.float().eval()


def _x(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def speed_and_agreement(model: Any, x: torch.Tensor, rounds: int) -> dict[str, Any]:
    """Ours and the peer's seconds (medians over rounds) and how closely the maps agree."""
    from captum.attr import IntegratedGradients, Occlusion
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with torch.no_grad():
        t = model(x).argmax(1)
    layer = list(model.feature_layers())[-1]
    targets = [ClassifierOutputTarget(int(i)) for i in t]

    def peer_gradcam() -> np.ndarray:
        with GradCAM(model=model, target_layers=[model.feature_layers()[layer]]) as cam:
            return cam(input_tensor=x, targets=targets)

    pairs = {
        "gradcam": (lambda: gradcam(model, x, t, layer=layer).numpy(), peer_gradcam),
        "occlusion": (
            lambda: occlusion(model, x, t, window=4, stride=2, baseline=0.5),
            lambda: Occlusion(model).attribute(
                x,
                target=t,
                sliding_window_shapes=(1, 4, 4),
                strides=(1, 2, 2),
                baselines=0.5,
                perturbations_per_eval=256,
            )[:, 0],
        ),
        "integrated-gradients": (
            lambda: integrated_gradients(model, x, t, steps=32),
            lambda: IntegratedGradients(model).attribute(
                x.clone().requires_grad_(),
                target=t,
                n_steps=32,
                method="riemann_middle",
                internal_batch_size=len(x) * 8,
            ),
        ),
    }
    result = {}
    for name, (ours, peer) in pairs.items():
        times: dict[str, list[float]] = {"pixelab": [], "peer": []}
        for _ in range(rounds):
            s, a = _timed(ours)
            times["pixelab"].append(s)
            s, b = _timed(peer)
            times["peer"].append(s)
        a = np.asarray(a.detach() if torch.is_tensor(a) else a, np.float64)
        b = np.asarray(b.detach() if torch.is_tensor(b) else b, np.float64)
        row: dict[str, Any] = {k: round(statistics.median(v), 4) for k, v in times.items()}
        row["ratio_pixelab_over_peer"] = round(row["pixelab"] / row["peer"], 3)
        if name == "gradcam":
            keep = [i for i in range(len(a)) if b[i].std() > 0]
            corr = [np.corrcoef(a[i].ravel(), b[i].ravel())[0, 1] for i in keep]
            row["min_correlation"] = round(float(min(corr)), 5)
            row["median_correlation"] = round(float(np.median(corr)), 5)
            row["empty_maps_both"] = int(
                sum(a[i].max() == 0 for i in range(len(a)) if i not in keep)
            )
        else:
            row["max_abs_difference"] = float(np.abs(a - b).max())
            row["max_abs_value"] = float(np.abs(b).max())
        result[name] = row
    return result


def faithfulness(model: Any, ds: Any) -> dict[str, Any]:
    """Deletion-curve areas per method (and the mass on the object where masks exist)."""
    x, y = _x(ds.images), torch.from_numpy(ds.labels)
    out: dict[str, Any] = {}
    for method in METHODS:
        maps = torch.cat([saliency(model, x[i : i + 128], y[i : i + 128], method=method).detach()
                          for i in range(0, len(x), 128)])  # fmt: skip
        curve = deletion_curve(model, x, y, maps, seed=0)
        row = {"area": curve["area"]["saliency"], "area_random": curve["area"]["random"],
               "curve": curve["accuracy"]["saliency"]}  # fmt: skip
        if ds.masks is not None:
            masks = torch.from_numpy(ds.masks)
            row["mask_share"] = round(float(mask_share(maps, masks).mean()), 4)
            row["near_share"] = round(float(mask_share(maps, _near(masks)).mean()), 4)
        out[method] = row
    if ds.masks is not None:
        out["mask_area"] = round(float(ds.masks.mean()), 4)
        out["near_area"] = round(float(_near(torch.from_numpy(ds.masks)).float().mean()), 4)
        out["gradcam_best_possible_share"] = round(float(_best_possible(model, ds.masks)), 4)
    out["random_curve"] = curve["accuracy"]["random"]
    return out


def dreams(model: Any, ds: Any) -> dict[str, Any]:
    """The value made-up images reach over the best of ``ds``'s images, per objective."""
    from pixelab.explain.dream import channel, class_, dataset_values, dream

    objectives = {f"channel:{layer}:{u}": channel(layer, u)
                  for layer in list(model.feature_layers())[1:] for u in range(8)}  # fmt: skip
    objectives.update({f"class:{c}": class_(i) for i, c in enumerate(ds.classes)})
    rows = {}
    for name, obj in objectives.items():
        real = float(dataset_values(model, ds.images, obj).max())
        t0 = time.perf_counter()
        made = float(dream(model, obj, seed=0)["values"].max())
        rows[name] = {"reached": round(made, 3), "dataset_max": round(real, 3),
                      "ratio": round(made / real, 2) if real > 0 else None,
                      "seconds": round(time.perf_counter() - t0, 2)}  # fmt: skip
    ratios = [r["ratio"] for r in rows.values() if r["ratio"] is not None]
    return {"objectives": rows, "median_ratio": round(float(np.median(ratios)), 2),
            "share_at_least_2x": round(float(np.mean([r >= 2 for r in ratios])), 3),
            "dead_units": [k for k, r in rows.items() if r["ratio"] is None]}  # fmt: skip


def versus_lucent(model: Any, ds: Any, steps: int = 256) -> dict[str, Any]:
    """The value torch-lucent and pixelab reach for the same objectives in the same steps."""
    import copy

    from lucent.optvis import objectives as lobj
    from lucent.optvis import param, render, transform

    from pixelab.explain.dream import channel, class_, dataset_values, dream, evaluate

    size = model.image_size
    objectives = {f"channel:{layer}:{u}": (channel(layer, u), lobj.channel(f"blocks_{layer}", u))
                  for layer in list(model.feature_layers())[1:] for u in range(8)}  # fmt: skip
    objectives.update({f"class:{c}": (class_(i), lobj.channel("head", i))
                       for i, c in enumerate(ds.classes)})  # fmt: skip
    # Lucent's moves, set to pixelab's sizes (its defaults are for 224-px ImageNet models).
    moves = [transform.jitter(2), transform.random_scale([0.95 + 0.01 * i for i in range(11)]),
             transform.random_rotate(list(range(-5, 6)))]  # fmt: skip
    rows = {}
    for name, (ours, theirs) in objectives.items():
        real = float(dataset_values(model, ds.images, ours).max())
        t0 = time.perf_counter()
        mine = float(dream(model, ours, steps=steps, seed=0)["values"].max())
        t_mine = time.perf_counter() - t0
        peer = copy.deepcopy(model)  # lucent leaves its hooks on every module
        torch.manual_seed(0)
        t0 = time.perf_counter()
        images = render.render_vis(peer, theirs, lambda: param.image(size, channels=1, batch=4),
                                   transforms=moves, thresholds=(steps,), preprocess=False,
                                   progress=False, show_image=False, fixed_image_size=size)  # fmt: skip
        t_peer = time.perf_counter() - t0
        with torch.no_grad():
            x = torch.from_numpy(images[-1].transpose(0, 3, 1, 2).copy()).float()
            reached = float(evaluate(model, x, ours).max())
        rows[name] = {"dataset_max": round(real, 3), "pixelab": round(mine, 3),
                      "lucent": round(reached, 3), "pixelab_seconds": round(t_mine, 2),
                      "lucent_seconds": round(t_peer, 2)}  # fmt: skip
        print(f"{name:28s} best real {real:7.3f}  pixelab {mine:7.3f} ({t_mine:.1f} s)  "
              f"lucent {reached:7.3f} ({t_peer:.1f} s)")  # fmt: skip
    ok = [r for r in rows.values() if r["dataset_max"] > 0]
    summary = {
        "median_ratio_pixelab": round(float(np.median([r["pixelab"] / r["dataset_max"] for r in ok])), 2),
        "median_ratio_lucent": round(float(np.median([r["lucent"] / r["dataset_max"] for r in ok])), 2),
        "share_at_least_2x_pixelab": round(float(np.mean([r["pixelab"] >= 2 * r["dataset_max"] for r in ok])), 3),
        "share_at_least_2x_lucent": round(float(np.mean([r["lucent"] >= 2 * r["dataset_max"] for r in ok])), 3),
        "median_time_ratio_pixelab_over_lucent": round(float(np.median(
            [r["pixelab_seconds"] / r["lucent_seconds"] for r in rows.values()])), 2),
    }  # fmt: skip
    return {"objectives": rows, **summary}


def _near(masks: torch.Tensor, px: int = 1) -> torch.Tensor:
    """The object masks grown by ``px`` pixels: the object and its outline."""
    grown = torch.nn.functional.max_pool2d(masks.float()[:, None], 2 * px + 1, 1, px)
    return grown[:, 0] > 0


def _best_possible(model: Any, masks: np.ndarray) -> float:
    """The mass a perfect Grad-CAM map (the object's share of every cell of the last map,
    upsampled as Grad-CAM is) puts on the object: the ceiling the map's resolution allows."""
    import torch.nn.functional as F

    m = torch.from_numpy(masks).float()[:, None]
    with torch.no_grad():
        side = model.forward_features(torch.zeros(1, model.in_channels, *masks.shape[1:])).shape[-1]
    best = F.interpolate(F.adaptive_avg_pool2d(m, side), size=masks.shape[1:], mode="bilinear",
                         align_corners=False)[:, 0]  # fmt: skip
    return float(mask_share(best, m[:, 0]).mean())


#: The shapes models: the default (flat head), an average-pooled head, and a bigger GAP model
#: (two convs per block, 6,000 images, 8 epochs) that learns shapes almost perfectly.
SHAPES_MODELS = {
    "flat": ({"head": "flat"}, 4, False),
    "gap": ({"head": "gap"}, 6, False),
    "gap_2convs": ({"head": "gap", "convs_per_block": 2}, 8, True),
}


def _shapes() -> dict[str, Any]:
    """Faithfulness on shapes (with object masks) for the models of SHAPES_MODELS."""
    from pixelab.data.shapes import make_shapes

    shapes = load("shapes", seed=0)
    keep = np.arange(len(shapes)) % 5
    tr, te = shapes.subset(keep != 0), shapes.subset(keep == 0)
    out: dict[str, Any] = {}
    for name, (options, epochs, more) in SHAPES_MODELS.items():
        train = make_shapes(n_per_class=1000, seed=1) if more else tr
        sm = _train(train, epochs=epochs, **options)
        with torch.no_grad():
            acc = float((sm(_x(te.images)).argmax(1).numpy() == te.labels).mean())
        out[name] = {"test_accuracy": round(acc, 4),
                     "faithfulness": faithfulness(sm, limit_per_class(te, 500))}  # fmt: skip
        f = out[name]["faithfulness"]
        print(f"shapes, {name} (accuracy {acc:.3f}):",
              {m: (f[m]["area"], f[m]["mask_share"], f[m]["near_share"]) for m in METHODS},
              "random", f[METHODS[0]]["area_random"], "mask area", f["mask_area"],
              "near area", f["near_area"], "best possible", f["gradcam_best_possible_share"])  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=".bench/explain.json")
    ap.add_argument("--only", choices=("all", "dream", "lucent", "shapes"), default="all",
                    help="dream: only the activation-maximisation part (about a minute); "
                    "lucent: the same objectives with torch-lucent beside pixelab; "
                    "shapes: only the shapes faithfulness part, flat and average-pooled heads")  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    import importlib.metadata

    import captum

    if args.only == "shapes":
        write_json(args.out, {"machine": machine(torch=torch.__version__), "shapes": _shapes()})
        return
    train, test = load_train_test("fashion-mnist", limit=12_000, seed=0)
    fm = _train(train, epochs=3)
    x = _x(test.images[: args.images])
    if args.only == "lucent":
        import importlib.metadata

        result = {"machine": machine(torch=torch.__version__,
                                     lucent=importlib.metadata.version("torch-lucent")),
                  "lucent": versus_lucent(fm, limit_per_class(test, 2000))}  # fmt: skip
        write_json(args.out, result)
        print({k: v for k, v in result["lucent"].items() if k != "objectives"})
        return
    if args.only == "dream":
        result = {"machine": machine(torch=torch.__version__),
                  "dream": dreams(fm, limit_per_class(test, 2000))}  # fmt: skip
        write_json(args.out, result)
        d = result["dream"]
        for name, row in d["objectives"].items():
            print(f"{name:28s} reached {row['reached']:8.3f}  best real {row['dataset_max']:8.3f}"
                  f"  ratio {row['ratio']}")  # fmt: skip
        print("median ratio", d["median_ratio"], "share >= 2x", d["share_at_least_2x"],
              "dead", d["dead_units"])  # fmt: skip
        return
    report: dict[str, Any] = {
        "machine": machine(
            torch=torch.__version__,
            captum=captum.__version__,
            grad_cam=importlib.metadata.version("grad-cam"),
        ),
        "threads": torch.get_num_threads(),
        "images": args.images,
        "rounds": args.rounds,
    }
    report["fashion_mnist"] = {"speed": speed_and_agreement(fm, x, args.rounds),
                               "faithfulness": faithfulness(fm, limit_per_class(test, 500)),
                               "dream": dreams(fm, limit_per_class(test, 2000))}  # fmt: skip
    report["shapes"] = _shapes()
    write_json(args.out, report)
    for name, row in report["fashion_mnist"]["speed"].items():
        print(f"{name:22s} pixelab {row['pixelab']:.3f} s  peer {row['peer']:.3f} s  "
              f"ratio {row['ratio_pixelab_over_peer']:.2f}  "
              + ", ".join(f"{k} {v}" for k, v in row.items() if k not in ("pixelab", "peer",
                                                                           "ratio_pixelab_over_peer")))  # fmt: skip
    f = report["fashion_mnist"]["faithfulness"]
    print(
        "fashion_mnist", {m: f[m]["area"] for m in METHODS}, "random", f[METHODS[0]]["area_random"]
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
