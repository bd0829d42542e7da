"""Generative models, second half: diffusion. The forward process (an image buried in noise
step by step, and how fast each noise schedule buries it), then the denoiser pixelab ships
(trained by a committed command): the reverse process, prompts, the guidance scale,
inpainting and image-to-image, each judged by the tour's own CNN; prompts of several words
to a second shipped denoiser of attribute scenes; and why compress first."""

from __future__ import annotations

from typing import Any

from pixelab.apps.tour._context import TourContext


def chapter(ctx: TourContext) -> dict[str, Any]:
    """The forward process on a photo and on a Fashion-MNIST image, with its numbers."""
    import shutil

    from pixelab.apps.diffusion import diffusion_forward

    ch = ctx.report.chapter("Generative models: diffusion")
    ch.text(
        "A diffusion model learns to undo noise. Its training data are made by a process that "
        "needs no learning at all, the forward process: take an image and, over T steps, mix "
        "in a little more random noise at each step until nothing of the image is left. At "
        "step t the image keeps a share abar_t of its power and the noise has the rest. A "
        "network is then taught to guess the noise in an image at any step; to make a new "
        "image, one starts from pure noise and removes the guessed noise step by step."
    )
    m = diffusion_forward("chelsea", ctx.run.path / "diffusion-forward", show=8, seed=ctx.seed,
                          overwrite=True)  # fmt: skip
    run = ctx.run.path / "diffusion-forward"
    ctx.run.figures.mkdir(parents=True, exist_ok=True)
    for name in ("forward", "schedules"):
        shutil.copyfile(run / "figures" / f"{name}.png", ctx.run.figures / f"diffusion_{name}.png")
    ch.figure(ctx.run.figures / "diffusion_forward.png",
              "One photo and one noise image, mixed at rising steps t under the cosine "
              "schedule (top) and the linear one (bottom) "
              "(`pixelab diffusion forward chelsea`).")  # fmt: skip
    half = m["half_signal_step"]
    mid = m["shown"][len(m["shown"]) // 2]
    ch.text(
        f"The linear schedule of the first diffusion papers leaves less than half of the image "
        f"after {half['linear']} of 1,000 steps; the cosine schedule only after "
        f"{half['cosine']}. For small images this matters: under the linear schedule the last "
        "few hundred steps are all noise, and a network learns little from them. At "
        f"t = {mid['t']} (cosine) {mid['signal_share']:.0%} of the image's power is left and "
        f"its pixels still correlate {mid['correlation']:.2f} with the photo; at t = T - 1 the "
        f"correlation is {m['shown'][-1]['correlation']:.2f} and the pixels have mean "
        f"{m['x_T']['mean']:.2f} and spread {m['x_T']['std']:.2f}: pure standard noise, "
        "where sampling starts."
    )
    ch.figure(ctx.run.figures / "diffusion_schedules.png",
              "The share of the image left at each step, and the signal-to-noise ratio, for "
              "both schedules.")  # fmt: skip
    return {"half_signal_step": half, "x_T": m["x_T"], "run": str(run),
            **_shipped_denoiser(ctx, ch), "several_words": _several_words(ctx, ch),
            "why_compress": _why_compress(ctx, ch)}  # fmt: skip


#: What the tour asks the shipped denoiser for in words (each is matched to a class).
PROMPTS = ("an ankle boot", "trousers", "a pullover", "sneakers", "a bag")


def _shipped_denoiser(ctx: TourContext, ch: Any) -> dict[str, Any]:
    """The reverse process, prompts, a guidance sweep, an inpainting and an img2img example
    with the shipped denoiser, judged by the tour's CNN."""
    import shutil

    from pixelab._core.io import read_json
    from pixelab.apps.diffusion import (
        SHIPPED,
        diffusion_guidance,
        diffusion_sample,
        load_diffusion,
    )
    from pixelab.apps.diffusion_edit import diffusion_img2img, diffusion_inpaint
    from pixelab.apps.tour.learn import _model
    from pixelab.report import figures as F

    _, rec = load_diffusion(SHIPPED)
    made = read_json(rec["path"] / "metrics.json")
    judge = _model(ctx)
    judge_model = (judge, {"run": "the tour's CNN", "model": "small_cnn",
                           "name": "the tour's CNN"})  # fmt: skip
    steps = 20 if ctx.quick else 50
    out = ctx.run.path / "diffusion"
    ch.text(
        "Learning to remove noise takes longer than the tour can wait, so this part uses a "
        f"denoiser that pixelab trained itself and ships: a small U-Net "
        f"({made['epochs']} passes over Fashion-MNIST's 60,000 images, "
        f"{made['train_seconds'] / 60:.0f} minutes on a 2-core CPU), remade with "
        f"`make diffusion-weights` (`{made['made_by']['command']}`). Its name on the "
        "command line is `shipped`. To make an image it starts from pure noise and, in "
        f"{steps} steps (DDIM), subtracts the noise it sees, each time a little closer to an "
        "image; it is told the class it should draw."
    )
    rows, labels, understood = [], [], []
    for i, prompt in enumerate(PROMPTS):
        res = diffusion_sample(SHIPPED, out / f"prompt-{i}.png", n=4, prompt=prompt,
                               steps=steps, seed=ctx.seed, device="cpu")  # fmt: skip
        rows.extend(res["images"])
        labels.append(f'"{prompt}"')
        understood.append(res["prompt"]["name"])
        if i == 0:
            shutil.copyfile(res["reverse"], ctx.run.figures / "diffusion_reverse.png")
    ch.figure(ctx.run.figures / "diffusion_reverse.png",
              "The reverse process: four images of ankle boots, from pure noise (left) to the "
              "finished image (right) (`pixelab diffusion sample shipped --prompt \"an ankle "
              "boot\"`).")  # fmt: skip
    fig = F.image_grid(list(rows), ncols=4, cell=1.1, row_labels=labels,
                       suptitle="prompt -> class -> four images")  # fmt: skip
    ctx.figure(
        ch,
        fig,
        "diffusion_prompts",
        "Asked in words: each prompt is matched to one of the ten classes (by name, "
        "plural, synonym or the nearest spelling), and the class steers the denoiser.",
    )
    pairs = ", ".join(f"{p!r} -> {u}" for p, u in zip(PROMPTS, understood, strict=True))
    ch.text(
        "Text-to-image systems read a whole sentence with a language model; this one knows "
        f"only ten class names, so a prompt is matched to one of them ({pairs}). A prompt "
        "naming no class, or two, is refused with the list of classes."
    )
    n = 30 if ctx.quick else 200
    g = diffusion_guidance(SHIPPED, out / "guidance", scales=[0.0, 1.0, 2.0, 4.0], n=n,
                           steps=steps, seed=ctx.seed, device="cpu", judge_model=judge_model,
                           overwrite=True)  # fmt: skip
    for name in ("guidance", "guidance-samples"):
        shutil.copyfile(out / "guidance" / "figures" / f"{name}.png",
                        ctx.run.figures / f"diffusion_{name.replace('-', '_')}.png")  # fmt: skip
    by = {r["guidance"]: r for r in g["scales"]}
    ch.text(
        "Classifier-free guidance: the denoiser was also trained with the class hidden, so at "
        "every step it can say what noise it sees with and without the class. Guidance "
        "pushes the step further in the direction the class adds, by a factor w (w = 0 "
        "ignores the class, 1 is the plain model). The tour's CNN judges "
        f"{n} images per scale: it reads {by[0.0]['class_consistency']:.0%} of them as the "
        f"class asked for at w = 0 (chance is 10%), {by[1.0]['class_consistency']:.0%} at "
        f"w = 1 and {by[2.0]['class_consistency']:.0%} at w = 2, pixelab's default; at w = 4 "
        f"{by[4.0]['class_consistency']:.0%}, and the images within a class grow more alike "
        f"(diversity {by[1.0]['diversity']:.2f} at w = 1, {by[4.0]['diversity']:.2f} at "
        "w = 4): guidance trades variety for faithfulness."
    )
    ch.figure(ctx.run.figures / "diffusion_guidance_samples.png",
              "The same noise at rising guidance, one column per class "
              "(`pixelab diffusion guidance shipped`).")  # fmt: skip
    ch.figure(ctx.run.figures / "diffusion_guidance.png",
              "Class-consistency and Fréchet distance (in the tour CNN's features) against the "
              "guidance scale.")  # fmt: skip
    q = made["quality"]
    ch.table(["guidance w", "judged as the class asked", "Fréchet distance", "diversity"],
             [[f"{r['guidance']:g}", f"{r['class_consistency']:.0%}", f"{r['fid_judge']:.2f}",
               f"{r['diversity']:.2f}"] for r in g["scales"]]
             + [["real test images", "-", f"{g['fid_real_vs_real']:.2f} (half vs half)", "-"]])  # fmt: skip
    ch.text(
        f"When it was made, the shipped denoiser was measured on {q['samples']} samples at "
        f"w = {q['guidance']:g} by {made['judge']['name']} (accuracy "
        f"{made['judge']['accuracy']:.0%}): {q['class_consistency']:.0%} judged as the class "
        f"asked, Fréchet distance {q['fid_judge']:.3f} against {q['fid_real_vs_real']:.3f} "
        "between two halves of the real images."
    )
    inp = diffusion_inpaint(SHIPPED, "fashion-mnist", out / "inpaint", box="0,14,28,14",
                            index=ctx.seed, n=4, steps=steps, judge_model=judge_model,
                            device="cpu", overwrite=True)  # fmt: skip
    shutil.copyfile(out / "inpaint" / "figures" / "inpaint.png",
                    ctx.run.figures / "diffusion_inpaint.png")  # fmt: skip
    ch.text(
        "Inpainting: the lower half of a test image is hidden and the denoiser fills it. At "
        "every step the known half is put back, noised to the step's level, so the network "
        "only ever invents the hidden half and must make it fit the rest; RePaint's "
        f"resampling ({inp['resample']} rounds per step) lets the two halves agree. The kept "
        f"pixels change by at most {inp['kept_pixels_max_change']} grey levels; the tour's CNN "
        f"reads the original as {inp['judged_original']} and the four fills as "
        f"{', '.join(inp['judged'])}."
    )
    ch.figure(ctx.run.figures / "diffusion_inpaint.png",
              "The image, the hidden region, and four fills, with and without resampling "
              "(`pixelab diffusion inpaint shipped fashion-mnist --box 0,14,28,14`).")  # fmt: skip
    i2i = diffusion_img2img(SHIPPED, "fashion-mnist", out / "img2img", strengths=[0.3, 0.6, 0.9],
                            index=ctx.seed, n=3, prompt="an ankle boot", steps=steps,
                            judge_model=judge_model, device="cpu", overwrite=True)  # fmt: skip
    shutil.copyfile(out / "img2img" / "figures" / "img2img.png",
                    ctx.run.figures / "diffusion_img2img.png")  # fmt: skip
    per = i2i["strengths"]
    ch.text(
        "Image-to-image: instead of pure noise, start from the image itself noised part of the "
        "way (the strength s), and denoise it towards another class. Low strength keeps the "
        "layout; high strength keeps little but the rough shape. Asked for an ankle boot, "
        + "; ".join(
            f"at s = {r['strength']:g} the images keep a PSNR of "
            f"{r['psnr_vs_input']:.1f} dB against the input and "
            f"{r['share_judged_target']:.0%} are judged ankle boots"
            for r in per
        )
        + "."
    )
    ch.figure(ctx.run.figures / "diffusion_img2img.png",
              "A test image noised to rising strengths and denoised towards \"an ankle boot\" "
              "(`pixelab diffusion img2img shipped fashion-mnist --strength 0.3,0.6,0.9 "
              "--prompt \"an ankle boot\"`).")  # fmt: skip
    return {"shipped": {"made_by": made["made_by"], "quality": q},
            "prompts": dict(zip(PROMPTS, understood, strict=True)),
            "guidance": g["scales"], "inpaint": {k: inp[k] for k in ("kept_pixels_max_change",
                                                                  "judged", "judged_original")},
            "img2img": per}  # fmt: skip


#: Prompts of several words for the shipped denoiser of attribute scenes.
SCENE_PROMPTS = ("a small red star at the top left", "a big blue heart", "a yellow cross",
                 "a green triangle at the bottom right", "a tiny purple circle in the middle",
                 "a large orange square on the left")  # fmt: skip


def _several_words(ctx: TourContext, ch: Any) -> dict[str, Any]:
    """Prompts that name a shape, a colour, a size and a place, answered by the shipped
    denoiser of attribute scenes; colour, size and place checked on the pixels."""
    from pixelab._core.io import read_json
    from pixelab.apps.diffusion import diffusion_sample, load_diffusion
    from pixelab.report import figures as F

    word = "shipped-shapes"
    _, rec = load_diffusion(word)
    made = read_json(rec["path"] / "metrics.json")
    steps = 20 if ctx.quick else 50
    out = ctx.run.path / "diffusion" / "several-words"
    rows, labels, found = [], [], []
    for i, prompt in enumerate(SCENE_PROMPTS):
        res = diffusion_sample(word, out / f"prompt-{i}.png", n=4, prompt=prompt, steps=steps,
                               seed=ctx.seed, device="cpu")  # fmt: skip
        rows.extend(res["images"])
        labels.append(f'"{prompt}"')
        found.append(res["prompt"])
    fig = F.image_grid(list(rows), ncols=4, cell=1.1, row_labels=labels,
                       suptitle="a prompt of several words -> four images")  # fmt: skip
    ctx.figure(ch, fig, "diffusion_several_words",
               "Each prompt names some of shape, colour, size and place; what it leaves out, "
               "the denoiser chooses (`pixelab diffusion sample shipped-shapes --prompt \"a "
               "small red star at the top left\"`).")  # fmt: skip
    hat = diffusion_sample(word, out / "hat.png", n=4, prompt="a red star wearing a hat",
                           steps=steps, seed=ctx.seed, device="cpu")["prompt"]  # fmt: skip
    asked = [(a, share) for p in found for a, share in p["honoured"].items() if a != "shape"]
    live = {a: sum(v for b, v in asked if b == a) / max(1, sum(1 for b, _ in asked if b == a))
            for a in ("colour", "size", "position")}  # fmt: skip
    q = made["quality"]
    h = q["attributes"]["honoured"]
    ch.text(
        "A text-to-image model reads a sentence; the Fashion-MNIST denoiser above knows one "
        "word, the class. pixelab's `shapes-attributes` data label every image four ways "
        "(shape, colour, size, place on a 3x3 grid), and a second shipped denoiser "
        "(`shipped-shapes`, made with `make shapes-weights`: "
        f"`{made['made_by']['command']}`, {made['train_seconds'] / 60:.0f} minutes) is told all "
        "four: each attribute has its own learned vector, and the vectors are added to the "
        "step's. In training each attribute is hidden a fifth of the time, so a prompt may "
        "name only some of them; the rest is left to the model. Words it has no attribute "
        f'for are reported, not dropped in silence: for "a red star wearing a hat" it says '
        f'"{hat["understood"]}".'
    )
    ch.text(
        "It denoises the 4x8x8 codes of a small VAE rather than the 32x32x3 pixels, as "
        "Stable Diffusion does (the next section times why). That choice decided whether it "
        "works on 2 cores: a pixel denoiser trained for twice as long (40 minutes, 1,725 "
        "steps) drew the colour asked for in 74% of its images but the place only by chance "
        "(10%) and all four at once in 1% (BENCHMARKS.md); in codes, each step is several "
        "times cheaper and the same minutes buy several times as many."
    )
    ch.text(
        "Colour, size and place can be checked on the pixels exactly (they are read back "
        "without error from the real images). In the tour's images above, the colour asked "
        f"for shows in {live['colour']:.0%}, the size in {live['size']:.0%} and the place in "
        f"{live['position']:.0%}. When it was made, the denoiser was measured on "
        f"{q['attributes']['samples']} prompts naming all four at random: shape "
        f"{h['shape']:.0%} (as {made['judge']['name']} reads it), colour {h['colour']:.0%}, "
        f"size {h['size']:.0%}, place {h['position']:.0%}, and all four at once "
        f"{h['all']:.0%}, where chance is {q['attributes']['chance_all']:.2%}."
    )
    return {"prompts": {p["prompt"]: p["values"] for p in found}, "honoured_here": live,
            "honoured_when_made": h, "unused": hat["unused"]}  # fmt: skip


def _why_compress(ctx: TourContext, ch: Any) -> dict[str, Any]:
    """Why Stable Diffusion works in a VAE's latent space, timed here: one training step and
    sampling, for the shipped pixel denoiser and for the same U-Net on a grid VAE's 4x7x7
    codes (speed does not depend on the weights, so fresh ones are timed)."""
    import time

    import torch

    from pixelab.apps.diffusion import SHIPPED, Space, load_diffusion
    from pixelab.generate.diffusion import (
        NoiseSchedule,
        build,
        guided_eps,
        sample_loop,
        time_training_step,
    )
    from pixelab.generate.vae import VAEConfig
    from pixelab.generate.vae import build as build_vae

    pixel_net, rec = load_diffusion(SHIPPED)
    cfg = rec["config"]
    vae = build_vae(VAEConfig(latent=4, grid=True, seed=ctx.seed), 1, 28).eval()
    spaces = {"pixels": (pixel_net, rec["space"]),
              "latent": (build(cfg, 4, 7, len(rec["classes"])).eval(),
                         Space(4, 7, vae, bound=4.0))}  # any range: only timed  # fmt: skip
    schedule, n, steps = NoiseSchedule(cfg.schedule, cfg.steps), 10, 25
    rows = {}
    for name, (net, space) in spaces.items():
        step = time_training_step(net, space.shape(32), repeats=2 if ctx.quick else 5)
        y = torch.arange(n) % len(rec["classes"])
        t0 = time.perf_counter()
        x, _ = sample_loop(guided_eps(net, 2.0, y), space.shape(n), schedule, steps=steps,
                           seed=ctx.seed, clip=space.clip)  # fmt: skip
        space.images(x)
        seconds = time.perf_counter() - t0
        rows[name] = {"numbers": int(space.shape(1)[1] * space.side**2),
                      "step_ms": round(1000 * step, 1),
                      "images_per_second": round(n / seconds, 2)}  # fmt: skip
    px, lat = rows["pixels"], rows["latent"]
    ch.text(
        "Why compress first? Stable Diffusion does not denoise pixels: a VAE first squeezes "
        "each image into a small grid of codes, the denoiser learns to remove noise from "
        "those, and only the finished code is decoded to pixels. Here a Fashion-MNIST image is "
        f"{px['numbers']} pixels; a grid VAE (`pixelab vae train --grid --latent 4`) codes it "
        f"as 4 numbers at each of 7x7 places, {lat['numbers']}. Timed now on this machine, the "
        f"same U-Net takes {px['step_ms']:.0f} ms per training step (32 images) on pixels "
        f"and {lat['step_ms']:.0f} ms on codes ({px['step_ms'] / lat['step_ms']:.1f}x fewer), "
        f"and samples {lat['images_per_second'] / px['images_per_second']:.1f}x as many "
        "images per second, decoding included. So in the same minutes of training it sees "
        "many more images, at the price of whatever the VAE loses. "
        "`pixelab diffusion train --data fashion-mnist --vae RUN` trains one; BENCHMARKS.md "
        "compares the images both kinds make after the same training time "
        "(`benchmarks/bench_latent.py`)."
    )
    ch.table(["denoises", "numbers per image", "ms per training step (32 images)",
              "images per second (DDIM 25 steps)"],
             [["pixels (the shipped denoiser)", px["numbers"], px["step_ms"],
               px["images_per_second"]],
              ["a VAE's 4x7x7 codes", lat["numbers"], lat["step_ms"],
               lat["images_per_second"]]])  # fmt: skip
    return rows
