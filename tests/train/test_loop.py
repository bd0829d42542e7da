from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from pixelab import PixelabError
from pixelab.data import load_digits, split
from pixelab.train import TrainConfig, fit, predict_logits
from pixelab.train.loop import _make_scheduler


class Tiny(nn.Module):
    """A small conv net with the attributes fit() checks."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        self.body = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.1))  # fmt: skip
        self.head = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@pytest.fixture(scope="module")
def digits():
    return split(load_digits(), test_size=0.25, seed=0)


def small_cfg(**kw) -> TrainConfig:
    base = {
        "epochs": 3,
        "batch_size": 64,
        "lr": 1e-2,
        "bf16": False,
        "augment": "shift",
        "shift": 1,
    }
    return TrainConfig(**{**base, **kw})


def test_loss_falls_and_accuracy_beats_chance(digits):
    train, test = digits
    torch.manual_seed(0)
    model = Tiny()
    result = fit(model, train, val=test, config=small_cfg(epochs=4))
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert result.history[-1]["val_accuracy"] > 0.6  # chance is 0.1
    acc = (predict_logits(model, test.images).argmax(1) == test.labels).mean()
    assert acc == pytest.approx(result.history[-1]["val_accuracy"], abs=1e-4)
    assert result.finished and result.samples_per_second > 0


def _weights(model: nn.Module) -> list[np.ndarray]:
    return [v.detach().numpy().copy() for v in model.state_dict().values()]


def test_interrupted_then_resumed_equals_uninterrupted(digits, tmp_path):
    train, _ = digits
    torch.manual_seed(0)
    straight = Tiny()
    fit(straight, train, config=small_cfg(), checkpoint_dir=tmp_path / "a")

    def interrupt(task: str, done: int, total: int) -> None:
        if task.startswith("epoch 3/"):
            raise KeyboardInterrupt

    torch.manual_seed(0)
    first = Tiny()
    partial = fit(
        first, train, config=small_cfg(), checkpoint_dir=tmp_path / "b", progress=interrupt
    )
    assert not partial.finished and len(partial.history) == 2
    resumed = Tiny()  # a fresh process would rebuild the model and load the checkpoint
    result = fit(resumed, train, config=small_cfg(), checkpoint_dir=tmp_path / "b", resume=True)
    assert result.finished and len(result.history) == 3
    for a, b in zip(_weights(straight), _weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(list((tmp_path / "b").glob("checkpoint-e*.safetensors"))) == 1


def test_resume_errors(digits, tmp_path):
    train, _ = digits
    with pytest.raises(PixelabError, match="nothing to resume"):
        fit(Tiny(), train, config=small_cfg(), checkpoint_dir=tmp_path, resume=True)
    done = fit(Tiny(), train, config=small_cfg(epochs=1), checkpoint_dir=tmp_path)
    # a finished checkpoint trains no further: the same history and the final weights come back
    again = fit(Tiny(), train, config=small_cfg(epochs=1), checkpoint_dir=tmp_path, resume=True)
    assert again.finished and again.history == done.history
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    state["finished"] = False
    (tmp_path / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(PixelabError, match="changed: lr"):
        fit(Tiny(), train, config=small_cfg(epochs=1, lr=0.5), checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(PixelabError, match="does not fit this model"):
        fit(
            Tiny(num_classes=12),
            train,
            config=small_cfg(epochs=1),
            checkpoint_dir=tmp_path,
            resume=True,
        )
    (tmp_path / state["tensors"]).write_bytes(b"garbage")
    with pytest.raises(PixelabError, match="corrupt"):
        fit(Tiny(), train, config=small_cfg(epochs=1), checkpoint_dir=tmp_path, resume=True)
    state["version"] = 99
    (tmp_path / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(PixelabError, match="newer pixelab"):
        fit(Tiny(), train, config=small_cfg(epochs=1), checkpoint_dir=tmp_path, resume=True)


def test_wrong_model_data_pairings(digits):
    train, _ = digits
    with pytest.raises(PixelabError, match="3-channel images but the data has 1"):
        fit(Tiny(in_channels=3), train, config=small_cfg())
    with pytest.raises(PixelabError, match="predicts 5 classes"):
        fit(Tiny(num_classes=5), train, config=small_cfg())
    with pytest.raises(PixelabError, match="needs a validation set"):
        fit(Tiny(), train, config=small_cfg(patience=1))
    with pytest.raises(PixelabError, match="unknown --optimizer"):
        fit(Tiny(), train, config=small_cfg(optimizer="lion"))


def test_early_stopping_keeps_the_best_epoch(digits):
    train, test = digits
    torch.manual_seed(0)
    model = Tiny()
    # a huge learning rate makes validation accuracy wander; patience 1 stops at the first dip
    result = fit(
        model, train, val=test, config=small_cfg(epochs=12, lr=0.3, schedule="constant", patience=1)
    )
    accs = [h["val_accuracy"] for h in result.history]
    # whatever path accuracy takes, the result must agree with it exactly
    assert result.best_epoch == int(np.argmax(accs))  # the first epoch with the top accuracy
    stops_at = result.best_epoch + 2  # patience 1: one epoch without improvement
    assert result.stopped_early == (stops_at <= 12)
    assert len(accs) == min(stops_at, 12)
    acc = (predict_logits(model, test.images).argmax(1) == test.labels).mean()
    assert acc == pytest.approx(accs[result.best_epoch], abs=1e-4)


@pytest.mark.parametrize(
    ("patience", "average", "epochs_run"),
    [(1, 0.998, 3), (2, 0.998, 4), (2, 0.0, 4), (3, 0.0, 5)],
)
def test_early_stopping_with_scripted_validation(
    digits, tmp_path, monkeypatch, patience, average, epochs_run
):
    import pixelab.train.loop as loop
    from pixelab.train.checkpoint import BEST, load_weights

    train, test = digits
    # epoch:        1    2    3    4    5    6    7    8 ...  -> epoch 2 (index 1) is the best
    scripted = iter([0.5, 0.7, 0.6, 0.6, 0.7, 0.65, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    seen: list[dict[str, torch.Tensor]] = []  # what was validated, epoch by epoch

    def fake_evaluate(kept, x_all, y_all, dev, cfg, bf16):
        seen.append({k: v.detach().clone() for k, v in kept.state_dict().items()})
        return 1.0, next(scripted)

    monkeypatch.setattr(loop, "_evaluate", fake_evaluate)
    torch.manual_seed(0)
    model = Tiny()
    cfg = small_cfg(epochs=12, schedule="constant", patience=patience, average=average)
    result = fit(model, train, val=test, config=cfg, checkpoint_dir=tmp_path)

    assert result.stopped_early is True and result.finished is True
    assert len(result.history) == len(seen) == epochs_run
    assert [h["epoch"] for h in result.history] == list(range(1, epochs_run + 1))
    assert result.best_epoch == 1  # 0-based: the second epoch, accuracy 0.7 (0.7 later is no gain)
    best = seen[1]
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, best[k], rtol=0, atol=0)  # the best epoch's weights
    assert not torch.equal(seen[-1]["head.weight"], best["head.weight"])  # so they were restored
    saved = load_weights(tmp_path / BEST)
    assert saved.keys() == best.keys()
    for k, v in saved.items():
        torch.testing.assert_close(v, best[k], rtol=0, atol=0)
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["finished"] is True and state["epoch"] == epochs_run - 1
    assert state["best_epoch"] == 1


def test_read_only_images_train_without_warnings():
    from pixelab.data.tensors import to_tensor_uint8

    images = np.zeros((4, 8, 8, 1), np.uint8)
    images.flags.writeable = False  # like np.frombuffer over an idx file
    t = to_tensor_uint8(images)
    t += 1  # the tensor owns its memory
    assert images.max() == 0 and t.shape == (4, 1, 8, 8)


def test_auto_augmentation_depends_on_the_training_set_size(digits, monkeypatch):
    import pixelab.train.loop as loop

    train, _ = digits
    result = fit(Tiny(), train, config=small_cfg(epochs=1, augment="auto"))
    assert result.augment == "shift+flip"  # ~1,300 images: few, so shifts and flips
    monkeypatch.setattr(loop, "AUTO_AUGMENT_BELOW", 100)
    result = fit(Tiny(), train, config=small_cfg(epochs=1, augment="auto"))
    assert result.augment == "shift"
    assert fit(Tiny(), train, config=small_cfg(epochs=1, augment="none")).augment == "none"


def _translated(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``img`` (C, H, W) with out[:, r, c] = img[:, r + dy, c + dx], zeros outside."""
    out = np.zeros_like(img)
    _, h, w = img.shape
    for r in range(h):
        for c in range(w):
            if 0 <= r + dy < h and 0 <= c + dx < w:
                out[:, r, c] = img[:, r + dy, c + dx]
    return out


