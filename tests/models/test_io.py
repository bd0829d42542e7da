"""save_model / load_model: files written, and a clear error for every broken folder."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from pixelab import PixelabError
from pixelab.models import create_model, load_model, save_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = create_model("small_cnn", num_classes=3, widths=(4, 8))
    return save_model(model, tmp_path / "run" / "model", meta={"classes": ["a", "b", "c"]})


def edit_json(folder, **changes):
    path = folder / "model.json"
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record))


def test_files_written(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["model.json", "model.safetensors"]
    record = json.loads((saved / "model.json").read_text())
    assert record == {
        "format_version": 1,
        "name": "small_cnn",
        "layout": 2,
        "kwargs": {
            "num_classes": 3,
            "in_channels": 1,
            "image_size": 28,
            "widths": [4, 8],
            "convs_per_block": 1,
            "head": "flat",
            "grid": 7,
            "dropout": 0.0,
        },
        "classes": ["a", "b", "c"],
    }


def test_weights_from_an_older_or_newer_layout_say_so(saved):
    record = json.loads((saved / "model.json").read_text())
    del record["layout"]  # written before layouts had versions: the old small_cnn
    (saved / "model.json").write_text(json.dumps(record))
    with pytest.raises(
        PixelabError, match=r"saved by an older pixelab.*layout 1; this one builds 2"
    ):
        load_model(saved)
    edit_json(saved, layout=3)
    with pytest.raises(PixelabError, match="saved by another pixelab") as err:
        load_model(saved)
    assert "upgrade" in err.value.hint
    edit_json(saved, layout=2)
    assert load_model(saved)[1] == {"classes": ["a", "b", "c"]}  # layout is not meta


def test_save_over_an_existing_model(saved):
    model = create_model("mlp", num_classes=2, image_size=8, hidden=(4,))
    save_model(model, saved)
    loaded, meta = load_model(saved)
    assert loaded.model_name == "mlp" and meta == {}


def test_missing_folder(tmp_path):
    with pytest.raises(PixelabError, match="no model folder at"):
        load_model(tmp_path / "nope")


def test_missing_json(saved):
    (saved / "model.json").unlink()
    with pytest.raises(PixelabError, match=r"has no model\.json"):
        load_model(saved)


def test_missing_weights(saved):
    (saved / "model.safetensors").unlink()
    with pytest.raises(PixelabError, match=r"has no model\.safetensors"):
        load_model(saved)


@pytest.mark.parametrize("cut", [0, 7, 0.5])
def test_truncated_weights(saved, cut):
    path = saved / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: int(cut * len(data)) if isinstance(cut, float) else cut])
    with pytest.raises(PixelabError, match="damaged or incomplete"):
        load_model(saved)


def test_invalid_json(saved):
    (saved / "model.json").write_text("{not json")
    with pytest.raises(PixelabError, match="is not valid JSON"):
        load_model(saved)


def test_json_without_a_model(saved):
    (saved / "model.json").write_text('{"accuracy": 0.9}')
    with pytest.raises(PixelabError, match="does not describe a model"):
        load_model(saved)


def test_unknown_model_name(saved):
    edit_json(saved, name="vgg")
    with pytest.raises(PixelabError, match=r"cannot rebuild the model .*unknown model 'vgg'"):
        load_model(saved)


def test_unknown_kwarg(saved):
    edit_json(saved, kwargs={"num_classes": 3, "colour": True})
    with pytest.raises(PixelabError, match=r"unknown option\(s\) for model 'small_cnn': colour"):
        load_model(saved)


def test_missing_num_classes(saved):
    edit_json(saved, kwargs={"widths": [4, 8]})
    with pytest.raises(PixelabError, match=r"cannot rebuild the model .*num_classes"):
        load_model(saved)


def test_newer_format_version(saved):
    edit_json(saved, format_version=2)
    with pytest.raises(PixelabError, match=r"made by a newer pixelab.*upgrade"):
        load_model(saved)


def test_weights_that_do_not_fit(saved):
    record = json.loads((saved / "model.json").read_text())
    edit_json(saved, kwargs={**record["kwargs"], "widths": [4, 16]})
    with pytest.raises(PixelabError, match=r"do not fit the architecture.*blocks\.block2"):
        load_model(saved)


def test_weights_with_missing_keys(saved):
    edit_json(saved, kwargs={"num_classes": 3, "widths": [4, 8, 16]})
    with pytest.raises(PixelabError, match=r"missing blocks\.block2\.\d\.weight.*and \d+ more"):
        load_model(saved)


def test_reserved_meta_keys(tmp_path):
    model = create_model("lenet", num_classes=2)
    with pytest.raises(PixelabError, match="reserved key"):
        save_model(model, tmp_path, meta={"name": "mine"})


def test_meta_must_be_json(tmp_path):
    model = create_model("lenet", num_classes=2)
    with pytest.raises(PixelabError, match="meta must be JSON-serialisable"):
        save_model(model, tmp_path, meta={"model": object()})
    assert not (tmp_path / "model.json").exists()


def test_save_needs_a_pixelab_model(tmp_path):
    with pytest.raises(PixelabError, match="save_model needs a registered pixelab model"):
        save_model(nn.Linear(2, 2), tmp_path)
