from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.cli.test_cli import cli


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """One small CNN trained on a generated 3-class colour folder, shared by the tests."""
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for k in range(3):
        (root / f"c{k}").mkdir()
        for i in range(12):
            img = rng.integers(0, 50, (20, 20, 3), dtype=np.uint8)
            img[:, :, k] += 180  # the class is the dominant colour
            Image.fromarray(img).save(root / f"c{k}" / f"{i}.png")
    out = tmp_path_factory.mktemp("run") / "cnn"
    cfg = CNNConfig(data=str(root), model="small_cnn", epochs=4, batch_size=16, lr=5e-3, seed=0)
    metrics = train_cnn(cfg, out)
    return root, out, metrics


def test_train_writes_a_complete_run(cnn_run):
    _, out, metrics = cnn_run
    assert metrics["accuracy"] >= 0.75  # colour is easy: far above chance (0.33)
    for f in (
        "config.json",
        "metrics.json",
        "model.json",
        "model.safetensors",
        "figures/curves.png",
    ):
        assert (out / f).is_file(), f
    meta = json.loads((out / "model.json").read_text())
    assert meta["classes"] == ["c0", "c1", "c2"] and meta["preprocess"]["channels"] == 3
    assert len(metrics["history"]) == 4
    from pixelab.train.embeddings import native_bf16

    # the precision was chosen for this machine, and metrics.json says what and why
    assert metrics["precision"]["asked"] == "auto" and metrics["precision"]["bf16"] == native_bf16()


def test_the_run_lists_each_test_image_with_its_prediction(cnn_run):
    """predictions.csv: one row per test image (file relative to --data), in agreement with the
    confusion matrix; robust and explain measure on exactly these files."""
    from pixelab.apps.cnn import held_out_data, load_run_model, read_predictions

    root, out, metrics = cnn_run
    rows = read_predictions(out)
    assert len(rows) == metrics["n_test"] and all((root / r["file"]).is_file() for r in rows)
    assert all(r["file"].split("/")[0] == r["true"] for r in rows)
    assert all(1 / 3 <= r["probability"] <= 1 for r in rows)
    classes = ["c0", "c1", "c2"]
    confusion = np.zeros((3, 3), int)
    for r in rows:
        confusion[classes.index(r["true"]), classes.index(r["predicted"])] += 1
    assert confusion.tolist() == metrics["confusion"]
    _, meta = load_run_model(out)
    ds, held_out = held_out_data(out, meta, str(root))
    assert held_out and [p.removeprefix(f"{root}/") for p in ds.paths] == [r["file"] for r in rows]


def test_evaluate_with_test_time_augmentation_reports_it_apart(capsys, cnn_run):
    root, out, _ = cnn_run
    code, stdout, _ = cli(capsys, "cnn", "evaluate", str(out), "--data", str(root), "--tta",
                          "shift", "--json")  # fmt: skip
    metrics = json.loads(stdout)
    assert code == 0 and metrics["tta"] == "shift" and 0 <= metrics["accuracy_tta"] <= 1
    assert metrics["accuracy_tta"] >= 0.75 and metrics["predict_seconds_tta"] > 0
    code, _, err = cli(capsys, "cnn", "evaluate", str(out), "--data", str(root), "--tta", "spin")
    assert code == 2 and "--tta" in err and len(err.strip().splitlines()) == 1


def test_predict_any_size_and_mode(capsys, cnn_run, tmp_path):
    _, out, _ = cnn_run
    big = np.zeros((90, 60, 3), np.uint8)
    big[..., 1] = 230  # green -> c1
    Image.fromarray(big).save(tmp_path / "big.jpg")
    Image.fromarray(big).convert("P").save(tmp_path / "pal.png")
    code, stdout, _ = cli(
        capsys, "predict", str(out), str(tmp_path / "big.jpg"), str(tmp_path / "pal.png"), "--json"
    )
    preds = json.loads(stdout)["predictions"]
    assert code == 0 and len(preds) == 2
    assert [p["top"][0]["class"] for p in preds] == ["c1", "c1"]
    assert abs(sum(t["probability"] for t in preds[0]["top"]) - 1) < 0.01  # top-3 of 3 classes


def test_predict_unreadable_image_is_one_line(capsys, cnn_run, tmp_path):
    _, out, _ = cnn_run
    (tmp_path / "bad.png").write_text("not an image")
    code, _, err = cli(capsys, "predict", str(out), str(tmp_path / "bad.png"))
    assert code == 2 and "not an image file" in err


def test_evaluate_on_the_same_folder_and_on_other_classes(capsys, cnn_run, tmp_path, make_folder):
    root, out, _ = cnn_run
    code, stdout, _ = cli(capsys, "cnn", "evaluate", str(out), "--data", str(root), "--json")
    assert code == 0 and json.loads(stdout)["accuracy"] > 0.75
    other = make_folder(classes=2)
    code, _, err = cli(capsys, "cnn", "evaluate", str(out), "--data", str(other))
    assert code == 2 and "the model knows the classes" in err


