"""``pixelab imagenet`` and ``pixelab transfer``: a pretrained backbone on your own images."""

from __future__ import annotations

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import (
    default_out,
    err_console,
    out_console,
    print_json,
    print_predictions,
    print_skipped,
    progress_bar,
    table,
)

app = typer.Typer(
    help="Transfer learning: a new classifier on the ImageNet-pretrained EfficientNet-Lite0, "
    "trained on your own folders in about a minute.",
    no_args_is_help=True,
)


def imagenet(
    images: list[str] = typer.Argument(
        ..., help="Image files, folders of them, or sample photo names (e.g. chelsea coffee)."
    ),
    top: int = typer.Option(5, "--top", help="How many classes to show per image (at least 1)."),
    out: str = typer.Option(None, "--out", help="Also write a figure and metrics.json here."),
    json: bool = typer.Option(False, "--json", help="Print predictions as JSON on stdout."),
) -> None:
    """What the ImageNet model sees: the top ImageNet classes of any photo, with probabilities.

    Unreadable files are skipped and listed; the exit code is then 1.
    """
    from pixelab.apps.transfer import imagenet_predict

    result = imagenet_predict(images, out=out, top_k=top)
    print_predictions(result, title="ImageNet classes", json=json)
    for f in [] if json else result.get("figures", []):
        out_console.print(f"figure: {out}/{f}")
    if result["skipped"]:
        raise typer.Exit(1)


@app.command("train")
def train(
    data: str = typer.Option(
        None, "--data", help="A folder of class subfolders, or a built-in dataset (fashion-mnist)."
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/transfer-<time>)."),
    mode: str = typer.Option(
        None,
        "--mode",
        help="probe: a new head on the frozen backbone (default, seconds); finetune: the probe, "
        "then the last --unfreeze layers trained too (minutes, resumable).",
    ),
    size: int = typer.Option(
        None,
        "--size",
        help="Side the backbone sees (default 224 as in ImageNet; 128 is ~3x faster).",
    ),
    limit: int = typer.Option(None, "--limit", help="Use at most this many images per class."),
    test_size: float = typer.Option(
        None,
        "--test-size",
        help="Share of each class kept apart for testing (default 0.2; 0: none).",
    ),
    c: float = typer.Option(
        None, "--c", help="Inverse regularisation of the logistic-regression head (default 1)."
    ),
    unfreeze: int = typer.Option(
        None,
        "--unfreeze",
        help="finetune: how many of the backbone's last layers train (default 2: stage7, top).",
    ),
    epochs: int = typer.Option(
        None, "--epochs", help="finetune: passes over the images (default 10)."
    ),
    lr: float = typer.Option(None, "--lr", help="finetune: AdamW learning rate (default 1e-4)."),
    seed: int = typer.Option(
        None, "--seed", help="Seed of the image choice and the split (default 0)."
    ),
    precision: str = typer.Option(
        None,
        "--precision",
        help="auto (bf16 where the CPU has it natively; default), fp32 or bf16.",
    ),
    device: str = typer.Option(
        None, "--device", help="auto (a GPU when there is one; default), cpu or cuda."
    ),
    leave_one_out: bool = typer.Option(
        None,
        "--leave-one-out",
        help="probe: train on every image; measure accuracy by leaving each out in turn (small "
        "folders).",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="finetune: continue the run in --out from its last checkpoint."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the run folder if it holds another run."
    ),
    json: JsonFlag = False,
) -> None:
    """Train a classifier on your images with the ImageNet backbone: a linear probe on its
    frozen features, or (--mode finetune) its last layers trained too.

    Every image is embedded once and cached by content, so a second run on the same folder is
    fast; Ctrl-C during finetuning saves, --resume continues. The run works with 'pixelab
    predict', 'cnn evaluate', 'export' and 'explain'.
    """
    from pixelab._core.errors import PixelabError
    from pixelab.apps.transfer import resume_transfer, transfer_train

    given = dict(
        data=data, mode=mode, size=size, limit=limit, test_size=test_size, c=c, unfreeze=unfreeze,
        epochs=epochs, lr=lr, seed=seed, precision=precision, device=device,
        leave_one_out=leave_one_out,
    )  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    if resume:
        if not out:
            raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
        if overwrite:
            raise PixelabError("--resume and --overwrite contradict each other; choose one")
    elif data is None:
        raise PixelabError("--data is missing", hint="give a folder of class subfolders or a "
                           "built-in dataset, e.g. --data fashion-mnist")  # fmt: skip
    out = out or default_out("transfer")
    with progress_bar(quiet=json) as progress:
        if resume:
            m = resume_transfer(out, changes=given, progress=progress)
        else:
            m = transfer_train(out=out, overwrite=overwrite, progress=progress, **given)
    if m.get("interrupted"):
        err_console.print(
            f"interrupted after {m['epochs_done']} finished epoch(s); continue with: {m['resume']}",
            highlight=False,
            soft_wrap=True,  # one line that can be copied
        )
        raise typer.Exit(130)
    for w in m["warnings"]:
        err_console.print(f"[yellow]note:[/] {w}", highlight=False, soft_wrap=True)
    print_skipped(m["skipped"])
    if json:
        print_json(m)
        return
    kind = "leave-one-out" if m.get("evaluation") == "leave-one-out" else "test"
    acc = "no test images" if m["accuracy"] is None else f"{kind} accuracy {m['accuracy']:.3f}"
    if m["mode"] == "finetune":
        out_console.print(
            f"{acc} after finetuning {', '.join(m['unfrozen'])} for {m['epochs']} epoch(s) "
            f"(the probe it started from: {m['probe_accuracy']:.3f}); {m['n_train']} training, "
            f"{m['n_test']} test images, {m['train_seconds']:.1f} s of training"
        )
    else:
        out_console.print(
            f"{acc} ({m['n_train']} training, {m['n_test']} test images); embedded "
            f"{m['embedded']} image(s), {m['from_cache']} from the cache, in "
            f"{m['embed_seconds']:.1f} s"
        )
    out_console.print(f"run folder: {out}")
    for f in m.get("figures", []):
        out_console.print(f"figure: {out}/{f}")


