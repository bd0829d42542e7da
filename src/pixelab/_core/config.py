"""Frozen config dataclasses that round-trip through JSON."""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json

C = TypeVar("C", bound="Config")

#: Config fields whose command-line flag is not ``--`` plus the name with dashes.
FLAG_NAMES = {"val_fraction": "--val"}

_KINDS = {bool: ("true", "false"), int: ("an integer",), float: ("a number",), str: ("a string",)}


def flag(name: str) -> str:
    """The command-line flag of a config field.

    >>> flag("batch_size"), flag("val_fraction")
    ('--batch-size', '--val')
    """
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def _shown(value: Any) -> str:
    """A value as it is written in a JSON file (``"two"``, ``1.5``, ``true``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _checked_value(label: str, annotation: Any, value: Any) -> Any:
    """``value`` if it fits ``annotation`` (an int is taken as a float), else a PixelabError."""
    args = typing.get_args(annotation)
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    allowed = args if is_union else (annotation,)
    optional = type(None) in allowed
    simple = [t for t in allowed if t in _KINDS]
    if value is None:
        if optional:
            return None
    elif bool in simple and isinstance(value, bool):
        return value
    elif isinstance(value, bool):
        pass  # true/false is not a number
    elif int in simple and isinstance(value, numbers.Integral):
        return value
    elif float in simple and isinstance(value, numbers.Real):
        return float(value)
    elif str in simple and isinstance(value, str):
        return value
    if len(simple) + optional != len(allowed):
        if isinstance(value, list) and typing.get_origin(annotation) is tuple:
            return tuple(value)  # JSON has lists only
        return value  # an annotation this check does not know: taken as given
    words = [w for t in simple for w in _KINDS[t]] + (["null"] if optional else [])
    kinds = " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
    raise PixelabError(f"{label} must be {kinds}, got {_shown(value)}")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: ``to_dict()``, ``from_dict()`` (unknown keys are an error) and ``replace()``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any], *, source: str | None = None) -> C:
        """Build a config from a dict, rejecting unknown keys and values of the wrong type.

        ``source`` (a file name) starts every error message.
        """
        where = f"config file {source}: " if source else ""
        if not isinstance(values, dict):
            raise PixelabError(
                f"{where}options must be a JSON object, got {type(values).__name__} "
                f"{_shown(values)[:60]}",
                hint='write the options as {"name": value, ...}, e.g. {"epochs": 5}',
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise PixelabError(
                f"{where}unknown {cls.__name__} option(s): {', '.join(map(str, unknown))}",
                hint=f"valid options: {', '.join(sorted(names))}",
            )
        hints = typing.get_type_hints(cls)
        checked = {k: _checked_value(f'{where}"{k}"', hints[k], v) for k, v in values.items()}
        return cls(**checked)

    @classmethod
    def from_json(cls: type[C], path: str | os.PathLike[str]) -> C:
        """Read a config from a JSON file (``--config run.json``)."""
        if not Path(path).is_file():
            raise PixelabError(f"config file not found: {path}")
        try:
            values = read_json(path)
        except UnicodeDecodeError as err:
            raise PixelabError(
                f"config file {path}: not UTF-8 text ({err.reason} at byte {err.start})",
                hint="save it as a UTF-8 JSON file",
            ) from err
        except ValueError as err:
            raise PixelabError(
                f"config file {path}: not valid JSON ({err})",
                hint='write the options as {"name": value, ...}, e.g. {"epochs": 5}',
            ) from err
        return cls.from_dict(values, source=os.fspath(path))

    def check_types(self: C) -> C:
        """Raise PixelabError for a field whose value does not fit its annotation; return self."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            _checked_value(flag(f.name), hints[f.name], getattr(self, f.name))
        return self

    def replace(self: C, **changes: Any) -> C:
        """Return a copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
