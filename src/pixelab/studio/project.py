"""A studio project: a plain folder that the command line reads too.

::

    PROJECT/
      images/<class>/<file>.png|jpg   what ``pixelab ... --data PROJECT/images`` trains on
      runs/<run>/                     ordinary pixelab run folders (``pixelab predict`` opens them)
      studio.sqlite                   a small index of the trainings started from the studio
      .studio/tmp/  .studio/trash/    uploads being checked; removed images (never deleted)

Every listing scans the folder again, so files added, renamed or removed by hand while the studio
runs are picked up, and a file that vanished between two requests is a clear 404, not a crash.
Nothing here knows about HTTP: errors are :class:`StudioError`, a ``PixelabError`` with the
status code the web layer answers with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab.data.folder import IMAGE_EXTENSIONS

#: Longest class or file name accepted (characters).
MAX_NAME = 100
#: The index's one table: the jobs started from the studio.
_JOBS_TABLE = ("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT, run TEXT, "
               "status TEXT, options TEXT, message TEXT, accuracy REAL, started REAL, "
               "finished REAL)")  # fmt: skip


class StudioError(PixelabError):
    """A refused request: the message says what was wrong, ``status`` is the HTTP code."""

    def __init__(self, message: str, *, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one upload may be: bytes per file, pixels per image, files and bytes per request."""

    max_file_bytes: int = 20_000_000
    max_pixels: int = 40_000_000
    max_files: int = 500
    max_request_bytes: int = 512_000_000


def check_name(name: Any, *, what: str) -> str:
    r"""A class, file or run name that is one plain path component; else a StudioError (400).

    >>> check_name("cats", what="class name")
    'cats'
    >>> [ok for ok in ("../etc", "a/b", "a\\b", "..", ".hidden", " ", "") if _ok(ok)]
    []
    """
    if not isinstance(name, str) or not name.strip():
        raise StudioError(f"{what} is empty", hint=f"give the {what} some letters")
    if "/" in name or "\\" in name or ".." in name:
        raise StudioError(f"{what} {name!r} may not contain '/', '\\' or '..'")
    if name != name.strip() or name.startswith("."):
        raise StudioError(
            f"{what} {name!r} may not start with a dot or space, nor end with a space"
        )
    if len(name) > MAX_NAME:
        raise StudioError(f"{what} is longer than {MAX_NAME} characters")
    if any(ord(ch) < 32 or ch in ':*?"<>|' for ch in name):
        raise StudioError(f'{what} {name!r} contains a control character or one of :*?"<>|')
    return name


def _ok(name: str) -> bool:
    try:
        check_name(name, what="name")
    except StudioError:
        return False
    return True


