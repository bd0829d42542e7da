"""``pixelab cnn``, ``predict``, ``export``, ``compare``: neural networks end to end."""

from __future__ import annotations

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import (
    default_of,
    default_out,
    err_console,
    out_console,
    print_json,
    print_predictions,
    print_skipped,
    progress_bar,
    table,
)
from pixelab.cli.data import DATA_HELP
from pixelab.train.config import CNNConfig

app = typer.Typer(help="Convolutional networks: train and evaluate.", no_args_is_help=True)


@app.command("train")
def train_cmd(
    data: str = typer.Option(None, "--data", help=f"{DATA_HELP} {default_of(CNNConfig, 'data')}"),
    model: str = typer.Option(
        None,
        "--model",
        help=f"mlp, lenet, small_cnn or resnet. {default_of(CNNConfig, 'model')}",
    ),
    epochs: int = typer.Option(
        None,
        "--epochs",
        help=f"Passes over the training images. {default_of(CNNConfig, 'epochs')}",
    ),
    steps: int = typer.Option(
        None,
        "--steps",
        help="Optimizer steps in all, in place of --epochs (the last epoch may end early).",
    ),
    budget_s: float = typer.Option(
        None,
        "--budget-s",
        help="Train for about this many seconds: a few timed steps pick --steps, and the "
        "schedule is planned for them (metrics.json says what was planned and taken; "
        "--steps N repeats it exactly). Evaluation and saving come on top.",
    ),
    batch_size: int = typer.Option(
        None,
        "--batch-size",
        help=f"Images per step. {default_of(CNNConfig, 'batch_size')}",
    ),
    lr: float = typer.Option(
        None, "--lr", help=f"Peak learning rate. {default_of(CNNConfig, 'lr')}"
    ),
    optimizer: str = typer.Option(
        None,
        "--optimizer",
        help=f"adamw or sgd. {default_of(CNNConfig, 'optimizer')}",
    ),
    schedule: str = typer.Option(
        None,
        "--schedule",
        help=f"onecycle, cosine or constant. {default_of(CNNConfig, 'schedule')}",
    ),
    augment: str = typer.Option(
        None,
        "--augment",
        help="auto, none, shift or shift+flip (auto: shift+flip under 10,000 images, else "
        "shift); basic, strong, or ops such as 'rotate:30,erase:0.25,mixup:0.2' ('pixelab "
        "augment list'); adversarial[:EPS]: train on FGSM-attacked images (EPS/255, default 8). "
        + default_of(CNNConfig, "augment"),
    ),
    label_smoothing: float = typer.Option(
        None,
        "--label-smoothing",
        help=f"0 turns it off. {default_of(CNNConfig, 'label_smoothing')}",
    ),
    average: float = typer.Option(
        None,
        "--average",
        help="Keep a moving average of the weights with this decay (0 turns it off). "
        "It is validated and saved: steadier, and more accurate mid-run. "
        + default_of(CNNConfig, "average"),
    ),
    model_option: list[str] = typer.Option(
        None,
        "--model-option",
        help="A model constructor option as KEY=VALUE (repeat the flag), e.g. head=gap or "
        "widths=[16,32,64]; 'pixelab cnn train --model-option x=1' lists a model's options.",
    ),
    test_size: float = typer.Option(
        None,
        "--test-size",
        help="Share held out for testing (data without an official split). "
        + default_of(CNNConfig, "test_size"),
    ),
    val: float = typer.Option(
        None,
        "--val",
        help="Share of training images held out for validation (0: none). "
        + default_of(CNNConfig, "val_fraction"),
    ),
    patience: int = typer.Option(
        None,
        "--patience",
        help="Stop after N epochs without validation gain (needs --val). "
        + default_of(CNNConfig, "patience", none="off"),
    ),
    size: int = typer.Option(
        None,
        "--size",
        help="Resize images to SIZE x SIZE. "
        + default_of(CNNConfig, "size", none="as loaded; 64 for folders of mixed sizes"),
    ),
    gray: bool = typer.Option(
        None,
        "--gray/--color",
        help="Force grey or colour images. " + default_of(CNNConfig, "gray", none="as stored"),
    ),
    limit: int = typer.Option(
        None,
        "--limit",
        help="Use at most N training images. " + default_of(CNNConfig, "limit", none="all"),
    ),
    bf16: bool = typer.Option(
        None,
        "--bf16/--fp32",
        help="bfloat16 autocast: faster on GPUs and CPUs with AMX/AVX512-BF16, slower on others "
        "(unset: bf16 only where the hardware has it; metrics.json says which). "
        + default_of(CNNConfig, "bf16", false="--fp32", true="--bf16", none="per machine"),
    ),
    device: str = typer.Option(
        None,
        "--device",
        help=f"auto (a GPU when there is one), cpu or cuda. {default_of(CNNConfig, 'device')}",
    ),
    config: str = typer.Option(
        None,
        "--config",
        help='JSON file with default options, e.g. {"epochs": 5}; flags given win.',
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the run in --out from its last checkpoint.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the run that --out already holds."
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/cnn-<time>)."),
    seed: int = typer.Option(None, "--seed", help=f"Random seed. {default_of(CNNConfig, 'seed')}"),
    json: JsonFlag = False,
    nproc: int = typer.Option(
        None,
        "--nproc",
        help="Train as N processes with torchrun (DistributedDataParallel: one per GPU, or CPU "
        "processes sharing the cores); the batch is split between them.",
    ),
) -> None:
    """Train a neural network with a live progress bar; Ctrl-C saves, --resume continues."""
    import os

    from pixelab._core.errors import PixelabError
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    rank = int(os.environ.get("RANK", "0") or 0)
    under_torchrun = int(os.environ.get("WORLD_SIZE", "1") or 1) > 1
    if nproc is not None and not under_torchrun:
        if resume and not out:
            raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
        _start_processes(nproc, out)
        return
    if under_torchrun and not out:
        raise PixelabError(
            "under torchrun, give --out: every process must name the same run folder"
        )
    if resume and not out:
        raise PixelabError("--resume needs --out RUN_FOLDER (the run to continue)")
    if resume and overwrite:
        raise PixelabError("--resume and --overwrite contradict each other; choose one")
    lengths = [n for n, v in (("--epochs", epochs), ("--steps", steps), ("--budget-s", budget_s))
               if v is not None]  # fmt: skip
    if len(lengths) > 1:
        raise PixelabError(f"{' and '.join(lengths)} each set how long to train; give one")
    given = dict(
        data=data, model=model, epochs=epochs, steps=steps, budget_s=budget_s,
        batch_size=batch_size, lr=lr, optimizer=optimizer,
        schedule=schedule, augment=augment, label_smoothing=label_smoothing, average=average,
        test_size=test_size, val_fraction=val, patience=patience, size=size, gray=gray,
        limit=limit, bf16=bf16, device=device, seed=seed,
        model_options=_model_options(model_option) if model_option else None,
    )  # fmt: skip
    from_file = {}
    if config:  # checked as a whole; only the options the file names count as given
        from pixelab._core.io import read_json

        from_file = {k: v for k, v in CNNConfig.from_json(config).to_dict().items()
                     if k in read_json(config)}  # fmt: skip
    changes = {**from_file, **{k: v for k, v in given.items() if v is not None}}
    cfg = None if resume else CNNConfig.from_dict(changes)
    out = out or default_out(f"cnn-{cfg.model}")
    with progress_bar(quiet=json or rank > 0) as progress:
        metrics = train_cnn(
            cfg, out, resume=resume, overwrite=overwrite, changes=changes,
            progress=None if rank > 0 else progress,
        )  # fmt: skip
    if rank > 0:  # rank 0 reports for every process
        return
    if metrics.get("interrupted"):
        err_console.print(
            f"interrupted after {metrics['epochs_done']} finished epoch(s); continue with: "
            f"{metrics['resume']}",
            highlight=False,
            soft_wrap=True,  # one line that can be copied
        )
        raise typer.Exit(130)
    if json:
        print_json(metrics)
        return
    table(
        f"{metrics['model']} on {metrics['data']}",
        ["accuracy", "epochs", "train s", "train img/s", "parameters", "test images"],
        [[f"{metrics['accuracy']:.4f}", metrics["epochs"], f"{metrics['train_seconds']:.1f}",
          f"{metrics['train_samples_per_second']:,.0f}", f"{metrics['num_parameters']:,}",
          f"{metrics['n_test']:,}"]],
    )  # fmt: skip
    out_console.print(f"run folder: {out}")


