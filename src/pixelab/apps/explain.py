"""``explain`` jobs: what a CNN learned, written as run folders (figures + metrics.json).

Every job checks its options and inputs before the folder is made (``RunDir.create``) and
works on any CNN run folder through the model contract.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab.report import RunDir
from pixelab.report import explain as X


def explain_conv(
    image: np.ndarray,
    kernel: str,
    out: str | os.PathLike[str],
    *,
    stride: int = 1,
    padding: int | None = None,
    max_side: int = 256,
) -> dict[str, Any]:
    """Slide a hand-set kernel over ``image`` (any mode; made grey, shrunk to ``max_side``)."""
    from pixelab._core.checks import check_positive_int
    from pixelab.apps.features import shrink
    from pixelab.data.preprocess import to_gray
    from pixelab.explain import convolve

    check_positive_int(max_side, name="--max-side", minimum=8)
    grey = to_gray(shrink(image, max_side))[:, :, 0]
    result = convolve(grey, kernel, stride=stride, padding=padding)
    fmap = result["feature_map"]
    metrics = {
        "kernel": result["kernel_name"],
        "kernel_values": result["kernel"].tolist(),
        "stride": result["stride"],
        "padding": result["padding"],
        "input_shape": result["input_shape"],
        "output_shape": result["output_shape"],
        "formula": result["formula"],
        "map_min": round(float(fmap.min()), 4),
        "map_max": round(float(fmap.max()), 4),
        "map_mean_abs": round(float(np.abs(fmap).mean()), 4),
    }
    fig = X.plot_conv(grey, result)
    with RunDir.create(out, kind="explain-conv", replace_same_kind=True) as run:
        run.write_config(
            {"kernel": kernel, "stride": stride, "padding": padding}, kind="explain-conv"
        )
        metrics["figures"] = [str(run.save_figure(fig, "conv").relative_to(run.path))]
        run.write_metrics(metrics)
    return metrics


def _untrained_twin(model: Any, seed: int) -> Any:
    """The same architecture, freshly initialised as the run's training started from."""
    from pixelab.models import create_model

    cfg = model.config
    return create_model(cfg.pop("name"), seed=seed, **cfg)


def explain_filters(run: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Any]:
    """First-layer kernels of a run's model, and the share that are oriented edge detectors,
    against the same share for the untrained initialisation."""
    from pixelab._core.io import read_json
    from pixelab.apps.cnn import load_run_model
    from pixelab.explain import first_layer_kernels, orientedness

    model, _ = load_run_model(run)
    kernels = first_layer_kernels(model)
    seed = int(read_json(Path(run) / "config.json").get("seed", 0))
    before = first_layer_kernels(_untrained_twin(model, seed))
    now, then = orientedness(kernels), orientedness(before)
    metrics = {
        "run": str(run),
        "model": model.model_name,
        "n_kernels": int(kernels.shape[0]),
        "kernel_size": int(kernels.shape[2]),
        "in_channels": int(kernels.shape[1]),
        "oriented_share": round(now["oriented_share"], 4),
        "oriented_share_untrained": round(then["oriented_share"], 4),
        "median_r2": round(float(np.median(now["r2"])), 4),
        "median_r2_untrained": round(float(np.median(then["r2"])), 4),
        "threshold_r2": now["threshold"],
        "kernels": [
            {"r2": float(r), "angle": float(a)}
            for r, a in zip(now["r2"], now["angle"], strict=True)
        ],
    }
    title = (f"{metrics['n_kernels']} first-layer kernels of {model.model_name} (orientation, "
             f"Gabor fit r2): {metrics['oriented_share']:.0%} oriented, "
             f"{metrics['oriented_share_untrained']:.0%} before training")  # fmt: skip
    fig_k = X.plot_kernels(kernels, now["r2"], now["angle"], title=title)
    ax = X.plot_orientedness(now["r2"], then["r2"], now["threshold"])
    with RunDir.create(out, kind="explain-filters", replace_same_kind=True) as rd:
        rd.write_config({"run": str(run)}, kind="explain-filters")
        metrics["figures"] = [
            str(rd.save_figure(fig_k, "kernels").relative_to(rd.path)),
            str(rd.save_figure(ax.figure, "orientedness").relative_to(rd.path)),
        ]
        rd.write_metrics(metrics)
    return metrics


