"""``pixelab robust``: how a trained model holds up when its images change."""

from __future__ import annotations

import typer

from pixelab.cli._options import DeviceOption, JsonFlag
from pixelab.cli._ui import default_out, err_console, out_console, print_json, progress_bar, table

app = typer.Typer(
    help="Robustness: accuracy of a trained run as its images are moved, turned, zoomed, "
    "darkened, covered, made noisy or blurred.",
    no_args_is_help=True,
)


def _stop_if_interrupted(m: dict, what: str) -> None:
    """An interrupted job: say what was kept (one line to copy) and exit 130."""
    if m.get("interrupted"):
        kept = ", ".join(m.get(f"{what}_done", [])) or "none"
        err_console.print(f"interrupted; finished {what} kept: {kept}; {m['resume']}",
                          highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(130)


@app.command("sweep")
def sweep(
    run: str = typer.Argument(..., help="A trained run folder (cnn train or transfer train)."),
    data: str = typer.Option(..., "--data", help="The images to change: a dataset or folder."),
    factors: str = typer.Option(
        "translate,rotate,scale,brightness,occlude",
        "--factors",
        help="Comma-separated: translate, rotate, scale, brightness, contrast, occlude, noise, "
        "blur.",
    ),
    limit: int = typer.Option(3000, "--limit", help="At most this many images (every class)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the changes (the same for every model)."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/robust-sweep-<time>)."),
    json: JsonFlag = False,
) -> None:
    """Accuracy and confidence against the amount of each change, in one figure.

    Every model swept with the same --seed sees exactly the same changed images. Ctrl-C keeps
    the finished factors: the same command again sweeps only the rest.
    """
    from pixelab.apps.robust import robust_sweep

    names = tuple(f.strip() for f in factors.split(",") if f.strip())
    out = out or default_out("robust-sweep")
    with progress_bar(quiet=json) as progress:
        m = robust_sweep(run, data, out, factors=names, limit=limit, seed=seed, device=device,
                         progress=progress)  # fmt: skip
    _stop_if_interrupted(m, "factors")
    if json:
        print_json(m)
        return
    rows = [[name, f["unit"], "  ".join(f"{r['amount']:g}: {r['accuracy']:.2f}" for r in f["rows"])]
            for name, f in m["factors"].items()]  # fmt: skip
    table(f"accuracy on {_images(m)} changed (unchanged: {m['clean_accuracy']:.3f})",
          ["factor", "amount in", "accuracy at each amount"], rows)  # fmt: skip
    out_console.print(m["summary"])
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("attack")
def attack(
    run: str = typer.Argument(..., help="A trained run folder (cnn train or transfer train)."),
    data: str = typer.Option(..., "--data", help="The images to attack: a dataset or folder."),
    method: str = typer.Option("fgsm,pgd", "--method", help="fgsm, pgd, or both (comma)."),
    eps: str = typer.Option(
        "0,0.5,1,2,4,8", "--eps", help="Largest change of a pixel, in levels out of 255 (comma)."
    ),
    steps: int = typer.Option(10, "--steps", help="PGD steps."),
    limit: int = typer.Option(1000, "--limit", help="At most this many images (every class)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the image choice."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/robust-attack-<time>)."),
    json: JsonFlag = False,
) -> None:
    """Adversarial examples: accuracy when every pixel may move by up to eps, in the direction
    that hurts the model most (FGSM: one step; PGD: several), and pictures of the attack."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.robust import robust_attack

    try:
        levels = tuple(float(e) for e in eps.split(",") if e.strip())
    except ValueError:
        raise PixelabError(f"--eps must be numbers separated by commas, got {eps!r}") from None
    methods = tuple(m.strip() for m in method.split(",") if m.strip())
    out = out or default_out("robust-attack")
    with progress_bar(quiet=json) as progress:
        m = robust_attack(run, data, out, methods=methods, eps=levels, steps=steps, limit=limit,
                          seed=seed, device=device, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    names = list(m["curves"])
    rows = [[f"{r['eps']:g}", *[f"{m['curves'][k][i]['accuracy']:.3f}" for k in names]]
            for i, r in enumerate(m["curves"][names[0]])]  # fmt: skip
    table(f"accuracy on {_images(m)} attacked", ["eps (/255)", *names], rows)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("challenges")
def challenges(
    run: str = typer.Argument(..., help="A trained run folder (cnn train or transfer train)."),
    data: str = typer.Option(..., "--data", help="The images to change: a dataset or folder."),
    baseline: str = typer.Option(
        None, "--baseline", help="Another run on the same classes: corruption errors and mCE."
    ),
    families: str = typer.Option(
        None,
        "--families",
        help="Comma-separated (default all): viewpoint, deformation, "
        "occlusion, illumination, scale, clutter, noise, blur.",
    ),
    limit: int = typer.Option(1000, "--limit", help="At most this many images (every class)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the changes (the same for every model)."),
    device: DeviceOption = "auto",
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/robust-challenges-<time>)."
    ),
    json: JsonFlag = False,
) -> None:
    """The lecture's challenges of vision (viewpoint, deformation, occlusion, illumination,
    scale, clutter) plus noise and blur, five severities each, as a heat map of accuracy."""
    from pixelab.apps.robust import robust_challenges

    names = tuple(f.strip() for f in families.split(",") if f.strip()) if families else None
    out = out or default_out("robust-challenges")
    with progress_bar(quiet=json) as progress:
        m = robust_challenges(run, data, out, baseline=baseline, families=names, limit=limit,
                              seed=seed, device=device, progress=progress)  # fmt: skip
    _stop_if_interrupted(m, "families")
    if json:
        print_json(m)
        return
    base = m.get("baseline")
    head = ["family", "what it means", "1", "2", "3", "4", "5", *(["CE"] if base else [])]
    rows = [[f, r["means"], *[f"{a:.2f}" for a in r["accuracy"]],
             *([f"{base['ce'].get(f) or 0:.2f}"] if base else [])]
            for f, r in m["families"].items()]  # fmt: skip
    table(f"accuracy by severity on {_images(m)} (unchanged: "
          f"{m['clean_accuracy']:.3f})", head, rows)  # fmt: skip
    if base:
        out_console.print(
            f"mCE relative to {base['run']}: {base['mce']:.3f} (below 1: more robust)"
        )
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("ablate")
def ablate(
    data: str = typer.Option(..., "--data", help="A built-in dataset or a folder."),
    policies: str = typer.Option(
        "none,basic,strong,adversarial",
        "--policies",
        help="Augmentation policies to compare, comma-separated (the first is the baseline).",
    ),
    model: str = typer.Option("small_cnn", "--model", help="The network every policy trains."),
    epochs: int = typer.Option(
        None, "--epochs", help="Epochs per run, the same for every policy [default: 5]."
    ),
    budget_s: float = typer.Option(
        None, "--budget-s", help="Seconds of training per policy instead (epochs chosen to fit)."
    ),
    limit: int = typer.Option(None, "--limit", help="Train on at most this many images."),
    eval_limit: int = typer.Option(1000, "--eval-limit", help="Images each measurement uses."),
    seed: int = typer.Option(0, "--seed", help="One seed for every run and measurement."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Folder (default runs/robust-ablate-<time>)."),
    json: JsonFlag = False,
) -> None:
    """What each augmentation buys: one run per policy, then clean accuracy, invariance, the
    challenge suite (mCE against the first policy) and PGD accuracy side by side. Interrupted,
    the same command reuses the finished runs."""
    from pixelab.apps.robust import robust_ablate

    names = tuple(p for p in (p.strip() for p in policies.split(",")) if p)
    if epochs is not None and budget_s is not None:
        from pixelab._core.errors import PixelabError

        raise PixelabError("give --epochs or --budget-s, not both",
                           hint="--budget-s gives every policy the same training time, --epochs "
                           "the same epochs")  # fmt: skip
    out = out or default_out("robust-ablate")
    with progress_bar(quiet=json) as progress:
        m = robust_ablate(data, out, policies=names, model=model, epochs=epochs or 5,
                          budget_s=budget_s, limit=limit,
                          eval_limit=eval_limit, seed=seed, device=device, progress=progress)  # fmt: skip
    if m.get("interrupted"):
        err_console.print(f"interrupted; {m['resume']}", highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    if json:
        print_json(m)
        return
    rows = [[p, f"{r['accuracy']:.3f}", f"{r['challenge_accuracy']:.3f}", f"{r['mce']:.2f}",
             f"{r['pgd_2']:.3f}", f"{r['pgd_8']:.3f}", str(r["epochs"]),
             f"{r['train_seconds']:.0f}"]
            for p, r in m["policies"].items()]  # fmt: skip
    table(f"policies on {data} (mCE relative to {m['baseline_policy']})",
          ["policy", "accuracy", "challenges", "mCE", "PGD 2/255", "PGD 8/255", "epochs", "train s"], rows)  # fmt: skip
    for key, words in (("accuracy", "unchanged images"), ("challenge_accuracy", "the challenges"),
                       ("pgd_8", "attacks")):  # fmt: skip
        out_console.print(f"best on {words}: {m['best'][key]}")
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


def _images(m: dict) -> str:
    """ "1000 held-out images" when the run's own test split was used, else "1000 images"."""
    return f"{m['n_images']} {'held-out ' if m.get('held_out') else ''}images"
