"""Adversarial attacks: agree with torchattacks, eps 0 changes nothing, PGD <= FGSM <= clean."""

from __future__ import annotations

import json

import pytest
import torch

from pixelab import PixelabError
from pixelab.train.attacks import attack, fgsm, pgd
from tests.cli.test_cli import cli
from tests.robust.test_sweep import shapes_run  # noqa: F401  (a shared fixture)


@pytest.fixture(scope="module")
def model_and_batch(shapes_run):  # noqa: F811
    from pixelab.apps.cnn import load_run_data, load_run_model

    model, meta = load_run_model(shapes_run, device="cpu")
    ds = load_run_data(meta, "shapes")
    x = torch.from_numpy(ds.images[:64].transpose(0, 3, 1, 2).copy()).float() / 255
    return model.eval(), x, torch.from_numpy(ds.labels[:64])


def test_fgsm_and_pgd_agree_with_torchattacks(model_and_batch):
    torchattacks = pytest.importorskip("torchattacks")
    model, x, y = model_and_batch
    eps = 8 / 255
    ours = fgsm(model, x, y, eps)
    theirs = torchattacks.FGSM(model, eps=eps)(x, y)
    assert torch.allclose(ours, theirs, atol=1e-6)
    ours = pgd(model, x, y, eps, alpha=2 / 255, steps=5)
    theirs = torchattacks.PGD(model, eps=eps, alpha=2 / 255, steps=5, random_start=False)(x, y)
    assert (ours - theirs).abs().max() < 1e-5
    with torch.no_grad():
        assert torch.equal(model(ours).argmax(1), model(theirs).argmax(1))


def test_eps_zero_changes_nothing_and_pgd_hurts_at_least_as_much(model_and_batch):
    model, x, y = model_and_batch
    assert torch.equal(fgsm(model, x, y, 0.0), x) and torch.equal(pgd(model, x, y, 0.0), x)
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).float().mean()
        for eps in (2 / 255, 8 / 255):
            f = (model(fgsm(model, x, y, eps)).argmax(1) == y).float().mean()
            p = (model(pgd(model, x, y, eps, steps=10)).argmax(1) == y).float().mean()
            assert p <= f <= clean
    adv = pgd(model, x, y, 4 / 255, random_start=True, generator=torch.Generator().manual_seed(0))
    assert (adv - x).abs().max() <= 4 / 255 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert all(p.grad is None for p in model.parameters())  # the weights were left alone
    for bad, msg in [(lambda: fgsm(model, x, y, 2.0), r"eps must lie in \[0, 1\]"),
                     (lambda: attack(model, x, y, "cw", 0.1), "unknown attack 'cw'"),
                     (lambda: pgd(model, x, y, 0.1, steps=0), "at least one step")]:  # fmt: skip
        with pytest.raises(PixelabError, match=msg):
            bad()


def test_robust_attack_on_a_run(capsys, shapes_run, tmp_path):  # noqa: F811
    out = tmp_path / "attack"
    code, stdout, err = cli(capsys, "robust", "attack", str(shapes_run), "--data", "shapes",
                            "--eps", "0,2,8", "--steps", "3", "--limit", "60", "--out", str(out),
                            "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    fg = [r["accuracy"] for r in m["curves"]["fgsm"]]
    pg = [r["accuracy"] for r in m["curves"]["pgd"]]
    assert fg[0] == pg[0] == m["clean_accuracy"] and pg[-1] <= fg[-1] <= fg[0]
    assert {p.name for p in (out / "figures").iterdir()} == {"attack.png", "adversarial.png"}
    for extra, msg in [(["--method", "cw"], "unknown attack 'cw'"),
                       (["--eps", "300"], "--eps must be pixel levels"),
                       (["--eps", "a"], "--eps must be numbers")]:  # fmt: skip
        code, _, err = cli(capsys, "robust", "attack", str(shapes_run), "--data", "shapes",
                           *extra, "--out", str(tmp_path / "bad"))  # fmt: skip
        assert code == 2 and msg in err and not (tmp_path / "bad").exists()


def test_an_attack_needs_a_neural_network_run(capsys, tmp_path):
    run = tmp_path / "classic"
    code, _, err = cli(capsys, "classic", "train", "--data", "digits", "--out", str(run))
    assert code == 0, err
    code, _, err = cli(capsys, "robust", "attack", str(run), "--data", "digits")
    assert code == 2 and "not a 'cnn' or 'transfer' run" in err
