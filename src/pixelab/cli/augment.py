"""``pixelab augment``: see what each data augmentation does to an image."""

from __future__ import annotations

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import default_out, out_console, print_json, table

app = typer.Typer(
    help="Data augmentation: what flips, turns, noise, colour changes, erasing and mixing do "
    "to an image.",
    no_args_is_help=True,
)


@app.command("show")
def show(
    source: str = typer.Argument(
        ..., help="An image file, a sample photo (chelsea), a built-in dataset or a folder."
    ),
    ops: str = typer.Option(
        None, "--ops", help="Ops to draw, comma-separated (default: one or two of each family)."
    ),
    policy: str = typer.Option(
        None,
        "--policy",
        help='Also draw 8 random draws of a policy: basic, strong or e.g. "rotate:30,erase:0.25".',
    ),
    steps: int = typer.Option(4, "--steps", help="Strengths per op, from 0 to strong (>= 2)."),
    index: int = typer.Option(0, "--index", help="Which image of a dataset or folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random parts (noise, boxes)."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/augment-<time>)."),
    json: JsonFlag = False,
) -> None:
    """One image through each op at rising strengths (0 leaves it unchanged), as a figure."""
    from pixelab.apps.augment import augment_show

    names = [o.strip() for o in ops.split(",") if o.strip()] if ops else None
    out = out or default_out("augment")
    m = augment_show(source, out, ops=names, policy=policy, steps=steps, index=index, seed=seed)
    if json:
        print_json(m)
        return
    table(f"augmentations of {m['source']}", ["op", "family", "strength means", "shown at"],
          [[o["name"], o["family"], o["unit"], ", ".join(f"{v:g}" for v in o["values"])]
           for o in m["ops"]])  # fmt: skip
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("list")
def list_ops() -> None:
    """The ops, their families, what their strength means, and the named policies."""
    from pixelab.augment import OPS, POLICIES, describe

    table("augmentation ops", ["op", "family", "strength means", "range", "default"],
          [[n, d["family"], d["unit"], f"0-{d['max']:g}", f"{d['default']:g}"]
           for n, d in ((n, describe(c)) for n, c in OPS.items())])  # fmt: skip
    table("named policies", ["policy", "ops"], [[k, v or "(nothing)"] for k, v in POLICIES.items()])