@pytest.mark.parametrize(("augment", "shift"), [("shift", 1), ("shift", 2), ("shift+flip", 2),
                                                ("shift+flip", 0), ("shift", 0)])  # fmt: skip
def test_augment_shifts_with_zero_fill_and_flips_exactly(augment, shift):
    from pixelab.train.loop import _augment

    b, c, h, w = 300, 3, 5, 7  # not square, several channels: rows, columns, channels kept apart
    x = torch.arange(1, b * c * h * w + 1, dtype=torch.float32).reshape(b, c, h, w)  # all distinct
    out = _augment(x.clone(), augment, shift, torch.Generator().manual_seed(7))
    assert out.shape == x.shape and out.dtype == x.dtype
    # every item is its input moved by one offset in [-shift, shift]^2 with zeros shifted in,
    # then (shift+flip only) maybe mirrored left-right -- and nothing else
    offsets = [(dy, dx) for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1)]
    found = []
    for i in range(b):
        img, got = x[i].numpy(), out[i].numpy()
        matches = [
            (dy, dx, flipped)
            for dy, dx in offsets
            for flipped in ((False, True) if augment == "shift+flip" else (False,))
            if np.array_equal(got, _translated(img, dy, dx)[..., ::-1] if flipped else
                              _translated(img, dy, dx))
        ]  # fmt: skip
        assert len(matches) == 1, f"item {i} is not a shifted (flipped) copy of its input"
        found.append(matches[0])
    assert {(dy, dx) for dy, dx, _ in found} == set(offsets)  # every offset is drawn
    flips = np.array([f for _, _, f in found])
    if augment == "shift+flip":
        assert 0.3 < flips.mean() < 0.7  # about half are mirrored

    # the known answer: the offsets and flips are the draws of the seeded generator
    gen = torch.Generator().manual_seed(7)
    want = x.clone()
    if shift > 0:
        oy = torch.randint(0, 2 * shift + 1, (b,), generator=gen) - shift
        ox = torch.randint(0, 2 * shift + 1, (b,), generator=gen) - shift
        assert [(dy, dx) for dy, dx, _ in found] == list(zip(oy.tolist(), ox.tolist(), strict=True))
        want = torch.stack([torch.from_numpy(_translated(x[i].numpy(), int(oy[i]), int(ox[i])))
                            for i in range(b)])  # fmt: skip
    if augment == "shift+flip":
        flip = torch.rand(b, generator=gen) < 0.5
        assert flips.tolist() == flip.tolist()
        want[flip] = want[flip].flip(-1)
    torch.testing.assert_close(out, want, rtol=0, atol=0)
    again = _augment(x.clone(), augment, shift, torch.Generator().manual_seed(7))
    torch.testing.assert_close(again, out, rtol=0, atol=0)  # same seed, same batch


