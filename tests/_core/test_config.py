from __future__ import annotations

import dataclasses
import json

import pytest

from pixelab import PixelabError
from pixelab._core.config import Config, flag


@dataclasses.dataclass(frozen=True)
class Demo(Config):
    """Every kind of field the real configs use."""

    name: str = "x"
    epochs: int = 10
    lr: float = 0.1
    bf16: bool = False
    size: int | None = None
    gray: bool | None = None
    classes: tuple[str, ...] = ("a", "b")


def write(tmp_path, text: str | bytes):
    path = tmp_path / "run.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_flag_names_the_command_line_option():
    assert flag("batch_size") == "--batch-size"
    assert flag("epochs") == "--epochs"
    assert flag("val_fraction") == "--val"


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epochs": "two"}, '"epochs" must be an integer, got "two"'),
        ({"lr": "fast"}, '"lr" must be a number, got "fast"'),
        ({"gray": "yes"}, '"gray" must be true, false or null, got "yes"'),
        ({"size": 1.5}, '"size" must be an integer or null, got 1.5'),
        ({"epochs": True}, '"epochs" must be an integer, got true'),  # a bool is no count
        ({"lr": False}, '"lr" must be a number, got false'),
        ({"bf16": 1}, '"bf16" must be true or false, got 1'),
        ({"epochs": None}, '"epochs" must be an integer, got null'),
        ({"name": 3}, '"name" must be a string, got 3'),
    ],
)
def test_a_value_of_the_wrong_type_is_named_with_file_option_and_value(tmp_path, values, message):
    path = write(tmp_path, json.dumps(values))
    with pytest.raises(PixelabError) as err:
        Demo.from_json(path)
    assert str(err.value) == f"config file {path}: {message}"
    with pytest.raises(PixelabError, match="must be"):
        Demo.from_dict(values)  # without a file too


def test_fitting_values_are_taken_and_an_int_is_a_float(tmp_path):
    path = write(tmp_path, '{"lr": 1, "size": null, "gray": true, "epochs": 3, "classes": ["c"]}')
    cfg = Demo.from_json(path)
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert (cfg.size, cfg.gray, cfg.epochs, cfg.classes) == (None, True, 3, ("c",))


@pytest.mark.parametrize(
    "text, message",
    [
        ("{bad", ": not valid JSON"),
        ("", ": not valid JSON"),
        ("[1, 2]", "options must be a JSON object, got list [1, 2]"),
        ('"epochs"', 'options must be a JSON object, got str "epochs"'),
        (b"\xff\xfe{}", ": not UTF-8 text"),
    ],
)
def test_a_file_that_is_no_json_object_is_one_clear_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PixelabError) as err:
        Demo.from_json(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_unknown_keys_and_missing_files_name_the_file(tmp_path):
    path = write(tmp_path, '{"epoch": 3}')
    with pytest.raises(PixelabError, match=r"run.json: unknown Demo option\(s\): epoch"):
        Demo.from_json(path)
    with pytest.raises(PixelabError, match="config file not found"):
        Demo.from_json(tmp_path / "nope.json")


def test_check_types_names_the_flag():
    assert Demo().check_types() == Demo()
    with pytest.raises(PixelabError, match='--epochs must be an integer, got "2"'):
        Demo(epochs="2").check_types()  # type: ignore[arg-type]
