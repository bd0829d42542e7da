"""The ablation: one run per policy, measured side by side, reused when run again."""

from __future__ import annotations

import json

from tests.cli.test_cli import cli
from tests.cli.test_cli_runs import _colour_folder


def test_robust_ablate_measures_each_policy_and_reuses_its_runs(capsys, monkeypatch, tmp_path):
    import pixelab.apps.cnn as apps_cnn

    out = tmp_path / "ablate"
    data = _colour_folder(tmp_path / "imgs", per_class=12)  # small and quick to load
    args = ["robust", "ablate", "--data", str(data), "--policies", "none,rotate:30",
            "--epochs", "2", "--eval-limit", "24", "--out", str(out), "--json"]  # fmt: skip
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    m = json.loads(stdout)
    assert list(m["policies"]) == ["none", "rotate:30"] and m["baseline_policy"] == "none"
    none, rot = m["policies"]["none"], m["policies"]["rotate:30"]
    assert none["mce"] == 1.0 and rot["mce"] > 0 and 0 <= rot["pgd_8"] <= rot["pgd_2"] <= 1
    assert {"sweeps.png", "ablation.png"} <= {p.name for p in (out / "figures").iterdir()}
    config = json.loads((out / "runs" / "rotate-30" / "config.json").read_text())
    assert config["augment"] == "rotate:30"

    def no_training(*a, **k):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(apps_cnn, "train_cnn", no_training)
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    assert json.loads(stdout)["policies"]["none"]["accuracy"] == none["accuracy"]
    monkeypatch.undo()
    code, _, err = cli(
        capsys, "compare", str(out / "runs" / "none"), str(out / "runs" / "rotate-30")
    )
    assert code == 0, err


def test_robust_ablate_bad_options(capsys, tmp_path):
    out = tmp_path / "bad"
    for policies, msg in [("none", "at least two policies"), ("none,spin", "unknown augmentation")]:
        code, _, err = cli(capsys, "robust", "ablate", "--data", "shapes", "--policies", policies,
                           "--out", str(out))  # fmt: skip
        assert code == 2 and msg in err and not out.exists()


def test_robust_ablate_on_a_time_budget_plans_epochs_per_policy(capsys, monkeypatch, tmp_path):
    import pixelab.apps.robust as robust

    out = tmp_path / "budget"
    data = _colour_folder(tmp_path / "imgs", per_class=12)
    real = robust.epochs_for_budget
    measured = []

    def counted(config, budget_s, progress=None):
        measured.append(config.augment)
        return real(config, budget_s, progress)

    monkeypatch.setattr(robust, "epochs_for_budget", counted)
    args = ["robust", "ablate", "--data", str(data), "--policies", "none,adversarial",
            "--budget-s", "0.2", "--eval-limit", "24", "--out", str(out), "--json"]  # fmt: skip
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    m = json.loads(stdout)
    assert m["budget_s"] == 0.2 and set(m["plan"]) == {"none", "adversarial"}
    for policy, row in m["policies"].items():
        plan = m["plan"][policy]
        assert row["epochs"] == plan["epochs"] >= 1 and plan["epoch_seconds"] > 0
        seconds = plan["epoch_seconds"]  # as many epochs as fit in the budget, at least one
        assert plan["epochs"] == 1 or abs(plan["epochs"] * seconds - 0.2) <= seconds * 1.01
    assert measured == ["none", "adversarial"]  # each policy's epochs were timed with it
    code, _, err = cli(capsys, *args)  # run again: the finished runs are reused as planned
    assert code == 0, err
    assert len(measured) == 2  # the plan was kept, not measured again
    code, _, err = cli(capsys, "robust", "ablate", "--data", str(data), "--epochs", "2",
                       "--budget-s", "10", "--out", str(tmp_path / "both"))  # fmt: skip
    assert code == 2 and "--epochs or --budget-s, not both" in err
