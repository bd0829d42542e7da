"""What CNNs learn: kernels against their random start, feature maps layer by layer, which pixels
a prediction rests on (and whether that map can be trusted), and translation invariance."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.progress import report
from pixelab.apps.tour._context import TourContext
from pixelab.report import explain as X
from pixelab.report import figures as F

#: Pixels the test images are moved by in the translation-invariance measure.
SHIFT = 4


def _model(ctx: TourContext) -> Any:
    """The CNN chapter's model; trained here (briefly) when that chapter did not run."""
    if "cnn_model" in ctx.cache:
        return ctx.cache["cnn_model"]
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit

    train, _ = ctx.fashion()
    model = create_model("small_cnn", num_classes=len(train.classes), seed=ctx.seed)

    def progress(task: str, done: int, total: int) -> None:
        report(ctx.progress, f"training small_cnn: {task}", done, total)

    fit(model, train, config=TrainConfig(epochs=2 if ctx.quick else 4, seed=ctx.seed),
        progress=progress)  # fmt: skip
    ctx.cache["cnn_model"] = model
    return model


def _x(images: np.ndarray, device: Any) -> Any:
    import torch

    return (torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255).to(device)


def _shifted(x: Any, s: int) -> Any:
    """Images moved ``s`` pixels to the right, the gap filled with black."""
    import torch

    out = torch.zeros_like(x)
    out[..., s:] = x[..., :-s]
    return out


def translation(model: Any, x: Any, s: int = SHIFT) -> dict[str, Any]:
    """Per layer: the correlation between the maps of shifted images and the shifted maps of
    the images (1: the layer moves with the image); and how often the prediction stays."""
    import torch

    from pixelab.explain import capture

    a, b = capture(model, x), capture(model, _shifted(x, s))
    layers = {}
    for name, fa in a.items():
        fb = b[name]
        factor = x.shape[-1] // fa.shape[-1]
        if fa.ndim != 4 or s % factor:
            continue
        k = s // factor
        ref, got = fa[..., : fa.shape[-1] - k], fb[..., k:]
        ref = ref - ref.mean()
        got = got - got.mean()
        corr = float((ref * got).sum() / (ref.norm() * got.norm() + 1e-12))
        layers[name] = {"downsampling": factor, "map_shift": k, "correlation": round(corr, 4)}
    same = {}
    with torch.no_grad():
        pred = model(x).argmax(1)
        for d in sorted({1, 2, s}):
            same[d] = round(float((model(_shifted(x, d)).argmax(1) == pred).float().mean()), 4)
    return {"shift_pixels": s, "layers": layers, "same_prediction": same}


