"""``robust sweep``: how a trained run's accuracy falls as its test images are moved, turned,
zoomed, darkened, covered, made noisy or blurred. Finished factors are kept in the run folder
as they complete, so an interrupted sweep, run again with the same command, only does the rest.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json, write_json
from pixelab._core.progress import ProgressFn
from pixelab.report import RunDir
from pixelab.robust.sweep import _factor

#: The factors swept when none are named: the lecture's claims about invariance.
DEFAULT_FACTORS = ("translate", "rotate", "scale", "brightness", "occlude")
#: Finished factors of an unfinished sweep (removed once metrics.json is written).
PARTIAL = "partial.json"


def sweep_model(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    factors: tuple[str, ...] = DEFAULT_FACTORS,
    *,
    seed: int = 0,
    device: str = "cpu",
    done: dict[str, Any] | None = None,
    on_factor: Any = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Sweep ``model`` over ``factors`` on uint8 ``images``: {"clean_accuracy", "chance",
    "factors": {name: {"unit", "rows"}}, "summary"}; ``done`` holds factors already swept,
    ``on_factor(name, result)`` is called after each new one."""
    import torch

    from pixelab.robust import FACTORS, sweep
    from pixelab.train.loop import resolve_device

    for f in factors:  # an unknown one: the error lists them
        _factor(f)
    dev = resolve_device(device)
    model.to(dev).eval()

    def predict(x: Any) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(model(x.to(dev)).float(), 1).cpu().numpy()

    results = dict(done or {})
    for name in factors:
        if name in results:
            continue
        rows = sweep(predict, images, labels, name, seed=seed, progress=progress)
        results[name] = {"unit": FACTORS[name].unit, "rows": rows}
        if on_factor is not None:
            on_factor(name, results[name])
    correct = sum(int((predict(_floats(images[i : i + 500])).argmax(1) == labels[i : i + 500]).sum())
                  for i in range(0, len(images), 500))  # fmt: skip
    out = {
        "clean_accuracy": round(correct / len(images), 4),
        "chance": round(1 / int(labels.max() + 1), 4),
        "factors": {name: results[name] for name in factors},
    }
    out["summary"] = summarise(out)
    return out


