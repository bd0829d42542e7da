"""Editing with a denoiser: prompts matched to classes, inpainting that keeps the known pixels
exactly and fills the rest to fit them, image-to-image by strength, and the guidance sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pixelab import PixelabError
from pixelab.data.fashion_mnist import CLASSES as FASHION
from pixelab.generate.diffusion import NoiseSchedule, renoise, sample_loop
from pixelab.generate.prompt import match_prompt
from tests.cli.test_cli import cli

SCHEDULE = NoiseSchedule("cosine", 1000)


def two_image_oracle(levels=(0.5, -0.5)):
    """The exact noise predictor for data of two flat images (every pixel +0.5, or every pixel
    -0.5): it weighs both by how well they explain x_t."""

    def eps_fn(x, t):
        abar = SCHEDULE.alphas_cumprod[t].view(-1, 1, 1, 1)
        logp = torch.stack([-((x - abar.sqrt() * v) ** 2).flatten(1).sum(1) / (2 * (1 - abar.flatten()))
                            for v in levels], 1)  # fmt: skip
        w = logp.softmax(1).view(-1, len(levels), 1, 1, 1)
        x0 = (w * torch.tensor(levels).view(1, -1, 1, 1, 1)).sum(1)
        return (x - abar.sqrt() * x0) / (1 - abar).sqrt()

    return eps_fn


def test_inpainting_keeps_known_pixels_exactly_and_fills_to_fit_them():
    known = torch.full((8, 1, 8, 8), 0.5)
    known[..., 2:6, 2:6] = -1.0  # the hole holds something else; it must not leak
    keep = torch.ones(1, 1, 8, 8)
    keep[..., 2:6, 2:6] = 0
    calls = []

    def counted(x, t):
        calls.append(1)
        return two_image_oracle()(x, t)

    x, _ = sample_loop(counted, (8, 1, 8, 8), SCHEDULE, steps=20, sampler="ddpm", known=known,
                       mask=keep, resample=3, seed=0)  # fmt: skip
    assert torch.equal(x[keep.expand_as(x) > 0], known[keep.expand_as(known) > 0])
    hole = x[..., 2:6, 2:6]
    assert float((hole - 0.5).abs().mean()) < 0.05  # the fill agrees with the kept part
    assert len(calls) == 19 * 3 + 1  # every step but the last redone three times
    again, _ = sample_loop(two_image_oracle(), (8, 1, 8, 8), SCHEDULE, steps=20, sampler="ddpm",
                           known=known, mask=keep, resample=3, seed=0)  # fmt: skip
    assert torch.equal(x, again)


def test_image_to_image_strength_0_returns_the_input_and_runs_its_share_of_the_steps():
    init = torch.rand(2, 1, 8, 8) * 2 - 1
    calls = []

    def eps(x, t):
        calls.append(int(t[0]))
        return torch.zeros_like(x)

    same, _ = sample_loop(eps, init.shape, SCHEDULE, steps=20, init=init, strength=0)
    assert torch.equal(same, init) and not calls
    sample_loop(eps, init.shape, SCHEDULE, steps=20, init=init, strength=0.5)
    assert len(calls) == 10 and calls[0] < 500
    # denoised by the oracle of its own flat image, a lightly noised image comes back
    flat = torch.full((2, 1, 8, 8), -0.5)
    back, _ = sample_loop(two_image_oracle(), flat.shape, SCHEDULE, steps=20, init=flat,
                          strength=0.3)  # fmt: skip
    assert float((back - flat).abs().max()) < 0.05
    with pytest.raises(PixelabError, match="--strength must lie"):
        sample_loop(eps, init.shape, SCHEDULE, init=init, strength=1.5)


def test_renoise_steps_up_as_the_forward_process_does():
    x0 = torch.full((20000,), 0.7)
    prev = SCHEDULE.add_noise(x0, torch.randn(20000), torch.full((20000,), 300))
    up = renoise(prev, 300, 600, SCHEDULE, torch.randn(20000))
    abar = float(SCHEDULE.alphas_cumprod[600])
    assert abs(float(up.mean()) - abar**0.5 * 0.7) < 0.02
    assert abs(float(up.var()) - (1 - abar)) < 0.02


@pytest.mark.parametrize(
    ("prompt", "name", "how", "unused"),
    [
        ("an ankle boot", "Ankle boot", "exact", ()),
        ("Two ankle boots on a table", "Ankle boot", "plural", ("two", "on", "table")),
        ("a cosy jumper", "Pullover", "synonym", ("cosy",)),
        ("a boot", "Ankle boot", "synonym", ()),
        ("t-shirt", "T-shirt/top", "exact", ()),
        ("a red sandle", "Sandal", "nearest", ("red",)),
        ("trousers", "Trouser", "plural", ()),
    ],
)
def test_prompts_match_a_class_and_report_the_words_left_unused(prompt, name, how, unused):
    m = match_prompt(prompt, FASHION)
    assert (m.name, m.how, m.unused) == (name, how, unused)
    assert FASHION[m.index] == name and name in m.describe()


def test_prompts_that_name_no_class_or_two_are_refused_with_the_classes():
    for prompt, msg in [("a banana", "matches none"), ("a coat and a bag", "more than one class"),
                        ("the", "names nothing")]:  # fmt: skip
        with pytest.raises(PixelabError, match=msg) as e:
            match_prompt(prompt, FASHION)
        assert "Sneaker" in str(e.value.hint) or "one class" in str(e.value.hint)
    assert match_prompt("a seven", [str(i) for i in range(10)]).name == "7"


TINY = ["--data", "digits", "--size", "16", "--limit", "320", "--width", "8", "--batch-size",
        "32", "--steps", "100", "--eval-samples", "40", "--epochs", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One tiny digits denoiser (its judge in a private cache) for the edit verbs."""
    from pixelab.cli.main import run

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        out = tmp_path_factory.mktemp("edit") / "run"
        try:
            run(["diffusion", "train", *TINY, "--out", str(out)])
        except SystemExit as e:
            assert not e.code
        yield out


