"""Data-parallel training under torchrun: two CPU processes on this machine train like one
process on the same global batch, only rank 0 writes, and a killed run resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from pixelab import PixelabError
from pixelab.train.distributed import Group, check_batch, from_env, torchrun_command
from tests.cli.test_cli import cli


def test_a_group_shards_batches_and_refuses_an_uneven_split(monkeypatch):
    g = Group(rank=1, world=2, local_rank=1)
    assert not g.main and g.shard(torch.arange(8)).tolist() == [1, 3, 5, 7]
    assert Group(rank=0, world=3, local_rank=0).shard(list(range(7))) == [0, 3, 6]
    check_batch(64, g)
    check_batch(63, None)  # alone: anything goes
    with pytest.raises(PixelabError, match="--batch-size 63 does not split over 2 processes"):
        check_batch(63, g)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert from_env() is None  # started alone: no group
    cmd = torchrun_command(2, ["cnn", "train", "--out", "x"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    assert cmd[-5:] == ["-m", "pixelab", "cnn", "train", "--out", "x"][-5:]


def _train(out, *extra, nproc: int | None = None) -> tuple[int, str, str]:
    args = [sys.executable, "-m", "pixelab", "cnn", "train", "--data", "digits", "--epochs", "3",
            "--batch-size", "64", "--out", str(out), "--json", *extra]  # fmt: skip
    if nproc:
        args += ["--nproc", str(nproc)]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    p = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    return p.returncode, p.stdout, p.stderr


def test_two_processes_train_like_one_and_only_rank_0_writes(tmp_path):
    code, out, err = _train(tmp_path / "one")
    assert code == 0, err
    alone = json.loads(out)
    code, out, err = _train(tmp_path / "two", nproc=2)
    assert code == 0, err
    two = json.loads(out)  # one JSON document on stdout: rank 1 printed nothing
    assert two["processes"] == 2 and alone["processes"] == 1
    assert two["epochs"] == 3 and two["history"][-1]["train_accuracy"] > 0.5
    # the same global batch of 64 (32 per process): the same accuracy within noise
    assert abs(two["accuracy"] - alone["accuracy"]) < 0.08, (two["accuracy"], alone["accuracy"])
    files = {p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*")}
    assert {p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*")} == files


def test_a_killed_run_resumes_under_torchrun(capsys, tmp_path):
    run = tmp_path / "killed"
    args = [sys.executable, "-m", "pixelab", "cnn", "train", "--data", "digits", "--epochs", "40",
            "--out", str(run), "--nproc", "2"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)  # fmt: skip
    t0 = time.time()
    while not (run / "checkpoint.json").is_file() and time.time() - t0 < 300:
        time.sleep(0.2)
    time.sleep(1.0)
    # mid-training, kill everything: the launcher, torchrun and both training processes (the
    # processes torchrun starts live in sessions of their own, so match them by the run folder)
    subprocess.run(["pkill", "-KILL", "-f", str(run)], check=False)
    p.wait()
    assert (run / "checkpoint.json").is_file() and not (run / "metrics.json").is_file()
    done = json.loads((run / "checkpoint.json").read_text())["epoch"] + 1
    assert done < 40
    resume = [sys.executable, "-m", "pixelab", "cnn", "train", "--out", str(run), "--resume",
              "--nproc", "2", "--json"]  # fmt: skip
    r = subprocess.run(resume, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["epochs"] == 40 and m["processes"] == 2 and m["history"][-1]["epoch"] == 40
    assert len(m["history"]) == 40  # the epochs before the kill are kept, not trained again
    code, _, err = cli(capsys, "cnn", "train", "--resume", "--nproc", "2")
    assert code == 2 and "--resume needs --out" in err
