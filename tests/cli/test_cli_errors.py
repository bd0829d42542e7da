"""Bad input gets one red line, everywhere: config files, option values, feature pictures."""

from __future__ import annotations

import json

import pytest

from pixelab.train import ClassicConfig, CNNConfig
from tests.cli.test_cli import cli


def one_line_error(code: int, out: str, err: str) -> str:
    """The error line, after checking that it is the only output and the exit code is 2."""
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.strip().startswith("error: ")
    return err.strip()


@pytest.mark.parametrize("command", ["cnn", "classic"])
@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"epochs": ', ": not valid JSON"),
        ("[1, 2]", "options must be a JSON object, got list [1, 2]"),
        ('{"limit": "two"}', '"limit" must be an integer or null, got "two"'),
        ('{"test_size": "fast"}', '"test_size" must be a number, got "fast"'),
        ('{"gray": "yes"}', '"gray" must be true, false or null, got "yes"'),
        ('{"size": 1.5}', '"size" must be an integer or null, got 1.5'),
        ('{"seed": true}', '"seed" must be an integer, got true'),
    ],
)
def test_a_bad_config_file_is_one_line_naming_file_option_and_value(
    capsys, tmp_path, command, text, expected
):
    path = tmp_path / "run.json"
    path.write_text(text)
    out = tmp_path / "out"
    line = one_line_error(
        *cli(capsys, command, "train", "--data", "digits", "--config", str(path), "--out", str(out))
    )
    assert f"config file {path}: " in line and expected in line
    assert not out.exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"epochs": "two"}', '"epochs" must be an integer, got "two"'),
        ('{"lr": "fast"}', '"lr" must be a number, got "fast"'),
        ('{"bf16": 1}', '"bf16" must be true, false or null, got 1'),
    ],
)
def test_cnn_train_options_in_a_config_file_are_checked_too(capsys, tmp_path, text, expected):
    path = tmp_path / "run.json"
    path.write_text(text)
    line = one_line_error(*cli(capsys, "cnn", "train", "--config", str(path), "--out", "x"))
    assert str(path) in line and expected in line


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
        (["--epochs", "0"], "--epochs must be an integer >= 1, got 0"),
        (["--val", "1"], "--val must lie in [0, 1) (a share), got 1.0"),
        (["--model", "vgg"], "unknown --model 'vgg'"),
        (["--size", "0"], "--size must be an integer >= 1, got 0"),
    ],
)
def test_cnn_train_option_errors_name_the_flag(capsys, tmp_path, options, expected):
    out = tmp_path / "out"
    line = one_line_error(
        *cli(capsys, "cnn", "train", "--data", "digits", *options, "--out", str(out))
    )
    assert expected in line
    assert not out.exists()


def help_lines(capsys, monkeypatch, *command: str) -> list[str]:
    """The lines of ``pixelab COMMAND --help``, wide enough that no option's help wraps."""
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = cli(capsys, *command, "--help")
    assert code == 0
    return out.splitlines()


def option_line(lines: list[str], option: str) -> str:
    [line] = [s for s in lines if s.lstrip("│ ").startswith(option + " ")]
    return line


@pytest.mark.parametrize(
    "command, config, defaults",
    [
        (("cnn", "train"), CNNConfig, {"--epochs": "10", "--batch-size": "64", "--lr": "0.002",
                                        "--model": "small_cnn", "--data": "fashion-mnist",
                                        "--average": "0.998", "--val": "0.0", "--seed": "0",
                                        "--patience": "off", "--bf16": "per machine"}),
        (("classic", "train"), ClassicConfig, {"--features": "hog+pixels", "--classifier": "svm",
                                               "--pca": "96", "--test-size": "0.2",
                                               "--limit": "all", "--seed": "0"}),
    ],
)  # fmt: skip
def test_train_help_shows_every_default_and_no_type_tags(
    capsys, monkeypatch, command, config, defaults
):
    lines = help_lines(capsys, monkeypatch, *command)
    for option, shown in defaults.items():
        assert f"[default: {shown}]" in option_line(lines, option), option
    assert f"[default: {config().seed}]" in option_line(lines, "--seed")
    text = "\n".join(lines)
    for tag in ("<str>", "<int>", "<float>", "<bool>"):
        assert tag not in text


@pytest.mark.parametrize(
    "command", [("predict",), ("export",), ("compare",), ("cnn", "evaluate"), ("data", "check")]
)
def test_no_help_shows_type_tags(capsys, monkeypatch, command):
    text = "\n".join(help_lines(capsys, monkeypatch, *command))
    assert "--help" in text and "<" not in text


def test_help_defaults_follow_the_config_dataclass(monkeypatch):
    from pixelab.cli._ui import default_of

    assert default_of(CNNConfig, "epochs") == "\\[default: 10]"
    assert default_of(CNNConfig, "size", none="as loaded") == "\\[default: as loaded]"
    assert default_of(CNNConfig, "bf16", none="per machine") == "\\[default: per machine]"
    assert default_of(CNNConfig, "channels_last") == "\\[default: on]"


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--max-side", "0"], "--max-side must be an integer >= 16, got 0"),
        (["--cell", "0"], "--cell must be an integer >= 1, got 0"),
        (["--cell", "500"], "--cell 500 is too large for this 384x303 image"),
        (["--cell", "20", "--max-side", "32"], "--cell 20 is too large for this 32x25 image"),
    ],
)
def test_features_show_checks_options_before_writing(capsys, tmp_path, options, expected):
    out = tmp_path / "out"
    line = one_line_error(
        *cli(capsys, "features", "show", "hog", "coins", *options, "--out", str(out))
    )
    assert expected in line
    assert not out.exists()


def test_features_show_on_a_folder_says_so(capsys, tmp_path, make_folder):
    root = make_folder()
    out = tmp_path / "out"
    line = one_line_error(*cli(capsys, "features", "show", "hog", str(root), "--out", str(out)))
    assert f"{root} is a folder; give one image file or a sample photo name" in line
    assert "no such file" not in line
    assert not out.exists()


def test_a_classic_run_without_mistakes_says_so(capsys, tmp_path, make_folder):
    root = make_folder(per_class=10)  # the class shows in a bright quadrant: easy to get right
    args = ["classic", "train", "--data", str(root), "--features", "pixels",
            "--classifier", "logreg", "--pca", "0"]  # fmt: skip
    code, out, _ = cli(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0 and "no test image was misclassified" in out
    assert "most confused" not in out and "0x" not in out
    code, out, _ = cli(capsys, *args, "--out", str(tmp_path / "b"), "--json")
    metrics = json.loads(out)
    assert metrics["accuracy"] == 1.0 and metrics["most_confused"] is None
