"""``pixelab classic``: hand-made features + classic classifiers, the lecture's "old days"."""

from __future__ import annotations

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import default_of, default_out, out_console, print_json, progress_bar, table
from pixelab.cli.data import DATA_HELP
from pixelab.train.config import ClassicConfig

app = typer.Typer(help="Classic pipelines: features -> scaler -> classifier.", no_args_is_help=True)


@app.command("train")
def train_cmd(
    data: str = typer.Option(
        None, "--data", help=f"{DATA_HELP} {default_of(ClassicConfig, 'data')}"
    ),
    features: str = typer.Option(
        None,
        "--features",
        help="pixels, hog, hog+pixels, sift or color. " + default_of(ClassicConfig, "features"),
    ),
    classifier: str = typer.Option(
        None,
        "--classifier",
        help="logreg, linear_svm, svm, rf, knn or mlp. " + default_of(ClassicConfig, "classifier"),
    ),
    size: int = typer.Option(
        None,
        "--size",
        help="Resize images to SIZE x SIZE. "
        + default_of(ClassicConfig, "size", none="as loaded; 64 for folders of mixed sizes"),
    ),
    gray: bool = typer.Option(
        None,
        "--gray/--color",
        help="Force grey or colour images. " + default_of(ClassicConfig, "gray", none="as stored"),
    ),
    limit: int = typer.Option(
        None,
        "--limit",
        help="Use at most N training images. " + default_of(ClassicConfig, "limit", none="all"),
    ),
    pca: int = typer.Option(
        None,
        "--pca",
        help="Reduce features to N principal components; 0 = no PCA. "
        + default_of(ClassicConfig, "pca"),
    ),
    test_size: float = typer.Option(
        None,
        "--test-size",
        help="Share held out for testing (where a dataset has no official split). "
        + default_of(ClassicConfig, "test_size"),
    ),
    config: str = typer.Option(
        None,
        "--config",
        help='JSON file with default options, e.g. {"pca": 0}; flags given win.',
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the run that --out already holds."
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/classic-<time>)."),
    seed: int = typer.Option(
        None, "--seed", help=f"Random seed. {default_of(ClassicConfig, 'seed')}"
    ),
    json: JsonFlag = False,
) -> None:
    """Train and evaluate one classic pipeline; writes config.json, metrics.json, figures/."""
    from pixelab.apps import run_classic

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
        metrics = run_classic(cfg, out, overwrite=overwrite, progress=progress)
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
    if mc is None:
        out_console.print("no test image was misclassified")
    else:
        out_console.print(
            f"most confused: {mc['true']} taken for {mc['predicted']} ({mc['count']}x)"
        )
    if metrics["skipped_files"]:
        out_console.print(f"[yellow]skipped {metrics['skipped_files']} unreadable file(s)[/]")
    out_console.print(f"run folder: {out}")
