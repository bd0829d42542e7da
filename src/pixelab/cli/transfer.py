"""``pixelab imagenet`` and ``pixelab transfer``: a pretrained backbone on your own images."""

from __future__ import annotations

import typer

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
        ..., "--data", help="A folder of class subfolders, or a built-in dataset (fashion-mnist)."
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/transfer-<time>)."),
    size: int = typer.Option(
        224, "--size", help="Side the backbone sees (224 as in ImageNet; 128 is ~3x faster)."
    ),
    limit: int = typer.Option(None, "--limit", help="Use at most this many images per class."),
    test_size: float = typer.Option(
        0.2, "--test-size", help="Share of each class kept apart for testing (0: none)."
    ),
    c: float = typer.Option(
        1.0, "--c", help="Inverse regularisation of the logistic-regression head."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the image choice and the split."),
    precision: str = typer.Option(
        "auto", "--precision", help="auto (bf16 where the CPU has it natively), fp32 or bf16."
    ),
    leave_one_out: bool = typer.Option(
        False,
        "--leave-one-out",
        help="Train on every image; measure accuracy by leaving each out in turn (small folders).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the run folder if it holds another run."
    ),
    json: bool = typer.Option(False, "--json", help="Print metrics as JSON on stdout."),
) -> None:
    """Train a classifier on your images with the frozen ImageNet backbone (a linear probe).

    Every image is embedded once and cached by content, so a second run on the same folder is
    fast; the run works with 'pixelab predict', 'cnn evaluate', 'export' and 'explain'.
    """
    from pixelab.apps.transfer import transfer_train

    out = out or default_out("transfer")
    with progress_bar() as progress:
        m = transfer_train(data, out, size=size, limit=limit, test_size=test_size, c=c,
                           seed=seed, precision=precision, leave_one_out=leave_one_out,
                           overwrite=overwrite, progress=progress)  # fmt: skip
    for w in m["warnings"]:
        err_console.print(f"[yellow]note:[/] {w}", highlight=False, soft_wrap=True)
    print_skipped(m["skipped"])
    if json:
        print_json(m)
        return
    kind = "leave-one-out" if m.get("evaluation") == "leave-one-out" else "test"
    acc = "no test images" if m["accuracy"] is None else f"{kind} accuracy {m['accuracy']:.3f}"
    out_console.print(
        f"{acc} ({m['n_train']} training, {m['n_test']} test images); embedded "
        f"{m['embedded']} image(s), {m['from_cache']} from the cache, in {m['embed_seconds']:.1f} s"
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
    out: str = typer.Option(None, "--out", help="Run folder (default runs/transfer-curve-<time>)."),
    json: bool = typer.Option(False, "--json", help="Print metrics as JSON on stdout."),
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
                           scratch=scratch, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    methods = [k for k in ("probe", "scratch") if k in m]
    rows = [[n, *[f"{m[k][str(n)]['mean']:.3f} ± {m[k][str(n)]['std']:.3f}" for k in methods]]
            for n in m["shots"]]  # fmt: skip
    table(f"test accuracy on {m['n_test']} images", ["per class", *methods], rows)
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")
