"""Style transfer against the PyTorch tutorial's recipe, in one run on this machine: the same
VGG16 layers and weights and the same loss, optimised (a) as the tutorial does (one size,
L-BFGS on the pixels, clamped to [0, 1], 300 loss evaluations) and (b) by pixelab's recipes:
its default (L-BFGS, one size, fewer evaluations), Adam on the logits at half then full size
(the earlier default) and L-BFGS at half then full size. Reported: each one's seconds and
final total loss at full size, and how long each takes to reach the tutorial's final loss.

    .venv/bin/python benchmarks/bench_style.py --size 256 [--repeats 3 --out .bench/style.json]
        [--fast RUN|shipped] [--only-fast]

The loss is pixelab's (content and style as relative errors, style weight 10, total variation
1), measured at full size for all; a recipe's time includes its half-size pass. "Reached" is
the first row of a recipe's full-size pass whose loss (recorded every 5 evaluations) is at or
below the tutorial's final one. Medians over ``--repeats`` runs of each.

With ``--fast`` (a ``pixelab style train`` run, or ``shipped``), the fast network too: its
milliseconds per image at ``--size`` (median of 10), the loss of its one pass under its own
training loss (its layers and weights, the painting at the same size), and how many seconds
pixelab's optimisation with that same loss needs to reach it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _common import machine

from pixelab._core.io import write_json


def tutorial(net, content, style, cfg, evaluations: int = 300) -> tuple[float, float]:
    """The tutorial's loop: L-BFGS on the clamped pixels, at one size; (seconds, final loss)."""
    from pixelab.generate.style import StyleLoss, _resize

    target = _resize(content, cfg.size)
    loss_fn = StyleLoss(net, target, _resize(style, cfg.size), cfg)
    x = target.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x])
    count = [0]
    t0 = time.perf_counter()
    while count[0] < evaluations:

        def closure():
            with torch.no_grad():
                x.clamp_(0, 1)
            opt.zero_grad()
            loss = loss_fn(x)["total"]
            loss.backward()
            count[0] += 1
            return loss

        opt.step(closure)
    with torch.no_grad():
        x.clamp_(0, 1)
        final = float(loss_fn(x)["total"])
    return time.perf_counter() - t0, final


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--content", default="chelsea")
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=".bench/style.json")
    ap.add_argument("--fast", default=None, help="a style train run (or shipped) to time too")
    ap.add_argument("--only-fast", action="store_true", help="measure only the --fast network")
    args = ap.parse_args()

    from pixelab.apps.style import _tensor, style_image
    from pixelab.generate.style import StyleConfig, StyleLoss, _resize, stylise
    from pixelab.models.vgg16 import vgg16_features

    net = vgg16_features()
    content = _tensor(style_image(args.content, what="content")[0])
    style = _tensor(style_image(args.style, what="style")[0])
    cfg = StyleConfig(size=args.size).check()
    if args.only_fast:
        fast = fast_network(args.fast or "shipped", net, content, style, args.size)
        print(fast)
        write_json(Path(args.out), {"machine": machine(torch=torch.__version__),
                                    "date": time.strftime("%Y-%m-%d"), "fast": fast})  # fmt: skip
        return
    recipes = {
        f"pixelab default (L-BFGS, one size, {cfg.steps} evaluations)": cfg,
        "pixelab, Adam on logits, half then full size, 200+200 steps (the earlier default)":
            cfg.replace(optimizer="adam", scales=2, steps=200),
        "pixelab, L-BFGS, half then full size, 115+115 evaluations":
            cfg.replace(scales=2, steps=115),
    }  # fmt: skip
    full = StyleLoss(net, _resize(content, cfg.size), _resize(style, cfg.size), cfg)
    theirs: list[dict] = []
    ours: dict[str, list[dict]] = {k: [] for k in recipes}
    for _ in range(args.repeats):
        seconds, loss = tutorial(net, content, style, cfg)
        theirs.append({"seconds": seconds, "final_loss": loss})
        print("tutorial", theirs[-1], flush=True)
        for name, c in recipes.items():
            t0 = time.perf_counter()
            x, history = stylise(net, content, style, c, every=5)
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                final = float(full(x)["total"])
            ours[name].append({"seconds": seconds, "final_loss": final, "history": history})
            print(name, round(seconds, 1), round(final, 4), flush=True)
    target = float(np.median([t["final_loss"] for t in theirs]))
    tut_s = float(np.median([t["seconds"] for t in theirs]))
    rows = []
    for name, runs in ours.items():
        scales = recipes[name].scales
        reached = []
        for o in runs:
            hit = [h for h in o["history"] if h["scale"] == scales and h["total"] <= target]
            reached.append(hit[0]["seconds"] if hit else None)
        to_loss = float(np.median(reached)) if all(r is not None for r in reached) else None
        rows.append({"recipe": name, "config": recipes[name].to_dict(),
                     "seconds": round(float(np.median([o["seconds"] for o in runs])), 2),
                     "final_loss": round(float(np.median([o["final_loss"] for o in runs])), 4),
                     "seconds_to_tutorial_loss": None if to_loss is None else round(to_loss, 2),
                     "speedup_to_tutorial_loss": None if to_loss is None else round(tut_s / to_loss, 2),
                     "runs": [{k: v for k, v in o.items() if k != "history"} for o in runs]})  # fmt: skip
    result = {
        "machine": machine(torch=torch.__version__), "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"), "size": args.size, "content": args.content,
        "style": args.style,
        "tutorial": {"seconds": round(tut_s, 2), "final_loss": round(target, 4),
                     "evaluations": 300, "runs": theirs},
        "pixelab": rows,
    }  # fmt: skip
    if args.fast:
        result["fast"] = fast_network(args.fast, net, content, style, args.size)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    print("| recipe | seconds | final loss | seconds to the tutorial's final loss |")
    print(f"| the PyTorch tutorial (L-BFGS, one size, 300 evaluations) | {tut_s:.1f} "
          f"| {target:.4f} | {tut_s:.1f} |")  # fmt: skip
    for r in rows:
        print(f"| {r['recipe']} | {r['seconds']:.1f} | {r['final_loss']:.4f} | "
              f"{r['seconds_to_tutorial_loss'] or 'not reached'} |")  # fmt: skip
    if args.fast:
        f = result["fast"]
        print(f"| fast network ({f['style']}, one pass) | {f['ms'] / 1000:.3f} | "
              f"{f['loss']} (its own loss) | optimisation with that loss: "
              f"{f['optimisation_seconds_to_its_loss']} s |")  # fmt: skip


