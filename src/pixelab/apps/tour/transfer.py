"""Transfer learning: what an ImageNet network sees in the sample photos, and how far its
features carry a new task with few images, against training from scratch."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.progress import report
from pixelab.apps.tour._context import TourContext

#: The sample photos the ImageNet model is asked about.
PHOTOS = ("chelsea", "coffee", "rocket", "astronaut")


def chapter(ctx: TourContext) -> dict[str, Any]:
    """ImageNet predictions on sample photos; learning curves on clothes and on faces."""
    from pixelab.apps.transfer import (
        FINETUNE_EPOCHS,
        imagenet_predict,
        learning_curve,
        transfer_preprocess,
    )
    from pixelab.data import load, photo
    from pixelab.data.split import split
    from pixelab.report.transfer import plot_imagenet, plot_learning_curve

    ch = ctx.report.chapter("Transfer learning")
    ch.text(
        "Training a network from scratch needs many images. Transfer learning borrows one that "
        "was already trained on a large collection of the same kind of pictures, keeps the "
        "feature maps it learned, and trains only a new last layer (the head) on your few "
        "images. pixelab's backbone is EfficientNet-Lite0, trained on the 1.3 million photos "
        "of ImageNet's 1,000 classes."
    )
    pred = imagenet_predict(list(PHOTOS), top_k=5)
    pre = transfer_preprocess()
    shown = [pre.apply(photo(name)) for name in PHOTOS]
    ctx.figure(ch, plot_imagenet(shown, pred["predictions"]), "transfer_imagenet",
               "The pretrained model's five most likely ImageNet classes for four sample photos "
               "(`pixelab imagenet chelsea coffee`).")  # fmt: skip
    top = {p["path"]: p["top"][0] for p in pred["predictions"]}
    ch.text(
        f"It calls the cat a {top['chelsea']['class']} ({top['chelsea']['probability']:.0%}) "
        f"and the coffee an {top['coffee']['class']} ({top['coffee']['probability']:.0%}). "
        "It can only answer with the classes it was trained on: ImageNet has no 'astronaut', so "
        f"the astronaut becomes a {top['astronaut']['class']}. The layers below the head know "
        "more than those 1,000 names, and that is what a new head reuses."
    )

    shots = (1, 5, 20) if ctx.quick else (1, 5, 10, 20, 50)
    seeds = (0,) if ctx.quick else (0, 1, 2)  # the quick tour: one pick, no spread
    size = 96 if ctx.quick else 128
    budget = 1500 if ctx.quick else 3000  # images the from-scratch CNN is shown in all
    epochs = 5 if ctx.quick else FINETUNE_EPOCHS  # finetuning passes (the quick tour: half)

    def progress(task: str, done: int, total: int) -> None:
        report(ctx.progress, f"transfer: {task}", done, total)

    fm_train, fm_test = ctx.fashion()
    fm_test = fm_test.subset(np.arange(min(len(fm_test), 500 if ctx.quick else 2000)))
    clothes = learning_curve(fm_train, fm_test, shots=shots, seeds=seeds, size=size,
                             finetune_epochs=epochs, scratch_budget=budget,
                             progress=progress)  # fmt: skip
    faces = load("faces", seed=ctx.seed)
    tr, te = split(faces, test_size=0.4, seed=ctx.seed)
    face_curve = learning_curve(tr, te, shots=shots, seeds=seeds, size=size,
                                finetune_epochs=epochs, scratch_budget=budget,
                                progress=progress)  # fmt: skip
    from pixelab.report.figures import new_figure

    fig = new_figure(11, 3.8)
    a1, a2 = fig.subplots(1, 2)
    plot_learning_curve(clothes, title="Fashion-MNIST: grey clothes, far from ImageNet", ax=a1)
    plot_learning_curve(face_curve, title="faces or not: photos, close to ImageNet", ax=a2)
    ctx.figure(ch, fig, "transfer_curves",
               "Test accuracy against training images per class, "
               + (f"mean and spread over {len(seeds)} random picks" if len(seeds) > 1
                  else "one random pick (the full tour: the spread over three)")
               + f"; the backbone sees {size} px images "
               "(`pixelab transfer train --data FOLDER`).")  # fmt: skip
    n0, n1 = str(shots[0]), str(shots[-1])
    methods = {"probe": "new head", "finetune": "new head, then finetuned",
               "scratch": "small CNN from scratch"}  # fmt: skip
    rows = [
        [name, label, *[f"{c[m][n]['mean']:.2f}" for n in (n0, n1)]]
        for name, c in (("Fashion-MNIST", clothes), ("faces", face_curve))
        for m, label in methods.items()
    ]  # fmt: skip
    ch.table(["data", "method", f"{n0} image(s)/class", f"{n1} images/class"], rows)
    p_c, s_c = clothes["probe"][n0]["mean"], clothes["scratch"][n0]["mean"]
    p_f, s_f = face_curve["probe"][n0]["mean"], face_curve["scratch"][n0]["mean"]
    closer = "faces" if p_f - s_f > p_c - s_c else "clothes"
    ch.text(
        f"With {n0} image(s) per class, the new head on pretrained features scores "
        f"{p_c:.0%} on clothes (from scratch: {s_c:.0%}) and {p_f:.0%} on faces (from scratch: "
        f"{s_f:.0%}). The head gains most on {closer}. "
        + (
            "That is the lecture's caveat in numbers: transfer helps most when the new images "
            "look like the ones the network learned from (faces in photos are ImageNet's world; "
            "grey 28 px clothes are not), and when there are few of them."
            if closer == "faces"
            else "Here the grey clothes gain more than the photos of faces, against the usual "
            "rule that transfer helps most when the new images look like the old ones."
        )
        + " With more images per class a small network trained from scratch closes the gap."
    )
    f_c, q_c = clothes["finetune"][n1]["mean"], clothes["probe"][n1]["mean"]
    ch.text(
        "Finetuning goes one step further: it starts from the new head, then also trains the "
        f"backbone's last two layers for {epochs} passes over the images, with a small "
        "learning rate so the ImageNet features are adjusted, not erased "
        "(`pixelab transfer train --mode finetune`). "
        f"With {n1} clothes images per class it scores {f_c:.0%} against the head's {q_c:.0%}: "
        + (
            "worth the extra minutes when the images are far from the photos it learned from."
            if f_c > q_c
            else "no gain with this few images; it pays off with more of them, when the images "
            "are far from the photos it learned from (BENCHMARKS.md)."
        )
    )
    ch.text(
        "The same on your own images, without typing: `pixelab studio my_project/` opens a local "
        "web page (Teachable Machine's gather, train and try, webcam included) that trains "
        "this pretrained head on the classes you make, then shows why it decides (saliency, "
        "feature maps), lets you turn, move, darken or cover an image and watch the prediction "
        "move, and compares and exports the runs it made."
    )
    return {
        "imagenet": {p["path"]: p["top"][:3] for p in pred["predictions"]},
        "fashion_mnist": {k: clothes[k] for k in methods},
        "faces": {k: face_curve[k] for k in methods},
        "size": size,
    }