def test_augment_none_returns_the_batch_unchanged():
    from pixelab.train.loop import _augment

    x = torch.rand(4, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    state = gen.get_state()
    out = _augment(x.clone(), "none", 2, gen)
    torch.testing.assert_close(out, x, rtol=0, atol=0)
    assert torch.equal(gen.get_state(), state)  # no random numbers drawn


def test_the_weight_average_is_validated_saved_and_returned(digits, tmp_path):
    from safetensors.torch import load_file

    train, test = digits
    torch.manual_seed(0)
    model = Tiny()
    result = fit(model, train, val=test, config=small_cfg(average=0.9), checkpoint_dir=tmp_path)
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    saved = load_file(str(tmp_path / state["tensors"]))
    raw = {k[6:]: v for k, v in saved.items() if k.startswith("model.")}
    averaged = {k[8:]: v for k, v in saved.items() if k.startswith("average.")}
    assert raw.keys() == averaged.keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, averaged[k])  # the model ends holding the average
    assert not torch.equal(raw["head.weight"], averaged["head.weight"])
    acc = (predict_logits(model, test.images).argmax(1) == test.labels).mean()
    assert acc == pytest.approx(result.history[-1]["val_accuracy"], abs=1e-4)
    with pytest.raises(PixelabError, match="weight-average decay"):
        small_cfg(average=1.0).check()

    torch.manual_seed(0)
    plain = Tiny()
    fit(plain, train, config=small_cfg(average=0.0), checkpoint_dir=tmp_path / "plain")
    state = json.loads((tmp_path / "plain" / "checkpoint.json").read_text())
    assert not any(
        k.startswith("average.") for k in load_file(str(tmp_path / "plain" / state["tensors"]))
    )
    torch.testing.assert_close(plain.state_dict()["head.weight"], raw["head.weight"])