def model_input(meta: dict[str, Any], image: str | os.PathLike[str] | np.ndarray) -> np.ndarray:
    """An image file or array of any mode and size, prepared as the run's training images."""
    from pixelab.apps.cnn import run_preprocess

    pre = run_preprocess(meta)
    return pre.apply(image) if isinstance(image, np.ndarray) else pre.read(image)


def explain_maps(
    run: str | os.PathLike[str],
    image: str | os.PathLike[str] | np.ndarray,
    out: str | os.PathLike[str],
    *,
    layers: list[str] | None = None,
    per_layer: int = 12,
) -> dict[str, Any]:
    """Feature maps of ``layers`` (default: all) of a run's model for one image."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.apps.cnn import load_run_model
    from pixelab.explain import check_layers, feature_maps

    check_positive_int(per_layer, name="--per-layer")
    model, meta = load_run_model(run)
    names = check_layers(model, layers)
    x = model_input(meta, image)
    maps = feature_maps(model, x, layers=names)
    with torch.inference_mode():
        logits = model(torch.from_numpy(x.transpose(2, 0, 1).copy()).float().div(255)[None])[0]
    probs = torch.softmax(logits, 0).numpy()
    top = int(probs.argmax())
    metrics = {
        "run": str(run),
        "image": image if isinstance(image, (str, os.PathLike)) else "array",
        "predicted": meta["classes"][top],
        "probability": round(float(probs[top]), 4),
        "layers": {
            name: {
                "shape": list(m.shape),
                "mean": round(float(m.mean()), 4),
                "active_share": round(float((m > 0).mean()), 4),
            }
            for name, m in maps.items()
        },
    }
    fig = X.plot_feature_maps(x, maps, per_layer=per_layer)
    fig.suptitle(
        f"feature maps; predicted {metrics['predicted']} ({metrics['probability']:.0%})",
        fontsize=10,
    )
    with RunDir.create(out, kind="explain-maps", replace_same_kind=True) as rd:
        rd.write_config(
            {"run": str(run), "image": str(metrics["image"]), "layers": names}, kind="explain-maps"
        )
        metrics["figures"] = [str(rd.save_figure(fig, "maps").relative_to(rd.path))]
        rd.write_metrics(metrics)
    return metrics


def _check_target(target: str | None, classes: list[str]) -> None:
    if target is not None and target not in classes:
        raise PixelabError(
            f"unknown class {target!r}", hint=f"the run's classes: {', '.join(classes)}"
        )


def _occlusion_window(side: int) -> dict[str, int]:
    """Occlusion's window and stride for ``side``-pixel images: an eighth of the image per
    window, half a window per step."""
    return {"window": max(4, side // 8), "stride": max(2, side // 16)}


def explain_image(
    model: Any,
    meta: dict[str, Any],
    image: str | os.PathLike[str] | np.ndarray,
    *,
    method: str = "gradcam",
    target: str | None = None,
    layers: list[str] | None = None,
    per_layer: int = 6,
) -> dict[str, Any]:
    """Why a run's model (``model, meta`` of :func:`~pixelab.apps.cnn.load_run_model`) decides
    what it does for one image, as arrays, not a run folder (the studio's "why" view; the CLI's
    ``explain saliency`` and ``explain maps`` write figures): the image as the model sees it,
    every class's probability, the saliency map of ``target`` (default: the predicted class)
    by ``method``, and the ``per_layer`` most active feature maps of ``layers`` (default: the
    first, middle and last layer that outputs maps larger than one pixel). Grad-CAM looks at
    the last such layer; a model without one (an MLP) is an error that names the methods left."""
    import torch

    from pixelab._core.checks import check_choice, check_positive_int
    from pixelab.explain import capture, check_layers
    from pixelab.explain.saliency import METHODS, saliency

    check_choice(method, METHODS, name="method")
    check_positive_int(per_layer, name="per_layer")
    classes = list(meta["classes"])
    _check_target(target, classes)
    names = check_layers(model, layers)
    x = model_input(meta, image)
    t = torch.from_numpy(x.transpose(2, 0, 1).copy()).float().div(255)[None]
    t = t.to(next(model.parameters()).device)
    outputs = capture(model, t, names)  # also leaves the model in eval mode
    spatial = [n for n in names if outputs[n].ndim == 4]
    # a 1x1 map (a small image at the end of a deep network) shows no place: left out
    spatial = [n for n in spatial if outputs[n].shape[-2:].numel() > 1] or spatial
    if method == "gradcam" and not spatial:
        raise PixelabError(
            f"{model.model_name or 'this model'} has no feature maps (its layers pass vectors "
            "on): Grad-CAM and feature maps need a convolutional model",
            hint="choose the method gradients, integrated-gradients or occlusion",
        )
    with torch.no_grad():
        probs = torch.softmax(model(t).float(), 1)[0].cpu().numpy()
    predicted = int(probs.argmax())
    goal = predicted if target is None else classes.index(target)
    kw: dict[str, Any] = {}
    if method == "gradcam":
        kw["layer"] = spatial[-1]
    elif method == "occlusion":
        kw.update(_occlusion_window(int(meta["preprocess"]["size"])))
    smap = saliency(model, t, goal, method=method, **kw)[0].detach().float().cpu().numpy()
    shown = spatial
    if layers is None and spatial:  # the first, middle and last
        shown = list(dict.fromkeys(spatial[i] for i in (0, len(spatial) // 2, -1)))
    maps = {}
    for name in shown:
        fmap = outputs[name][0].float().cpu().numpy()
        top = np.argsort(-fmap.mean((1, 2)), kind="stable")[:per_layer]
        maps[name] = {"shape": list(fmap.shape), "channels": top.tolist(), "maps": fmap[top]}
    warnings = []
    if method == "gradcam" and not smap.max() > 0:
        warnings.append(f"Grad-CAM is empty for this image: no place of layer {kw['layer']} "
                        "raises the class's score; another method shows more")  # fmt: skip
    return {"image": x, "classes": classes, "probabilities": probs, "predicted": predicted,
            "target": goal, "method": method, "layer": kw.get("layer"), "saliency": smap,
            "layers": maps, "warnings": warnings}  # fmt: skip


def _batches(n: int, size: int = 128) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def explain_saliency(
    run: str | os.PathLike[str],
    images: list[str | os.PathLike[str] | np.ndarray],
    out: str | os.PathLike[str],
    *,
    method: str = "gradcam",
    layer: str | None = None,
    target: str | None = None,
    data: str | None = None,
    limit: int = 30,
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]:
    """Saliency maps of a run's model for ``images`` (overlays with the predicted class) and,
    with ``data``, how faithful the method is there: the deletion curve against random
    deletion, and (for data with object masks, such as shapes) the share of saliency on the
    object."""
    import torch

    from pixelab._core.checks import check_choice, check_positive_int
    from pixelab._core.progress import report
    from pixelab.apps.cnn import load_run_data, load_run_model
    from pixelab.explain.saliency import (
        METHODS,
        deletion_curve,
        mask_share,
        saliency,
        spatial_layer,
    )

    check_choice(method, METHODS, name="--method")
    check_positive_int(limit, name="--limit")
    if not images and data is None:
        raise PixelabError(
            "nothing to explain: give image files, --data for the faithfulness measures, or both"
        )
    model, meta = load_run_model(run)
    classes = meta["classes"]
    kw: dict[str, Any] = {}
    if method == "gradcam":
        kw["layer"] = spatial_layer(model, layer)  # an MLP or unknown layer: refused here
    elif layer is not None:
        raise PixelabError("--layer is for --method gradcam", hint="leave it out")
    if method == "occlusion":
        kw.update(_occlusion_window(meta["preprocess"]["size"]))
    _check_target(target, classes)
    xs = [model_input(meta, img) for img in images]

    def tensor(batch: np.ndarray) -> Any:
        return torch.from_numpy(batch.transpose(0, 3, 1, 2).copy()).float().div(255)

    metrics: dict[str, Any] = {"run": str(run), "method": method, **kw, "images": []}
    figs = {}
    if xs:
        x = tensor(np.stack(xs))
        with torch.no_grad():
            probs = torch.softmax(model.eval()(x), 1)
        pred = probs.argmax(1)
        t = pred if target is None else torch.full_like(pred, classes.index(target))
        maps = saliency(model, x, t, method=method, **kw).detach().cpu().numpy()
        titles = []
        for i, img in enumerate(images):
            row = {
                "image": str(img) if isinstance(img, (str, os.PathLike)) else f"array {i}",
                "predicted": classes[int(pred[i])],
                "probability": round(float(probs[i, pred[i]]), 4),
                "explained_class": classes[int(t[i])],
            }
            metrics["images"].append(row)
            titles.append(f"{row['predicted']} ({row['probability']:.0%})"
                          + ("" if target is None else f"; why {target}?")
                          + ("" if maps[i].max() > 0 else "; empty map"))  # fmt: skip

        figs["saliency"] = X.plot_saliency(xs, list(maps), titles, method=method)
    if data is not None:
        from pixelab.data import limit_per_class

        ds = limit_per_class(
            load_run_data(meta, data, seed=seed, progress=progress), limit, seed=seed
        )
        x_all, y_all = tensor(ds.images), torch.from_numpy(ds.labels)
        parts = []
        for i, sl in enumerate(_batches(len(ds))):
            parts.append(saliency(model, x_all[sl], y_all[sl], method=method, **kw).detach())
            report(progress, f"saliency ({method})", i + 1, len(_batches(len(ds))))
        maps_all = torch.cat(parts)
        curve = deletion_curve(model, x_all, y_all, maps_all, seed=seed, progress=progress)
        faith = {"data": data, "n_images": len(ds), **curve}
        faith["faster_than_random"] = curve["area"]["saliency"] < curve["area"]["random"]
        if ds.masks is not None:
            faith["mask_share"] = round(
                float(mask_share(maps_all, torch.from_numpy(ds.masks)).mean()), 4
            )
            faith["mask_area"] = round(float(ds.masks.mean()), 4)  # what a uniform map would get
        metrics["faithfulness"] = faith
        figs["deletion"] = X.plot_deletion(curve, method=method).figure
        faith["empty_maps"] = round(float((maps_all.flatten(1).amax(1) <= 0).float().mean()), 4)
    empty = metrics.get("faithfulness", {}).get("empty_maps", 0.0)
    metrics["warnings"] = []
    if method == "gradcam" and empty > 0.2:
        metrics["warnings"].append(
            f"Grad-CAM is empty for {empty:.0%} of the images: it assumes the classifier averages "
            "the last maps, and this model's head weighs each place on its own. Retrain with "
            "--model-option head=gap (small_cnn), or use --method integrated-gradients"
        )
    with RunDir.create(out, kind="explain-saliency", replace_same_kind=True) as rd:
        rd.write_config({"run": str(run), "method": method, "layer": layer, "target": target,
                         "data": data, "limit": limit, "seed": seed}, kind="explain-saliency")  # fmt: skip
        metrics["figures"] = [
            str(rd.save_figure(f, k).relative_to(rd.path)) for k, f in figs.items()
        ]
        rd.write_metrics(metrics)
    return metrics


#: How the projections are written in figures.
SHOWN = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def explain_embed(
    run: str | os.PathLike[str],
    data: str,
    out: str | os.PathLike[str],
    *,
    limit: int = 1000,
    projections: tuple[str, ...] = ("pca", "tsne"),
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]:
    """The same images of ``data`` in pixel, HOG and CNN-feature space: k-NN accuracy and
    silhouette per space, and 2-D projections (PCA, t-SNE, UMAP) coloured by class."""
    from pixelab._core.checks import check_choice, check_positive_int
    from pixelab._core.progress import report
    from pixelab.apps.cnn import load_run_data, load_run_model
    from pixelab.data import limit_per_class
    from pixelab.explain.embed import SPACES, neighbourhood_scores, project, spaces
    from pixelab.report import figures as F

    check_positive_int(limit, name="--limit", minimum=10)
    for p in projections:
        check_choice(p, ("pca", "tsne", "umap"), name="--projection")
    if "umap" in projections:
        from pixelab._core.optional import require

        require("umap", package="umap-learn")
    model, meta = load_run_model(run)
    ds = limit_per_class(load_run_data(meta, data, seed=seed, progress=progress), limit, seed=seed)
    vectors = spaces(model, ds.images)
    scores = {name: neighbourhood_scores(v, ds.labels, seed=seed) for name, v in vectors.items()}
    steps = len(projections) * len(SPACES)
    fig = F.new_figure(5.2 * len(SPACES), 4.6 * len(projections))
    axes = fig.subplots(len(projections), len(SPACES), squeeze=False)
    for r, method in enumerate(projections):
        for c, name in enumerate(SPACES):
            pts = project(vectors[name], method=method, seed=seed)
            s = scores[name]
            F.plot_embedding(pts, ds.labels, ds.classes, ax=axes[r, c],
                             title=f"{name} ({s['dimensions']:,} numbers), {SHOWN[method]}: "
                             f"k-NN {s['knn_accuracy']:.2f}")  # fmt: skip
            report(progress, "projections", r * len(SPACES) + c + 1, steps)
    metrics = {"run": str(run), "data": data, "n_images": len(ds), "spaces": scores,
               "projections": list(projections)}  # fmt: skip
    with RunDir.create(out, kind="explain-embed", replace_same_kind=True) as rd:
        rd.write_config({"run": str(run), "data": data, "limit": limit, "seed": seed,
                         "projections": list(projections)}, kind="explain-embed")  # fmt: skip
        metrics["figures"] = [str(rd.save_figure(fig, "embed").relative_to(rd.path))]
        rd.write_metrics(metrics)
    return metrics


def explain_top(
    run: str | os.PathLike[str],
    data: str,
    out: str | os.PathLike[str],
    *,
    layer: str | None = None,
    units: list[int] | None = None,
    k: int = 9,
    limit: int = 2000,
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]:
    """For each unit of ``layer`` (default: the last), the images of ``data`` that activate it
    most, cropped to the unit's receptive field (Zeiler & Fergus)."""
    from pixelab._core.checks import check_positive_int
    from pixelab.apps.cnn import load_run_data, load_run_model
    from pixelab.data import limit_per_class
    from pixelab.explain import check_layers
    from pixelab.explain.units import top_images

    check_positive_int(limit, name="--limit")
    check_positive_int(k, name="--top")
    model, meta = load_run_model(run)
    name = check_layers(model, None if layer is None else [layer])[-1]
    ds = limit_per_class(load_run_data(meta, data, seed=seed, progress=progress), limit, seed=seed)
    found = top_images(model, ds.images, name, units=units, k=k)
    crops, values = [], []
    for u in found["units"]:
        for row in u["top"]:
            row["image"] = ds.paths[row["index"]]
            row["class"] = ds.classes[int(ds.labels[row["index"]])]
        crops.append([ds.images[r["index"]][r["box"][0] : r["box"][2], r["box"][1] : r["box"][3]]
                      for r in u["top"]])  # fmt: skip
        values.append([r["activation"] for r in u["top"]])
    fig = X.plot_top_images(crops, [u["unit"] for u in found["units"]], values)
    box = found["units"][0]["top"][0]["box"]
    fig.suptitle(f"{name}: the {k} patches of {len(ds)} images of {data} that excite each unit "
                 f"most (receptive field up to {box[2] - box[0]}x{box[3] - box[1]} px)",
                 fontsize=10)  # fmt: skip
    metrics = {"run": str(run), "data": data, "n_images": len(ds), **found}
    with RunDir.create(out, kind="explain-top", replace_same_kind=True) as rd:
        rd.write_config({"run": str(run), "data": data, "layer": name, "units": units, "top": k,
                         "limit": limit, "seed": seed}, kind="explain-top")  # fmt: skip
        metrics["figures"] = [str(rd.save_figure(fig, "top").relative_to(rd.path))]
        rd.write_metrics(metrics)
    return metrics