class Project:
    """The folder of one studio project (made on first use)."""

    def __init__(self, root: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.root = Path(root).resolve()
        if self.root.exists() and not self.root.is_dir():
            raise PixelabError(f"{self.root} exists and is not a folder",
                               hint="give a new or existing folder as PROJECT_DIR")  # fmt: skip
        self.images = self.root / "images"
        self.runs = self.root / "runs"
        self.tmp = self.root / ".studio" / "tmp"
        self.trash = self.root / ".studio" / "trash"
        self.index = self.root / "studio.sqlite"
        self.limits = limits or Limits()
        for folder in (self.images, self.runs, self.tmp, self.trash):
            folder.mkdir(parents=True, exist_ok=True)
        self._init_index()

    @property
    def name(self) -> str:
        return self.root.name

    # ---- classes and images -------------------------------------------------------------

    def classes(self) -> list[dict[str, Any]]:
        """Every class folder (sorted, hidden ones left out) with its image count."""
        out = []
        self.images.mkdir(parents=True, exist_ok=True)  # removed by hand: empty again
        for d in sorted(self.images.iterdir()):
            if d.is_dir() and not d.name.startswith("."):
                out.append({"name": d.name, "count": len(_image_files(d))})
        return out

    def class_dir(self, name: str, *, must_exist: bool = True) -> Path:
        path = self.images / check_name(name, what="class name")
        if must_exist and not path.is_dir():
            raise StudioError(f"no class {name!r} in this project", status=404,
                              hint="create it first")  # fmt: skip
        return path

    def add_class(self, name: str) -> dict[str, Any]:
        path = self.class_dir(name, must_exist=False)
        if path.exists():
            raise StudioError(f"class {name!r} exists already", status=409)
        path.mkdir()
        return {"name": name, "count": 0}

    def images_of(self, name: str) -> list[dict[str, Any]]:
        """The image files of class ``name``: file name and size in bytes."""
        out = []
        for f in _image_files(self.class_dir(name)):
            with contextlib.suppress(OSError):  # removed by hand since the scan
                out.append({"name": f.name, "bytes": f.stat().st_size})
        return out

    def image_path(self, name: str, file: str) -> Path:
        path = self.class_dir(name) / check_name(file, what="file name")
        if not path.is_file():
            raise StudioError(f"no image {file!r} in class {name!r}", status=404)
        return path

    def remove_image(self, name: str, file: str) -> dict[str, Any]:
        """Move one image to ``.studio/trash/<class>/`` (kept, out of the training data)."""
        path = self.image_path(name, file)
        dest = _free_name(self.trash / name, file)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dest)
        except FileNotFoundError as err:  # removed by hand a moment ago
            raise StudioError(f"no image {file!r} in class {name!r}", status=404) from err
        return {"class": name, "name": file, "trash": str(dest.relative_to(self.root))}

    def check_upload(self, file: str, data: bytes) -> Path:
        """Check one uploaded file (name, bytes, a whole readable image within the pixel limit);
        return it written to ``.studio/tmp/``. Nothing reaches ``images/`` here."""
        from pixelab.data.folder import read_image

        check_name(file, what="file name")
        if Path(file).suffix.lower() not in IMAGE_EXTENSIONS:
            raise StudioError(f"{file}: not an image file name (allowed endings: "
                              f"{' '.join(IMAGE_EXTENSIONS)})", status=415)  # fmt: skip
        if len(data) > self.limits.max_file_bytes:
            raise StudioError(
                f"{file}: too large ({len(data):,} bytes; limit {self.limits.max_file_bytes:,})",
                status=413, hint="shrink the image before uploading it",
            )  # fmt: skip
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}{Path(file).suffix.lower()}"
        tmp.write_bytes(data)
        try:
            read_image(tmp, max_pixels=self.limits.max_pixels)  # decodes it all: truncation shows
        except PixelabError as err:
            tmp.unlink(missing_ok=True)
            reason = err.message.split(": ", 1)[-1]
            status = 413 if "too large" in reason else 415
            raise StudioError(f"{file}: {reason}", status=status, hint=err.hint) from err
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def store(self, name: str, checked: list[tuple[str, Path]]) -> list[str]:
        """Move checked uploads ``(file name, tmp path)`` into class ``name``; a name already
        taken gets ``-1``, ``-2``, ... Never overwrites. Return the names given."""
        folder = self.class_dir(name)
        stored = []
        for file, tmp in checked:
            while True:
                dest = _free_name(folder, file)
                try:
                    os.link(tmp, dest)  # fails if the name was taken meanwhile: no overwrite
                    break
                except FileExistsError:
                    continue
                except OSError:  # a file system without hard links
                    if not dest.exists():
                        os.replace(tmp, dest)
                        break
            tmp.unlink(missing_ok=True)
            stored.append(dest.name)
        return stored

    def discard(self, paths: list[Path]) -> None:
        for p in paths:
            p.unlink(missing_ok=True)

    # ---- runs -----------------------------------------------------------------------------

    def run_path(self, run: str) -> Path:
        path = self.runs / check_name(run, what="run name")
        if not path.is_dir():
            raise StudioError(f"no run {run!r} in this project", status=404)
        return path

    def new_run_name(self, kind: str) -> str:
        base = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
        name, k = base, 1
        while (self.runs / name).exists():
            name, k = f"{base}-{k}", k + 1
        return name

    def runs_list(self) -> list[dict[str, Any]]:
        """Every run folder (newest first) with its summary and the studio job that last
        worked on it (the one that made it, or the one that resumed it)."""
        jobs: dict[str, dict[str, Any]] = {}
        for j in self.jobs():  # newest first: the first of each run is its latest
            if j["kind"] != "challenges":
                jobs.setdefault(j["run"], j)
        out = []
        self.runs.mkdir(parents=True, exist_ok=True)
        for d in sorted(self.runs.iterdir(), key=_mtime, reverse=True):
            if d.is_dir() and not d.name.startswith("."):
                out.append({**run_summary(d), "job": jobs.get(d.name)})
        return out

    # ---- the SQLite index -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The index, made again if it was removed by hand; a file that is not an SQLite
        database (damaged, or replaced by hand) is moved aside to ``.studio/`` and a new,
        empty index started: it only records jobs, the run folders are what counts."""
        try:
            return self._open_index()
        except sqlite3.OperationalError:  # locked, or not writable: not for us to mend
            raise
        except sqlite3.DatabaseError:  # "file is not a database"
            damaged = self.root / ".studio" / f"studio.sqlite.damaged-{time.time_ns()}"
            damaged.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.index, damaged)
            return self._open_index()

    def _open_index(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.index, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            db.execute(_JOBS_TABLE)
        except BaseException:
            db.close()
            raise
        return db

    def _init_index(self) -> None:
        with contextlib.closing(self._connect()) as db, db:
            # a job left 'running' by a studio that stopped: its thread is gone
            db.execute(
                "UPDATE jobs SET status='interrupted', message='the studio stopped during this "
                "training' WHERE status IN ('queued', 'running')"
            )

    def record_job(self, job: dict[str, Any]) -> None:
        """Insert or update one job's row."""
        import json

        row = {k: job.get(k) for k in ("id", "kind", "run", "status", "message", "accuracy",
                                       "started", "finished")}  # fmt: skip
        row["options"] = json.dumps(job.get("options", {}))
        with contextlib.closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO jobs (id, kind, run, status, options, message, accuracy, "
                "started, finished) VALUES (:id, :kind, :run, :status, :options, :message, "
                ":accuracy, :started, :finished)",
                row,
            )

    def jobs(self) -> list[dict[str, Any]]:
        """Every recorded job, newest first."""
        import json

        with contextlib.closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY started DESC").fetchall()
        return [{**dict(r), "options": json.loads(r["options"] or "{}")} for r in rows]


