"""Chapter 6, convolutional neural networks: convolution by hand, the architecture, training
curves, learned filters, and the comparison with the MLP and the classic pipelines."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from pixelab._core.progress import report
from pixelab.apps.tour._context import TourContext
from pixelab.report import Chapter
from pixelab.report import figures as F


def _convolve_demo(ctx: TourContext, ch: Chapter) -> None:
    """Hand-set kernels slid over a photo: each feature map lights up where its pattern is."""
    import torch
    import torch.nn.functional as tF

    from pixelab.apps.features import shrink
    from pixelab.data import photo, to_float01, to_gray

    img = to_float01(to_gray(shrink(photo("camera"), 192)))[..., 0]
    kernels = {
        "vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "horizontal edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "blur": [[1 / 9] * 3] * 3,
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    }
    w = torch.tensor(list(kernels.values()), dtype=torch.float32)[:, None]
    maps = tF.conv2d(torch.from_numpy(img)[None, None], w, padding=1)[0].numpy()
    fig = F.new_figure(12, 3.2)
    axes = fig.subplots(1, 5)
    F.plot_image((img * 255).astype(np.uint8), title="input", ax=axes[0])
    for ax, (name, k), m in zip(axes[1:], kernels.items(), maps, strict=True):
        F.plot_image(
            m,
            title=f"{name}\n{np.array(k).round(2).tolist()}",
            ax=ax,
            cmap="RdBu_r" if "edges" in name else "gray",
        )
        ax.title.set_fontsize(7)
    ctx.figure(
        ch,
        fig,
        "convolution",
        "A 3 x 3 kernel slid over the image gives one feature map per kernel.",
    )


def chapter(ctx: TourContext) -> dict[str, Any]:
    """Convolution, the architecture, training curves, learned filters and the comparison."""
    import torch

    from pixelab.apps.cnn import plot_curves
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit, predict_logits

    ch = ctx.report.chapter("Convolutional neural networks")
    ch.text(
        "A convolution slides a small grid of weights (a kernel) over the image and, at every "
        "position, multiplies and adds: the result, a feature map, is bright wherever the "
        "image locally looks like the kernel. The kernels below were set by hand; a "
        "convolutional network (CNN) learns its kernels from the training images instead, "
        "and stacks layers of them, so later layers find patterns made of earlier patterns."
    )
    _convolve_demo(ctx, ch)
    train, test = ctx.fashion()
    torch.manual_seed(ctx.seed)
    model = create_model("small_cnn", num_classes=len(train.classes), in_channels=1, image_size=28)
    shapes = []
    hooks = [
        layer.register_forward_hook(
            lambda m, i, o, name=name: shapes.append((name, tuple(o.shape[1:])))
        )
        for name, layer in model.feature_layers().items()
    ]
    with torch.inference_mode():
        model.eval()(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    layers = model.feature_layers()
    ch.text(
        "The network used here, layer by layer (channels x height x width of what each layer passes on):"
    )
    ch.table(
        ["layer", "output shape", "parameters"],
        [
            [n, " x ".join(map(str, s)), sum(p.numel() for p in layers[n].parameters())]
            for n, s in shapes
        ]
        + [
            [
                "head (linear)",
                str(len(train.classes)),
                sum(p.numel() for p in model.get_classifier().parameters()),
            ]
        ],
    )
    cfg = TrainConfig(seed=ctx.seed)  # the full tour trains with the defaults of `cnn train`
    if ctx.quick:
        cfg = cfg.replace(epochs=2)
    epochs = cfg.epochs

    def progress(task: str, done: int, total: int) -> None:
        report(ctx.progress, f"training small_cnn: {task}", done, total)

    result = fit(model, train, config=cfg, progress=progress)
    t0 = time.perf_counter()
    cnn_acc = float((predict_logits(model, test.images).argmax(1) == test.labels).mean())
    cnn_pred_s = time.perf_counter() - t0
    ctx.figure(ch, plot_curves(result.history).figure, "cnn_curves", "Training curves of the CNN.")
    torch.manual_seed(ctx.seed)
    mlp = create_model("mlp", num_classes=len(train.classes), in_channels=1, image_size=28)
    mlp_result = fit(mlp, train, config=cfg.replace(augment="none"))
    t0 = time.perf_counter()
    mlp_acc = float((predict_logits(mlp, test.images).argmax(1) == test.labels).mean())
    mlp_pred_s = time.perf_counter() - t0
    w = next(iter(layers.values()))
    conv = next(m for m in w.modules() if isinstance(m, torch.nn.Conv2d))
    filters = conv.weight.detach()[:, 0].cpu().numpy()
    lim = np.abs(filters).max()
    fig = F.image_grid(list(filters[:32]), ncols=16, cell=0.7, cmap="RdBu_r", vmin=-lim, vmax=lim,
                       suptitle="first-layer kernels learned from Fashion-MNIST (red +, blue -)")  # fmt: skip
    ctx.figure(
        ch,
        fig,
        "cnn_filters",
        "Learned 3 x 3 kernels of the first layer: many are small edge and blob detectors.",
    )
    x = torch.from_numpy(test.images[:1].transpose(0, 3, 1, 2).copy()).float() / 255  # writable
    x = x.to(next(model.parameters()).device)  # where training left the model (a GPU, maybe)
    with torch.inference_mode():
        fmap = next(iter(layers.values()))(model.normalize(x))[0].cpu().numpy()
    fig = F.image_grid([test.images[0], *list(fmap[:15])], ncols=16, cell=0.75,
                       titles=["input"] + [f"map {i}" for i in range(15)])  # fmt: skip
    ctx.figure(
        ch,
        fig,
        "cnn_feature_maps",
        "What the first layer passes on for one test image: one map per learned kernel.",
    )
    rows = [[r[0], r[1], r[2], r[3]] for r in ctx.cache.get("classic_rows", [])]
    rows += [
        [
            "MLP (flatten + dense layers)",
            len(train),
            round(mlp_acc, 4),
            round(mlp_result.train_seconds, 1),
        ],
        ["small CNN", len(train), round(cnn_acc, 4), round(result.train_seconds, 1)],
    ]
    ch.table(["model", "training images", "test accuracy", "training seconds"], rows)
    ch.text(
        f"On the same {len(train):,} training images, the small CNN reaches {cnn_acc:.1%} test "
        f"accuracy after {epochs} passes over the data, against {mlp_acc:.1%} for a "
        "fully-connected network that sees the image as one flat list of pixels. "
        + (
            "The convolutional layers keep the 2-D layout and reuse the same small kernels "
            "everywhere, so a pattern is recognised wherever it appears, with far fewer weights "
            "per layer."
            if cnn_acc > mlp_acc
            else "With this little training the CNN has not caught up yet: its kernels start "
            "from random numbers and need more passes over more images than a plain dense "
            "network before their advantage shows (run the full tour, or `pixelab cnn train`)."
        ),
        *filter(None, [_versus_classic(ctx, cnn_acc)]),  # only when the classic chapter ran
        "Try it on your own images: `pixelab cnn train --data my_photos/ --size 64`.",
    )
    ctx.cache["cnn_model"] = model  # the "What CNNs learn" chapter looks inside it
    return {
        "cnn_accuracy": round(cnn_acc, 4),
        "cnn_train_seconds": round(result.train_seconds, 1),
        "cnn_predict_seconds": round(cnn_pred_s, 2),
        "mlp_accuracy": round(mlp_acc, 4),
        "mlp_train_seconds": round(mlp_result.train_seconds, 1),
        "mlp_predict_seconds": round(mlp_pred_s, 2),
        "num_parameters": model.num_parameters(),
        "epochs": epochs,
    }


def _versus_classic(ctx: TourContext, cnn_acc: float) -> str:
    """One sentence comparing the CNN with the best classic pipeline of the tour, if it ran."""
    rows = ctx.cache.get("classic_rows", [])
    if not rows:
        return ""
    name, _, acc, _ = max(rows, key=lambda r: r[2])[:4]
    if cnn_acc > acc:
        return (
            f"It also beats the best hand-made-feature pipeline above ({name}, {acc:.1%}), "
            "without anyone designing its features."
        )
    return (
        f"The best hand-made-feature pipeline above ({name}) still leads with {acc:.1%}: this short "
        "training run has not caught up with carefully designed features yet."
    )