def _start_processes(nproc: int, out: str | None) -> None:
    """``cnn train --nproc N``: the same command as N processes under torchrun (the run folder
    named for all of them), with torchrun's exit code."""
    import subprocess

    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab.cli.main import ARGV
    from pixelab.train.distributed import torchrun_command

    check_positive_int(nproc, name="--nproc")
    if nproc > 64:
        raise PixelabError(f"--nproc {nproc} is more processes than one machine runs",
                           hint="one per GPU or a few per CPU; many machines: torchrun --nnodes")  # fmt: skip
    args, skip = [], False
    for a in ARGV:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            args.append(a)
    if out is None:
        args += ["--out", default_out("cnn")]
    code = subprocess.call(torchrun_command(nproc, args))
    if code:
        raise typer.Exit(code)


def _model_options(pairs: list[str]) -> dict[str, object]:
    """['head=gap', 'widths=[16,32]'] -> {'head': 'gap', 'widths': [16, 32]} (JSON values)."""
    import json as json_

    from pixelab._core.errors import PixelabError

    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise PixelabError(f"--model-option {pair!r} is not KEY=VALUE", hint="e.g. head=gap")
        try:
            options[key.strip()] = json_.loads(value)
        except ValueError:
            options[key.strip()] = value  # a plain word such as gap
    return options