def explain_dream(
    run: str | os.PathLike[str],
    objective: str,
    out: str | os.PathLike[str],
    *,
    data: str | None = None,
    steps: int = 256,
    batch: int = 4,
    limit: int = 2000,
    seed: int = 0,
    progress: Any = None,
) -> dict[str, Any]:
    """Images made up to maximise ``objective`` (``channel:L:U``, ``neuron:L:U``, ``class:C``,
    joined by + and -), against the real images of ``data`` (default: the run's own data) that
    score highest."""
    from pixelab._core.checks import check_positive_int
    from pixelab._core.io import read_json
    from pixelab.apps.cnn import load_run_data, load_run_model
    from pixelab.data import limit_per_class
    from pixelab.explain.dream import dataset_values, dream, parse_objective

    check_positive_int(limit, name="--limit")
    check_positive_int(steps, name="--steps")
    check_positive_int(batch, name="--batch")
    model, meta = load_run_model(run)
    obj = parse_objective(objective, classes=meta["classes"])
    data = data or str(read_json(Path(run) / "config.json").get("data"))
    ds = limit_per_class(load_run_data(meta, data, seed=seed, progress=progress), limit, seed=seed)
    real = dataset_values(model, ds.images, obj)  # also checks layers and units, before work
    made = dream(model, obj, steps=steps, batch=batch, seed=seed, progress=progress)
    best = np.argsort(-real, kind="stable")[:4]
    dataset_max = float(real.max())
    reached = float(made["values"].max())
    metrics = {
        "run": str(run),
        "objective": obj.describe(meta["classes"]),
        "data": data,
        "n_images": len(ds),
        "reached": round(reached, 4),
        "dataset_max": round(dataset_max, 4),
        "ratio": round(reached / dataset_max, 3) if dataset_max > 0 else None,
        "values": [round(float(v), 4) for v in made["values"]],
        "best_real": [{"image": ds.paths[i], "value": round(float(real[i]), 4)} for i in best],
        "history": made["history"],
        "steps": steps,
    }
    fig = X.plot_dream(made["images"], made["values"], ds.images[best], real[best],
                       made["history"], dataset_max,
                       title=f"{metrics['objective']}: made-up images reach {reached:.2f}, the best "
                       f"of {len(ds)} real images {dataset_max:.2f}")  # fmt: skip
    with RunDir.create(out, kind="explain-dream", replace_same_kind=True) as rd:
        rd.write_config({"run": str(run), "objective": objective, "data": data, "steps": steps,
                         "batch": batch, "limit": limit, "seed": seed}, kind="explain-dream")  # fmt: skip
        metrics["figures"] = [str(rd.save_figure(fig, "dream").relative_to(rd.path))]
        rd.write_metrics(metrics)
    return metrics