def test_a_run_saved_before_weight_averaging_resumes_as_it_trained(digits, tmp_path):
    train, _ = digits

    def interrupt(task: str, done: int, total: int) -> None:
        if task.startswith("epoch 2/"):
            raise KeyboardInterrupt

    old = small_cfg(epochs=2, average=0.0)
    fit(Tiny(), train, config=old, checkpoint_dir=tmp_path, progress=interrupt)
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    del state["config"]["average"]  # as written before the option existed
    (tmp_path / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(PixelabError, match="changed: average"):
        fit(Tiny(), train, config=small_cfg(epochs=2), checkpoint_dir=tmp_path, resume=True)
    result = fit(Tiny(), train, config=old, checkpoint_dir=tmp_path, resume=True)
    assert result.finished and len(result.history) == 2


def test_precision_is_chosen_per_machine_unless_asked(monkeypatch, digits):
    from pixelab.train import embeddings
    from pixelab.train.loop import choose_precision

    cpu = torch.device("cpu")
    assert choose_precision(True, cpu) == {"bf16": True, "asked": "--bf16", "why": "asked for"}
    assert choose_precision(False, cpu)["bf16"] is False
    monkeypatch.setattr(embeddings, "native_bf16", lambda: True)
    auto = choose_precision(None, cpu)
    assert auto["bf16"] is True and auto["asked"] == "auto" and "AMX" in auto["why"]
    monkeypatch.setattr(embeddings, "native_bf16", lambda: False)
    assert choose_precision(None, cpu)["bf16"] is False
    train, _ = digits
    result = fit(Tiny(), train, config=small_cfg(epochs=1, bf16=None))
    assert result.precision == choose_precision(None, cpu)  # what was chosen is reported


def test_steps_end_training_mid_epoch_with_the_schedule_planned_for_them(digits):
    train, _ = digits
    per_epoch = len(train) // 64
    steps = per_epoch + 9
    result = fit(Tiny(), train, config=small_cfg(steps=steps, epochs=1))  # steps win over epochs
    assert len(result.history) == 2 and result.samples_seen == steps * 64
    # the schedule was planned for exactly these steps (at its end), not for 2 whole epochs

    def lr_after(total: int) -> float:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-2)
        sched = _make_scheduler(opt, small_cfg(), total)
        for _ in range(steps):
            opt.step()
            sched.step()
        return round(opt.param_groups[0]["lr"], 5)

    assert result.history[-1]["lr"] == lr_after(steps) < lr_after(2 * per_epoch) / 10


def test_a_budget_plans_the_steps_without_touching_the_model(digits, monkeypatch):
    from pixelab.train import loop

    monkeypatch.setattr(loop, "REPLAN_SHARE", 0)  # the probe's plan alone, repeated exactly
    train, _ = digits
    torch.manual_seed(0)
    planned = Tiny()
    budget = fit(planned, train, config=small_cfg(budget_s=0.5))
    plan = budget.plan
    assert plan["budget_s"] == 0.5 and plan["probe_seconds_per_step"] > 0
    assert plan["steps"] == max(1, int(0.95 * 0.5 / plan["probe_seconds_per_step"]))
    assert budget.samples_seen == plan["steps"] * 64
    torch.manual_seed(0)
    fixed = Tiny()
    fit(fixed, train, config=small_cfg(steps=plan["steps"]))  # what --steps N repeats
    for a, b in zip(_weights(planned), _weights(fixed), strict=True):
        np.testing.assert_array_equal(a, b)  # the timed steps ran on a copy


