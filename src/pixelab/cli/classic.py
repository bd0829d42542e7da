"""``pixelab classic``: hand-made features + classic classifiers, the lecture's "old days"."""

from __future__ import annotations

import typer

from pixelab.cli._ui import default_out, out_console, print_json, progress_bar, table
from pixelab.cli.data import DATA_HELP

app = typer.Typer(help="Classic pipelines: features -> scaler -> classifier.", no_args_is_help=True)


@app.command("train")
def train_cmd(
    data: str = typer.Option(None, "--data", help=DATA_HELP + " [default: fashion-mnist]"),
    features: str = typer.Option(
        None, "--features", help="pixels, hog, hog+pixels, sift or color. [default: hog+pixels]"
    ),
    classifier: str = typer.Option(
        None, "--classifier", help="logreg, linear_svm, svm, rf, knn or mlp. [default: svm]"
    ),
    size: int = typer.Option(None, "--size", help="Resize images to SIZE x SIZE."),
    gray: bool = typer.Option(None, "--gray/--color", help="Force grey or colour images."),
    limit: int = typer.Option(None, "--limit", help="Use at most N training images."),
    pca: int = typer.Option(
        None, "--pca", help="Reduce features to N principal components; 0 = no PCA. [default: 96]"
    ),
    test_size: float = typer.Option(
        None, "--test-size", help="Share held out for testing (no official split)."
    ),
    config: str = typer.Option(None, "--config", help="JSON file with default options."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/classic-<time>)."),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    json: bool = typer.Option(False, "--json", help="Print metrics as JSON on stdout."),
) -> None:
    """Train and evaluate one classic pipeline; writes config.json, metrics.json, figures/."""
    from pixelab.apps import run_classic
    from pixelab.train import ClassicConfig

    base = ClassicConfig.from_json(config) if config else ClassicConfig()
    cfg = base.replace(
        data=data,
        features=features,
        classifier=classifier,
        size=size,
        gray=gray,
        limit=limit,
        pca=pca,
        test_size=test_size,
        seed=seed,
    )
    out = out or default_out(f"classic-{cfg.features}-{cfg.classifier}")
    with progress_bar(quiet=json) as progress:
        metrics = run_classic(cfg, out, progress=progress)
    if json:
        print_json(metrics)
        return
    table(
        f"{cfg.features} + {cfg.classifier} on {cfg.data}",
        ["accuracy", "macro F1", "train s", "predict s", "train images", "test images"],
        [
            [
                metrics["accuracy"],
                metrics["macro_f1"],
                metrics["train_seconds"],
                metrics["predict_seconds"],
                metrics["n_train"],
                metrics["n_test"],
            ]
        ],
    )
    mc = metrics["most_confused"]
    out_console.print(f"most confused: {mc['true']} taken for {mc['predicted']} ({mc['count']}x)")
    if metrics["skipped_files"]:
        out_console.print(f"[yellow]skipped {metrics['skipped_files']} unreadable file(s)[/]")
    out_console.print(f"run folder: {out}")