def test_sample_with_a_prompt(capsys, tiny_run, tmp_path):
    code, out, err = cli(capsys, "diffusion", "sample", str(tiny_run), "--prompt", "a seven",
                         "--n", "2", "--steps", "3", "--out", str(tmp_path / "s.png"))  # fmt: skip
    assert code == 0, err
    assert 'class "7"' in out and (tmp_path / "s.png").is_file()
    from pixelab.apps.diffusion import diffusion_sample

    a = diffusion_sample(tiny_run, tmp_path / "a.png", n=2, prompt="seven", steps=3)
    b = diffusion_sample(tiny_run, tmp_path / "b.png", n=2, cls="7", steps=3)
    assert a["classes"] == ["7", "7"] and np.array_equal(a["images"], b["images"])
    for args, msg in [(["--prompt", "a banana"], "matches none of this model's classes"),
                      (["--prompt", "a seven", "--class", "7"], "not both")]:  # fmt: skip
        code, _, err = cli(capsys, "diffusion", "sample", str(tiny_run), *args)
        assert code == 2 and msg in err, (args, err)


def test_inpaint_writes_its_run_and_keeps_the_known_pixels(capsys, tiny_run, tmp_path):
    img = (np.arange(256).reshape(16, 16) % 251).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "digit.png")
    mask = np.zeros((16, 16), np.uint8)
    mask[4:12, 4:12] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "inpaint"
    code, stdout, err = cli(capsys, "diffusion", "inpaint", str(tiny_run), str(tmp_path / "digit.png"),
                            "--mask", str(tmp_path / "mask.png"), "--n", "2", "--steps", "4",
                            "--resample", "2", "--class", "3", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["kept_pixels_max_change"] == 0 and m["fill_share"] == 0.25
    assert m["network_calls"] == 7 and m["class"] == "3" and len(m["judged"]) == 2
    assert m["converted"] and "colour" in m["converted"]  # a PNG read as RGB, run is grey
    assert (out / "figures" / "inpaint.png").is_file() and (out / "metrics.json").is_file()
    code, _, err = cli(capsys, "diffusion", "inpaint", str(tiny_run), "digits", "--box", "2,2,3,3",
                       "--n", "1", "--steps", "3", "--out", str(tmp_path / "box"))  # fmt: skip
    assert code == 0, err


def test_inpaint_bad_masks_are_one_clear_line(capsys, tiny_run, tmp_path):
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "img.png")
    for name, arr in [("small", np.zeros((8, 8), np.uint8)), ("none", np.zeros((16, 16), np.uint8)),
                      ("all", np.full((16, 16), 255, np.uint8))]:  # fmt: skip
        Image.fromarray(arr).save(tmp_path / f"{name}.png")
    img = str(tmp_path / "img.png")
    for args, msg in [
        (["--mask", str(tmp_path / "small.png")], "the mask small.png is 8x8 pixels, the image 16x16"),
        (["--mask", str(tmp_path / "none.png")], "marks nothing to fill"),
        (["--mask", str(tmp_path / "all.png")], "marks the whole image"),
        ([], "--mask MASK.png or --box"),
        (["--box", "20,20,3,3"], "not a box inside"),
        (["--box", "a,b"], "--box must be x,y,w,h"),
        (["--box", "1,1,2,2", "--guidance", "-1", "--class", "3"], "--guidance must be 0 or more"),
        (["--box", "1,1,2,2", "--guidance", "2"], "give --class or --prompt"),
    ]:  # fmt: skip
        out = tmp_path / "bad"
        code, _, err = cli(
            capsys, "diffusion", "inpaint", str(tiny_run), img, *args, "--out", str(out)
        )
        assert code == 2 and msg in err and not out.exists(), (args, err)


