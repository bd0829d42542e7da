"""Generative models, first half: a GAN trained on the tour's images and watched epoch by
epoch, measured by the tour's own CNN (the judge), with a check that it did not copy."""

from __future__ import annotations

from typing import Any

from pixelab.apps.tour._context import TourContext


def chapter(ctx: TourContext) -> dict[str, Any]:
    """A small class-conditional GAN: its samples over training, its numbers, its twins."""
    from PIL import Image

    from pixelab.apps.gan import gan_train
    from pixelab.apps.tour.learn import _model
    from pixelab.generate import GANConfig
    from pixelab.train.loop import predict_logits

    ch = ctx.report.chapter("Generative models: a GAN")
    ch.text(
        "A classifier maps an image to a label. A generator goes the other way: from random "
        "numbers (the noise, or latent vector) to an image, growing a small grid of feature "
        "maps into a picture step by step, like a CNN run backwards. It learns by playing "
        "against a discriminator, an ordinary CNN that is shown real images and the "
        "generator's, and learns to tell them apart; the generator learns to fool it. Both "
        "are told the class here, so we can ask for a sandal."
    )
    _, test = ctx.fashion()
    judge = _model(ctx)  # the CNN chapter's model is the judge of the samples
    accuracy = float((predict_logits(judge, test.images).argmax(1) == test.labels).mean())
    info = {"run": "the tour's CNN", "model": "small_cnn", "accuracy": round(accuracy, 4),
            "name": "the tour's CNN"}  # fmt: skip
    epochs = 8 if ctx.quick else 5
    m = gan_train("fashion-mnist", ctx.run.path / "gan", config=GANConfig(epochs=epochs, seed=ctx.seed),
                  limit=2000 if ctx.quick else 20_000, judge_model=(judge, info),
                  overwrite=True, progress=ctx.progress)  # fmt: skip
    gan = ctx.run.path / "gan"
    frames = sorted((gan / "figures" / "epochs").glob("epoch-*.png"))
    picks = sorted({0, len(frames) // 2, len(frames) - 1})
    from pixelab.report import figures as F

    fig = F.image_grid([Image.open(frames[k]).convert("L") for k in picks], ncols=len(picks),
                       cell=3.6, titles=[f"after epoch {k + 1}" for k in picks])  # fmt: skip
    ctx.figure(ch, fig, "generative_epochs",
               "The same noise, drawn after the first, a middle and the last epoch: one column "
               "per class (`pixelab gan train --data fashion-mnist`; the run's "
               "figures/training.gif shows every epoch).")  # fmt: skip
    q = m["quality"]
    ch.text(
        f"{m['n_train']} images, {m['epochs']} epochs, {m['train_seconds']:.0f} seconds. Pictures "
        "can flatter, so the tour's CNN judges 2,000 new samples: it takes "
        f"{q['class_consistency']:.0%} of them for the class they were asked to be. The "
        "Fréchet distance compares the spread of its features on the samples with that on real "
        f"test images: {q['fid_judge']:.2f}, against {q['fid_real_vs_real']:.2f} between two "
        "halves of the real images (0 would be indistinguishable). FID is this number in an "
        "ImageNet network's features; here it is the tour CNN's, so compare it only with "
        "numbers from the same judge."
    )
    ch.table(["", "generated", "real test images"], [
        ["Fréchet distance (tour CNN features)", f"{q['fid_judge']:.3f}",
         f"{q['fid_real_vs_real']:.3f} (one half vs the other)"],
        ["diversity within a class", f"{q['diversity']:.3f}", f"{q['real_diversity']:.3f}"],
        ["class coverage (1 = all classes alike)", f"{q['coverage']['entropy']:.2f}",
         f"{q['real_coverage']['entropy']:.2f}"],
        ["distance to the nearest training image", f"{q['nearest_training_rms_median']:.1f}",
         f"{q['real_nearest_training_rms_median']:.1f}"],
    ])  # fmt: skip
    import shutil

    nearest = ctx.run.figures / "generative_nearest.png"
    shutil.copyfile(gan / "figures" / "nearest.png", nearest)
    ch.figure(nearest,
              "Generated images over their nearest training images: a GAN that memorised its data "
              "would show twins (distance near 0); real test images are this far from their "
              "nearest training image too.")  # fmt: skip
    warning = m["collapse_warning"]
    ch.text(
        "GANs are known to collapse onto a few outputs (mode collapse): the monitor measures "
        "diversity and class coverage every epoch and warns. "
        + (f"Here it warned: {warning}." if warning else "Here it did not warn.")
        + " `pixelab gan sample RUN --class Sandal` makes new images from the run."
    )
    return {"epochs": m["epochs"], "train_seconds": m["train_seconds"], "quality": q,
            "collapse_warning": warning, "run": str(gan)}  # fmt: skip
