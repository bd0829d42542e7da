"""A run folder: config.json, metrics.json and figures/*.png, each written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.io import atomic_write, read_json, write_json

#: Bumped when the layout of a run folder changes incompatibly.
RUN_FORMAT_VERSION = 1


class RunDir:
    """The folder one command writes: ``config.json``, ``metrics.json``, ``figures/``.

    >>> import tempfile
    >>> run = RunDir(tempfile.mkdtemp() + "/demo")
    >>> _ = run.write_metrics({"accuracy": 0.9})
    >>> run.read_metrics()["accuracy"]
    0.9
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise PixelabError(
                f"{self.path} exists and is not a folder", hint="choose another --out"
            )
        self.figures = self.path / "figures"
        self.figures.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any], *, kind: str) -> Path:
        """Write the resolved config, tagged with the run kind and format version."""
        payload = {"kind": kind, "format_version": RUN_FORMAT_VERSION, **config}
        return write_json(self.path / "config.json", payload)

    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        """Write metrics.json atomically."""
        return write_json(self.path / "metrics.json", metrics)

    def read_metrics(self) -> dict[str, Any]:
        """Read metrics.json back."""
        path = self.path / "metrics.json"
        if not path.is_file():
            raise PixelabError(f"{path} not found", hint="is this a finished pixelab run folder?")
        return read_json(path)

    def save_figure(self, fig: Any, name: str, *, dpi: int = 110) -> Path:
        """Save a Matplotlib figure as figures/<name>.png atomically."""
        path = self.figures / f"{name}.png"
        atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, bbox_inches="tight", format="png"))
        return path
