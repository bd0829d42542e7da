"""Frozen config dataclasses that round-trip through JSON."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json

C = TypeVar("C", bound="Config")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: ``to_dict()``, ``from_dict()`` (unknown keys are an error) and ``replace()``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any]) -> C:
        """Build a config from a dict, rejecting unknown keys with the list of valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise PixelabError(
                f"unknown {cls.__name__} option(s): {', '.join(unknown)}",
                hint=f"valid options: {', '.join(sorted(names))}",
            )
        return cls(**values)

    @classmethod
    def from_json(cls: type[C], path: str | os.PathLike[str]) -> C:
        """Read a config from a JSON file (``--config run.json``)."""
        if not Path(path).is_file():
            raise PixelabError(f"config file not found: {path}")
        return cls.from_dict(read_json(path))

    def replace(self: C, **changes: Any) -> C:
        """Return a copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
