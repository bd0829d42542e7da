"""Runs that ship inside the package (``src/pixelab/assets/<name>/``): small copies of finished
runs that pixelab trained itself, so the tour and a first ``sample`` show good images without
minutes of training. Every verb that takes a RUN accepts the word ``shipped`` for them; the
package folder is only read, never written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

#: The RUN argument that names the shipped run of a verb.
SHIPPED = "shipped"


def shipped_folder(name: str) -> Path:
    """The folder of the shipped run ``name`` (e.g. ``"gan-fashion-mnist"``)."""
    return Path(__file__).resolve().parents[1] / "assets" / name


def resolve_shipped(run: str | os.PathLike[str], name: str | dict[str, str]) -> Path:
    """``run`` as a folder: ``shipped`` (unless a folder of that name is here) is the shipped
    run ``name``; with a dict, each word in it names its own shipped run."""
    words = {SHIPPED: name} if isinstance(name, str) else name
    path = Path(run)
    if str(run) in words and not path.exists():
        return shipped_folder(words[str(run)])
    return path


def finished_run(
    run: str | os.PathLike[str], name: str | dict[str, str], *, kind: str, record: str,
    weights: str, command: str,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:  # fmt: skip
    """The folder of a finished ``kind`` run (or of the shipped run ``name``), its JSON
    ``record`` and its ``weights`` (float32, from float16 if shipped); one clear error for a
    folder of another kind or an unfinished run (``command`` --resume finishes it)."""
    from pixelab._core.errors import PixelabError
    from pixelab._core.io import read_json
    from pixelab.apps.cnn import _read_config
    from pixelab.train.checkpoint import load_weights

    path = resolve_shipped(run, name)
    _read_config(path, kind=kind)
    if not ((path / record).is_file() and (path / "metrics.json").is_file()):
        raise PixelabError(f"{path} has no trained network yet",
                           hint=f"finish it: {command} --out {path} --resume")  # fmt: skip
    state = {k: v.float() for k, v in load_weights(path / weights).items()}
    return path, read_json(path / record), state


def beside(run: str | os.PathLike[str], name: str | dict[str, str], elsewhere: str) -> Path:
    """Where a verb writes next to ``run``: the run folder itself, or ``runs/<elsewhere>`` for
    a shipped run (the package folder is read-only)."""
    folder = resolve_shipped(run, name)
    return Path("runs") / elsewhere if folder.parent == shipped_folder("x").parent else folder


def ship_run(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    weights: list[str],
    records: list[str],
    keep: tuple[str, ...],
    made_by: dict[str, str],
    files: tuple[str, ...] = (),
) -> Path:
    """Copy the finished run ``src`` into ``dest`` as a small run: its ``weights`` files in
    float16 (half the bytes), its JSON ``records``, the metrics named in ``keep`` (not the
    per-epoch history) with ``made_by`` (the command that made it), the ``files`` given by
    paths relative to the run (figures), and its config last: a folder without a config is
    not a run, so an interrupted copy is never taken for one."""
    from pixelab._core.io import read_json, write_json
    from pixelab.train.checkpoint import load_weights, save_weights

    src, dest = Path(src), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").unlink(missing_ok=True)
    for name in weights:
        tensors = load_weights(src / name)
        save_weights(dest / name, {k: v.half() if v.is_floating_point() else v
                                   for k, v in tensors.items()})  # fmt: skip
    for name in records:
        write_json(dest / name, read_json(src / name))
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dest / rel)
    metrics = read_json(src / "metrics.json")
    write_json(dest / "metrics.json",
               {**{k: metrics[k] for k in keep if k in metrics}, "made_by": made_by})  # fmt: skip
    write_json(dest / "config.json", read_json(src / "config.json"))
    return dest
