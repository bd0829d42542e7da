"""``pixelab gan``, ``pixelab vae`` and ``pixelab diffusion``: generative models trained on a
dataset or folder, watched while they learn, measured, and sampled."""

from __future__ import annotations

import typer

from pixelab.cli._options import DeviceOption, JsonFlag, OverwriteFlag, ResumeFlag
from pixelab.cli._ui import (
    default_out,
    err_console,
    floats,
    out_console,
    print_json,
    progress_bar,
    table,
)

gan_app = typer.Typer(
    help="Generative adversarial networks: a generator learns to make images a discriminator "
    "cannot tell from real ones.",
    no_args_is_help=True,
)


@gan_app.command("train")
def train(
    data: str = typer.Option(
        None, "--data", help="A built-in dataset or a folder of class folders."
    ),
    epochs: int = typer.Option(5, "--epochs", help="Passes over the training images."),
    latent: int = typer.Option(64, "--latent", help="Length of the noise vector."),
    width: int = typer.Option(32, "--width", help="Channels of the networks' widest layers / 4."),
    unconditional: bool = typer.Option(
        False, "--unconditional", help="Do not tell the networks the class (no --class later)."
    ),
    lr_g: float = typer.Option(
        None, "--lr-g", help="Generator learning rate (default: 2e-4 with classes, 4e-4 without)."
    ),
    lr_d: float = typer.Option(8e-4, "--lr-d", help="Discriminator learning rate."),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per step."),
    loss: str = typer.Option("hinge", "--loss", help="hinge, or bce (the DCGAN tutorial's)."),
    mode_seeking: float = typer.Option(
        0.0, "--mode-seeking", help="Weight of a reward for varied samples (0: off; try 1)."
    ),
    size: int = typer.Option(
        None, "--size", help="Image side (a multiple of 4; default: the data's)."
    ),
    gray: bool = typer.Option(None, "--gray/--color", help="Grey or colour images."),
    limit: int = typer.Option(None, "--limit", help="Train on at most this many images."),
    judge: str = typer.Option(
        None,
        "--judge",
        help="A cnn run on the same data that judges the samples (default: "
        "pixelab's own, trained once and cached).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights, data order and noise."),
    bf16: bool = typer.Option(
        None,
        "--bf16/--fp32",
        help="bfloat16 autocast (default: only where the hardware has "
        "it, about 1.6x faster steps there; metrics.json says which).",
    ),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/gan-<time>)."),
    resume: ResumeFlag = False,
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Train a GAN: the same noise drawn after every epoch (figures/epochs/, training.gif),
    losses, a mode-collapse monitor, and quality numbers measured by a judge network."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.gan import gan_train
    from pixelab.generate import GANConfig

    if resume and not out:
        raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
    if not resume and not data:
        raise PixelabError("--data is missing", hint="e.g. --data fashion-mnist or a folder")
    cfg = None
    if not resume:
        cfg = GANConfig(latent=latent, width=width, conditional=not unconditional, epochs=epochs,
                        batch_size=batch_size, lr_g=lr_g, lr_d=lr_d, loss=loss,
                        mode_seeking=mode_seeking, seed=seed)  # fmt: skip
    out = out or default_out("gan")
    with progress_bar(quiet=json) as progress:
        m = gan_train(data, out, config=cfg, size=size, gray=gray, limit=limit, judge=judge,
                      device=device, bf16=bf16, resume=resume, overwrite=overwrite,
                      progress=progress)  # fmt: skip
    if m.get("interrupted"):
        err_console.print(f"interrupted after {m['epochs_done']} epoch(s); continue with: "
                          f"{m['resume']}", highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(130)
    if json:
        print_json(m)
        return
    q = m["quality"]
    rows = [["Fréchet distance", f"{q['fid_judge']:.2f}", f"{q['fid_real_vs_real']:.2f} (real vs real)"],
            ["KID", f"{q['kid_judge']:.4f}", "0 (same distribution)"],
            ["diversity within a class", f"{q['diversity']:.2f}", f"{q['real_diversity']:.2f}"],
            ["class coverage", f"{q['coverage']['entropy']:.2f}", f"{q['real_coverage']['entropy']:.2f}"],
            ["nearest training image (RMS)", f"{q['nearest_training_rms_median']:.1f}",
             f"{q['real_nearest_training_rms_median']:.1f}"]]  # fmt: skip
    if "class_consistency" in q:
        rows.append(["looks like the class asked for", f"{q['class_consistency']:.2f}", "-"])
    table(f"{m['epochs']} epochs in {m['train_seconds']:.0f} s; measured by {m['judge']['name']}",
          ["", "generated", "real images"], rows)  # fmt: skip
    out_console.print(m["quality_note"], highlight=False)
    if m["collapse_warning"]:
        err_console.print(m["collapse_warning"], style="yellow", highlight=False)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@gan_app.command("sample")
def sample(
    run: str = typer.Argument(
        ..., help="A run folder written by pixelab gan train, or shipped (pixelab's own)."
    ),
    n: int = typer.Option(64, "--n", help="How many images."),
    cls: str = typer.Option(None, "--class", help="Only this class (a conditional GAN)."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the noise: the same seed, the same images."
    ),
    device: DeviceOption = "auto",
    out: str = typer.Option(
        None,
        "--out",
        help="PNG file (default RUN/samples-<seed>.png; runs/shipped-gan/ for shipped).",
    ),
) -> None:
    """New images from a trained GAN, as one grid PNG."""
    from pixelab.apps._shipped import beside
    from pixelab.apps.gan import SHIPPED_NAME, gan_sample

    out = out or str(beside(run, SHIPPED_NAME, "shipped-gan") / f"samples-{seed}.png")
    res = gan_sample(run, out, n=n, cls=cls, seed=seed, device=device)
    out_console.print(f"{len(res['images'])} images: {res['path']}")


@gan_app.command("detect")
def detect(
    run: str = typer.Argument(
        ..., help="A run folder written by pixelab gan train, or shipped (pixelab's own)."
    ),
    n: int = typer.Option(1000, "--n", help="Real and generated images per side and split."),
    epochs: int = typer.Option(3, "--epochs", help="Epochs of the small CNN detector."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples, the quiz and the CNN."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/gan-detect-<time>)."),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Which image is real? The GAN's discriminator and a small CNN trained on real against
    generated images, measured on held-out real and fresh generated ones, and a quiz figure."""
    from pixelab.apps.gan import gan_detect

    out = out or default_out("gan-detect")
    with progress_bar(quiet=json) as progress:
        m = gan_detect(run, out, n=n, epochs=epochs, seed=seed, device=device,
                       overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    rows = [[name, f"{m[key]['accuracy']:.3f}", f"{m[key]['real_called_real']:.3f}",
             f"{m[key]['generated_called_generated']:.3f}", f"{m[key]['auc']:.3f}"]
            for key, name in (("discriminator", "discriminator"),
                              ("cnn", "small CNN (trained on real vs generated)"))]  # fmt: skip
    table(f"{m['n_real']} held-out real and {m['n_generated']} fresh generated images",
          ["detector", "accuracy", "real called real", "generated called generated", "AUC"],
          rows)  # fmt: skip
    out_console.print(m["note"], highlight=False)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


vae_app = typer.Typer(
    help="Autoencoders: how few numbers an image can be squeezed into, and images from them.",
    no_args_is_help=True,
)


@vae_app.command("train")
def vae_train(
    data: str = typer.Option(
        None, "--data", help="A built-in dataset or a folder of class folders."
    ),
    latent: str = typer.Option(
        "2,8,32", "--latent", help="Latent sizes, one model each (e.g. 2,8,32)."
    ),
    plain: bool = typer.Option(
        True, "--plain/--no-plain", help="Also train a plain autoencoder per size, for contrast."
    ),
    grid: bool = typer.Option(
        False,
        "--grid",
        help="Codes on a grid a quarter of the image's side, --latent numbers per place "
        "(what diffusion train --vae needs).",
    ),
    epochs: int = typer.Option(5, "--epochs", help="Passes over the training images."),
    width: int = typer.Option(32, "--width", help="Channels of the first convolution."),
    lr: float = typer.Option(2e-3, "--lr", help="Learning rate (Adam)."),
    beta: float = typer.Option(
        1.0, "--beta", help="Weight of the code's cost in bits (1: a true bound; 0: no prior)."
    ),
    batch_size: int = typer.Option(128, "--batch-size", help="Images per step."),
    size: int = typer.Option(
        None, "--size", help="Image side (a multiple of 4; default: the data's)."
    ),
    gray: bool = typer.Option(None, "--gray/--color", help="Grey or colour images."),
    limit: int = typer.Option(None, "--limit", help="Train on at most this many images."),
    judge: str = typer.Option(
        None,
        "--judge",
        help="A cnn run on the same data that judges the samples (default: "
        "pixelab's own, trained once and cached).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights, data order and noise."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/vae-<time>)."),
    resume: ResumeFlag = False,
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Train a VAE (and a plain autoencoder) per latent size: reconstructions, bits per image
    against the raw pixels and PNG, the decoded map of a 2-D latent space, prior samples."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.vae import parse_latents
    from pixelab.apps.vae import vae_train as train_job
    from pixelab.generate.vae import VAEConfig

    if resume and not out:
        raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
    if not resume and not data:
        raise PixelabError("--data is missing", hint="e.g. --data fashion-mnist or a folder")
    cfg, latents = None, None
    if not resume:
        latents = parse_latents(latent)
        cfg = VAEConfig(latent=latents[0], width=width, epochs=epochs, batch_size=batch_size,
                        lr=lr, beta=beta, grid=grid, seed=seed).check()  # fmt: skip
    out = out or default_out("vae")
    with progress_bar(quiet=json) as progress:
        m = train_job(data, out, latents=latents or latent, config=cfg, plain=plain, size=size,
                      gray=gray, limit=limit, judge=judge, device=device, resume=resume,
                      overwrite=overwrite, progress=progress)  # fmt: skip
    if m.get("interrupted"):
        done = ", ".join(m["models_done"]) or "none"
        err_console.print(f"interrupted (models finished: {done}); continue with: {m['resume']}",
                          highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(130)
    if json:
        print_json(m)
        return
    rows = []
    for r in m["models"]:
        rows.append([f"{'VAE' if r['kind'] == 'vae' else 'AE'} {r['code']}",
                     f"{r['rate_bits']:.0f}", f"{r['distortion_bits']:.0f}",
                     f"{r['bits_per_image']:.0f}", f"{r['raw_bits'] / r['bits_per_image']:.1f}x",
                     f"{r['psnr']:.1f}",
                     f"{r['samples_fid_judge']:.2f}" if "samples_fid_judge" in r else "-"])  # fmt: skip
    table(f"bits per image; raw pixels {m['raw_bits']}, PNG {m['png_bits_median']:.0f}",
          ["model", "code", "rest", "total", "vs raw", "PSNR dB", "samples FID (judge)"], rows)  # fmt: skip
    out_console.print(m["bits_note"], highlight=False)
    if m["quality_note"]:
        out_console.print(m["quality_note"], highlight=False)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@vae_app.command("sample")
def vae_sample(
    run: str = typer.Argument(..., help="A run folder written by pixelab vae train."),
    latent: int = typer.Option(None, "--latent", help="Which model (default: the smallest)."),
    n: int = typer.Option(64, "--n", help="How many images."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the codes: the same seed, the same images."
    ),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="PNG file (default RUN/samples-<seed>.png)."),
) -> None:
    """New images from a trained VAE: codes drawn from the prior and decoded, as one grid PNG."""
    from pathlib import Path

    from pixelab.apps.vae import vae_sample as sample_job

    out = out or str(Path(run) / f"samples-{seed}.png")
    res = sample_job(run, out, latent=latent, n=n, seed=seed, device=device)
    out_console.print(f"{len(res['images'])} images from the {res['latent']}-number VAE: "
                      f"{res['path']}")  # fmt: skip


diffusion_app = typer.Typer(
    help="Diffusion: an image buried in noise step by step, and a network that learns the way "
    "back.",
    no_args_is_help=True,
)


@diffusion_app.command("forward")
def diffusion_forward(
    image: str = typer.Argument(
        ..., help="An image file, a sample photo (chelsea), a built-in dataset or a folder."
    ),
    schedule: str = typer.Option("cosine", "--schedule", help="Noise schedule: cosine or linear."),
    steps: int = typer.Option(1000, "--steps", help="Steps from the image to pure noise (T)."),
    show: int = typer.Option(8, "--show", help="How many steps the figure shows (2-20)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise."),
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/diffusion-forward-<time>)."
    ),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """The forward process: the image at t = 0 ... T under both schedules, how much of it is
    left at each step, and a GIF."""
    from pixelab.apps.diffusion import diffusion_forward as job

    out = out or default_out("diffusion-forward")
    m = job(image, out, schedule=schedule, steps=steps, show=show, seed=seed, overwrite=overwrite)
    if json:
        print_json(m)
        return
    rows = [[str(r["t"]), f"{r['signal_share']:.3f}", f"{r['snr']:.3g}", f"{r['psnr']:.1f}",
             f"{r['correlation']:.2f}"] for r in m["shown"]]  # fmt: skip
    table(f"{m['source']}, {m['schedule']} schedule of {m['steps']} steps",
          ["t", "share of the image left", "signal/noise", "PSNR dB", "correlation"], rows)  # fmt: skip
    half = ", ".join(f"{k} at t={v}" for k, v in m["half_signal_step"].items())
    out_console.print(f"less than half of the image is left: {half}", highlight=False)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@diffusion_app.command("train")
def diffusion_train(
    data: str = typer.Option(
        None, "--data", help="A built-in dataset or a folder of class folders."
    ),
    epochs: int = typer.Option(
        None,
        "--epochs",
        help="Passes over the training images (default 10, or as many as --budget-min allows).",
    ),
    budget_min: float = typer.Option(
        None, "--budget-min", help="Stop after this many minutes of training."
    ),
    schedule: str = typer.Option("cosine", "--schedule", help="Noise schedule: cosine or linear."),
    steps: int = typer.Option(1000, "--steps", help="Steps of the noise schedule (T)."),
    width: int = typer.Option(32, "--width", help="Channels of the U-Net at full size."),
    unconditional: bool = typer.Option(
        False, "--unconditional", help="Do not tell the network the class (no --class later)."
    ),
    uncond_share: float = typer.Option(
        0.1, "--uncond-share", help="Share of images shown without their class (for guidance)."
    ),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (Adam)."),
    batch_size: int = typer.Option(128, "--batch-size", help="Images per step."),
    size: int = typer.Option(
        None, "--size", help="Image side (a multiple of 4; default: the data's)."
    ),
    gray: bool = typer.Option(None, "--gray/--color", help="Grey or colour images."),
    limit: int = typer.Option(None, "--limit", help="Train on at most this many images."),
    judge: str = typer.Option(
        None,
        "--judge",
        help="A cnn run on the same data that judges the samples (default: "
        "pixelab's own, trained once and cached).",
    ),
    eval_samples: int = typer.Option(
        500, "--eval-samples", help="Samples the final quality numbers are measured on."
    ),
    vae: str = typer.Option(
        None,
        "--vae",
        help="Latent diffusion: a vae train --grid run on the same data; the denoiser learns "
        "its codes, not pixels.",
    ),
    vae_latent: int = typer.Option(
        None, "--vae-latent", help="Which of its VAEs (default: the smallest latent size)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights, data order and noise."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/diffusion-<time>)."),
    resume: ResumeFlag = False,
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Train a denoiser (a small U-Net) to remove noise: the same noise denoised after every
    epoch (figures/epochs/, training.gif), the loss, and quality numbers from a judge."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.diffusion import diffusion_train as job
    from pixelab.generate.diffusion import DiffusionConfig

    if resume and not out:
        raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
    if not resume and not data:
        raise PixelabError("--data is missing", hint="e.g. --data fashion-mnist or a folder")
    cfg = None
    if not resume:
        epochs = epochs if epochs is not None else (1000 if budget_min else 10)
        cfg = DiffusionConfig(schedule=schedule, steps=steps, width=width,
                              conditional=not unconditional, uncond_share=uncond_share,
                              epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)  # fmt: skip
    out = out or default_out("diffusion")
    with progress_bar(quiet=json) as progress:
        m = job(data, out, config=cfg, size=size, gray=gray, limit=limit, budget_min=budget_min,
                judge=judge, quality_samples=eval_samples, vae=vae, vae_latent=vae_latent,
                device=device, resume=resume, overwrite=overwrite, progress=progress)  # fmt: skip
    if m.get("interrupted"):
        err_console.print(f"interrupted after {m['epochs_done']} epoch(s); continue with: "
                          f"{m['resume']}", highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(130)
    if json:
        print_json(m)
        return
    q = m["quality"]
    rows = [["Fréchet distance", f"{q['fid_judge']:.3f}", f"{q['fid_real_vs_real']:.3f} (real vs real)"],
            ["diversity within a class", f"{q['diversity']:.2f}", f"{q['real_diversity']:.2f}"],
            ["class coverage", f"{q['coverage']['entropy']:.2f}", f"{q['real_coverage']['entropy']:.2f}"]]  # fmt: skip
    if "class_consistency" in q:
        rows.append(["looks like the class asked for", f"{q['class_consistency']:.2f}", "-"])
    for a, share in (q.get("attributes") or {}).get("honoured", {}).items():
        what = "every attribute" if a == "all" else a  # of full prompts, how often honoured
        rows.append([f"full prompts: {what} as asked", f"{share:.2f}", "-"])
    where = f" on {m['latent']['code_shape']} VAE codes" if m.get("latent") else ""
    table(f"{m['epochs']} epochs{where} in {m['train_seconds']:.0f} s; {q['samples']} samples "
          f"({q['sampler']}) measured by {m['judge']['name']}",
          ["", "generated", "real images"], rows)  # fmt: skip
    out_console.print(m["quality_note"], highlight=False)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@diffusion_app.command("sample")
def diffusion_sample(
    run: str = typer.Argument(
        ...,
        help="A run folder of pixelab diffusion train, or shipped (pixelab's own, Fashion-"
        "MNIST) or shipped-shapes (attribute scenes, for prompts of several words).",
    ),
    n: int = typer.Option(16, "--n", help="How many images."),
    cls: str = typer.Option(None, "--class", help="Only this class (a conditional run)."),
    prompt: str = typer.Option(
        None,
        "--prompt",
        help='Ask in words ("an ankle boot"): matched to one of the classes; a run on '
        'shapes-attributes reads shape, colour, size and position ("a small red star at the '
        'top left").',
    ),
    steps: int = typer.Option(50, "--steps", help="Network calls from noise to image."),
    guidance: float = typer.Option(
        None,
        "--guidance",
        help="Classifier-free guidance (default 2; 1: none, 0: ignore the class).",
    ),
    sampler: str = typer.Option("ddim", "--sampler", help="ddim (deterministic) or ddpm."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the noise: the same seed, the same images."
    ),
    device: DeviceOption = "auto",
    out: str = typer.Option(
        None,
        "--out",
        help="PNG file (default RUN/samples-<seed>.png; runs/shipped/ or runs/shipped-shapes/ "
        "for a shipped run).",
    ),
) -> None:
    """New images from a trained denoiser, and the reverse process (noise to image) of the
    first ones as a strip and a GIF."""
    from pixelab.apps._shipped import beside
    from pixelab.apps.diffusion import SHIPPED_RUNS
    from pixelab.apps.diffusion import diffusion_sample as job

    out = out or str(beside(run, SHIPPED_RUNS, str(run)) / f"samples-{seed}.png")
    with progress_bar() as progress:
        res = job(run, out, n=n, cls=cls, prompt=prompt, steps=steps, guidance=guidance,
                  sampler=sampler, seed=seed, device=device, progress=progress)  # fmt: skip
    if res["prompt"] and "understood" in res["prompt"]:
        out_console.print(res["prompt"]["understood"], highlight=False)
    if res["prompt"] and res["prompt"].get("honoured"):
        shares = ", ".join(f"{a} {v:.0%}" for a, v in res["prompt"]["honoured"].items())
        out_console.print(f"images showing what was asked: {shares}", highlight=False)
    out_console.print(f"{len(res['images'])} images: {res['path']}")
    out_console.print(f"the reverse process: {res['reverse']} and {res['gif']}")


_RUN = typer.Argument(
    ..., help="A run folder of pixelab diffusion train, or shipped (pixelab's own)."
)
_IMAGE = typer.Argument(
    ..., help="An image file, a sample photo (chelsea), a built-in dataset or a folder."
)


@diffusion_app.command("inpaint")
def diffusion_inpaint(
    run: str = _RUN,
    image: str = _IMAGE,
    mask: str = typer.Option(
        None, "--mask", help="A mask image of IMAGE's size: white marks the region to fill."
    ),
    box: str = typer.Option(None, "--box", help="Or a box to fill: x,y,w,h in IMAGE's pixels."),
    index: int = typer.Option(0, "--index", help="Which image of a dataset or folder."),
    n: int = typer.Option(4, "--n", help="How many different fills."),
    cls: str = typer.Option(None, "--class", help="Fill towards this class."),
    prompt: str = typer.Option(None, "--prompt", help="Or ask for the class in words."),
    steps: int = typer.Option(50, "--steps", help="Denoising steps."),
    resample: int = typer.Option(
        4, "--resample", help="RePaint: each step redone this many times (1: plain replacement)."
    ),
    guidance: float = typer.Option(
        None, "--guidance", help="Guidance towards --class (default 2)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise."),
    device: DeviceOption = "auto",
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/diffusion-inpaint-<time>)."
    ),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Fill a region of an image so that it fits the rest; every other pixel stays exactly as
    it was (RePaint)."""
    from pixelab.apps.diffusion_edit import diffusion_inpaint as job

    out = out or default_out("diffusion-inpaint")
    with progress_bar(quiet=json) as progress:
        m = job(run, image, out, mask=mask, box=box, index=index, n=n, cls=cls, prompt=prompt,
                steps=steps, resample=resample, guidance=guidance, seed=seed, device=device,
                overwrite=overwrite, progress=progress)  # fmt: skip
    m.pop("images")
    if json:
        print_json(m)
        return
    _edit_preamble(m)
    out_console.print(f"filled {m['fill_share']:.0%} of the image {m['n']} ways with "
                      f"{m['network_calls']} network calls each; kept pixels changed by at most "
                      f"{m['kept_pixels_max_change']}", highlight=False)  # fmt: skip
    if m["judged"]:
        out_console.print(f"the judge reads the original as {m['judged_original']} and the fills as "
                          f"{', '.join(m['judged'])}", highlight=False)  # fmt: skip
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


def _edit_preamble(m: dict) -> None:
    if m.get("converted"):
        out_console.print(f"the image was {m['converted']}", highlight=False)
    if m.get("prompt") and "understood" in m["prompt"]:
        out_console.print(m["prompt"]["understood"], highlight=False)


@diffusion_app.command("img2img")
def diffusion_img2img(
    run: str = _RUN,
    image: str = _IMAGE,
    strength: str = typer.Option(
        "0.3,0.5,0.7", "--strength", help="How far to noise it, 0-1 (one or more, e.g. 0.5)."
    ),
    index: int = typer.Option(0, "--index", help="Which image of a dataset or folder."),
    n: int = typer.Option(4, "--n", help="Images per strength."),
    cls: str = typer.Option(None, "--class", help="Denoise towards this class."),
    prompt: str = typer.Option(None, "--prompt", help="Or ask for the class in words."),
    steps: int = typer.Option(50, "--steps", help="Denoising steps at strength 1."),
    guidance: float = typer.Option(
        None, "--guidance", help="Guidance towards --class (default 2)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise."),
    device: DeviceOption = "auto",
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/diffusion-img2img-<time>)."
    ),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Image to image (SDEdit): noise an image part of the way and denoise it again, perhaps
    towards another class; low strength keeps its layout, high strength makes a new image."""
    from pixelab.apps.diffusion_edit import diffusion_img2img as job

    out = out or default_out("diffusion-img2img")
    with progress_bar(quiet=json) as progress:
        m = job(run, image, out, strengths=floats(strength, "--strength"), index=index, n=n,
                cls=cls, prompt=prompt, steps=steps, guidance=guidance, seed=seed,
                device=device, overwrite=overwrite, progress=progress)  # fmt: skip
    m.pop("images")
    if json:
        print_json(m)
        return
    _edit_preamble(m)
    rows = [[f"{r['strength']:g}", str(r["denoising_steps"]),
             "identical" if r["psnr_vs_input"] is None else f"{r['psnr_vs_input']:.1f}",
             "-" if r["share_judged_target"] is None else f"{r['share_judged_target']:.0%}"]
            for r in m["strengths"]]  # fmt: skip
    table(f"{m['source']} (the judge reads it as {m['judged_input']})",
          ["strength", "steps", "PSNR vs input (dB)", f"judged {m['target']}"], rows)  # fmt: skip
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@diffusion_app.command("guidance")
def diffusion_guidance(
    run: str = _RUN,
    scales: str = typer.Option("0,1,2,3,5", "--scales", help="Guidance scales to compare."),
    n: int = typer.Option(200, "--n", help="Samples per scale."),
    steps: int = typer.Option(25, "--steps", help="DDIM steps per sample."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise (the same for every scale)."),
    device: DeviceOption = "auto",
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/diffusion-guidance-<time>)."
    ),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """A guidance sweep: the same noise sampled at each classifier-free guidance scale, with
    class-consistency and FID (judge features) per scale."""
    from pixelab.apps.diffusion import diffusion_guidance as job

    out = out or default_out("diffusion-guidance")
    with progress_bar(quiet=json) as progress:
        m = job(run, out, scales=floats(scales, "--scales"), n=n, steps=steps, seed=seed,
                device=device, overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    rows = [[f"{r['guidance']:g}", f"{r['class_consistency']:.2f}", f"{r['fid_judge']:.3f}",
             f"{r['diversity']:.2f}"] for r in m["scales"]]  # fmt: skip
    table(f"{m['samples']} samples per scale ({m['sampler']}), judged by {m['judge']['name']}",
          ["w", "looks like the class asked", "FID (judge)", "within-class diversity"], rows)  # fmt: skip
    out_console.print(f"real vs real FID: {m['fid_real_vs_real']:.3f}", highlight=False)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")