@app.command("evaluate")
def evaluate_cmd(
    run: str = typer.Argument(..., help="A CNN run folder."),
    data: str = typer.Option(..., "--data", help=DATA_HELP),
    limit: int = typer.Option(None, "--limit", help="Use at most N images."),
    out: str = typer.Option(
        None, "--out", help="Also write metrics.json and a confusion figure here."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (for generated data)."),
    tta: str = typer.Option(
        "none",
        "--tta",
        help="Also score test-time augmentation: shift (the image and its four one-pixel "
        "shifts, predictions averaged) or shift+flip (and their mirrors); reported apart.",
    ),
    json: JsonFlag = False,
) -> None:
    """Evaluate a trained run on a dataset or folder with the same classes."""
    from pixelab.apps.cnn import evaluate_run

    with progress_bar(quiet=json) as progress:
        metrics = evaluate_run(
            run, data, out=out, limit=limit, seed=seed, tta=tta, progress=progress
        )
    for warning in metrics["warnings"]:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if json:
        print_json(metrics)
        return
    out_console.print(
        f"accuracy {metrics['accuracy']:.4f} on {metrics['n_test']:,} images of {data}"
    )
    if "accuracy_tta" in metrics:
        out_console.print(f"with test-time augmentation ({tta}): {metrics['accuracy_tta']:.4f}")


def predict(
    run: str = typer.Argument(
        ..., help="A run folder: cnn, transfer, or a classic run that kept its model."
    ),
    images: list[str] = typer.Argument(..., help="Image files or folders."),
    top: int = typer.Option(3, "--top", help="How many classes to show per image (at least 1)."),
    json: bool = typer.Option(False, "--json", help="Print predictions as JSON on stdout."),
) -> None:
    """Predict the class of images of any size or mode, preprocessed as in training.

    Unreadable files are skipped and listed; the exit code is then 1.
    """
    from pixelab.apps.cnn import predict_files

    result = predict_files(run, images, top_k=top)
    print_predictions(result, title="predictions", json=json)
    if result.get("note") and not json:
        err_console.print(f"note: {result['note']}", highlight=False)
    if result["skipped"]:
        raise typer.Exit(1)


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
    """Accuracy, parameters, training time and inference throughput of runs side by side, and
    the settings that differ between them."""
    from pixelab.apps.cnn import compare_runs

    result = compare_runs(runs, out=out)
    print_skipped(result["skipped"], label="left out")
    if json:
        print_json(result)
        return
    columns = {
        "run": "run",
        "what": "model",
        "data": "data",
        "accuracy": "accuracy",
        "num_parameters": "parameters",
        "train_seconds": "train s",
        "images_per_second": "images/s",
    }
    table(
        "runs compared",
        list(columns.values()),
        [[_cell(r[k]) for k in columns] for r in result["runs"]],
    )
    if result["settings"]:
        table(
            "settings that differ",
            ["setting", *[r["run"] for r in result["runs"]]],
            [[k, *map(_cell, values)] for k, values in result["settings"].items()],
        )


def _cell(value: object) -> str:
    """A table cell: '-' for missing, thousands separators for counts."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