def _finished_parts(path: Path, config: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The parts (factors, families) an interrupted job with the same ``config`` finished."""
    if not ((path / PARTIAL).is_file() and _same_job(path, config)):  # else: start over
        return {}
    return {k: v for k, v in read_json(path / PARTIAL).items() if k in names}


def _same_job(path: Path, config: dict[str, Any]) -> bool:
    """True when the run folder ``path`` was written by a job with the same ``config``."""
    if not (path / "config.json").is_file():
        return False
    old = read_json(path / "config.json")
    return {k: old.get(k) for k in config} == config


def _keeper(rd: RunDir, config: dict[str, Any], kind: str, done: dict[str, Any]) -> Any:
    """Write the config and the parts kept; return ``keep(name, result)``, which saves each new
    part at once, so Ctrl-C loses none of them."""
    rd.write_config(config, kind=kind)
    if done:
        write_json(rd.path / PARTIAL, done)
    rd.keep_on_error = True

    def keep(name: str, result: dict[str, Any]) -> None:
        done[name] = result
        write_json(rd.path / PARTIAL, done)

    return keep


def _run_images(
    run: str | os.PathLike[str], data: str, limit: int | None, seed: int, progress: Any
) -> tuple[Any, dict[str, Any], Any]:
    """A model run's model and metadata, and ``data`` prepared as it was trained (at most
    ``limit`` images, the same share of every class). On the data the run was trained on,
    only its held-out test images are used; ``meta["held_out"]`` says whether they were."""
    from pixelab._core.checks import check_positive_int
    from pixelab.apps.cnn import held_out_data, load_run_model
    from pixelab.data import limit_per_class

    if limit is not None:
        check_positive_int(limit, name="--limit")
    model, meta = load_run_model(run, device="cpu")
    ds, meta["held_out"] = held_out_data(run, meta, data, seed=seed, progress=progress)
    if limit is not None and len(ds) > limit:
        ds = limit_per_class(ds, limit, seed=seed)
    return model, meta, ds


def _floats(images: np.ndarray) -> Any:
    from pixelab.augment import to_float

    return to_float(images)


def _at(result: dict[str, Any], factor: str, amount: float) -> float | None:
    rows = result["factors"].get(factor, {}).get("rows", [])
    return next((r["accuracy"] for r in rows if abs(r["amount"] - amount) < 1e-9), None)


def summarise(result: dict[str, Any]) -> str:
    """The lecture's claim as one measured sentence: accuracy at a 4-pixel shift against a 45 or
    90 degree turn and a 0.5x or 1.5x zoom (the parts the sweep measured)."""
    parts = []
    for factor, amount, words in (("translate", 4, "moved 4 pixels"),
                                  ("rotate", 45, "turned 45 degrees"),
                                  ("rotate", 90, "turned 90 degrees"),
                                  ("scale", 0.5, "shrunk to half"),
                                  ("scale", 1.5, "enlarged 1.5 times")):  # fmt: skip
        acc = _at(result, factor, amount)
        if acc is not None:
            parts.append(f"{acc:.0%} {words}")
    head = f"Accuracy {result['clean_accuracy']:.0%} on the unchanged images"
    return head + (": " + ", ".join(parts) + "." if parts else ".")


def robust_sweep(
    run: str | os.PathLike[str],
    data: str,
    out: str | os.PathLike[str],
    *,
    factors: tuple[str, ...] = DEFAULT_FACTORS,
    limit: int | None = 3000,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Sweep a model run over ``factors`` on ``data`` (at most ``limit`` images, the same share
    of every class) and write a run folder with the figure and metrics.json.

    Each factor is saved as it finishes; Ctrl-C returns ``{"interrupted": True, ...}`` and the
    same call again sweeps only the factors still missing.
    """
    from pixelab.report.robust import plot_sweep
    from pixelab.robust import FACTORS

    factors = tuple(dict.fromkeys(factors))
    if not factors:
        raise PixelabError("--factors is empty", hint=f"e.g. --factors {','.join(DEFAULT_FACTORS)}")
    for f in factors:  # an unknown one: the error lists them
        _factor(f)
    model, meta, ds = _run_images(run, data, limit, seed, progress)
    side = min(ds.shape[:2])
    from pixelab.robust.sweep import _checked_value

    for f in factors:  # an amount the images cannot take: refused before any work
        for a in FACTORS[f].amounts:
            _checked_value(FACTORS[f], float(a), side)
    config = {"run": str(Path(run).resolve()), "data": str(data), "factors": list(factors),
              "limit": limit, "seed": seed}  # fmt: skip
    done = _finished_parts(Path(out), config, factors)
    with RunDir.create(out, kind="robust-sweep", replace_same_kind=True) as rd:
        keep = _keeper(rd, config, "robust-sweep", done)
        kept = sorted(done)
        try:
            result = sweep_model(model, ds.images, ds.labels, factors, seed=seed, device=device,
                                 done=done, on_factor=keep, progress=progress)  # fmt: skip
        except KeyboardInterrupt:
            return {"interrupted": True, "factors_done": sorted(done),
                    "resume": "run the same command again: finished factors are kept"}  # fmt: skip
        rd.keep_on_error = False
        fig = plot_sweep(result, title=f"{meta.get('name', Path(run).name)} on {data}: "
                                       f"{len(ds)} images")  # fmt: skip
        result.update({"n_images": len(ds), "held_out": meta["held_out"], "run": str(run),
                       "data": str(data),
                       "reused_factors": kept,
                       "figures": [str(rd.save_figure(fig, "sweep").relative_to(rd.path))]})  # fmt: skip
        rd.write_metrics(result)
        (rd.path / PARTIAL).unlink(missing_ok=True)
    return result


# ---- adversarial examples ------------------------------------------------------------------

#: The attack strengths ``robust attack`` measures by default, in pixel levels out of 255.
DEFAULT_EPS = (0, 0.5, 1, 2, 4, 8)