def test_a_budgeted_run_resumes_with_the_steps_it_planned(digits, tmp_path, monkeypatch):
    from pixelab.train import loop

    train, _ = digits
    per_epoch = len(train) // 64
    monkeypatch.setattr(loop, "_seconds_per_step", lambda *a, **k: 0.01)
    monkeypatch.setattr(loop, "REPLAN_SHARE", 0)  # the probe's plan alone
    cfg = small_cfg(budget_s=0.01 * (2 * per_epoch + 5) / 0.95 + 0.001)
    torch.manual_seed(0)
    straight = Tiny()
    done = fit(straight, train, config=cfg, checkpoint_dir=tmp_path / "a")
    assert done.plan["steps"] == 2 * per_epoch + 5 and len(done.history) == 3

    def interrupt(task: str, step: int, total: int) -> None:
        if task.startswith("epoch 2/"):
            raise KeyboardInterrupt

    torch.manual_seed(0)
    fit(Tiny(), train, config=cfg, checkpoint_dir=tmp_path / "b", progress=interrupt)
    monkeypatch.setattr(loop, "_seconds_per_step", lambda *a, **k: 1.0)  # a slower machine
    resumed = Tiny()
    again = fit(resumed, train, config=cfg, checkpoint_dir=tmp_path / "b", resume=True)
    assert again.plan["steps"] == done.plan["steps"] and len(again.history) == 3
    for a, b in zip(_weights(straight), _weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_budgeted_run_plans_again_when_its_steps_run_slower_than_the_probe(digits, tmp_path,
                                                                         monkeypatch):  # fmt: skip
    from pixelab.train import loop
    from pixelab.train.checkpoint import STATE

    train, _ = digits
    per_epoch = len(train) // 64
    real = loop._seconds_per_step
    # a probe that claims steps 20x faster than they are: 20x too many steps planned
    monkeypatch.setattr(loop, "_seconds_per_step", lambda *a, **k: real(*a, **k) / 20)
    torch.manual_seed(0)
    result = fit(Tiny(), train, config=small_cfg(budget_s=1.0), checkpoint_dir=tmp_path)
    plan = result.plan
    again = plan["replanned"]
    assert again["after_steps"] == min(per_epoch, max(20, int(0.1 * again["steps_before"])))
    assert plan["steps"] < again["steps_before"] / 4  # the run's own pace set the length
    assert result.samples_seen == plan["steps"] * 64
    assert len(result.history) == math.ceil(plan["steps"] / per_epoch)
    saved = json.loads((tmp_path / STATE).read_text())["config"]
    assert saved["steps"] == plan["steps"]  # what --resume continues
    ratio = result.history[-1]["lr"] / result.history[0]["lr"]
    assert ratio < 0.1  # the schedule of the new plan ran to its end (annealed)


def test_test_time_augmentation_averages_the_shifted_views(digits):
    from pixelab.train.loop import tta_views

    x = torch.arange(2 * 1 * 4 * 5, dtype=torch.float32).reshape(2, 1, 4, 5) + 1
    views = tta_views(x, "shift")
    assert len(views) == 5 and torch.equal(views[0], x)
    down = views[1]  # content one row lower, a zero row on top
    assert torch.equal(down[..., 1:, :], x[..., :-1, :]) and not down[..., 0, :].any()
    left = views[4]
    assert torch.equal(left[..., :, :-1], x[..., :, 1:]) and not left[..., :, -1].any()
    mirrored = tta_views(x, "shift+flip")
    assert len(mirrored) == 10 and torch.equal(mirrored[5], x.flip(-1))

    train, test = digits
    model = Tiny()
    fit(model, train, config=small_cfg(epochs=1))
    images = test.images[:20]
    got = predict_logits(model, images, tta="shift")
    xs = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        want = torch.stack([model(v).softmax(1) for v in tta_views(xs, "shift")]).mean(0).log()
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
    assert np.array_equal(predict_logits(model, images, tta="none"), predict_logits(model, images))
    with pytest.raises(PixelabError, match="--tta"):
        predict_logits(model, images, tta="rotate")
