"""``diffusion forward``: an image buried in noise step by step, the forward process of a
diffusion model, with the numbers that say how much of the image is left at each step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab.report import RunDir

#: Frames of the forward GIF.
GIF_FRAMES = 40


def _noised(schedule: Any, x0: Any, ts: list[int], seed: int) -> Any:
    """x_t for every step in ``ts`` with one fixed noise image (so the frames differ only by
    how far along the process they are)."""
    import torch

    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    return schedule.add_noise(x0.expand(len(ts), *x0.shape[1:]), noise.expand(len(ts), *x0.shape[1:]),
                              torch.as_tensor(ts))  # fmt: skip


def _to_uint8(x: Any) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def diffusion_forward(
    source: str,
    out: str | os.PathLike[str],
    *,
    schedule: str = "cosine",
    steps: int = 1000,
    show: int = 8,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Draw ``source`` (a file, a sample photo, a dataset or folder: its first image) at ``show``
    steps from t = 0 to T - 1 of a ``schedule`` of ``steps`` (and the other schedule beneath
    it), the schedules' signal shares over t, and a GIF; metrics.json gives per shown step the
    share of the signal's power left, the signal-to-noise ratio, the PSNR against the image
    and the correlation with it."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab.apps.augment import source_images
    from pixelab.generate.diffusion import SCHEDULES, NoiseSchedule
    from pixelab.report import figures as F
    from pixelab.report.generate import plot_schedules, save_gif

    chosen = NoiseSchedule(schedule, steps)
    check_positive_int(show, name="--show", minimum=2)
    if show > 20:
        raise PixelabError(f"--show {show} is more steps than one figure can show",
                           hint="at most 20")  # fmt: skip
    check_positive_int(seed, name="--seed", minimum=0)
    images, name = source_images(source, count=1)
    image = images[0]
    x0 = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(127.5).sub(1)
    ts = np.unique(np.linspace(0, steps - 1, show).round().astype(int)).tolist()
    schedules = [chosen] + [NoiseSchedule(k, steps) for k in SCHEDULES if k != schedule]
    rows, shown = [], []
    for sched in schedules:
        noised = _noised(sched, x0, ts, seed)
        rows.append((sched.kind, _to_uint8(noised)))
        if sched is chosen:
            abar, snr = sched.alphas_cumprod, sched.signal_to_noise()
            x0_flat = x0.flatten()
            for t, x in zip(ts, noised, strict=True):
                rms = float(((x.clamp(-1, 1) - x0[0]) * 127.5).pow(2).mean().sqrt())
                corr = float(np.corrcoef(x0_flat.numpy(), x.flatten().numpy())[0, 1])
                shown.append({"t": t, "signal_share": round(float(abar[t]), 6),
                              "snr": round(float(snr[t]), 6),
                              "psnr": round(20 * np.log10(255 / max(rms, 1e-9)), 2),
                              "correlation": round(corr, 4)})  # fmt: skip
            last = noised[-1]
    half = {s.kind: int((s.alphas_cumprod < 0.5).nonzero()[0]) for s in schedules}
    with RunDir.create(out, kind="diffusion-forward", overwrite=overwrite) as rd:
        rd.write_config({"source": source, "schedule": schedule, "steps": steps, "show": show,
                         "seed": seed}, kind="diffusion-forward")  # fmt: skip
        cells = [im for _, group in rows for im in group]
        titles = [f"t={t}" for t in ts] * len(rows)
        fig = F.image_grid(cells, ncols=len(ts), titles=titles, cell=1.5,
                           row_labels=[k for k, _ in rows],
                           suptitle=f"{name}: the forward process (one noise image, rising t)")  # fmt: skip
        figs = [rd.save_figure(fig, "forward"),
                rd.save_figure(plot_schedules(schedules), "schedules")]  # fmt: skip
        gif_ts = np.unique(np.linspace(0, steps - 1, GIF_FRAMES).round().astype(int)).tolist()
        frames = _to_uint8(_noised(chosen, x0, gif_ts, seed))
        frames = frames[..., 0] if frames.shape[-1] == 1 else frames
        figs.append(save_gif(list(frames), rd.figures / "forward.gif", ms=120))
        metrics = {
            "source": name, "schedule": schedule, "steps": steps, "shown": shown,
            "x_T": {"mean": round(float(last.mean()), 4), "std": round(float(last.std()), 4)},
            "half_signal_step": half,
            "note": "signal_share is abar_t, the share of the image's power left at step t "
                    "(x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise); half_signal_step is the "
                    "first step where less than half is left",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        return metrics