def explain_dissect(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    data: str = "shapes",
    layers: list[str] | None = None,
    n_per_class: int = 100,
    seed: int = 1,
    progress: Any = None,
) -> dict[str, Any]:
    """Network dissection on shapes: per layer, how many units detect each concept (IoU >= 0.2)
    in the trained model and in the same architecture untrained, and the best units' pictures."""
    from pixelab._core.checks import check_positive_int
    from pixelab.apps.cnn import load_run_model
    from pixelab.data.shapes import ShapesConfig, shape_concepts
    from pixelab.explain import check_layers
    from pixelab.explain.dissect import dissect
    from pixelab.report import figures as F

    if data != "shapes":
        raise PixelabError(
            f"dissection needs images with concept masks; {data!r} has none",
            hint="train on the synthetic shapes (pixelab cnn train --data shapes) and dissect "
            "with --data shapes",
        )
    check_positive_int(n_per_class, name="--images-per-class")
    model, meta = load_run_model(run)
    names = check_layers(model, layers)
    if meta["classes"] != list(ShapesConfig().classes):
        raise PixelabError(
            f"the run knows the classes {meta['classes']}, not the shapes "
            f"{list(ShapesConfig().classes)}",
            hint="dissect a run trained with --data shapes",
        )
    pre = meta["preprocess"]
    ds, concepts = shape_concepts(size=pre["size"], color=pre["channels"] == 3,
                                  n_per_class=n_per_class, seed=seed, progress=progress)  # fmt: skip
    trained = dissect(model, ds.images, concepts, layers=names)
    untrained = dissect(_untrained_twin(model, seed=0).eval(), ds.images, concepts, layers=names)
    shape_names = list(ds.classes)
    table = {
        layer: {
            "units": r["units"],
            "shape_detectors": sum(r["detectors"][c] for c in shape_names),
            "shape_detectors_untrained": sum(
                untrained["layers"][layer]["detectors"][c] for c in shape_names
            ),
            "detectors": r["detectors"],
            "detectors_untrained": untrained["layers"][layer]["detectors"],
            "best_iou": r["best_iou"],
            "best_iou_untrained": untrained["layers"][layer]["best_iou"],
            "top": r["top"],
        }
        for layer, r in trained["layers"].items()
    }
    # pictures: for the last layer, each shape's best unit on three images of that shape
    import torch
    import torch.nn.functional as TF

    from pixelab.explain import capture

    last = names[-1]
    rows, titles = [], []
    for c in shape_names:
        u = trained["layers"][last]["best_unit"][c]
        idx = np.flatnonzero(ds.labels == shape_names.index(c))[:3]
        x = torch.from_numpy(ds.images[idx].transpose(0, 3, 1, 2).copy()).float() / 255
        act = capture(model, x, [last])[last][:, u : u + 1]
        act = TF.interpolate(act, size=ds.images.shape[1:3], mode="bilinear", align_corners=False)
        for j, i in enumerate(idx):
            rows += [ds.images[i], act[j, 0].numpy()]
            titles += [c if j == 0 else "", f"unit {u}: IoU {trained['layers'][last]['best_iou'][c]:.2f}"
                       if j == 0 else ""]  # fmt: skip
    fig = F.image_grid(rows, titles=titles, ncols=6, cell=1.2,
                       suptitle=f"{last}: the best unit for each shape, on three of its images")  # fmt: skip
    metrics = {"run": str(run), "data": data, "n_images": len(ds), "concepts": list(concepts),
               "shapes": shape_names,
               "threshold_iou": trained["threshold_iou"], "top_quantile": trained["top_quantile"],
               "layers": table}  # fmt: skip
    with RunDir.create(out, kind="explain-dissect", replace_same_kind=True) as rd:
        rd.write_config({"run": str(run), "data": data, "layers": names,
                         "n_per_class": n_per_class, "seed": seed}, kind="explain-dissect")  # fmt: skip
        metrics["figures"] = [str(rd.save_figure(fig, "dissect").relative_to(rd.path))]
        rd.write_metrics(metrics)
    return metrics
