"""``pixelab cnn``, ``predict``, ``export``, ``compare``: neural networks end to end."""

from __future__ import annotations

import typer

from pixelab.cli._ui import default_out, err_console, out_console, print_json, progress_bar, table
from pixelab.cli.data import DATA_HELP

app = typer.Typer(help="Convolutional networks: train and evaluate.", no_args_is_help=True)


@app.command("train")
def train_cmd(
    data: str = typer.Option(None, "--data", help=DATA_HELP + " [default: fashion-mnist]"),
    model: str = typer.Option(
        None, "--model", help="mlp, lenet, small_cnn or resnet. [default: small_cnn]"
    ),
    epochs: int = typer.Option(None, "--epochs", help="Passes over the training images."),
    batch_size: int = typer.Option(None, "--batch-size", help="Images per step."),
    lr: float = typer.Option(None, "--lr", help="Peak learning rate."),
    optimizer: str = typer.Option(None, "--optimizer", help="adamw or sgd."),
    schedule: str = typer.Option(None, "--schedule", help="onecycle, cosine or constant."),
    augment: str = typer.Option(
        None,
        "--augment",
        help="auto, none, shift or shift+flip. auto: shift+flip under 10,000 images, else shift.",
    ),
    label_smoothing: float = typer.Option(None, "--label-smoothing", help="0 turns it off."),
    average: float = typer.Option(
        None,
        "--average",
        help="Keep a moving average of the weights with this decay (0 turns it off). "
        "It is validated and saved: steadier, and more accurate mid-run. [default: 0.998]",
    ),
    val: float = typer.Option(
        None, "--val", help="Share of training images held out for validation."
    ),
    patience: int = typer.Option(
        None, "--patience", help="Stop after N epochs without validation gain (needs --val)."
    ),
    size: int = typer.Option(None, "--size", help="Resize images to SIZE x SIZE."),
    gray: bool = typer.Option(None, "--gray/--color", help="Force grey or colour images."),
    limit: int = typer.Option(None, "--limit", help="Use at most N training images."),
    bf16: bool = typer.Option(
        None,
        "--bf16/--fp32",
        help="bfloat16 autocast: faster on GPUs and CPUs with AMX/AVX512-BF16, slower on others.",
    ),
    device: str = typer.Option(None, "--device", help="auto, cpu or cuda."),
    config: str = typer.Option(None, "--config", help="JSON file with default options."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in --out from its last checkpoint."
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/cnn-<time>)."),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    json: bool = typer.Option(False, "--json", help="Print metrics as JSON on stdout."),
) -> None:
    """Train a neural network with a live progress bar; Ctrl-C saves, --resume continues."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    if resume and not out:
        raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
    base = CNNConfig.from_json(config) if config else CNNConfig()
    cfg = base.replace(
        data=data, model=model, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
        schedule=schedule, augment=augment, label_smoothing=label_smoothing, average=average,
        val_fraction=val, patience=patience, size=size, gray=gray, limit=limit, bf16=bf16,
        device=device, seed=seed,
    )  # fmt: skip
    out = out or default_out(f"cnn-{cfg.model}")
    with progress_bar(quiet=json) as progress:
        metrics = train_cnn(cfg, out, resume=resume, progress=progress)
    if metrics.get("interrupted"):
        err_console.print(
            f"interrupted after {metrics['epochs_done']} finished epoch(s); continue with: {metrics['resume']}"
        )
        raise typer.Exit(130)
    if json:
        print_json(metrics)
        return
    table(
        f"{metrics['model']} on {cfg.data}",
        ["accuracy", "epochs", "train s", "train img/s", "parameters", "test images"],
        [[f"{metrics['accuracy']:.4f}", metrics["epochs"], f"{metrics['train_seconds']:.1f}",
          f"{metrics['train_samples_per_second']:,.0f}", f"{metrics['num_parameters']:,}",
          f"{metrics['n_test']:,}"]],
    )  # fmt: skip
    out_console.print(f"run folder: {out}")


@app.command("evaluate")
def evaluate_cmd(
    run: str = typer.Argument(..., help="A CNN run folder."),
    data: str = typer.Option(..., "--data", help=DATA_HELP),
    limit: int = typer.Option(None, "--limit", help="Use at most N images."),
    out: str = typer.Option(
        None, "--out", help="Also write metrics.json and a confusion figure here."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (for generated data)."),
    json: bool = typer.Option(False, "--json", help="Print metrics as JSON on stdout."),
) -> None:
    """Evaluate a trained run on a dataset or folder with the same classes."""
    from pixelab.apps.cnn import evaluate_run

    with progress_bar(quiet=json) as progress:
        metrics = evaluate_run(run, data, out=out, limit=limit, progress=progress)
    if json:
        print_json(metrics)
        return
    out_console.print(
        f"accuracy {metrics['accuracy']:.4f} on {metrics['n_test']:,} images of {data}"
    )


def predict(
    run: str = typer.Argument(..., help="A CNN run folder."),
    images: list[str] = typer.Argument(..., help="Image files or folders."),
    top: int = typer.Option(3, "--top", help="How many classes to show per image."),
    json: bool = typer.Option(False, "--json", help="Print predictions as JSON on stdout."),
) -> None:
    """Predict the class of images of any size or mode, preprocessed as in training."""
    from pixelab.apps.cnn import predict_files

    results = predict_files(run, images, top_k=top)
    if json:
        print_json({"predictions": results})
        return
    rows = [
        [r["path"], *[f"{t['class']} {t['probability']:.1%}" for t in r["top"]]] for r in results
    ]
    table("predictions", ["image", *[f"#{i + 1}" for i in range(len(results[0]["top"]))]], rows)


def export(
    run: str = typer.Argument(..., help="A CNN run folder."),
    format: str = typer.Option("onnx", "--format", help="Export format: onnx."),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Export a trained model for use elsewhere (ONNX), checked against PyTorch."""
    from pixelab.apps.cnn import export_run

    result = export_run(run, fmt=format)
    if json:
        print_json(result)
        return
    diff = result.get("max_abs_difference")
    out_console.print(
        f"wrote {result['path']} ({result['bytes']:,} bytes)"
        + ("" if diff is None else f"; max difference to PyTorch {diff:.2e}")
    )


def compare(
    runs: list[str] = typer.Argument(..., help="Run folders (classic and CNN alike)."),
    out: str = typer.Option(None, "--out", help="Write metrics.json and a comparison figure here."),
    json: bool = typer.Option(False, "--json", help="Print the comparison as JSON on stdout."),
) -> None:
    """Accuracy, parameters, training time and inference throughput of runs side by side."""
    from pixelab.apps.cnn import compare_runs

    result = compare_runs(runs, out=out)
    if json:
        print_json(result)
        return
    keys = [
        "run",
        "what",
        "data",
        "accuracy",
        "num_parameters",
        "train_seconds",
        "images_per_second",
    ]
    table(
        "runs compared",
        keys,
        [[r[k] if r[k] is not None else "-" for k in keys] for r in result["runs"]],
    )