@app.command("curve")
def curve(
    data: str = typer.Option(
        ..., "--data", help="A folder of class subfolders or a built-in dataset (faces, ...)."
    ),
    shots: str = typer.Option(
        "1,5,10,20,50", "--shots", help="Training images per class, comma-separated."
    ),
    seeds: int = typer.Option(3, "--seeds", help="Random picks of the images, averaged."),
    size: int = typer.Option(128, "--size", help="Side the backbone sees."),
    test_limit: int = typer.Option(2000, "--test-limit", help="At most this many test images."),
    scratch: bool = typer.Option(
        True, "--scratch/--no-scratch", help="Also train a small CNN from scratch (slower)."
    ),
    finetune_epochs: int = typer.Option(
        0,
        "--finetune-epochs",
        help="Also finetune each probe's last two layers for this many epochs (0: not; 10 is "
        "what 'transfer train --mode finetune' does; slower).",
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/transfer-curve-<time>)."),
    json: JsonFlag = False,
) -> None:
    """Accuracy against images per class: the pretrained backbone with a new head against a
    small CNN trained from scratch on the same images, over several random picks."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.transfer import transfer_curve

    try:
        counts = tuple(int(n) for n in shots.split(",") if n.strip())
    except ValueError:
        raise PixelabError(
            f"--shots must be whole numbers separated by commas, got {shots!r}"
        ) from None
    out = out or default_out("transfer-curve")
    with progress_bar() as progress:
        m = transfer_curve(data, out, shots=counts, seeds=seeds, size=size, test_limit=test_limit,
                           scratch=scratch, finetune_epochs=finetune_epochs,
                           progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    methods = [k for k in ("probe", "finetune", "scratch") if k in m]
    rows = [[n, *[f"{m[k][str(n)]['mean']:.3f} ± {m[k][str(n)]['std']:.3f}" for k in methods]]
            for n in m["shots"]]  # fmt: skip
    table(f"test accuracy on {m['n_test']} images", ["per class", *methods], rows)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")
