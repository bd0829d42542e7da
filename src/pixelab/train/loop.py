"""Training a neural network on an ImageSet: one readable loop, fast on a CPU.

Data is preloaded as one uint8 tensor; each batch is drawn, turned into floats, augmented
(random shifts / flips, batched) and fed to the model -- no per-image Python work in the
loop. Every epoch ends with an atomic checkpoint; ``resume=True`` continues exactly where
the last checkpoint stopped (the data order and augmentation of epoch e depend only on the
seed and e), and Ctrl-C stops after saving the last finished epoch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.checks import check_choice
from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab.data.imageset import ImageSet
from pixelab.train.averaging import WeightAverage
from pixelab.train.checkpoint import (
    BEST,
    has_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from pixelab.train.config import AUGMENTS as AUGMENTS
from pixelab.train.config import OPTIMIZERS as OPTIMIZERS
from pixelab.train.config import SCHEDULES as SCHEDULES
from pixelab.train.config import CNNConfig as CNNConfig
from pixelab.train.config import TrainConfig as TrainConfig
from pixelab.train.config import augment_policy as augment_policy

#: With ``augment="auto"``, training sets smaller than this get shifts and flips (augmentation
#: stands in for the examples that are missing), larger ones only shifts: flips would teach
#: little about data whose objects all face one way, like Fashion-MNIST's shoes.
AUTO_AUGMENT_BELOW = 10_000
#: Test-time augmentation: the views whose predictions are averaged (shifts by one pixel up,
#: down, left and right, with the image itself; flips add the mirror of each).
TTA = ("none", "shift", "shift+flip")
#: The share of a ``budget_s`` that the timed steps plan for: the rest covers what the probe does
#: not see (the first steps of the real model, the epochs' shuffles; bench_cnn found plans 3-6 %
#: over when they used it all).
BUDGET_SHARE = 0.95
#: A budgeted run times its own first steps (the first epoch, or this share of the plan if
#: sooner) and plans again, for REPLAN_BUDGET_SHARE of the budget, when the plan they give is
#: more than REPLAN_TOLERANCE off the probe's (bench_cnn saw real steps 8 % slower than the
#: probe's in one run and 10 % faster in another).
REPLAN_SHARE = 0.1
REPLAN_BUDGET_SHARE = 0.97
REPLAN_TOLERANCE = 0.02
#: Options added after runs were first saved, with the value a run saved before then trained with:
#: resuming such a run goes on exactly as it started.
OPTIONS_ADDED: dict[str, Any] = {
    "average": 0.0, "model_options": {}, "steps": None, "budget_s": None
}  # fmt: skip
#: Options that may differ when a run is resumed: they change where and how fast it computes,
#: not what it learns (a run trained on a GPU can be finished on the CPU).
RESUME_MAY_CHANGE = ("device", "threads", "bf16")


def saved_options(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved run's training options, with the value it used for options added since.

    >>> saved_options({"lr": 0.01})
    {'average': 0.0, 'model_options': {}, 'steps': None, 'budget_s': None, 'lr': 0.01}
    """
    return {**OPTIONS_ADDED, **saved}


@dataclasses.dataclass
class TrainResult:
    """What fit() returns: the per-epoch history, timings and whether training finished."""

    history: list[dict[str, float]]
    best_epoch: int
    train_seconds: float
    samples_seen: int
    finished: bool
    stopped_early: bool = False
    augment: str = "none"  # the augmentation used ("auto" resolved)
    precision: dict[str, Any] = dataclasses.field(default_factory=dict)  # choose_precision's
    plan: dict[str, Any] = dataclasses.field(default_factory=dict)  # --budget-s: probe, steps

    @property
    def samples_per_second(self) -> float:
        """Training throughput over the whole run."""
        return self.samples_seen / self.train_seconds if self.train_seconds > 0 else 0.0