def _image_files(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:  # removed by hand meanwhile
        return []
    return [
        f
        for f in entries
        if not f.name.startswith(".") and f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()
    ]


def _free_name(folder: Path, file: str) -> Path:
    stem, suffix = Path(file).stem, Path(file).suffix
    dest, k = folder / file, 1
    while dest.exists():
        dest, k = folder / f"{stem}-{k}{suffix}", k + 1
    return dest


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


#: Run kinds whose model is a neural network: what saliency, feature maps, the challenge suite
#: and the ONNX export need (a classic run's HOG pipeline predicts, and nothing more).
NETWORK_KINDS = ("cnn", "transfer")


def run_summary(path: Path) -> dict[str, Any]:
    """What the page shows of a run folder: kind, state, accuracy, per-class scores, confusion,
    the curves of its epochs, the side its model takes, whether its test images can be opened
    per confusion cell, what it can do (predict; explain, probe and export: networks only),
    and the command lines that use it. An unfinished training says whether it can resume.

    A folder that is not a run, or whose files are damaged, is listed with the reason."""
    from pixelab._core.io import read_json
    from pixelab.apps.cnn import PREDICTIONS
    from pixelab.train.classic import PIPELINE_JSON

    out: dict[str, Any] = {"name": path.name}
    try:
        config = read_json(path / "config.json")
    except (OSError, ValueError):
        return {**out, "state": "not a run", "kind": None}
    config = config if isinstance(config, dict) else {}
    out["kind"] = config.get("kind")
    out["method"] = _method(config)
    if not (path / "metrics.json").is_file():
        return {**out, "state": "unfinished", **_resumable(path, config)}
    try:
        m = read_json(path / "metrics.json")
    except (OSError, ValueError):
        return {**out, "state": "damaged", "error": "metrics.json is not valid JSON"}
    if not isinstance(m, dict):
        return {**out, "state": "damaged", "error": "metrics.json does not hold an object"}
    keys = ("accuracy", "n_train", "n_test", "train_seconds", "mode", "size", "evaluation",
            "per_class", "confusion", "warnings", "skipped_files", "history")  # fmt: skip
    classes = list(m["per_class"]) if isinstance(m.get("per_class"), dict) else None
    network = (path / "model.json").is_file() and out["kind"] in NETWORK_KINDS
    model_file = "model.json" if network else PIPELINE_JSON
    predictable = network or (out["kind"] == "classic" and (path / PIPELINE_JSON).is_file())
    if predictable and "size" not in m:  # the side its images were resized to
        with contextlib.suppress(OSError, ValueError, AttributeError, KeyError, TypeError):
            out["size"] = int(read_json(path / model_file)["preprocess"]["size"])
    return {**out, "state": "finished", "predictable": predictable, "network": network,
            "classes": classes, "has_predictions": (path / PREDICTIONS).is_file() and (
                out["kind"] in (*NETWORK_KINDS, "classic")),
            "onnx": network and (path / "model.onnx").is_file(),
            "commands": _commands(path, network) if predictable else None,
            **{k: m[k] for k in keys if k in m}}  # fmt: skip


def _method(config: dict[str, Any]) -> str | None:
    """A run's method in the page's words."""
    kind = config.get("kind")
    if kind == "transfer":
        return "transfer learning, fine-tuned" if config.get("mode") == "finetune" else (
            "transfer learning")  # fmt: skip
    if kind == "cnn":
        return f"CNN from scratch ({config.get('model', 'small_cnn')})"
    if kind == "classic":
        return f"classic: {config.get('features')} + {config.get('classifier')}"
    return None


def _resumable(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Whether an unfinished run is a training that ``--resume`` completes (a CNN's or a
    finetuning's: from its last checkpoint, or from the start when it stopped before its
    first epoch ended), with its epochs done and asked for."""
    from pixelab.apps.cnn import epochs_done

    kind, mode = config.get("kind"), config.get("mode")
    if not (kind == "cnn" or (kind == "transfer" and mode == "finetune")):
        return {"resumable": False}
    return {"resumable": True, "epochs_done": epochs_done(path), "epochs": config.get("epochs")}


def _commands(path: Path, network: bool) -> dict[str, str]:
    """The command lines that use a run folder where it lies."""
    import shlex

    run = shlex.quote(str(path))
    commands = {"predict": f"pixelab predict {run} image.jpg"}
    if network:
        commands["export"] = f"pixelab export {run} --format onnx"
    return commands


def challenge_summary(path: Path) -> dict[str, Any]:
    """What the page shows of a challenge-suite folder (``runs/<run>/challenges/``): clean
    accuracy, on how many images and whether they were the run's held-out ones, accuracy per
    family and severity with what each family stands for; 404 when there is none yet."""
    from pixelab._core.io import read_json

    try:
        m = read_json(path / "metrics.json")
        families = {f: {k: r[k] for k in ("means", "accuracy", "mean_accuracy")}
                    for f, r in m["families"].items()}  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise StudioError(f"no challenge results for run {path.parent.name} yet", status=404,
                          hint="run the challenge suite first") from err  # fmt: skip
    keys = ("clean_accuracy", "n_images", "held_out", "severities")
    figure = (path / "figures" / "challenges.png").is_file()
    return {"run": path.parent.name, "families": families, "figure": figure,
            **{k: m.get(k) for k in keys}}  # fmt: skip