def test_export_onnx_matches_pytorch(capsys, cnn_run):
    _, out, _ = cnn_run
    code, stdout, _ = cli(capsys, "export", str(out), "--format", "onnx", "--json")
    result = json.loads(stdout)
    assert code == 0 and result["max_abs_difference"] < 1e-4
    assert (out / "model.onnx").stat().st_size > 1000


def test_compare_classic_and_cnn_runs(capsys, cnn_run, tmp_path):
    root, out, _ = cnn_run
    classic = tmp_path / "classic"
    cli(
        capsys,
        "classic",
        "train",
        "--data",
        str(root),
        "--features",
        "color",
        "--classifier",
        "rf",
        "--out",
        str(classic),
    )
    code, stdout, _ = cli(
        capsys, "compare", str(out), str(classic), "--out", str(tmp_path / "cmp"), "--json"
    )
    rows = json.loads(stdout)["runs"]
    assert code == 0 and [r["kind"] for r in rows] == ["cnn", "classic"]
    assert all(r["accuracy"] is not None and r["images_per_second"] for r in rows)
    assert (tmp_path / "cmp" / "figures" / "compare.png").is_file()


def test_resume_a_finished_run_and_broken_runs(capsys, cnn_run, tmp_path):
    _, out, _ = cnn_run
    code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume")
    assert code == 2 and "is a finished run; nothing to resume" in err
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 10)
    code, _, err = cli(capsys, "predict", str(broken), str(out / "figures" / "curves.png"))
    assert code == 2 and "model.safetensors" in err
    cfg = json.loads((broken / "config.json").read_text())
    cfg["format_version"] = 99
    (broken / "config.json").write_text(json.dumps(cfg))
    code, _, err = cli(capsys, "export", str(broken))
    assert code == 2 and "newer pixelab" in err
    code, _, err = cli(capsys, "cnn", "train", "--out", str(tmp_path / "empty"), "--resume")
    assert code == 2 and "not a pixelab run folder" in err


def test_wrong_channels_are_a_clear_error(capsys, tmp_path):
    code, _, err = cli(
        capsys,
        "cnn",
        "train",
        "--data",
        "digits",
        "--model",
        "lenet",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 2 and "lenet" in err  # 8x8 digits are too small for LeNet


@pytest.mark.parametrize(
    "data, extra",
    [("digits", ["--model", "small_cnn"]), ("shapes", ["--size", "24"])],
)
def test_train_on_builtin_datasets(capsys, tmp_path, data, extra):
    out = tmp_path / data
    code, stdout, _ = cli(
        capsys, "cnn", "train", "--data", data, "--epochs", "2", *extra, "--out", str(out), "--json"
    )
    metrics = json.loads(stdout)
    assert code == 0 and metrics["accuracy"] > 0.4  # far above chance (0.1 digits, 0.17 shapes)
    assert metrics["augment"] == "shift+flip"  # small training sets get shifts and flips
    code, stdout, _ = cli(capsys, "cnn", "evaluate", str(out), "--data", data, "--json")
    evaluated = json.loads(stdout)  # all images of the dataset, preprocessed as in training
    assert code == 0 and evaluated["accuracy"] > 0.4


@pytest.mark.parametrize(
    "option, message",
    [
        (["--average", "1.5"], "weight-average decay"),
        (["--lr", "-1"], "lr must be a positive"),
        (["--budget-s", "0"], "--budget-s must be a positive number of seconds"),
        (["--budget-s", "nan"], "--budget-s must be a positive number of seconds"),
        (["--steps", "0"], "--steps"),
        (["--epochs", "3", "--budget-s", "60"], "--epochs and --budget-s each set how long"),
        (["--steps", "30", "--budget-s", "60"], "--steps and --budget-s each set how long"),
    ],
)
def test_a_bad_option_is_one_line_and_leaves_no_run_folder(capsys, tmp_path, option, message):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "cnn", "train", "--data", "digits", *option, "--out", str(out))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_train_for_a_budget_of_seconds(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, _ = cli(capsys, "cnn", "train", "--data", "digits", "--budget-s", "2",
                          "--out", str(out), "--json")  # fmt: skip
    metrics = json.loads(stdout)
    budget = metrics["budget"]
    assert code == 0 and budget["budget_s"] == 2.0 and budget["probe_seconds_per_step"] > 0
    first = budget.get("replanned", {}).get("steps_before", budget["steps"])  # the probe's plan
    assert first == max(1, int(0.95 * 2.0 / budget["probe_seconds_per_step"]))
    if "replanned" in budget:  # the run's own first steps ran more than 2 % off the probe's
        pace = budget["replanned"]["seconds_per_step"]
        again = max(budget["replanned"]["after_steps"] + 1, int(0.97 * 2.0 / pace))
        assert abs(budget["steps"] - again) <= 1  # the pace is saved rounded
    per_epoch = metrics["n_train"] // 64
    assert metrics["epochs"] == -(-budget["steps"] // per_epoch)  # the last epoch cut short
    assert budget["epochs"] == pytest.approx(budget["steps"] / per_epoch, abs=1e-3)