def resolve_device(device: str) -> Any:
    """'auto' -> CUDA when present, else CPU; 'cuda' without a GPU is an error."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise PixelabError(
            "--device cuda asked for a GPU, but none is available", hint="use --device cpu"
        )
    return torch.device(device)


def choose_precision(bf16: bool | None, dev: Any) -> dict[str, Any]:
    """Whether training on ``dev`` uses bfloat16 autocast, and why: as asked (``--bf16`` or
    ``--fp32``), else where the hardware has it (a GPU with bf16; a CPU with AVX512-BF16 or
    AMX, where it was measured 1.8x faster per step) and fp32 elsewhere (emulated bf16 was
    measured 7-10x slower). For metrics.json: {"bf16", "asked", "why"}."""
    import torch

    if bf16 is not None:
        return {"bf16": bool(bf16), "asked": "--bf16" if bf16 else "--fp32", "why": "asked for"}
    if dev.type == "cuda":
        ok = bool(torch.cuda.is_bf16_supported())
        why = "a GPU with bf16" if ok else "a GPU without bf16"
    else:
        from pixelab.train.embeddings import native_bf16

        ok = native_bf16()
        why = ("a CPU with bf16 hardware (AVX512-BF16 or AMX)" if ok
               else "a CPU without bf16 hardware (bf16 would be emulated, several times slower)")  # fmt: skip
    return {"bf16": ok, "asked": "auto", "why": why}


def resolve_augment(augment: str, n_train: int) -> str:
    """The augmentation actually used: "auto" -> "shift+flip" for small sets, else "shift".

    >>> resolve_augment("auto", 500), resolve_augment("auto", 60_000), resolve_augment("none", 9)
    ('shift+flip', 'shift', 'none')
    """
    if augment != "auto":
        return augment
    return "shift+flip" if n_train < AUTO_AUGMENT_BELOW else "shift"


def _step_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    """The augmentation randomness of one training step: a function of (seed, epoch, step)
    alone, so a resumed run sees exactly the batches it would have seen."""
    return np.random.default_rng([seed, epoch, step])


def _augment(x: Any, augment: str, shift: int, generator: Any) -> Any:
    """Random shifts (zero padding, like a small camera move) and left-right flips, batched."""
    import torch
    import torch.nn.functional as F

    if augment == "none":
        return x
    b, _, h, w = x.shape
    p = shift
    if p > 0:
        padded = F.pad(x, (p, p, p, p))
        oy = torch.randint(0, 2 * p + 1, (b,), generator=generator)
        ox = torch.randint(0, 2 * p + 1, (b,), generator=generator)
        rows = (oy[:, None] + torch.arange(h))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w))[:, None, None, :]
        x = padded[
            torch.arange(b)[:, None, None, None],
            torch.arange(x.shape[1])[None, :, None, None],
            rows,
            cols,
        ]
    if augment == "shift+flip":
        flip = torch.rand(b, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return x


def _make_optimizer(model: Any, cfg: TrainConfig) -> Any:
    import torch

    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:  # frozen layers (PixelabModel.freeze) are left out
            (decay if p.ndim > 1 else no_decay).append(p)  # no decay on biases and norms
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def _make_scheduler(opt: Any, cfg: TrainConfig, total: int) -> Any:
    import torch

    if cfg.schedule == "onecycle" and total >= 8:  # too few steps for a warm-up: use cosine
        return torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=cfg.lr,
            total_steps=total,
            pct_start=0.15,
            div_factor=10,
            final_div_factor=100,
        )
    if cfg.schedule in ("cosine", "onecycle"):
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return None


def predict_logits(
    model: Any,
    images: np.ndarray,
    *,
    batch_size: int | None = None,
    device: str = "auto",
    bf16: bool = False,
    tta: str = "none",
) -> np.ndarray:
    """Logits (N, num_classes) for uint8 images (N, H, W, C), in inference mode.

    The model is moved to ``device`` (auto: the GPU when there is one), where the images go too.
    ``batch_size`` defaults to about 4 M pixels per batch (512 images of 28 px, 83 of 224 px):
    a fixed 512 held several GB of a 224-px network's activations at once. With ``tta`` (see
    :data:`TTA`) the class probabilities of the views are averaged and returned as log-probabilities.
    """
    import torch

    from pixelab.data.tensors import to_tensor_uint8

    check_choice(tta, TTA, name="--tta")
    dev = resolve_device(device)
    x_all = to_tensor_uint8(images)
    if batch_size is None:
        batch_size = max(16, min(512, 2**22 // max(1, images.shape[1] * images.shape[2])))
    model.to(dev).eval()
    out = []
    with torch.inference_mode(), bf16_autocast(dev, bf16):
        for i in range(0, len(x_all), batch_size):
            x = x_all[i : i + batch_size].to(dev).float().div_(255)
            if tta == "none":
                out.append(model(x).float().cpu())
                continue
            probs = [model(v).float().softmax(1) for v in tta_views(x, tta)]
            out.append(torch.stack(probs).mean(0).log().cpu())
    return torch.cat(out).numpy()


def tta_views(x: Any, tta: str) -> list[Any]:
    """The views of a batch (B, C, H, W) that test-time augmentation averages over: the batch,
    then shifted by one pixel down, up, right and left (zero fill, as in training); with
    "shift+flip" each of those mirrored too."""
    import torch.nn.functional as F

    if tta == "none":
        return [x]
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    views = [padded[..., 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
             for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]  # fmt: skip
    if tta == "shift+flip":
        views += [v.flip(-1) for v in views]
    return views


def bf16_autocast(dev: Any, bf16: bool) -> Any:
    """bfloat16 autocast on ``dev`` when asked for, else nothing (any device type works)."""
    import contextlib

    import torch

    return torch.autocast(dev.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _evaluate(
    model: Any, x_all: Any, y_all: Any, dev: Any, cfg: TrainConfig, bf16: bool
) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    model.eval()
    total_loss, correct = 0.0, 0
    with torch.inference_mode(), bf16_autocast(dev, bf16):
        for i in range(0, len(x_all), 512):
            x = x_all[i : i + 512].to(dev).float().div_(255)
            y = y_all[i : i + 512].to(dev)
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = model(x).float()
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return total_loss / len(x_all), correct / len(x_all)


def fit(
    model: Any,
    train: ImageSet,
    *,
    val: ImageSet | None = None,
    config: TrainConfig | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
    group: Any = None,
) -> TrainResult:
    """Train ``model`` on ``train`` (validating on ``val`` each epoch) and return the history.

    With ``average`` > 0 (the default) a moving average of the weights is kept (see
    :mod:`pixelab.train.averaging`); it is what is validated, and what ``model`` holds at the end.
    With ``checkpoint_dir`` every epoch is checkpointed atomically; ``resume=True`` continues
    from the last checkpoint (one saved after the last epoch trains no further: the model gets
    its final weights). ``device`` and ``threads`` may differ on resume, nothing else.
    With ``patience`` (needs ``val``) training stops when validation accuracy has not improved
    for that many epochs, and the best weights are restored. With ``group`` (a
    :class:`~pixelab.train.distributed.Group`, under ``torchrun``) every process trains on its
    share of each batch through DistributedDataParallel, the epoch's numbers are summed over
    the processes, and only rank 0 writes checkpoints (all of them read one to resume).
    """
    import torch
    import torch.nn.functional as F

    from pixelab.data.tensors import to_tensor_uint8

    cfg = (config or TrainConfig()).check()
    if cfg.patience is not None and val is None:
        raise PixelabError("early stopping (patience) needs a validation set")
    _check_model_data(model, train)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    from pixelab.train.distributed import check_batch

    check_batch(cfg.batch_size, group)
    dev = resolve_device(cfg.device)
    if group is not None and dev.type == "cuda":
        dev = torch.device("cuda", group.local_rank)
    precision = choose_precision(cfg.bf16, dev)
    bf16 = precision["bf16"]
    model.to(dev)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    net = model  # what the training steps call: the model, or its data-parallel wrapper
    if group is not None:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    writes = group is None or group.main
    x_all, y_all = to_tensor_uint8(train.images), torch.from_numpy(train.labels)
    xv, yv = (
        (None, None) if val is None else (to_tensor_uint8(val.images), torch.from_numpy(val.labels))
    )
    n = len(x_all)
    augment = resolve_augment(cfg.augment, n)
    from pixelab.train.attacks import adversarial_eps, fast_fgsm

    adv_eps = adversarial_eps(augment)
    policy = None if augment in AUGMENTS or adv_eps is not None else augment_policy(augment)
    if policy is not None and policy.mixes and len(train.classes) < 2:
        raise PixelabError("mixup and cutmix blend images of different classes; the data has one")
    steps = max(1, n // cfg.batch_size)  # drop the ragged last batch: steady batch-norm stats

    def batch(m: Any, idx: Any, epoch: int, step: int, gen: Any) -> tuple[Any, Any, Any]:
        """The inputs, labels and targets of one training step (augmented, on the device)."""
        x = x_all[idx].float().div_(255)
        y = y_all[idx].to(dev)
        target = y
        if adv_eps is not None:  # train on the attacked batch instead
            g = torch.Generator().manual_seed((cfg.seed * 100_003 + epoch) * 100_003 + step)
            x = fast_fgsm(m, x.to(dev), y, adv_eps, g)
        elif policy is None:
            x = _augment(x, augment, cfg.shift, gen).to(dev)
        else:
            params = policy.sample(_step_rng(cfg.seed, epoch, step), len(idx))
            x = policy.apply(x.to(dev), params)
            if policy.mixes:
                soft = F.one_hot(y, len(train.classes)).float()
                target = policy.mix_labels(soft, params, tuple(x.shape[-2:]))
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y, target

    plan: dict[str, Any] = {}
    if cfg.budget_s is not None and cfg.steps is None:
        planned = _saved_steps(checkpoint_dir, cfg) if resume else None
        if planned is None:
            probe = round(_seconds_per_step(model, batch, n, cfg, dev, bf16, group), 6)
            planned = max(1, int(BUDGET_SHARE * cfg.budget_s / probe))
            plan = {"budget_s": cfg.budget_s, "probe_seconds_per_step": probe}
        cfg = cfg.replace(steps=planned)
    total = cfg.steps if cfg.steps is not None else cfg.epochs * steps
    epochs = math.ceil(total / steps)
    if cfg.budget_s is not None:
        plan.update(budget_s=cfg.budget_s, steps=total, epochs=round(total / steps, 3))
    opt = _make_optimizer(model, cfg)
    sched = _make_scheduler(opt, cfg, total)
    replan_at = 0  # the step after which a fresh plan replaces the probe's (0: never)
    if "probe_seconds_per_step" in plan and REPLAN_SHARE > 0:
        replan_at = min(steps, max(20, int(REPLAN_SHARE * total)))
        replan_at = replan_at if replan_at < total else 0
    average = WeightAverage(model, cfg.average) if cfg.average > 0 else None
    kept = model if average is None else average.module  # what is validated and returned
    history: list[dict[str, float]] = []
    start_epoch, best_acc, best_epoch, best_state = 0, -1.0, -1, None
    elapsed, seen, stopped_early = 0.0, 0, False
    if resume:
        if checkpoint_dir is None or not has_checkpoint(checkpoint_dir):
            raise PixelabError(
                "nothing to resume: no checkpoint found", hint="train without --resume first"
            )
        state = load_checkpoint(
            checkpoint_dir, model=model, optimizer=opt, scheduler=sched,
            average=None if average is None else average.module,
        )  # fmt: skip
        saved = saved_options(state["config"])
        changed = sorted(
            k for k, v in cfg.to_dict().items() if saved.get(k) != v and k not in RESUME_MAY_CHANGE
        )
        if changed:
            raise PixelabError(
                f"--resume needs the same training options; changed: {', '.join(changed)}",
            )
        # a finished checkpoint (stopped after its last epoch, before the run was written up)
        # trains no further: the final weights are picked below, as at the end of training
        start_epoch = epochs if state.get("finished") else state["epoch"] + 1
        history, best_acc, best_epoch = state["history"], state["best_acc"], state["best_epoch"]
        elapsed, seen = state["train_seconds"], state["samples_seen"]
        stopped_early = bool(state.get("stopped_early", False))
    epoch = start_epoch - 1
    try:
        while epoch + 1 < epochs:
            epoch += 1
            t0 = time.perf_counter()
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            torch.manual_seed(cfg.seed * 100_003 + epoch)  # dropout and friends
            order = torch.randperm(n, generator=gen)
            model.train()
            run_loss, run_correct, count = 0.0, 0, 0
            this_epoch = min(steps, total - epoch * steps)  # a step count may end mid-epoch
            for step in range(steps):  # until this_epoch (a new plan may change it)
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                if group is not None:
                    idx = group.shard(idx)
                x, y, target = batch(model, idx, epoch, step, gen)
                loss, logits = _train_step(net, opt, x, target, cfg, dev, bf16)
                if sched is not None:
                    sched.step()
                if average is not None:
                    average.update(epoch * steps + step + 1)
                if epoch * steps + step + 1 == replan_at:  # the run's own pace, not the probe's
                    pace = (time.perf_counter() - t0) / replan_at
                    if group is not None:  # every process must plan the same number of steps
                        pace = group.sum([pace])[0] / group.world
                    again = replan_at + max(
                        1, int(REPLAN_BUDGET_SHARE * cfg.budget_s / pace) - replan_at
                    )
                    if abs(again - total) > REPLAN_TOLERANCE * total:
                        plan["replanned"] = {"after_steps": replan_at, "steps_before": total,
                                             "seconds_per_step": round(pace, 6)}  # fmt: skip
                        total, cfg = again, cfg.replace(steps=again)
                        epochs = math.ceil(total / steps)
                        plan.update(steps=total, epochs=round(total / steps, 3))
                        sched = _resume_schedule(opt, cfg, total, replan_at)
                        this_epoch = min(steps, total - epoch * steps)
                run_loss += float(loss.detach()) * len(idx)
                run_correct += int((logits.argmax(1) == y).sum())
                count += len(idx)
                report(progress, f"epoch {epoch + 1}/{epochs}", step + 1, this_epoch)
                if step + 1 >= this_epoch:
                    break
            if group is not None:  # the epoch's numbers over every process's share
                run_loss, run_correct, count = group.sum([run_loss, run_correct, count])
                run_correct, count = int(run_correct), int(count)
            elapsed += time.perf_counter() - t0
            seen += count
            row = {"epoch": epoch + 1, "train_loss": run_loss / count, "train_accuracy": run_correct / count,
                   "lr": opt.param_groups[0]["lr"], "seconds": round(elapsed, 3)}  # fmt: skip
            if xv is not None:
                row["val_loss"], row["val_accuracy"] = _evaluate(kept, xv, yv, dev, cfg, bf16)
            history.append({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()})
            score = row.get("val_accuracy", -epoch)  # without validation, the last epoch is best
            if score > best_acc:
                best_acc, best_epoch = score, epoch
                if cfg.patience is not None:
                    best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
                    if checkpoint_dir is not None and writes:
                        save_weights(Path(checkpoint_dir) / BEST, best_state)
            done = epoch + 1 == epochs
            if cfg.patience is not None and epoch - best_epoch >= cfg.patience:
                stopped_early = done = True
            if checkpoint_dir is not None and writes:
                save_checkpoint(
                    Path(checkpoint_dir),
                    model=model,
                    optimizer=opt,
                    scheduler=sched,
                    average=None if average is None else average.module,
                    state={
                        "epoch": epoch,
                        "config": cfg.to_dict(),
                        "history": history,
                        "best_acc": best_acc,
                        "best_epoch": best_epoch,
                        "finished": done,
                        "stopped_early": stopped_early,
                        "train_seconds": elapsed,
                        "samples_seen": seen,
                    },
                )
            if stopped_early:
                break
    except KeyboardInterrupt:
        return TrainResult(history, best_epoch, elapsed, seen, finished=False, augment=augment,
                           precision=precision, plan=plan)  # fmt: skip
    if cfg.patience is not None and best_state is None and checkpoint_dir is not None:
        best_state = load_weights(Path(checkpoint_dir) / BEST)  # resumed: best came before
    if best_state is None and average is not None:
        best_state = average.module.state_dict()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        history, best_epoch, elapsed, seen, finished=True, stopped_early=stopped_early,
        augment=augment, precision=precision, plan=plan,
    )  # fmt: skip


def _resume_schedule(opt: Any, cfg: TrainConfig, total: int, done: int) -> Any:
    """The learning-rate schedule of a ``total``-step run, already ``done`` steps in (for a
    plan remade mid-run: from the next step on, the rate is that of the new plan)."""
    import warnings

    for group in opt.param_groups:  # the cosine schedule steps from the rate it starts at
        group["lr"] = group.get("initial_lr", group["lr"])
    sched = _make_scheduler(opt, cfg, total)
    with warnings.catch_warnings():  # "scheduler stepped before the optimizer": on purpose
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(done if sched is not None else 0):
            sched.step()
    return sched


def _train_step(
    net: Any, opt: Any, x: Any, target: Any, cfg: TrainConfig, dev: Any, bf16: bool
) -> tuple[Any, Any]:
    """One forward, backward and optimizer step; the loss and the logits."""
    import torch.nn.functional as F

    with bf16_autocast(dev, bf16):
        logits = net(x)
    loss = F.cross_entropy(logits.float(), target, label_smoothing=cfg.label_smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss, logits


def _seconds_per_step(
    model: Any, batch: Any, n: int, cfg: TrainConfig, dev: Any, bf16: bool, group: Any,
    *, warm: int = 5, timed: int = 20,
) -> float:  # fmt: skip
    """Time training steps on a copy of ``model`` (its weights stay as they are): the mean
    over ``timed`` steps after ``warm`` ones, the same on every process of a ``group``."""
    import copy

    import torch

    m = copy.deepcopy(model)
    m.train()
    opt = _make_optimizer(m, cfg)
    average = WeightAverage(m, cfg.average) if cfg.average > 0 else None
    gen = torch.Generator().manual_seed(cfg.seed)
    times = []
    for i in range(warm + timed):
        idx = torch.randint(n, (cfg.batch_size,), generator=gen)
        if group is not None:
            idx = group.shard(idx)
        t0 = time.perf_counter()
        x, y, target = batch(m, idx, -1, i, gen)
        loss, logits = _train_step(m, opt, x, target, cfg, dev, bf16)
        if average is not None:
            average.update(i + 1)
        float(loss.detach()), int((logits.argmax(1) == y).sum())  # the loop's syncs
        times.append(time.perf_counter() - t0)
    seconds = float(np.mean(times[warm:]))
    if group is not None:  # every process must plan the same number of steps
        seconds = group.sum([seconds])[0] / group.world
    return seconds


def _saved_steps(folder: str | os.PathLike[str] | None, cfg: TrainConfig) -> int | None:
    """The steps a budgeted run planned when it started, from its checkpoint (None: none)."""
    from pixelab._core.io import read_json
    from pixelab.train.checkpoint import STATE

    if folder is None or not has_checkpoint(folder):
        return None
    try:
        saved = read_json(Path(folder) / STATE).get("config", {})
    except ValueError:
        return None  # load_checkpoint says what is wrong with it
    return saved.get("steps") if saved.get("budget_s") == cfg.budget_s else None


def _check_model_data(model: Any, data: ImageSet) -> None:
    """A model built for other images or classes gets a clear error, not a shape crash."""
    c = data.shape[2]
    want_c = getattr(model, "in_channels", c)
    if want_c != c:
        raise PixelabError(
            f"the model takes {want_c}-channel images but the data has {c} channel(s)",
            hint="use --gray/--color to match, or train a new model",
        )
    k = getattr(model, "num_classes", None)
    if k is not None and int(data.labels.max()) >= k:
        raise PixelabError(f"the model predicts {k} classes but the data has {len(data.classes)}")
