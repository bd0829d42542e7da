"""A run folder: config.json, metrics.json and figures/*.png, each written atomically.

A run folder is always one of three things: a finished run (it has ``metrics.json``), a run
that ``--resume`` can finish, or not there at all. :meth:`RunDir.create` is the one door every
job goes through: it is called only once the options and the data have been checked, it
refuses a folder that already holds another run, and it holds a lock while the job writes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.io import atomic_write, read_json, write_json

#: Bumped when the layout of a run folder changes incompatibly.
RUN_FORMAT_VERSION = 1
#: The files a pixelab run may write at the top of its folder (``figures/`` besides).
RUN_FILES = (
    "config.json",
    "metrics.json",
    "model.json",
    "model.safetensors",
    "pipeline.json",
    "pipeline.safetensors",
    "model.onnx",
    "predictions.csv",
    "checkpoint.json",
    "probe.json",
    "partial.json",
    "gan.json",
    "generator.safetensors",
    "discriminator.safetensors",
    "vae.json",
    "diffusion.json",
    "denoiser.safetensors",
    "report.html",
)
#: Patterns of further run files: checkpoints and temporary files of interrupted writes.
RUN_PATTERNS = ("checkpoint-*.safetensors", ".*.tmp", "vae-*.safetensors", "ae-*.safetensors")
#: Folders a run writes: its figures, and the checkpoints of runs that train several models.
RUN_DIRS = ("figures", "training")
#: Held (flock) by the job that writes the folder; another job refuses to write there.
LOCK_FILE = ".pixelab.lock"


def run_kind(path: str | os.PathLike[str]) -> str | None:
    """The kind of run ``path`` holds ("cnn", "classic", ...), "unknown" for run files without a
    readable config.json, or None when it holds no run (missing, empty, or only other files)."""
    path = Path(path)
    if not path.is_dir():
        return None
    config = path / "config.json"
    if config.is_file():
        try:
            kind = read_json(config).get("kind")
        except (ValueError, UnicodeDecodeError, AttributeError):
            kind = None
        return str(kind) if kind else "unknown"
    if any((path / name).exists() for name in RUN_FILES):
        return "unknown"
    return None


class RunDir:
    """The folder one command writes: ``config.json``, ``metrics.json``, ``figures/``.

    ``RunDir(path)`` only names a folder (to read a run); jobs make one with
    :meth:`create`, which checks, creates and locks it.

    >>> import tempfile
    >>> with RunDir.create(tempfile.mkdtemp() + "/demo", kind="demo") as run:
    ...     _ = run.write_metrics({"accuracy": 0.9})
    >>> run.read_metrics()["accuracy"]
    0.9
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.figures = self.path / "figures"
        #: Keep what was written when the job fails (set once the folder is resumable).
        self.keep_on_error = False
        self._created = False
        self._lock_fd: int | None = None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        kind: str,
        resume: bool = False,
        overwrite: bool = False,
        replace_same_kind: bool = False,
    ) -> RunDir:
        """Check, create and lock the run folder ``path`` for a job of ``kind``.

        A folder holding a run is refused, unless ``resume`` (it must hold a ``kind`` run),
        ``overwrite`` (its run files are removed first), or ``replace_same_kind`` and the run
        is of the same kind (for quick, repeatable jobs such as figures and the tour).
        """
        run = cls(path)
        path = run.path
        if path.exists() and not path.is_dir():
            raise PixelabError(f"{path} exists and is not a folder", hint="choose another --out")
        run._check_held(kind, resume=resume, overwrite=overwrite, replace=replace_same_kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()  # atomic: of two jobs starting at once, one makes the folder
            run._created = True
        except FileExistsError:
            run._created = False
        try:
            run._lock()
            # again under the lock: another job may have written a run here since the check
            clear = run._check_held(kind, resume=resume, overwrite=overwrite,
                                    replace=replace_same_kind)  # fmt: skip
        except PixelabError:
            run.close()
            if run._created and {p.name for p in path.iterdir()} <= {LOCK_FILE}:
                shutil.rmtree(path, ignore_errors=True)  # only what this job made: nothing
            raise
        if clear:
            run.clear()
        return run

    def _check_held(self, kind: str, *, resume: bool, overwrite: bool, replace: bool) -> bool:
        """Refuse a folder whose run this job may not touch; True when it is to be cleared."""
        path = self.path
        held = run_kind(path)
        if resume:
            if held is None:
                raise PixelabError(
                    f"nothing to resume in {path}: it holds no pixelab run",
                    hint="start the run without --resume",
                )
            if held != kind:
                raise PixelabError(f"{path} holds a {held} run, not a {kind} run to resume")
            return False
        if held is None:
            return False
        if overwrite or (replace and held == kind):
            return True
        if replace:  # a quick job: it replaces its own kind only
            hint = "choose another --out; this command replaces only its own output"
        elif held == kind:
            hint = "choose another --out, continue it with --resume, or replace it with --overwrite"
        else:
            hint = "choose another --out, or replace it with --overwrite"
        raise PixelabError(f"{path} already holds a {held} run", hint=hint)

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX: no lock
            return
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            raise PixelabError(
                f"{self.path} is being written by another pixelab command right now",
                hint="wait for it to finish, or choose another --out",
            ) from err
        self._lock_fd = fd

    def close(self) -> None:
        """Release the lock (the lock file stays: removing it would race with other jobs)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def clear(self) -> None:
        """Remove every run file and folder (other files in the folder are kept)."""
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)
        for pattern in RUN_PATTERNS:
            for p in self.path.glob(pattern):
                p.unlink(missing_ok=True)
        for name in RUN_DIRS:
            shutil.rmtree(self.path / name, ignore_errors=True)

    def discard(self) -> None:
        """Undo the job: remove the folder if this job made it, else the run files it wrote."""
        if self._created:
            self.close()
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            self.clear()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is not None and not self.keep_on_error:
                with contextlib.suppress(OSError):
                    self.discard()
        finally:
            self.close()

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
        try:
            metrics = read_json(path)
        except (ValueError, UnicodeDecodeError) as err:
            raise PixelabError(f"{path} is not valid JSON ({err})") from err
        if not isinstance(metrics, dict):
            raise PixelabError(f"{path} does not hold a JSON object")
        return metrics

    def save_figure(self, fig: Any, name: str, *, dpi: int = 110) -> Path:
        """Save a Matplotlib figure as figures/<name>.png atomically."""
        path = self.figures / f"{name}.png"
        atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, bbox_inches="tight", format="png"))
        return path