def chapter(ctx: TourContext) -> dict[str, Any]:
    """First-layer kernels, feature maps, saliency with its faithfulness, translation."""
    import torch

    from pixelab.explain import feature_maps, first_layer_kernels, orientedness
    from pixelab.explain.saliency import deletion_curve, gradcam, integrated_gradients
    from pixelab.models import create_model

    ch = ctx.report.chapter("What CNNs learn")
    ch.text(
        "A trained network is not a black box: every layer can be opened. This chapter looks at "
        "the small CNN of the previous chapter from its first kernels to its decision, and puts "
        "a number beside every picture. Each view is also a command: `pixelab explain filters`, "
        "`maps` and `saliency` on any run folder `pixelab cnn train` writes."
    )
    model = _model(ctx).eval()
    dev = next(model.parameters()).device
    _, test = ctx.fashion()
    classes = test.classes

    # 1. first-layer kernels against their random start
    kernels = first_layer_kernels(model)
    cfg = model.config
    start = create_model(cfg.pop("name"), seed=ctx.seed, **cfg)
    before = first_layer_kernels(start)
    now, then = orientedness(kernels), orientedness(before)
    moved = float(np.linalg.norm(kernels - before) / np.linalg.norm(before))
    ctx.figure(ch, X.plot_kernels(kernels, now["r2"], now["angle"],
                                  title="first-layer kernels (orientation, Gabor fit r2)"),
               "learn_kernels", "The 3 x 3 kernels of the first layer after training.")  # fmt: skip
    ctx.figure(ch, X.plot_orientedness(now["r2"], then["r2"], now["threshold"]).figure,
               "learn_orientedness", "How well an oriented edge or line filter fits each kernel, "
               "trained and at its random start.")  # fmt: skip
    ch.text(
        "Hubel and Wiesel found cells in the visual cortex that fire for an edge of one "
        "orientation, and large CNNs trained on photos grow first-layer kernels that look just "
        f"like that. Here {now['oriented_share']:.0%} of the {len(kernels)} kernels are clearly "
        f"oriented (a Gabor filter explains at least {now['threshold']:.0%} of the kernel), "
        f"against {then['oriented_share']:.0%} of the same kernels at their random start; "
        f"training moved them by {moved:.0%} of their size. "
        + (
            "A short training of a small network with batch normalisation hardly changes its "
            "first layer: the later layers do most of the learning, and 3 x 3 kernels on small "
            "grey images have little room for the smooth, striped detectors of big networks."
            if now["oriented_share"] - then["oriented_share"] < 0.1
            else "Training turned random kernels into edge and line detectors."
        )
    )

    # 2. feature maps, layer by layer
    image = test.images[0]
    maps = feature_maps(model, image)
    ctx.figure(ch, X.plot_feature_maps(image, maps, per_layer=12), "learn_maps",
               f"Feature maps of each layer for one test image ({classes[test.labels[0]]}); "
               "bright: the kernel found its pattern there.")  # fmt: skip
    sizes = ", ".join(
        f"{n}: {m.shape[0]} maps of {m.shape[1]} x {m.shape[2]}" for n, m in maps.items()
    )
    ch.text(
        f"Going deeper, the maps get more numerous and no finer ({sizes}): each layer trades "
        "where a pattern is for what it is, combining the patterns of the layer below."
    )

    # the images a unit likes most, cropped to what it can see
    from pixelab.explain.units import top_images

    layer = list(maps)[1] if len(maps) > 1 else next(iter(maps))
    found = top_images(model, test.images[:2000], layer, units=list(range(6)), k=8)
    crops = [[test.images[r["index"]][r["box"][0] : r["box"][2], r["box"][1] : r["box"][3]]
              for r in u["top"]] for u in found["units"]]  # fmt: skip
    box = found["units"][0]["top"][0]["box"]
    ctx.figure(ch, X.plot_top_images(crops, [u["unit"] for u in found["units"]],
                                     [[r["activation"] for r in u["top"]] for u in found["units"]]),
               "learn_top", f"The test-image patches that excite six units of {layer} most, cut "
               f"to the part of the image each unit can see (up to {box[2] - box[0]} x "
               f"{box[3] - box[1]} pixels).")  # fmt: skip
    ch.text(
        "Zeiler and Fergus looked inside a network by asking each unit which images it likes "
        "most. Each row above is one unit of the second layer: its favourite patches share a "
        "pattern (a slanted edge, a pair of stripes, a dark gap between two bright parts), "
        "built from the first layer's simpler ones. Try `pixelab explain top` on your own run."
    )

    # feature visualisation: images made up to excite a class
    from pixelab.explain.dream import class_, dataset_values, dream

    pictures, titles, ratios = [], [], {}
    for i in range(min(len(classes), 10 if not ctx.quick else 5)):
        real = float(dataset_values(model, test.images[:2000], class_(i)).max())
        made = dream(model, class_(i), steps=128 if ctx.quick else 256, batch=1, seed=ctx.seed)
        ratios[classes[i]] = round(float(made["values"][0]) / real, 2) if real > 0 else None
        pictures.append(made["images"][0])
        titles.append(f"{classes[i]}\n{ratios[classes[i]]}x")
    ctx.figure(ch, F.image_grid(pictures, titles=titles, ncols=len(pictures), cell=1.5),
               "learn_dream", "Images made up from noise to maximise each class's score; under "
               "each, that score over the best real test image's.")  # fmt: skip
    ch.text(
        "Feature visualisation turns the question around: instead of searching the data for "
        "what a unit likes, it makes the image up, by gradient ascent on the pixels (kept smooth "
        "by building the image from its frequencies, and by jittering, scaling and turning it a "
        "little at every step). The made-up images score "
        f"{min(r for r in ratios.values() if r):.1f} to {max(r for r in ratios.values() if r):.1f} "
        "times higher than the best real image, yet hardly look like clothes: the network "
        "answers to a few strong patterns (a dark vertical gap for trousers, for one), not to "
        "the whole object a person sees. `pixelab explain dream` does it "
        "for any unit or class."
    )

    # 3. saliency and its faithfulness
    n = 200 if ctx.quick else 1000
    x = _x(test.images[:n], dev)
    y = torch.from_numpy(test.labels[:n]).to(dev)
    with torch.no_grad():
        pred = model(x).argmax(1)
    report(ctx.progress, "what CNNs learn: saliency", 0, 2)
    cam = torch.cat([gradcam(model, x[i : i + 100], y[i : i + 100]) for i in range(0, n, 100)])
    ig = torch.cat([integrated_gradients(model, x[i : i + 100], y[i : i + 100], steps=16)
                    .abs().amax(1) for i in range(0, n, 100)])  # fmt: skip
    report(ctx.progress, "what CNNs learn: saliency", 1, 2)
    shown = list(range(6))
    titles = [f"{classes[int(pred[i])]} (true: {classes[int(y[i])]})" for i in shown]
    imgs = [test.images[i] for i in shown]
    ctx.figure(ch, X.plot_saliency(imgs + imgs, [cam[i].cpu().numpy() for i in shown]
                                   + [ig[i].cpu().numpy() for i in shown],
                                   titles + titles), "learn_saliency",
               "Which pixels the score of the true class rests on: Grad-CAM (top row) and "
               "integrated gradients (bottom row).")  # fmt: skip
    curves = {name: deletion_curve(model, x, y, maps_, seed=ctx.seed)
              for name, maps_ in (("Grad-CAM", cam), ("integrated gradients", ig))}  # fmt: skip
    report(ctx.progress, "what CNNs learn: saliency", 2, 2)
    ax = X.plot_deletion(curves["integrated gradients"], method="integrated gradients")
    cc = curves["Grad-CAM"]
    ax.plot([100 * f for f in cc["fractions"]], cc["accuracy"]["saliency"], marker="o",
            color="#1565c0", label=f"most salient first (Grad-CAM), area {cc['area']['saliency']:.3f}")  # fmt: skip
    ax.legend(fontsize=8)
    ctx.figure(ch, ax.figure, "learn_deletion",
               f"Accuracy on {n} test images as pixels are blacked out, most salient first.")  # fmt: skip
    rows = [[name, c["area"]["saliency"]] for name, c in curves.items()]
    rows.append(["random pixels", cc["area"]["random"]])
    ch.table(["pixels removed first", "area under the deletion curve (lower: more faithful)"], rows)
    best = min(curves, key=lambda k: curves[k]["area"]["saliency"])
    empty = float((cam.amax(dim=(1, 2)) == 0).float().mean())
    ch.text(
        "A saliency map is only worth showing if the model really depends on the pixels it "
        "lights up. The deletion test checks that: remove the pixels the map ranks highest "
        "first, and a faithful map makes accuracy fall faster than removing random pixels. "
        f"Here {best} is the more faithful map"
        + (
            "; Grad-CAM's coarse map ranks pixels no better than chance (and is empty for "
            f"{empty:.0%} of the images: this network's head weighs each place of its last maps "
            "on its own, while Grad-CAM assumes they are averaged), a reminder that a "
            "plausible-looking picture is not yet an explanation."
            if cc["area"]["saliency"] >= cc["area"]["random"]
            else "."
        )
    )

    # 4. the manifold hypothesis, measured: neighbours in three spaces
    from pixelab.data import limit_per_class
    from pixelab.explain.embed import neighbourhood_scores, project, spaces

    few = limit_per_class(test, 500 if ctx.quick else 2000, seed=ctx.seed)
    vectors = spaces(model, few.images)
    scores = {
        name: neighbourhood_scores(v, few.labels, seed=ctx.seed) for name, v in vectors.items()
    }
    fig = F.new_figure(15.6, 4.6)
    for ax, (name, v) in zip(fig.subplots(1, len(vectors)), vectors.items(), strict=True):
        F.plot_embedding(project(v, seed=ctx.seed), few.labels, few.classes, ax=ax,
                         title=f"{name}: k-NN accuracy {scores[name]['knn_accuracy']:.2f}")  # fmt: skip
    ctx.figure(ch, fig, "learn_embed", f"{len(few)} test images in three spaces (PCA to 2-D), "
               "coloured by class.")  # fmt: skip
    ch.table(["space", "numbers per image", "k-NN accuracy", "silhouette"],
             [[k, f"{v['dimensions']:,}", v["knn_accuracy"], v["silhouette"]]
              for k, v in scores.items()])  # fmt: skip
    gain = scores["CNN features"]["knn_accuracy"] - scores["pixels"]["knn_accuracy"]
    ch.text(
        "The manifold hypothesis says that images of one kind lie on a thin, tangled surface in "
        "pixel space, and that a good representation untangles it. Measured with the nearest "
        "neighbours of each image (half the images vote for the other half): the classes of "
        f"neighbours agree for {scores['pixels']['knn_accuracy']:.0%} of images in pixel space, "
        f"{scores['HOG']['knn_accuracy']:.0%} in HOG space and "
        f"{scores['CNN features']['knn_accuracy']:.0%} in the space of the CNN's last features "
        f"({gain:+.0%} over pixels), and the silhouette (how much nearer an image is to its own "
        "class than to the next) "
        + (
            "grows the same way."
            if scores["pixels"]["silhouette"] < scores["CNN features"]["silhouette"]
            else "does not follow: it is "
            f"{scores['pixels']['silhouette']:.3f} in pixels and "
            f"{scores['CNN features']['silhouette']:.3f} in the CNN's space."
        )
    )

    # 5. translation invariance
    shift = translation(model, x[:200])
    ch.table(
        ["layer", "downsampling", f"correlation of maps, image moved {SHIFT} px"],
        [[k, f"{v['downsampling']}x", v["correlation"]] for k, v in shift["layers"].items()],
    )
    same = shift["same_prediction"]
    ch.table(["image moved by", "prediction unchanged"],
             [[f"{d} px", f"{v:.0%}"] for d, v in same.items()])  # fmt: skip
    ch.text(
        f"Move an image {SHIFT} pixels to the right and the feature maps move with it: the "
        "first table shows, per layer, the correlation between the maps of the moved image and "
        "the moved maps of the original (1 would be a perfect match). Convolution is "
        "translation-equivariant. Whether the decision is invariant is another matter: "
        f"moved by 1 pixel, {same[1]:.0%} of the predictions stay the same, moved by {SHIFT}, "
        f"{same[SHIFT]:.0%}. "
        + (
            "This network's head reads its last 7 x 7 maps place by place, and it was trained "
            "with moves of one pixel only, so a larger move changes many decisions: "
            "invariance is learned from the data (augmentation), not given by the layers."
            if same[SHIFT] < 0.9
            else "Pooling and training with small shifts make the decision nearly invariant."
        )
        + " Rotation and scale get no help at all from the architecture."
    )
    return {
        "oriented_share": round(now["oriented_share"], 4),
        "oriented_share_untrained": round(then["oriented_share"], 4),
        "kernels_moved": round(moved, 4),
        "deletion_area": {k: c["area"]["saliency"] for k, c in curves.items()},
        "deletion_area_random": cc["area"]["random"],
        "gradcam_empty_share": round(empty, 4),
        "translation": shift,
        "embedding": scores,
        "dream_ratio": ratios,
    }