def fast_network(run: str, net, content, style, size: int) -> dict:
    """The fast style network against pixelab's optimisation on the network's own loss."""
    from pixelab.apps.style import load_style_net
    from pixelab.generate.style import StyleConfig, StyleLoss, _resize, stylise

    model, rec = load_style_net(run)
    fc = rec["config"]
    photo = _resize(content, size)
    times = []
    with torch.no_grad():
        model(photo)
        for _ in range(10):
            t0 = time.perf_counter()
            made = model(photo)
            times.append(1000 * (time.perf_counter() - t0))
    same = StyleConfig(size=size, content_layers=fc.content_layers, style_layers=fc.style_layers,
                       style_weight=fc.style_weight, content_weight=fc.content_weight,
                       tv_weight=fc.tv_weight).check()  # fmt: skip
    loss_fn = StyleLoss(net, photo, _resize(style, size), same)
    with torch.no_grad():
        loss = float(loss_fn(made)["total"])
    _, history = stylise(net, content, style, same, every=5)
    hit = [h["seconds"] for h in history if h["scale"] == same.scales and h["total"] <= loss]
    return {"run": str(rec["path"]), "style": rec["style"], "ms": round(float(np.median(times)), 2),
            "loss": round(loss, 4), "optimisation_final_loss": round(history[-1]["total"], 4),
            "optimisation_seconds_to_its_loss": hit[0] if hit else None}  # fmt: skip


if __name__ == "__main__":
    main()
