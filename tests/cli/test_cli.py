from __future__ import annotations

import json

import pytest

from pixelab import PixelabError
from pixelab.cli.main import run


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        run(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_the_command_groups(capsys):
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    for group in ("data", "features", "classic", "tour"):
        assert group in out


def test_data_list_json(capsys):
    code, out, _ = cli(capsys, "data", "list", "--json")
    assert code == 0 and "fashion-mnist" in json.loads(out)


def test_data_info_json_and_run_folder(capsys, tmp_path):
    code, out, _ = cli(capsys, "data", "info", "digits", "--json", "--out", str(tmp_path))
    info = json.loads(out)
    assert code == 0 and info["n_images"] == 1797
    assert info["dimensionality"]["steps"][0]["d"] == 64
    assert (tmp_path / "figures" / "samples.png").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["n_classes"] == 10


def test_data_check_reports_problems_and_exit_code(capsys, make_folder):
    root = make_folder()
    code, out, _ = cli(capsys, "data", "check", str(root))
    assert code == 0 and "ok" in out
    (root / "class1" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    code, out, _ = cli(capsys, "data", "check", str(root), "--json")
    found = json.loads(out)
    assert code == 1 and not found["ok"]
    assert found["problems"][0]["path"].endswith("broken.jpg")


@pytest.mark.parametrize("kind", ["hog", "sift", "edges", "corners"])
def test_features_show_writes_figure(capsys, tmp_path, kind):
    code, out, _ = cli(capsys, "features", "show", kind, "coins", "--out", str(tmp_path), "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["feature"] == kind
    assert (tmp_path / metrics["figures"][0]).read_bytes()[:4] == b"\x89PNG"


def test_features_show_on_a_file_and_on_a_missing_one(capsys, tmp_path, make_folder):
    image = next((make_folder() / "class0").glob("*.png"))
    code, out, _ = cli(
        capsys,
        "features",
        "show",
        "hog",
        str(image),
        "--out",
        str(tmp_path),
        "--cell",
        "4",
        "--json",
    )
    assert code == 0 and json.loads(out)["d"] > 0
    code, _, err = cli(capsys, "features", "show", "hog", "no_such.png")
    assert code == 2 and "no such file or sample photo" in err


def test_classic_train_end_to_end(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = cli(
        capsys, "classic", "train", "--data", "digits", "--features", "pixels",
        "--classifier", "logreg", "--out", str(out_dir), "--json",
    )  # fmt: skip
    metrics = json.loads(out)
    assert code == 0 and metrics["accuracy"] > 0.9
    for key in (
        "train_seconds",
        "predict_seconds",
        "n_train",
        "n_test",
        "num_parameters",
        "skipped_files",
    ):
        assert key in metrics
    assert json.loads((out_dir / "metrics.json").read_text()) == metrics
    config = json.loads((out_dir / "config.json").read_text())
    assert config["kind"] == "classic" and config["classifier"] == "logreg"
    assert (out_dir / "figures" / "confusion.png").is_file()


def test_classic_train_on_a_folder_counts_skipped_files(capsys, tmp_path, make_folder):
    root = make_folder(per_class=8)
    (root / "class0" / "zero.png").write_bytes(b"")
    code, out, _ = cli(
        capsys, "classic", "train", "--data", str(root), "--features", "hog", "--classifier",
        "rf", "--out", str(tmp_path / "r"), "--json",
    )  # fmt: skip
    metrics = json.loads(out)
    assert code == 0 and metrics["skipped_files"] == 1
    assert metrics["skipped"][0]["reason"].startswith("empty file")


def test_config_file_gives_defaults_and_flags_win(capsys, tmp_path):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({"data": "digits", "features": "pixels", "classifier": "knn"}))
    code, _out, _ = cli(capsys, "classic", "train", "--config", str(cfg), "--classifier", "logreg",
                       "--out", str(tmp_path / "r"), "--json")  # fmt: skip
    assert code == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["classifier"] == "logreg"
    cfg.write_text(json.dumps({"colour": True}))
    code, _, err = cli(capsys, "classic", "train", "--config", str(cfg))
    assert code == 2 and "unknown ClassicConfig option(s): colour" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("classic", "train", "--data", "nope"), "unknown dataset 'nope'"),
        (
            ("classic", "train", "--data", "digits", "--features", "nope"),
            "unknown --features 'nope'",
        ),
        (("classic", "train", "--data", "digits", "--classifier", "nope"), "unknown --classifier"),
        (("data", "check", "/no/such/folder"), "no such folder"),
        (("data", "info", "/no/such/folder"), "no such folder"),
    ],
)
def test_errors_are_one_red_line_and_exit_2(capsys, tmp_path, args, message):
    code, _out, err = cli(
        capsys, *args, *(["--out", str(tmp_path / "r")] if args[0] == "classic" else [])
    )
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # one logical line (may wrap once)


def test_debug_shows_the_exception(capsys):
    with pytest.raises(PixelabError, match="unknown dataset"):
        run(["--debug", "data", "info", "nope"])
