"""Generative models, first half: a GAN trained on the tour's images and watched epoch by
epoch, measured by the tour's own CNN (the judge), with a check that it did not copy; then
autoencoders of three latent sizes: how few numbers an image needs, in bits."""

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
    if ctx.quick:  # the GAN pixelab trained and ships, measured here by the tour's judge
        m, gan = _shipped_gan(ctx, judge)
    else:
        m = gan_train("fashion-mnist", ctx.run.path / "gan",
                      config=GANConfig(epochs=5, seed=ctx.seed), limit=20_000,
                      judge_model=(judge, info), overwrite=True, progress=ctx.progress)  # fmt: skip
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
    made = (f"pixelab trained this GAN itself ({m['made_by']['command']}: {m['n_train']} "
            f"images, {m['epochs']} epochs, {m['train_seconds'] / 60:.0f} minutes on a "
            "2-core CPU) and ships its weights, so the quick tour need not wait; "
            "`make gan-weights` remakes them and the full tour trains a GAN here. "
            if "made_by" in m else
            f"{m['n_train']} images, {m['epochs']} epochs, {m['train_seconds']:.0f} seconds. ")  # fmt: skip
    ch.text(
        made + "Pictures "
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
    if not ctx.quick:  # the shipped run's picture is drawn by _shipped_gan
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
    detect = _which_is_real(ctx, ch, gan)
    vae = _autoencoders(ctx, judge, info, gan_fid=q["fid_judge"])
    return {"epochs": m["epochs"], "train_seconds": m["train_seconds"], "quality": q,
            "collapse_warning": warning, "run": str(gan), "shipped": "made_by" in m,
            "detect": detect, "vae": vae}  # fmt: skip


def _shipped_gan(ctx: TourContext, judge: Any) -> tuple[dict[str, Any], Any]:
    """The shipped GAN's record, its quality numbers measured afresh in the tour judge's
    features, and its picture of nearest training images (all 60,000, which it was trained
    on); returns the metrics and the shipped run's folder (its epoch pictures)."""
    from pixelab._core.io import read_json
    from pixelab.apps.gan import gan_quality, load_gan, quality_reference
    from pixelab.data import load_train_test
    from pixelab.report.generate import plot_nearest

    g, rec = load_gan("shipped")
    made = read_json(rec["path"] / "metrics.json")
    train, _ = load_train_test("fashion-mnist", seed=rec["config"].seed)  # what it learnt from
    q = gan_quality(g, rec["config"], train, quality_reference(*ctx.fashion()), judge)
    near, fakes = q["near"], q["fakes"]
    fig = plot_nearest(fakes[:10], train.images[near["index"][:10]], near["rms"][:10],
                       real_rms=q["quality"]["real_nearest_training_rms_median"])  # fmt: skip
    ctx.run.save_figure(fig, "generative_nearest")
    return {**made, "quality": q["quality"]}, rec["path"]


def _which_is_real(ctx: TourContext, ch: Any, gan: Any) -> dict[str, Any]:
    """The "which face is real?" game with the tour's GAN: a quiz, then two detectors."""
    import shutil

    from pixelab.apps.gan import gan_detect

    m = gan_detect(gan, ctx.run.path / "gan-detect", n=500 if ctx.quick else 1000, epochs=3,
                   seed=ctx.seed, overwrite=True, progress=ctx.progress)  # fmt: skip
    quiz = ctx.run.figures / "generative_quiz.png"
    shutil.copyfile(ctx.run.path / "gan-detect" / "figures" / "quiz.png", quiz)
    ch.figure(quiz,
              "Which images are real? Eight held-out real images and eight generated ones, "
              "mixed; the answers, and what two detectors said, are below "
              "(`pixelab gan detect RUN`).")  # fmt: skip
    d, c = m["discriminator"], m["cnn"]
    ch.text(
        f"Measured on {m['n_real']} held-out real and {m['n_generated']} new generated images: "
        f"the GAN's own discriminator is right {d['accuracy']:.0%} of the time (it calls "
        f"{d['real_called_real']:.0%} of real images real and {d['generated_called_generated']:.0%} "
        f"of generated ones generated). A small CNN trained for a few seconds on real against "
        f"generated images is right {c['accuracy']:.0%} of the time. The discriminator had to "
        "keep up with a generator that changed every step; the CNN studies one that stands "
        "still, and finds what gives its images away. Looking real to a person and fooling a "
        "detector are different things."
    )
    return {k: m[k] for k in ("discriminator", "cnn", "n_real")}


def _autoencoders(ctx: TourContext, judge: Any, info: dict[str, Any], *, gan_fid: float) -> Any:
    """VAEs with 2, 8 and 32 latent numbers (and, in the full tour, plain autoencoders): the
    reconstructions, the bits table, the decoded 2-D latent plane, and their samples' FID
    beside the GAN's."""
    import shutil

    from pixelab.apps.vae import vae_train
    from pixelab.generate.vae import VAEConfig

    ch = ctx.report.chapter("Generative models: autoencoders")
    ch.text(
        "Why can an image be squeezed into a few numbers? Because images are not random: a "
        "trouser is two legs side by side, a sandal a sole and some straps. An autoencoder "
        "learns this: an encoder (an ordinary CNN) turns the 784 pixels into a short code, "
        "the latent vector, and a decoder (a generator) rebuilds the image from the code "
        "alone. A variational autoencoder (VAE) also keeps its codes close to random noise "
        "of a known shape, so any noise it is given decodes to a plausible image; and it "
        "counts what a code costs in bits."
    )
    latents = [2, 8, 32]
    m = vae_train("fashion-mnist", ctx.run.path / "vae", latents=latents,
                  config=VAEConfig(epochs=3 if ctx.quick else 5, batch_size=64 if ctx.quick else 128,
                                   seed=ctx.seed),
                  plain=not ctx.quick, limit=2000 if ctx.quick else 20_000,
                  judge_model=(judge, info), overwrite=True, progress=ctx.progress)  # fmt: skip
    run = ctx.run.path / "vae"
    for name in ("reconstructions", "bits", "latent_map"):
        shutil.copyfile(run / "figures" / f"{name}.png", ctx.run.figures / f"vae_{name}.png")
    ch.figure(ctx.run.figures / "vae_reconstructions.png",
              "Test images (top) rebuilt from codes of 2, 8 and 32 numbers "
              "(`pixelab vae train --data fashion-mnist --latent 2,8,32`).")  # fmt: skip
    rows = m["models"]
    by = {r["name"]: r for r in rows}
    small, big = by["vae-2"], by["vae-32"]
    ch.text(
        f"Two numbers keep the kind of garment and its rough shape and lose the details "
        f"(PSNR {small['psnr']:.1f} dB); 32 keep much more ({big['psnr']:.1f} dB). Bits put "
        f"every way of storing an image on one scale. A raw image is {m['raw_bits']} bits and a PNG file of "
        f"it about {m['png_bits_median']:.0f}. Stored exactly with the 32-number VAE's help, "
        f"it costs {big['bits_per_image']:.0f} bits: {big['rate_bits']:.0f} for the code and "
        f"{big['distortion_bits']:.0f} for what the code leaves open. The lecture's claim, a "
        "latent space 'without losing any information', is too strong: the code holds the "
        "garment, and most of the bits are the fine grain that no short code predicts."
    )
    ch.table(["model", "code (bits)", "the rest (bits)", "total (bits)", "PSNR (dB)",
              "samples' Fréchet distance"],
             [[f"{'VAE' if r['kind'] == 'vae' else 'autoencoder'}, {r['latent']} numbers",
               f"{r['rate_bits']:.0f}", f"{r['distortion_bits']:.0f}",
               f"{r['bits_per_image']:.0f}", f"{r['psnr']:.1f}",
               f"{r['samples_fid_judge']:.3f}" if "samples_fid_judge" in r else "-"]
              for r in rows])  # fmt: skip
    ch.figure(ctx.run.figures / "vae_bits.png",
              "Bits per image: the code and the rest, against raw pixels and PNG.")  # fmt: skip
    ch.figure(ctx.run.figures / "vae_latent_map.png",
              "With two numbers the whole latent space fits on a page: left, the plane decoded "
              "point by point; right, where real test images land, by class.")  # fmt: skip
    best = min((r for r in rows if "samples_fid_judge" in r), key=lambda r: r["samples_fid_judge"])
    ch.text(
        f"As generators, VAEs make blurrier images than a GAN: the best VAE's samples are at "
        f"a Fréchet distance of {best['samples_fid_judge']:.2f} from real images in the tour "
        f"CNN's features, the GAN's at {gan_fid:.2f}. `pixelab vae sample RUN --latent 8` "
        "makes new images from the run."
    )
    return {"models": rows, "raw_bits": m["raw_bits"], "png_bits_median": m["png_bits_median"],
            "run": str(run)}  # fmt: skip
