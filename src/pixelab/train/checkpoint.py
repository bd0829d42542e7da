"""Training checkpoints as safetensors + JSON: model and optimizer state, never pickles."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.io import atomic_write, read_json, write_json

CHECKPOINT_VERSION = 1
STATE = "checkpoint.json"
BEST = "checkpoint-best.safetensors"


def save_weights(path: str | os.PathLike[str], state_dict: dict[str, Any]) -> None:
    """Save a state dict as safetensors, atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in state_dict.items()}
    atomic_write(path, lambda p: save_file(tensors, str(p)))


def load_weights(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a safetensors state dict, with a clear error when it is missing or corrupt."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise PixelabError(f"cannot read weights {path} ({err})") from err


def _split_optimizer(opt_state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Optimizer state -> (tensors by flat key, JSON-able rest)."""
    import torch

    tensors: dict[str, Any] = {}
    plain: dict[str, Any] = {"param_groups": opt_state["param_groups"], "state": {}}
    for pid, st in opt_state["state"].items():
        plain["state"][str(pid)] = {}
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim.{pid}.{k}"] = v.detach().contiguous().clone()
            else:
                plain["state"][str(pid)][k] = v
    return tensors, plain


def save_checkpoint(
    folder: str | os.PathLike[str],
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    state: dict[str, Any],
    average: Any = None,
) -> None:
    """Write model + optimizer tensors, then the JSON that points at them.

    ``average`` is the module of a :class:`~pixelab.train.averaging.WeightAverage`, if any; its
    weights are saved too, so that a resumed run averages on exactly as before.

    Tensors go to a file named by epoch and the JSON is replaced last, so an interruption at
    any moment leaves a complete checkpoint behind (the previous one or the new one).
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    tensors = {f"model.{k}": v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    opt_tensors, opt_plain = _split_optimizer(optimizer.state_dict())
    tensors.update(opt_tensors)
    if average is not None:
        tensors.update({f"average.{k}": v.detach().contiguous().clone()
                        for k, v in average.state_dict().items()})  # fmt: skip
    name = f"checkpoint-e{state['epoch']}.safetensors"
    atomic_write(folder / name, lambda p: save_file(tensors, str(p)))
    write_json(
        folder / STATE,
        {
            "version": CHECKPOINT_VERSION,
            **state,
            "tensors": name,
            "optimizer": opt_plain,
            "scheduler": None if scheduler is None else scheduler.state_dict(),
        },
    )
    for old in folder.glob("checkpoint-e*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def remove_checkpoints(folder: str | os.PathLike[str]) -> None:
    """Delete a run's checkpoints once it is final (the model is saved on its own)."""
    folder = Path(folder)
    (folder / STATE).unlink(missing_ok=True)
    for old in folder.glob("checkpoint-*.safetensors"):
        old.unlink(missing_ok=True)


def has_checkpoint(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a checkpoint."""
    return (Path(folder) / STATE).is_file()


def load_checkpoint(
    folder: str | os.PathLike[str],
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    average: Any = None,
) -> dict[str, Any]:
    """Restore model, optimizer, scheduler (and weight average) in place; return the loop state."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    if not has_checkpoint(folder):
        raise PixelabError(f"no checkpoint in {folder}", hint="train first, without --resume")
    try:
        state = read_json(folder / STATE)
    except ValueError as err:
        raise PixelabError(f"{folder / STATE} is corrupt ({err})") from err
    if state.get("version", 0) > CHECKPOINT_VERSION:
        raise PixelabError(
            f"the checkpoint in {folder} was written by a newer pixelab",
            hint="upgrade pixelab to resume it",
        )
    try:
        tensors = load_file(str(folder / state["tensors"]))
    except (SafetensorError, OSError, ValueError, KeyError) as err:
        raise PixelabError(
            f"the checkpoint in {folder} is corrupt or incomplete ({err})",
            hint="delete checkpoint.* to start again",
        ) from err
    model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    average_state = {k[8:]: v for k, v in tensors.items() if k.startswith("average.")}
    try:
        model.load_state_dict(model_state)
        if average is not None and average_state:  # none: a run without one (options differ)
            average.load_state_dict(average_state)
    except RuntimeError as err:
        raise PixelabError(
            f"the checkpoint in {folder} does not fit this model",
            hint="resume with the same model and options",
        ) from err
    opt = state["optimizer"]
    opt_state: dict[int, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        opt_state[int(pid)] = dict(st)
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = v
    optimizer.load_state_dict({"state": opt_state, "param_groups": opt["param_groups"]})
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    return state


def resume_epochs(
    folder: str | os.PathLike[str] | None, config: dict[str, Any], epochs: int, **parts: Any
) -> tuple[list[dict[str, Any]], float, int]:
    """Restore ``parts`` (model, optimizer, ... as for :func:`load_checkpoint`) from the
    checkpoint in ``folder`` for a loop that saved ``epoch``, ``config``, ``history``,
    ``finished`` and ``train_seconds``; refuse changed options. Returns (history, training
    seconds so far, the epoch to start from)."""
    if folder is None or not has_checkpoint(folder):
        raise PixelabError("nothing to resume: no checkpoint found",
                           hint="train without --resume first")  # fmt: skip
    state = load_checkpoint(folder, **{"scheduler": None, **parts})
    config = json.loads(json.dumps(config))  # as the checkpoint holds it: tuples are lists
    # an option missing from an older checkpoint did not exist then: its value now is kept
    changed = sorted(k for k, v in config.items() if state["config"].get(k, v) != v)
    if changed:
        raise PixelabError(f"--resume needs the same options; changed: {', '.join(changed)}")
    start = epochs if state.get("finished") else state["epoch"] + 1
    return state["history"], state["train_seconds"], start


class OptimizerPair:
    """Two optimizers (a GAN's generator and discriminator) saved as one: the state dict joins
    their parameter groups and per-parameter states, so :func:`save_checkpoint` and
    :func:`load_checkpoint` take them like a single optimizer."""

    def __init__(self, first: Any, second: Any) -> None:
        self.parts = (first, second)

    def state_dict(self) -> dict[str, Any]:
        a, b = (o.state_dict() for o in self.parts)
        offset = sum(len(g["params"]) for g in a["param_groups"])
        groups = [*a["param_groups"],
                  *({**g, "params": [p + offset for p in g["params"]]} for g in b["param_groups"])]  # fmt: skip
        state = {**a["state"], **{pid + offset: st for pid, st in b["state"].items()}}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n_first = len(self.parts[0].state_dict()["param_groups"])
        groups = state["param_groups"]
        offset = sum(len(g["params"]) for g in groups[:n_first])
        first = {"param_groups": groups[:n_first],
                 "state": {k: v for k, v in state["state"].items() if int(k) < offset}}  # fmt: skip
        second = {"param_groups": [{**g, "params": [p - offset for p in g["params"]]}
                                   for g in groups[n_first:]],
                  "state": {int(k) - offset: v for k, v in state["state"].items()
                            if int(k) >= offset}}  # fmt: skip
        self.parts[0].load_state_dict(first)
        self.parts[1].load_state_dict(second)


@dataclasses.dataclass
class StepsResult:
    """What :func:`fit_steps` returns: one row per checkpoint (the step reached, the training
    seconds so far and the mean of each loss over its steps), the training seconds, whether it
    finished (False: Ctrl-C, the last checkpoint kept) and the steps done."""

    history: list[dict[str, Any]]
    train_seconds: float
    finished: bool
    steps_done: int


def fit_steps(
    step: Callable[[int], dict[str, float]],
    *,
    steps: int,
    every: int,
    config: dict[str, Any],
    model: Any,
    optimizer: Any,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    max_seconds: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    describe: Callable[[int, dict[str, float]], str] | None = None,
) -> StepsResult:
    """Run ``step(i)`` (one optimiser step; returns its losses as floats) for i in [0,
    ``steps``), checkpointing ``model`` and ``optimizer`` atomically every ``every`` steps.
    The loop of trainings counted in steps rather than epochs: ``step`` must draw its data
    from the seed and ``i`` alone, so that ``resume`` (refused when ``config`` changed)
    continues exactly. ``max_seconds`` of training end it early, at a checkpoint; Ctrl-C
    returns ``finished=False`` after the last one."""
    import time

    from pixelab._core.progress import report

    chunks = -(-steps // every)
    history: list[dict[str, Any]] = []
    start, elapsed = 0, 0.0
    if resume:
        history, elapsed, start = resume_epochs(checkpoint_dir, config, chunks, model=model,
                                                optimizer=optimizer)  # fmt: skip
    done = history[-1]["step"] if history else 0
    try:
        for chunk in range(start, chunks):
            t0 = time.perf_counter()
            first, last = chunk * every, min(steps, (chunk + 1) * every)
            sums: dict[str, float] = {}
            for i in range(first, last):
                now = step(i)
                for k, v in now.items():
                    sums[k] = sums.get(k, 0.0) + v
                done = i + 1
                report(progress, describe(done, now) if describe else f"step {done}/{steps}",
                       done, steps)  # fmt: skip
            elapsed += time.perf_counter() - t0
            history.append({"step": last, "seconds": round(elapsed, 3),
                            **{k: round(v / (last - first), 6) for k, v in sums.items()}})  # fmt: skip
            out_of_time = max_seconds is not None and elapsed >= max_seconds
            if checkpoint_dir is not None:
                save_checkpoint(Path(checkpoint_dir), model=model, optimizer=optimizer,
                                scheduler=None,
                                state={"epoch": chunk, "config": config, "history": history,
                                       "finished": chunk + 1 == chunks or out_of_time,
                                       "train_seconds": elapsed})  # fmt: skip
            if out_of_time:
                break
    except KeyboardInterrupt:
        return StepsResult(history, elapsed, finished=False, steps_done=done)
    return StepsResult(history, elapsed, finished=True, steps_done=done)