def attack_curves(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    methods: tuple[str, ...] = ("fgsm", "pgd"),
    eps: tuple[float, ...] = DEFAULT_EPS,
    steps: int = 10,
    device: str = "cpu",
    batch_size: int = 250,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Accuracy under each attack at each ``eps`` (pixel levels out of 255), and the attacked
    versions of the first images at the largest ``eps`` for the figure."""
    import torch

    from pixelab._core.progress import report
    from pixelab.augment import to_float
    from pixelab.train.attacks import attack
    from pixelab.train.loop import resolve_device

    dev = resolve_device(device)
    model.to(dev).eval()
    curves: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    examples: dict[str, Any] = {}
    total, done = len(methods) * len(eps), 0
    y_all = torch.from_numpy(labels).to(dev)
    for method in methods:
        for e in eps:
            correct = 0
            for start in range(0, len(images), batch_size):
                x = to_float(images[start : start + batch_size]).to(dev)
                y = y_all[start : start + batch_size]
                adv = attack(model, x, y, method, e / 255, steps=steps)
                with torch.inference_mode():
                    pred = model(adv).argmax(1)
                correct += int((pred == y).sum())
                if start == 0 and e == eps[-1]:
                    examples[method] = {"adv": adv[:6].cpu(), "pred": pred[:6].cpu().numpy()}
            curves[method].append({"eps": float(e), "accuracy": round(correct / len(images), 4)})
            done += 1
            report(progress, f"attack {method} eps {e:g}/255", done, total)
    return {"curves": curves, "examples": examples, "eps_unit": "pixel levels out of 255"}


def robust_attack(
    run: str | os.PathLike[str],
    data: str,
    out: str | os.PathLike[str],
    *,
    methods: tuple[str, ...] = ("fgsm", "pgd"),
    eps: tuple[float, ...] = DEFAULT_EPS,
    steps: int = 10,
    limit: int | None = 1000,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Attack a model run with FGSM / PGD at each ``eps`` on ``data`` (at most ``limit``
    images, every class) and write a run folder with the curves, examples and metrics.json."""
    from pixelab._core.checks import check_positive_int
    from pixelab.report.robust import plot_adversarial, plot_attack_curves
    from pixelab.train.attacks import METHODS

    methods = tuple(dict.fromkeys(methods))
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise PixelabError(f"unknown attack {bad[0]!r}" if bad else "--method is empty",
                           hint=f"choose from: {', '.join(METHODS)}")  # fmt: skip
    eps = tuple(sorted({float(e) for e in eps}))
    if not eps or any(not 0 <= e <= 255 for e in eps):
        raise PixelabError(f"--eps must be pixel levels in [0, 255], got {list(eps)}",
                           hint="e.g. --eps 0,1,2,4,8 (8 means 8/255)")  # fmt: skip
    check_positive_int(steps, name="--steps")
    model, meta, ds = _run_images(run, data, limit, seed, progress)
    config = {"run": str(Path(run).resolve()), "data": str(data), "methods": list(methods),
              "eps": list(eps), "steps": steps, "limit": limit, "seed": seed}  # fmt: skip
    with RunDir.create(out, kind="robust-attack", replace_same_kind=True) as rd:
        rd.write_config(config, kind="robust-attack")
        res = attack_curves(model, ds.images, ds.labels, methods=methods, eps=eps, steps=steps,
                            device=device, progress=progress)  # fmt: skip
        ax = plot_attack_curves(res["curves"], chance=1 / len(ds.classes))
        figs = [rd.save_figure(ax.figure, "attack")]
        last = methods[-1]
        if eps[-1] > 0:
            from pixelab.augment import to_uint8

            ex = res["examples"][last]
            n = len(ex["pred"])
            fig = plot_adversarial(ds.images[:n], to_uint8(ex["adv"]), ds.labels[:n], ex["pred"],
                                   ds.classes, title=f"{last.upper()}, eps {eps[-1]:g}/255")  # fmt: skip
            figs.append(rd.save_figure(fig, "adversarial"))
        clean = res["curves"][methods[0]][0]["accuracy"] if eps[0] == 0 else None
        metrics = {"n_images": len(ds), "held_out": meta["held_out"],
                   "eps_unit": res["eps_unit"], "steps": steps,
                   "clean_accuracy": clean, "curves": res["curves"],
                   "figures": [str(f.relative_to(rd.path)) for f in figs]}  # fmt: skip
        rd.write_metrics(metrics)
    return metrics


# ---- the challenge suite -------------------------------------------------------------------


def _predictor(model: Any, device: str) -> Any:
    import torch

    from pixelab.train.loop import resolve_device

    dev = resolve_device(device)
    model.to(dev).eval()

    def predict(x: Any) -> np.ndarray:
        with torch.inference_mode():
            return model(x.to(dev)).float().cpu().numpy()

    return predict


def robust_challenges(
    run: str | os.PathLike[str],
    data: str,
    out: str | os.PathLike[str],
    *,
    baseline: str | os.PathLike[str] | None = None,
    families: tuple[str, ...] | None = None,
    limit: int | None = 1000,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The challenge suite on a model run: accuracy per family and severity on ``data``, a heat
    map, and with ``baseline`` (another run on the same classes and images) each family's
    corruption error and the mCE relative to it. Finished families survive Ctrl-C."""
    from pixelab.apps.cnn import load_run_model
    from pixelab.report.robust import plot_challenges
    from pixelab.robust.challenges import (
        FAMILIES,
        INTRA_CLASS,
        INTRA_CLASS_MEANS,
        NOT_APPLICABLE,
        corruption_errors,
    )

    shapes = str(data) == "shapes"
    known = (*FAMILIES, INTRA_CLASS) if shapes else tuple(FAMILIES)
    families = tuple(dict.fromkeys(families or known))
    unknown = [f for f in families if f not in known]
    if unknown or not families:
        hint = f"choose from: {', '.join(known)}"
        if unknown and unknown[0] == INTRA_CLASS:
            hint = "intra-class variation is measured on --data shapes only (new images drawn with more variety)"
        raise PixelabError(f"unknown challenge {unknown[0]!r}" if unknown else "--families is empty",
                           hint=hint)  # fmt: skip
    model, meta, ds = _run_images(run, data, limit, seed, progress)
    base_model = None
    if baseline is not None:
        base_model, base_meta = load_run_model(baseline, device="cpu")
        if base_meta["classes"] != meta["classes"]:
            raise PixelabError(
                f"--baseline {baseline} knows the classes {base_meta['classes']}, the run "
                f"{meta['classes']}: corruption errors compare models of the same classes",
                hint="pick a baseline trained on the same data",
            )
        if base_meta.get("preprocess") != meta.get("preprocess"):
            raise PixelabError(
                f"--baseline {baseline} sees images prepared otherwise ({base_meta.get('preprocess')}"
                f" against {meta.get('preprocess')}): they would not be the same images",
                hint="pick a baseline trained at the same size and colour mode",
            )
    config = {"run": str(Path(run).resolve()), "data": str(data), "families": list(families),
              "limit": limit, "seed": seed,
              "baseline": str(Path(baseline).resolve()) if baseline else None}  # fmt: skip
    done = _finished_parts(Path(out), config, families)
    done_base = {k[len("baseline:") :]: v for k, v in _finished_parts(
        Path(out), config, tuple(f"baseline:{f}" for f in families)).items()}  # fmt: skip
    with RunDir.create(out, kind="robust-challenges", replace_same_kind=True) as rd:
        everything = {**done, **{f"baseline:{k}": v for k, v in done_base.items()}}
        keep = _keeper(rd, config, "robust-challenges", everything)
        predict = _predictor(model, device)
        clean = float(np.mean(np.concatenate([
            np.asarray(predict(_floats(ds.images[i : i + 500]))).argmax(1) == ds.labels[i : i + 500]
            for i in range(0, len(ds), 500)])))  # fmt: skip
        suite = partial(_suite, images=ds, meta=meta, families=families, seed=seed,
                        progress=progress)  # fmt: skip
        try:
            res = suite(predict, done=done, on_family=keep)
            base = None
            if base_model is not None:
                base = suite(_predictor(base_model, device), done=done_base,
                             on_family=lambda f, r: keep(f"baseline:{f}", r))  # fmt: skip
        except KeyboardInterrupt:
            finished = sorted(k for k in everything if not k.startswith("baseline:"))
            return {"interrupted": True, "families_done": finished,
                    "resume": "run the same command again: finished families are kept"}  # fmt: skip
        rd.keep_on_error = False
        metrics: dict[str, Any] = {
            "n_images": len(ds), "held_out": meta["held_out"], "clean_accuracy": round(clean, 4),
            "severities": [1, 2, 3, 4, 5],
            "families": {f: {"means": INTRA_CLASS_MEANS if f == INTRA_CLASS else FAMILIES[f][0],
                             **res[f],
                             "mean_accuracy": round(float(np.mean(res[f]["accuracy"])), 4)}
                         for f in families},
            "not_applicable": {} if shapes else NOT_APPLICABLE,
        }  # fmt: skip
        if base is not None:
            metrics["baseline"] = {"run": str(baseline), "families": base,
                                   **corruption_errors(res, base)}  # fmt: skip
            same = all(res[f]["fingerprint"] == base[f]["fingerprint"] for f in families)
            metrics["baseline"]["same_images"] = same
        fig = plot_challenges(metrics)
        metrics["figures"] = [str(rd.save_figure(fig, "challenges").relative_to(rd.path))]
        rd.write_metrics(metrics)
        (rd.path / PARTIAL).unlink(missing_ok=True)
    return metrics


def _suite(
    predict: Any,
    *,
    images: Any,
    meta: dict[str, Any],
    families: tuple[str, ...],
    seed: int,
    done: dict[str, Any],
    on_family: Any,
    progress: ProgressFn | None,
) -> dict[str, Any]:
    """The corruption families on ``images`` (clutter behind the objects where masks are
    known), and intra-class variation on new shapes when it is named."""
    from pixelab.apps.cnn import run_preprocess
    from pixelab.robust.challenges import INTRA_CLASS, challenge_suite, intra_class_suite

    corrupted = tuple(f for f in families if f != INTRA_CLASS)
    res = challenge_suite(predict, images.images, images.labels, corrupted, seed=seed,
                          masks=images.masks, done=done, on_family=on_family,
                          progress=progress)  # fmt: skip
    if INTRA_CLASS in families:
        found = done.get(INTRA_CLASS)
        if found is None:
            found = intra_class_suite(predict, run_preprocess(meta), meta["classes"], len(images),
                                      seed=seed, progress=progress)  # fmt: skip
            on_family(INTRA_CLASS, found)
        res[INTRA_CLASS] = found
    return {f: res[f] for f in families}


# ---- the ablation: what each augmentation policy buys --------------------------------------


def _train_or_reuse(config: Any, run: Path, progress: ProgressFn | None) -> dict[str, Any]:
    """Train ``config`` into ``run``; a finished run of the same options there is reused and an
    interrupted one resumed, so an interrupted ablation, run again, only does what is left."""
    from pixelab.apps.cnn import train_cnn

    if (run / "config.json").is_file():
        saved = read_json(run / "config.json")
        same = all(saved.get(k) == v for k, v in config.to_dict().items() if k != "device")
        if same and (run / "metrics.json").is_file():
            return read_json(run / "metrics.json")
        if same:
            return train_cnn(None, run, resume=True, progress=progress)
    return train_cnn(config, run, overwrite=True, progress=progress)


def epochs_for_budget(config: Any, budget_s: float, progress: ProgressFn | None = None) -> dict:
    """How many epochs of ``config`` fit in ``budget_s`` seconds of training on this machine:
    four epochs on a slice of 20 batches are timed (the median of the last three, past the
    warm-up, counts) and scaled to the whole training set. Returns {"epochs", "epoch_seconds"}."""
    from pixelab.apps.cnn import _load_data
    from pixelab.models import create_model
    from pixelab.train.loop import fit

    train, _, _ = _load_data(config, progress)
    n = min(len(train), 20 * config.batch_size)
    probe = train.subset(np.arange(n))
    net = create_model(config.model, num_classes=len(train.classes), in_channels=train.channels,
                       image_size=train.shape[0], seed=config.seed, **config.model_options)  # fmt: skip
    result = fit(net, probe, config=config.replace(epochs=4, patience=None), progress=progress)
    ends = [r["seconds"] for r in result.history]
    seconds = float(np.median(np.diff(ends)))
    epoch_seconds = max(seconds, 1e-6) * len(train) / n
    return {
        "epochs": max(1, int(budget_s // epoch_seconds)),
        "epoch_seconds": round(epoch_seconds, 5),
    }


def robust_ablate(
    data: str,
    out: str | os.PathLike[str],
    *,
    policies: tuple[str, ...] = ("none", "basic", "strong", "adversarial"),
    model: str = "small_cnn",
    epochs: int = 5,
    budget_s: float | None = None,
    limit: int | None = None,
    eval_limit: int = 1000,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train one ``model`` per augmentation policy (same data, seed, and epochs or, with
    ``budget_s``, seconds of training each), then measure each: clean accuracy, the invariance
    sweep, the challenge suite (mCE relative to the first policy's run) and PGD accuracy. The
    runs are ordinary cnn runs under ``out/runs/`` (so ``pixelab compare`` works on them); one
    figure and metrics.json sum them up."""
    from pixelab._core.checks import check_positive_int
    from pixelab.report.robust import plot_ablation, plot_sweep
    from pixelab.train import CNNConfig

    policies = tuple(dict.fromkeys(p.strip() for p in policies if p.strip()))
    if len(policies) < 2:
        raise PixelabError("an ablation compares at least two policies",
                           hint="e.g. --policies none,basic,strong,adversarial")  # fmt: skip
    check_positive_int(eval_limit, name="--eval-limit")
    if budget_s is not None and not (isinstance(budget_s, (int, float)) and 0 < budget_s < 1e6):
        raise PixelabError(f"--budget-s must be a number of seconds > 0, got {budget_s!r}",
                           hint="e.g. --budget-s 120: each policy trains for about two minutes")  # fmt: skip
    configs = {p: CNNConfig(data=data, model=model, epochs=epochs, limit=limit, seed=seed,
                            augment=p, device=device).check() for p in policies}  # fmt: skip
    root = Path(out)
    config = {"data": str(data), "policies": list(policies), "model": model, "epochs": epochs,
              "budget_s": budget_s, "limit": limit, "eval_limit": eval_limit, "seed": seed}  # fmt: skip
    plan = _finished_parts(root, config, policies) if budget_s is not None else {}
    finished = budget_s is not None and (root / "metrics.json").is_file()
    if finished and not plan and _same_job(root, config):  # a finished ablation: its plan again
        plan = dict(read_json(root / "metrics.json").get("plan") or {})
    with RunDir.create(out, kind="robust-ablate", replace_same_kind=True) as rd:
        keep = _keeper(rd, config, "robust-ablate", plan)  # the finished runs inside are kept
        rows: dict[str, Any] = {}
        sweeps: dict[str, Any] = {}
        first = root / "runs" / _slug(policies[0])
        for policy in policies:
            run = root / "runs" / _slug(policy)
            if budget_s is not None:  # epochs that fit the budget, measured once and kept
                if policy not in plan:
                    keep(policy, epochs_for_budget(configs[policy], budget_s, progress))
                configs[policy] = configs[policy].replace(epochs=plan[policy]["epochs"])
            trained = _train_or_reuse(configs[policy], run, progress)
            if trained.get("interrupted"):
                return {"interrupted": True, "resume": "run the same command again: finished "
                        "runs are reused and the interrupted one resumed"}  # fmt: skip
            sweeps[policy] = robust_sweep(run, data, root / "sweeps" / _slug(policy),
                                          factors=("translate", "rotate", "scale"),
                                          limit=eval_limit, seed=seed, device=device,
                                          progress=progress)  # fmt: skip
            suite = robust_challenges(run, data, root / "challenges" / _slug(policy),
                                      baseline=None if run == first else first,
                                      limit=eval_limit, seed=seed, device=device,
                                      progress=progress)  # fmt: skip
            attack = robust_attack(run, data, root / "attacks" / _slug(policy), methods=("pgd",),
                                   eps=(0, 2, 8), limit=eval_limit, seed=seed, device=device,
                                   progress=progress)  # fmt: skip
            pgd_rows = {r["eps"]: r["accuracy"] for r in attack["curves"]["pgd"]}
            rows[policy] = {
                "run": str(run), "accuracy": trained["accuracy"], "epochs": trained["epochs"],
                "train_seconds": trained["train_seconds"],
                "challenge_accuracy": round(float(np.mean(
                    [f["mean_accuracy"] for f in suite["families"].values()])), 4),
                "mce": suite["baseline"]["mce"] if "baseline" in suite else 1.0,
                "sweep": sweeps[policy]["summary"],
                "pgd_2": pgd_rows[2.0], "pgd_8": pgd_rows[8.0],
            }  # fmt: skip
        fig = plot_sweep(sweeps[policies[0]], runs=sweeps, title=f"{data}: invariance per policy")
        figs = [rd.save_figure(fig, "sweeps"), rd.save_figure(plot_ablation(rows), "ablation")]
        best = {k: max(rows, key=lambda p, k=k: rows[p][k])
                for k in ("accuracy", "challenge_accuracy", "pgd_8")}  # fmt: skip
        metrics = {"policies": rows, "best": best, "baseline_policy": policies[0],
                   "budget_s": budget_s, "plan": plan or None,
                   "figures": [str(f.relative_to(rd.path)) for f in figs]}  # fmt: skip
        rd.write_metrics(metrics)
        rd.keep_on_error = False
        (rd.path / PARTIAL).unlink(missing_ok=True)
    return metrics


def _slug(policy: str) -> str:
    """A folder name for a policy string ("rotate:30,erase" -> "rotate-30_erase")."""
    return "".join(c if c.isalnum() or c in "._" else "-" for c in policy.replace(",", "_"))