def test_img2img_by_strength(capsys, tiny_run, tmp_path):
    out = tmp_path / "i2i"
    code, stdout, err = cli(capsys, "diffusion", "img2img", str(tiny_run), "digits", "--strength",
                            "0,0.5,1", "--n", "2", "--steps", "4", "--prompt", "a three",
                            "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    s0, s5, s1 = m["strengths"]
    assert s0["identical_to_input"] == 2 and s0["psnr_vs_input"] is None  # strength 0: untouched
    assert (s5["denoising_steps"], s1["denoising_steps"]) == (2, 4)
    assert s5["psnr_vs_input"] > s1["psnr_vs_input"]  # more noise, less of the input survives
    assert m["target"] == "3" and m["prompt"]["name"] == "3" and len(s1["judged"]) == 2
    for args, msg in [(["--strength", "1.5"], "--strength must lie in [0, 1]"),
                      (["--strength", "x"], "--strength must be numbers")]:  # fmt: skip
        code, _, err = cli(capsys, "diffusion", "img2img", str(tiny_run), "digits", *args,
                           "--out", str(tmp_path / "bad"))  # fmt: skip
        assert code == 2 and msg in err and not (tmp_path / "bad").exists(), (args, err)


def test_guidance_sweep(capsys, tiny_run, tmp_path):
    out = tmp_path / "sweep"
    code, stdout, err = cli(capsys, "diffusion", "guidance", str(tiny_run), "--scales", "0,2",
                            "--n", "20", "--steps", "3", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert [r["guidance"] for r in m["scales"]] == [0, 2]
    assert all(0 <= r["class_consistency"] <= 1 and r["fid_judge"] >= 0 for r in m["scales"])
    assert {"guidance.png", "guidance-samples.png"} <= {p.name for p in (out / "figures").iterdir()}
    for args, msg in [(["--scales", "1"], "two to ten"), (["--scales", "-1,2"], "0 or more")]:
        code, _, err = cli(capsys, "diffusion", "guidance", str(tiny_run), *args)
        assert code == 2 and msg in err, (args, err)


def test_a_shipped_copy_samples_like_its_run_and_judges_itself_when_its_judge_is_gone(
    tiny_run, tmp_path, tmp_path_factory, monkeypatch
):
    from pixelab.apps.diffusion import (
        diffusion_guidance,
        diffusion_sample,
        load_diffusion,
        ship_diffusion,
    )
    from pixelab.apps.diffusion_edit import run_judge
    from pixelab.train.checkpoint import load_weights

    dest = ship_diffusion(tiny_run, tmp_path / "shipped", command="the test's command")
    assert {p.name for p in dest.iterdir()} == {"config.json", "diffusion.json", "metrics.json",
                                                "denoiser.safetensors"}  # fmt: skip
    weights = load_weights(dest / "denoiser.safetensors")
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    made = json.loads((dest / "metrics.json").read_text())
    assert made["made_by"]["command"] == "the test's command" and "history" not in made
    a = diffusion_sample(tiny_run, tmp_path / "a.png", n=4, cls="3", steps=5)["images"]
    b = diffusion_sample(dest, tmp_path / "b.png", n=4, cls="3", steps=5)["images"]
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.mean() < 1.0 and diff.max() <= 64  # half precision moves a few grey levels
    _, rec = load_diffusion(dest)
    rec["judge"] = {**rec["judge"], "run": str(tmp_path / "gone")}  # as on another machine
    assert run_judge(rec) is None  # the edits then report no judged class
    cache = tmp_path_factory.getbasetemp() / "cache"  # where the fixture's judge was made
    monkeypatch.setenv("PIXELAB_CACHE", str(cache))
    remade = run_judge(rec, remake=True)  # pixelab's own judge of the data, from the cache
    assert remade is not None and remade[1]["run"].startswith(str(cache))
    sentinel = (remade[0], {"run": "mine", "name": "my judge"})
    m = diffusion_guidance(dest, tmp_path / "g", scales=[0, 2], n=20, steps=3,
                           judge_model=sentinel)  # fmt: skip
    assert m["judge"]["name"] == "my judge"
    with pytest.raises(PixelabError, match=r"not a .diffusion. run"):
        ship_diffusion(tmp_path / "g", tmp_path / "nope")


def test_the_shipped_denoiser_is_in_the_package_and_answers_to_its_name(capsys, tmp_path,
                                                                       monkeypatch):  # fmt: skip
    from pixelab.apps._shipped import resolve_shipped, shipped_folder
    from pixelab.apps.diffusion import SHIPPED_COMMAND, SHIPPED_NAME, load_diffusion

    folder = shipped_folder(SHIPPED_NAME)
    assert resolve_shipped("shipped", SHIPPED_NAME) == folder
    _, rec = load_diffusion("shipped")
    assert rec["classes"] == FASHION and rec["size"] == 28 and rec["config"].conditional
    made = json.loads((folder / "metrics.json").read_text())
    assert made["made_by"]["command"] == SHIPPED_COMMAND
    assert (folder / "denoiser.safetensors").stat().st_size < 3_000_000
    # assets/ is data, not code (no import-linter contract can name it): only what
    # pyproject's package-data ships, so an installed pixelab has all of it
    files = [p.relative_to(folder.parent) for p in folder.parent.rglob("*")
             if p.is_file()]  # fmt: skip
    assert files and all((p.suffix in (".json", ".safetensors") and len(p.parts) == 2)
                         or p.match("*/figures/epochs/*.png") or p.match("*/figures/*.png")
               for p in files), files  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the package folder is never written to
    code, out, err = cli(capsys, "diffusion", "sample", "shipped", "--prompt", "an ankle boot",
                         "--n", "2", "--steps", "3")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "runs" / "shipped" / "samples-0.png").is_file()
    assert 'class "Ankle boot"' in out
