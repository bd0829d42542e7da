"""Save and load models as ``model.safetensors`` (weights) + ``model.json`` (how to rebuild).

Weights are read with safetensors, never with pickle, so opening a model folder someone sent you
cannot run their code.

>>> import tempfile, torch
>>> from pixelab.models import create_model
>>> model = create_model("mlp", num_classes=3, image_size=8, hidden=(16,))
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = save_model(model, tmp, meta={"classes": ["a", "b", "c"]})
...     loaded, meta = load_model(tmp)
>>> meta
{'classes': ['a', 'b', 'c']}
>>> x = torch.rand(2, 1, 8, 8)
>>> torch.equal(model.eval()(x), loaded(x))
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from pixelab._core.errors import PixelabError
from pixelab._core.io import atomic_write, read_json, to_jsonable, write_json
from pixelab.models.base import PixelabModel
from pixelab.models.registry import create_model

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

#: The model.json layout this pixelab writes and the newest one it reads.
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
_RESERVED = ("format_version", "name", "layout", "kwargs")


def save_model(
    model: PixelabModel, folder: str | os.PathLike[str], *, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``folder/model.safetensors`` and ``folder/model.json``; return the folder.

    ``meta`` (JSON-ready: class names, image size, metrics...) is stored next to the registry
    name and constructor arguments, and comes back from ``load_model``. Each file is written
    atomically (weights first, then the JSON that describes them).
    """
    from safetensors.torch import save_file

    if not isinstance(model, PixelabModel) or not model.model_name:
        raise PixelabError(
            f"save_model needs a registered pixelab model, got {type(model).__name__}",
            hint="create it with pixelab.models.create_model(...)",
        )
    meta = dict(meta or {})
    clash = [key for key in _RESERVED if key in meta]
    if clash:
        raise PixelabError(
            f"meta must not use the reserved key(s) {', '.join(clash)}",
            hint="rename them, e.g. 'model_name'",
        )
    try:
        meta = json.loads(json.dumps(to_jsonable(meta)))
    except (TypeError, ValueError) as err:
        raise PixelabError(f"meta must be JSON-serialisable: {err}") from err

    config = model.config
    record = {"format_version": FORMAT_VERSION, "name": config.pop("name"),
              "layout": model.layout, "kwargs": config}  # fmt: skip
    # safetensors wants contiguous CPU tensors that do not share memory
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(
        folder / WEIGHTS_FILE, lambda p: save_file(state, str(p), metadata={"format": "pt"})
    )
    write_json(folder / CONFIG_FILE, {**record, **meta})
    return folder


def load_model(
    folder: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[PixelabModel, dict[str, Any]]:
    """Rebuild the model saved in ``folder`` and load its weights; return ``(model, meta)``.

    The model comes back in eval mode (call ``model.train()`` to fine-tune it).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    if not folder.is_dir():
        raise PixelabError(
            f"no model folder at '{folder}'",
            hint="pass the folder save_model wrote (it holds model.json and model.safetensors)",
        )
    record = _read_record(folder)
    name, kwargs = record.pop("name"), record.pop("kwargs")
    record.pop("format_version")
    layout = record.pop("layout", 1)  # written since layouts had versions; before: 1
    try:
        model = create_model(name, **kwargs)
    except PixelabError as err:
        raise PixelabError(
            f"cannot rebuild the model in '{folder}': {err.message}", hint=err.hint
        ) from err
    except TypeError as err:  # e.g. a required argument such as num_classes is missing
        raise PixelabError(
            f"cannot rebuild the model in '{folder}': {err}",
            hint="model.json was edited or damaged; save the model again",
        ) from err
    if layout != model.layout:
        older = isinstance(layout, int) and layout < model.layout
        raise PixelabError(
            f"'{folder}' holds a {name} saved by {'an older' if older else 'another'} pixelab, "
            f"whose layers were arranged differently (layout {layout}; this one builds "
            f"{model.layout})",
            hint="train it again with this pixelab" if older else "upgrade: pip install -U pixelab",
        )

    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise PixelabError(
            f"'{folder}' has no {WEIGHTS_FILE}",
            hint="the folder is incomplete; save the model again with save_model",
        )
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError) as err:
        raise PixelabError(
            f"cannot read the weights in '{weights}' ({err}); the file is damaged or incomplete",
            hint="save or copy the model again",
        ) from err

    _check_fits(model, state, weights)
    model.load_state_dict(state)
    return model.to(device).eval(), record


def _read_record(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise PixelabError(
            f"'{folder}' has no {CONFIG_FILE}", hint="save models with pixelab.models.save_model"
        )
    try:
        record = read_json(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise PixelabError(f"'{path}' is not valid JSON ({err})") from err
    if not isinstance(record, dict) or not {"format_version", "name", "kwargs"} <= set(record):
        raise PixelabError(
            f"'{path}' does not describe a model: it needs format_version, name and kwargs",
            hint="save models with pixelab.models.save_model",
        )
    version = record["format_version"]
    if not isinstance(version, int) or version < 1:
        raise PixelabError(f"'{path}' has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise PixelabError(
            f"'{path}' was made by a newer pixelab (format_version {version}; this one reads "
            f"up to {FORMAT_VERSION})",
            hint="upgrade: pip install -U pixelab",
        )
    if not isinstance(record["name"], str) or not isinstance(record["kwargs"], dict):
        raise PixelabError(f"'{path}' needs a string 'name' and an object 'kwargs'")
    return record


def _check_fits(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Raise a readable error when the weights do not fit the rebuilt architecture."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    problems = [f"missing {k}" for k in expected if k not in got]
    problems += [f"unexpected {k}" for k in got if k not in expected]
    problems += [
        f"{k} is {got[k]}, expected {shape}"
        for k, shape in expected.items()
        if k in got and got[k] != shape
    ]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise PixelabError(
            f"the weights in '{path}' do not fit the architecture in model.json: "
            f"{'; '.join(problems[:3])}{more}",
            hint="model.json and model.safetensors come from different models; save again",
        )
