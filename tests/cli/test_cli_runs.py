"""Run folders that never lie: same seed same run, interrupts that --resume completes, no
leftovers on errors, --resume that says what it does, train/serve parity, devices."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tests.cli.test_cli import cli

#: Options of the tiny CNN runs below: a few seconds each.
TINY = ["--epochs", "3", "--batch-size", "4", "--lr", "5e-3", "--seed", "3"]
#: Numbers that measure time, not learning: they may differ between two equal runs.
TIMINGS = ("train_seconds", "predict_seconds", "train_samples_per_second",
           "predict_images_per_second", "seconds")  # fmt: skip


def stable(metrics: dict) -> dict:
    """``metrics`` without its timings (they are all that two runs of one seed may differ in)."""
    out = {k: v for k, v in metrics.items() if k not in TIMINGS}
    out["history"] = [{k: v for k, v in h.items() if k not in TIMINGS} for h in metrics["history"]]
    return out


def _colour_folder(root: Path, *, shape: tuple[int, int] = (16, 16), per_class: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for k in range(2):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (*shape, 3), dtype=np.uint8)
            img[:, :, k] += 170  # the class is the dominant colour
            Image.fromarray(img).save(root / f"c{k}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _colour_folder(tmp_path_factory.mktemp("data") / "imgs")


@pytest.fixture(scope="module")
def straight(folder, tmp_path_factory):
    """An uninterrupted tiny run: what every interrupted and resumed run must equal."""
    from pixelab.cli.main import run

    out = tmp_path_factory.mktemp("straight") / "run"
    with pytest.raises(SystemExit) as exit_:
        run(["cnn", "train", "--data", str(folder), *TINY, "--out", str(out), "--json"])
    assert exit_.value.code in (0, None)
    return out, json.loads((out / "metrics.json").read_text())


def train(capsys, folder: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "cnn", "train", "--data", str(folder), *TINY, "--out", str(out), *extra)


# 1. Same seed, same run ------------------------------------------------------------------


def test_two_runs_with_one_seed_give_identical_metrics(capsys, folder, straight, tmp_path):
    torch.manual_seed(12345)  # whatever the global generator holds, the run must not depend on it
    code, _, err = train(capsys, folder, tmp_path / "again")
    assert code == 0, err
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert stable(again) == stable(straight[1])
    a = load_file(str(straight[0] / "model.safetensors"))
    b = load_file(str(tmp_path / "again" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_create_model_with_a_seed_leaves_the_global_generator_alone():
    from pixelab.models import create_model

    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    a = create_model("small_cnn", num_classes=3, seed=7)
    assert torch.equal(torch.rand(1), expected)
    b = create_model("small_cnn", num_classes=3, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


# 2. A run folder is a finished run, a resumable run, or not there ------------------------


def _one_class(tmp_path: Path) -> Path:
    root = tmp_path / "one"
    (root / "only").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(root / "only" / f"{i}.png")
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cnn", "train", "--data", "/no/such/folder"], "no such folder"),
        (["cnn", "train", "--data", "ONE"], "single class"),
        (["cnn", "train", "--data", "digits", "--model", "nope"], "nope"),
        (["cnn", "train", "--data", "digits", "--size", "0"], "--size"),
        (["cnn", "train", "--data", "digits", "--limit", "0"], "--limit"),
        (["cnn", "train", "--data", "digits", "--epochs", "0"], "--epochs"),
        (["classic", "train", "--data", "digits", "--test-size", "1.5"], "--test-size"),
        (["classic", "train", "--data", "ONE"], "single class"),
        (["features", "show", "hog", "chelsea", "--cell", "0"], "--cell"),
        (["data", "info", "digits", "--size", "0"], "--size must be"),
        (["data", "info", "digits", "--width", "0"], "--width must be"),
        (["cnn", "train", "--data", "digits", "--test-size", "0"], "--test-size"),
    ],
)
def test_errors_before_any_work_leave_no_folder(capsys, tmp_path, args, message):
    args = [str(_one_class(tmp_path)) if a == "ONE" else a for a in args]
    out = tmp_path / "run"
    code, _, err = cli(capsys, *args, "--out", str(out))
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_leaves_no_folder(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "cnn", "train", "--data", "digits", "--device", "cuda",
                       "--out", str(out))  # fmt: skip
    assert code == 2 and "--device cuda" in err and not out.exists()


def test_a_folder_holding_another_run_is_refused_unless_overwrite(capsys, folder, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "classic", "train", "--data", str(folder), "--features", "color",
                       "--classifier", "knn", "--out", str(out))  # fmt: skip
    assert code == 0, err
    before = sorted(p.name for p in out.rglob("*"))
    code, _, err = train(capsys, folder, out)
    assert code == 2 and "already holds a classic run" in err and "--overwrite" in err
    assert sorted(p.name for p in out.rglob("*")) == before  # untouched
    code, _, err = cli(capsys, "classic", "train", "--data", str(folder), "--out", str(out))
    assert code == 2 and "already holds a classic run" in err and "--resume" in err
    code, _, err = train(capsys, folder, out, "--overwrite")
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["kind"] == "cnn" and "features" not in config  # nothing of the classic run
    assert metrics["model"] == "small_cnn" and "n_features" not in metrics


def test_quick_jobs_replace_their_own_output_only(capsys, straight, tmp_path):
    out = tmp_path / "hog"
    for _ in range(2):  # the same command twice: the second replaces the first
        code, _, err = cli(capsys, "features", "show", "hog", "chelsea", "--out", str(out))
        assert code == 0, err
    code, _, err = cli(capsys, "features", "show", "hog", "chelsea", "--out", str(straight[0]))
    assert code == 2 and "already holds a cnn run" in err and "--overwrite" not in err
    assert (straight[0] / "model.safetensors").is_file()


def test_a_folder_being_written_is_refused(capsys, folder, tmp_path):
    from pixelab.report import RunDir

    out = tmp_path / "busy"
    with RunDir.create(out, kind="cnn"):  # another job holds the folder
        code, _, err = train(capsys, folder, out)
    assert code == 2 and "being written by another pixelab command" in err
    assert not (out / "config.json").exists()


def test_files_are_written_with_the_umask(tmp_path):
    from pixelab.report import RunDir

    old = os.umask(0o022)
    try:
        with RunDir.create(tmp_path / "r", kind="test") as run:
            path = run.write_metrics({"accuracy": 1.0})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


class _Once:
    """Wrap ``fn`` so that it raises KeyboardInterrupt (once) when ``when(*args)`` holds."""

    def __init__(self, fn, when, *, after: bool = False):
        self.fn, self.when, self.after, self.fired = fn, when, after, False

    def __call__(self, *args, **kwargs):
        hit = not self.fired and self.when(*args, **kwargs)
        if hit and not self.after:
            self.fired = True
            raise KeyboardInterrupt
        result = self.fn(*args, **kwargs)
        if hit:
            self.fired = True
            raise KeyboardInterrupt
        return result


def _interrupt(monkeypatch, stage: str) -> _Once:
    import pixelab.apps.cnn as apps_cnn
    import pixelab.train.loop as loop

    if stage == "first epoch":
        patch = _Once(loop.report, lambda p, task, done, total: task.startswith("epoch 1/"))
        monkeypatch.setattr(loop, "report", patch)
    elif stage == "mid-epoch":
        patch = _Once(loop.report, lambda p, task, done, total: task.startswith("epoch 2/"))
        monkeypatch.setattr(loop, "report", patch)
    elif stage in ("between epochs", "after the last epoch"):
        epoch = 0 if stage == "between epochs" else 2
        patch = _Once(loop.save_checkpoint, lambda *a, state, **k: state["epoch"] == epoch,
                      after=True)  # fmt: skip
        monkeypatch.setattr(loop, "save_checkpoint", patch)
    elif stage == "evaluation":
        patch = _Once(loop.predict_logits, lambda *a, **k: True)
        monkeypatch.setattr(loop, "predict_logits", patch)
    else:
        patch = _Once(apps_cnn._train_figures, lambda *a, **k: True)
        monkeypatch.setattr(apps_cnn, "_train_figures", patch)
    return patch


@pytest.mark.parametrize(
    "stage",
    ["first epoch", "mid-epoch", "between epochs", "after the last epoch", "evaluation", "figures"],
)
def test_an_interrupt_at_any_stage_leaves_a_run_that_resume_completes(
    capsys, monkeypatch, folder, straight, tmp_path, stage
):
    out = tmp_path / "run"
    patch = _interrupt(monkeypatch, stage)
    code, _, err = train(capsys, folder, out)
    assert patch.fired and code == 130
    assert f"continue with: pixelab cnn train --out {out} --resume" in err
    assert not (out / "metrics.json").exists()
    code, _, err = cli(capsys, "compare", str(out))
    assert code == 2 and "unfinished" in err
    monkeypatch.undo()
    code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume", "--json")
    assert code == 0, err
    assert stable(json.loads((out / "metrics.json").read_text())) == stable(straight[1])
    assert not list(out.glob("checkpoint*"))  # a finished run keeps no checkpoint
    assert (out / "figures" / "curves.png").is_file()


def test_resume_says_what_it_does(capsys, monkeypatch, folder, tmp_path):
    out = tmp_path / "run"
    _interrupt(monkeypatch, "between epochs")
    assert train(capsys, folder, out)[0] == 130
    monkeypatch.undo()
    checkpoint = (out / "checkpoint.json").read_bytes()
    for flag, value, saved in [("--epochs", "5", "3"), ("--model", "lenet", "small_cnn"),
                               ("--data", "digits", str(folder)), ("--lr", "0.1", "0.005")]:  # fmt: skip
        code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume", flag, value)
        assert code == 2, err
        assert f"{flag} {value} conflicts with the run being resumed" in err and saved in err
    assert (out / "checkpoint.json").read_bytes() == checkpoint  # nothing changed
    code, stdout, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume",
                            "--device", "cpu", "--epochs", "3")  # fmt: skip
    assert code == 0, err
    assert f"small_cnn on {folder}" in stdout  # the run's data, not the default dataset
    config = json.loads((out / "config.json").read_text())
    assert config["resumed"] == [{"after_epochs": 1, "device": "cpu"}]
    assert config["device"] == "auto"  # as it was started


def test_a_run_started_on_a_gpu_resumes_on_the_cpu(capsys, monkeypatch, folder, tmp_path):
    out = tmp_path / "run"
    _interrupt(monkeypatch, "between epochs")
    assert train(capsys, folder, out)[0] == 130
    monkeypatch.undo()
    for name in ("config.json", "checkpoint.json"):  # as if trained with --device cuda
        data = json.loads((out / name).read_text())
        (data if name == "config.json" else data["config"])["device"] = "cuda"
        (out / name).write_text(json.dumps(data))
    if not torch.cuda.is_available():
        code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume")
        assert code == 2 and "use --device cpu" in err
    code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume", "--device", "cpu")
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["device"] == "cpu"


def test_resume_with_validation_early_stopping_and_other_options(
    capsys, monkeypatch, folder, tmp_path
):
    config = tmp_path / "opts.json"
    config.write_text(json.dumps({"epochs": 4, "optimizer": "sgd", "schedule": "cosine"}))
    extra = ["--config", str(config), "--val", "0.25", "--patience", "2", "--gray", "--limit", "12",
             "--seed", "1", "--batch-size", "4"]  # fmt: skip
    args = ["cnn", "train", "--data", str(folder), *extra, "--json"]
    code, _, err = cli(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    whole = json.loads((tmp_path / "a" / "metrics.json").read_text())
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert (saved["epochs"], saved["optimizer"], saved["schedule"]) == (4, "sgd", "cosine")
    assert saved["gray"] is True and saved["train"]["image_shape"] == [16, 16, 1]
    assert whole["n_train"] == saved["train"]["n_images"] < 12  # --limit, less the validation
    assert "val_accuracy" in whole["history"][0]
    _interrupt(monkeypatch, "between epochs")
    assert cli(capsys, *args, "--out", str(tmp_path / "b"))[0] == 130
    monkeypatch.undo()
    code, _, err = cli(capsys, "cnn", "train", "--out", str(tmp_path / "b"), "--resume",
                       "--config", str(config))  # the same options again: accepted  # fmt: skip
    assert code == 0, err
    assert stable(json.loads((tmp_path / "b" / "metrics.json").read_text())) == stable(whole)


# 4. What training saw is what predict and evaluate do -----------------------------------


def test_predict_feeds_the_model_what_training_did_on_4_3_images(tmp_path):
    from pixelab.apps.cnn import load_run_model, predict_files, run_preprocess, train_cnn
    from pixelab.data import load_folder
    from pixelab.train import CNNConfig
    from pixelab.train.loop import predict_logits

    root = _colour_folder(tmp_path / "photos", shape=(24, 32))  # 32 wide, 24 high: 4:3
    train_cnn(CNNConfig(data=str(root), epochs=1, batch_size=4, seed=0), tmp_path / "run")
    model, meta = load_run_model(tmp_path / "run")
    seen = load_folder(root)  # what the training pipeline made of the files
    assert seen.shape == (24, 24, 3) and meta["preprocess"]["size"] == 24
    pre = run_preprocess(meta)
    for i, path in enumerate(seen.paths):
        np.testing.assert_array_equal(pre.read(path), seen.images[i])
    logits = predict_logits(model, seen.images)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    got = predict_files(tmp_path / "run", seen.paths, top_k=2)["predictions"]
    for row, p in zip(probs, got, strict=True):
        by_class = {t["class"]: t["probability"] for t in p["top"]}
        assert by_class == {
            c: round(float(v), 4) for c, v in zip(meta["classes"], row, strict=True)
        }


def test_a_grey_model_reads_colour_files_as_training_did(tmp_path):
    from pixelab.data import to_gray

    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "x.png")
    from_file = np.asarray(Image.open(tmp_path / "x.png").convert("L"))
    np.testing.assert_array_equal(to_gray(img)[..., 0], from_file)  # to the bit, like Pillow


# 5. Devices ------------------------------------------------------------------------------


def test_predict_logits_keeps_the_model_and_the_images_together(monkeypatch):
    import pixelab.train.loop as loop
    from pixelab.models import create_model

    class Seen(Exception):
        pass

    model = create_model("mlp", num_classes=2, image_size=8, hidden=(4,))
    seen = []

    def hook(module, args):
        seen.append((args[0].device.type, next(module.parameters()).device.type))
        raise Seen

    model.register_forward_pre_hook(hook)
    # stand-in for a GPU: "auto" picks another device than the one the model was loaded on
    monkeypatch.setattr(loop, "resolve_device", lambda device: torch.device("meta"))
    with pytest.raises(Seen):
        loop.predict_logits(model, np.zeros((2, 8, 8, 1), np.uint8))
    assert seen == [("meta", "meta")]


# 6. and 7. predict, export, compare, evaluate --------------------------------------------


def test_predict_skips_unreadable_files_and_checks_top(capsys, folder, straight, tmp_path):
    out = straight[0]
    (tmp_path / "broken.png").write_bytes(b"not an image")
    good = folder / "c1" / "0.png"
    code, stdout, err = cli(capsys, "predict", str(out), str(good), str(tmp_path / "broken.png"),
                            str(folder / "c0"), "--top", "1", "--json")  # fmt: skip
    result = json.loads(stdout)
    assert code == 1 and "broken.png" in err
    assert [p["path"] for p in result["predictions"]][:2] == [
        str(good),
        str(folder / "c0" / "0.png"),
    ]
    assert len(result["predictions"]) == 9 and all(
        len(p["top"]) == 1 for p in result["predictions"]
    )
    assert result["skipped"][0]["path"] == str(tmp_path / "broken.png")
    for top in ("0", "-1"):
        code, _, err = cli(capsys, "predict", str(out), str(good), "--top", top)
        assert code == 2 and "--top must be" in err


def test_onnx_export_agrees_with_predict_and_carries_its_metadata(capsys, folder, straight):
    ort = pytest.importorskip("onnxruntime")
    from pixelab.apps.cnn import load_run_model, run_preprocess
    from pixelab.train.loop import predict_logits

    out = straight[0]
    code, _, err = cli(capsys, "export", str(out))
    assert code == 0, err
    model, meta = load_run_model(out)
    pre = run_preprocess(meta)
    images = np.stack([pre.read(p) for p in sorted(folder.rglob("*.png"))])
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    got = sess.run(None, {"images": x})[0]
    np.testing.assert_allclose(got, predict_logits(model, images), atol=1e-4)
    info = sess.get_modelmeta().custom_metadata_map
    assert json.loads(info["classes"]) == ["c0", "c1"]
    assert json.loads(info["preprocess"]) == meta["preprocess"]


def test_compare_reports_each_runs_own_numbers_and_leaves_out_other_folders(
    capsys, folder, straight, tmp_path
):
    classic = tmp_path / "classic"
    code, _, err = cli(capsys, "classic", "train", "--data", str(folder), "--features", "color",
                       "--classifier", "rf", "--out", str(classic))  # fmt: skip
    assert code == 0, err
    (tmp_path / "empty").mkdir()
    code, _, _ = cli(capsys, "features", "show", "hog", "chelsea", "--out", str(tmp_path / "f"))
    assert code == 0
    runs = [str(straight[0]), str(classic), str(tmp_path / "empty"), str(tmp_path / "f")]
    code, stdout, err = cli(capsys, "compare", *runs, "--json")
    result = json.loads(stdout)
    assert code == 0 and "left out" in err
    assert [s["path"] for s in result["skipped"]] == runs[2:]
    for row, path in zip(result["runs"], runs[:2], strict=True):
        m = json.loads((Path(path) / "metrics.json").read_text())
        assert row["accuracy"] == m["accuracy"] and row["train_seconds"] == m["train_seconds"]
        assert row["num_parameters"] == m["num_parameters"]
        assert row["images_per_second"] == round(m["n_test"] / m["predict_seconds"], 1)
    code, stdout, _ = cli(capsys, "compare", *runs[:2])
    assert code == 0 and "parameters" in stdout and "images/s" in stdout and "…" not in stdout
    assert "None" not in stdout
    code, _, err = cli(capsys, "compare", *runs[2:])
    assert code == 2 and "none of the 2 folder(s) is a finished classic, CNN or transfer run" in err


def test_a_classic_run_keeps_its_pipeline_and_predicts_like_its_test_list(
    capsys, folder, straight, tmp_path
):
    """A classic run keeps its fitted pipeline (no pickle): ``predict`` opens it and gives each
    test image the class its ``predictions.csv`` records; a classifier pixelab does not save
    (rf) says so. ``compare`` shows the settings that differ."""
    from pixelab.apps.cnn import read_predictions

    run = tmp_path / "hog"
    code, _, err = cli(capsys, "classic", "train", "--data", str(folder), "--features", "hog",
                       "--classifier", "logreg", "--size", "16", "--out", str(run))  # fmt: skip
    assert code == 0, err
    assert (run / "pipeline.json").is_file() and (run / "pipeline.safetensors").is_file()
    assert json.loads((run / "metrics.json").read_text())["model_saved"] is True
    rows = read_predictions(run)
    assert len(rows) == 4 and all(r["file"].startswith("c") for r in rows)
    files = [str(folder / r["file"]) for r in rows]
    code, out, err = cli(capsys, "predict", str(run), *files, "--top", "2", "--json")
    assert code == 0, err
    got = json.loads(out)["predictions"]
    assert [p["top"][0]["class"] for p in got] == [r["predicted"] for r in rows]
    for p, r in zip(got, rows, strict=True):
        assert p["top"][0]["probability"] == pytest.approx(r["probability"], abs=1e-4)
        assert sum(t["probability"] for t in p["top"]) == pytest.approx(1, abs=1e-3)
    svm = tmp_path / "svm"
    assert cli(capsys, "classic", "train", "--data", str(folder), "--features", "hog",
               "--classifier", "svm", "--size", "16", "--out", str(svm))[0] == 0  # fmt: skip
    code, out, err = cli(capsys, "predict", str(svm), files[0])
    assert code == 0 and "gives a class, not probabilities" in err and "100.0%" in out
    forest = tmp_path / "rf"
    assert cli(capsys, "classic", "train", "--data", str(folder), "--features", "hog",
               "--classifier", "rf", "--out", str(forest))[0] == 0  # fmt: skip
    assert not (forest / "pipeline.json").exists()
    code, _, err = cli(capsys, "predict", str(forest), files[0])
    assert code == 2 and "kept no model" in err and "--classifier logreg" in err
    code, out, err = cli(capsys, "compare", str(run), str(svm), str(straight[0]), "--json")
    result = json.loads(out)
    assert code == 0, err
    assert result["settings"]["classifier"] == ["logreg", "svm", None]
    assert result["settings"]["epochs"] == [None, None, 3] and "data" not in result["settings"]
    assert (
        result["runs"][0]["confusion"]
        == json.loads((run / "metrics.json").read_text())["confusion"]
    )
    assert set(result["runs"][2]["per_class"]) == {"c0", "c1"}
    code, out, _ = cli(capsys, "compare", str(run), str(svm))
    assert code == 0 and "settings that differ" in out and "logreg" in out


def test_evaluate_on_the_training_data_warns(capsys, folder, straight, tmp_path):
    code, _, err = cli(capsys, "cnn", "evaluate", str(straight[0]), "--data", str(folder))
    assert code == 0 and "data this run was trained on" in err
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    code, _, err = cli(capsys, "cnn", "evaluate", str(straight[0]), "--data", str(other))
    assert code == 0 and "warning" not in err


def test_model_options_reach_the_model_and_are_checked(capsys, monkeypatch, folder, tmp_path):
    out = tmp_path / "gap"
    code, _, err = train(capsys, folder, out, "--model-option", "head=gap",
                         "--model-option", "widths=[8,16]")  # fmt: skip
    assert code == 0, err
    record = json.loads((out / "model.json").read_text())
    assert record["kwargs"]["head"] == "gap" and record["kwargs"]["widths"] == [8, 16]
    for option, message in [("x=1", "not an option of small_cnn"), ("head", "is not KEY=VALUE"),
                            ("head=max", "head")]:  # fmt: skip
        code, _, err = train(capsys, folder, tmp_path / "bad", "--model-option", option)
        assert code == 2 and message in err and "Traceback" not in err, err
        assert not (tmp_path / "bad").exists()
    # a run saved before model options existed resumes as it started
    run = tmp_path / "old"
    _interrupt(monkeypatch, "between epochs")
    assert train(capsys, folder, run)[0] == 130
    monkeypatch.undo()
    for name in ("config.json", "checkpoint.json"):
        data = json.loads((run / name).read_text())
        del (data if name == "config.json" else data["config"])["model_options"]
        (run / name).write_text(json.dumps(data))
    code, _, err = cli(capsys, "cnn", "train", "--out", str(run), "--resume",
                       "--model-option", "head=gap")  # fmt: skip
    assert code == 2 and "conflicts with the run being resumed" in err
    code, _, err = cli(capsys, "cnn", "train", "--out", str(run), "--resume")
    assert code == 0, err
