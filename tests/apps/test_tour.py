from __future__ import annotations

import json
import re

import pytest

from pixelab.apps.tour import CHAPTERS, run_tour


def test_a_single_chapter_run_writes_report_and_metrics(tmp_path):
    seen = []
    m = run_tour(tmp_path, quick=True, chapters=["challenges"], progress=lambda *a: seen.append(a))
    html = (tmp_path / "report.html").read_text()
    assert "Why vision is hard" in html and "Classic classifiers" not in html
    acc = m["chapters"]["challenges"]["accuracy_under_challenge"]["pixels + logistic regression"]
    # trained on clean shapes: near-perfect on clean ones, clearly worse at full severity
    assert all(v[0] > 0.9 for v in acc.values())
    assert sum(v[-1] for v in acc.values()) / len(acc) < 0.7
    assert ("tour chapters", 1, 1) in seen
    assert json.loads((tmp_path / "config.json").read_text())["chapters"] == ["challenges"]


@pytest.mark.slow
def test_quick_tour_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELAB_CACHE", str(tmp_path / "cache"))  # not the user's cache
    m = run_tour(tmp_path, quick=True)
    html = (tmp_path / "report.html").read_text()
    # the two slowest chapters are checked here, not run a second time on their own
    _check_transfer(m["chapters"]["transfer"], html, tmp_path)
    _check_generalisation(m["chapters"]["generalisation"], html, tmp_path)
    _check_generative(m["chapters"]["generative"], html, tmp_path)
    d = m["chapters"]["diffusion"]
    assert "Generative models: diffusion" in html
    assert d["half_signal_step"]["cosine"] > d["half_signal_step"]["linear"]
    assert (
        abs(d["x_T"]["std"] - 1) < 0.05
        and (tmp_path / "figures" / "diffusion_forward.png").is_file()
    )
    # the shipped denoiser: prompts understood, guidance raises consistency, edits behave
    assert d["prompts"]["an ankle boot"] == "Ankle boot" and d["shipped"]["made_by"]["command"]
    by = {r["guidance"]: r["class_consistency"] for r in d["guidance"]}
    assert by[2.0] > by[0.0] + 0.3 and by[4.0] >= by[1.0]
    assert d["inpaint"]["kept_pixels_max_change"] == 0
    assert d["img2img"][0]["psnr_vs_input"] > d["img2img"][-1]["psnr_vs_input"]
    assert d["img2img"][-1]["share_judged_target"] > 0.5
    for name in ("reverse", "prompts", "guidance", "guidance_samples", "inpaint", "img2img"):
        assert (tmp_path / "figures" / f"diffusion_{name}.png").is_file(), name
    assert "make diffusion-weights" in html
    # why compress first: the same U-Net on 4x7x7 codes is cheaper to train and to sample
    w = d["why_compress"]
    assert w["pixels"]["numbers"] == 784 and w["latent"]["numbers"] == 196
    assert w["latent"]["step_ms"] < w["pixels"]["step_ms"]
    assert w["latent"]["images_per_second"] > w["pixels"]["images_per_second"]
    assert "Why compress first?" in html
    # prompts of several words to the shipped denoiser of attribute scenes
    sw = d["several_words"]
    assert sw["prompts"]["a small red star at the top left"] == {
        "shape": "star", "colour": "red", "size": "small", "position": "top left"}  # fmt: skip
    assert sw["unused"] == ["wearing", "hat"] and "make shapes-weights" in html
    made = sw["honoured_when_made"]  # measured at 0.74 colour and 0.01 all four (chance 0.0015)
    assert sw["honoured_here"]["colour"] > 0.5 and made["colour"] > 0.5 and made["all"] > 0.005
    assert (tmp_path / "figures" / "diffusion_several_words.png").is_file()
    # image to image: a style transfer whose style loss fell
    st = m["chapters"]["image2image"]
    assert (
        st["runs"][0]["final"]["style"] < 0.5
        and (tmp_path / "figures" / "style_style.png").is_file()
    )
    assert "Image to image: super-resolution and style transfer" in html
    sr = st["superres"]  # the shipped x2 networks against bicubic on unseen photos
    assert [r["method"] for r in sr["table"]] == [
        "bicubic", "espcn (shipped)", "srresnet (shipped-srresnet)",
        "srresnet SRGAN-style (shipped-srgan)"]  # fmt: skip
    assert sr["table"][1]["gain_db"] > 0.3 and sr["images"] == ["astronaut", "chelsea"]
    assert (tmp_path / "figures" / "superres_crops.png").is_file()
    fast = st["fast"]  # the shipped style network, in one pass per photo
    assert fast["images"] == ["chelsea", "astronaut", "coffee"] and fast["median_ms"] > 0
    assert (tmp_path / "figures" / "style_fast.png").is_file() and "make style-weights" in html
    for key, _ in CHAPTERS:
        assert key in m["chapters"] and key in m["seconds"]
    for title in ("Why vision is hard", "curse of dimensionality", "manifold hypothesis",
                  "hand-made features", "Classic classifiers on Fashion-MNIST",
                  "What CNNs learn", "Generalisation", "Transfer learning",
                  "Generative models", "diffusion"):  # fmt: skip
        assert title in html
    pngs = sorted((tmp_path / "figures").glob("*.png"))
    assert len(re.findall("data:image/png;base64,", html)) == len(pngs) >= 10
    assert 0.7 < m["accuracy"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["accuracy"] == m["accuracy"]


def test_cnn_chapter_compares_with_the_best_classic_pipeline():
    from types import SimpleNamespace

    from pixelab.apps.tour import _versus_classic

    rows = [["pixels + rf", 100, 0.80, 1.0, 0.1], ["hog + svm", 100, 0.90, 2.0, 0.2]]
    ctx = SimpleNamespace(cache={"classic_rows": rows})
    assert "beats the best hand-made-feature pipeline above (hog + svm, 90.0%)" in (
        _versus_classic(ctx, 0.93)
    )
    assert "(hog + svm) still leads with 90.0%" in _versus_classic(ctx, 0.85)
    assert _versus_classic(SimpleNamespace(cache={}), 0.9) == ""  # classic chapter not run


def test_the_classic_chapter_words_a_pipeline_without_mistakes():
    from pixelab.apps.tour import _most_common_mistake

    assert _most_common_mistake(None) == "It misclassified no test image."
    sentence = _most_common_mistake({"true": "Shirt", "predicted": "T-shirt/top", "count": 9})
    assert sentence.startswith("Its most common mistake is taking a Shirt for a T-shirt/top")


def test_the_what_cnns_learn_chapter_on_its_own(tmp_path):
    m = run_tour(tmp_path, quick=True, chapters=["learn"])["chapters"]["learn"]
    html = (tmp_path / "report.html").read_text()
    assert "What CNNs learn" in html and "deletion curve" in html
    for name in (
        "kernels",
        "orientedness",
        "maps",
        "saliency",
        "deletion",
        "embed",
        "top",
        "dream",
    ):
        assert (tmp_path / "figures" / f"learn_{name}.png").is_file()
    assert 0 <= m["oriented_share"] <= 1 and m["kernels_moved"] > 0
    assert m["deletion_area"]["integrated gradients"] < m["deletion_area_random"]
    layers = m["translation"]["layers"]
    assert set(layers) == {"block1", "block2", "block3"} and layers["block1"]["correlation"] > 0.8
    assert all(r > 1 for r in m["dream_ratio"].values())  # made up beats the best real image
    knn = {k: v["knn_accuracy"] for k, v in m["embedding"].items()}
    assert knn["CNN features"] > knn["pixels"]  # the CNN's space untangles the classes
    same = m["translation"]["same_prediction"]
    assert same[1] >= same[4]  # a bigger move changes more decisions


def test_feature_maps_move_with_the_image():
    import torch

    from pixelab.apps.tour.learn import translation
    from pixelab.models import create_model

    model = create_model("small_cnn", num_classes=3, widths=(4, 8), seed=0).eval()
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 8:20, 4:14] = torch.rand(8, 1, 12, 10, generator=torch.Generator().manual_seed(0))
    t = translation(model, x, 4)
    # conv + pool commute with a move by a multiple of the pooling: the maps move along, but
    # for the border, where zero padding differs from the (normalised) black background
    assert t["layers"]["block1"]["correlation"] > 0.99
    assert all(v["correlation"] > 0.95 for v in t["layers"].values())
    assert set(t["same_prediction"]) == {1, 2, 4}
    assert translation(model, x, 3)["layers"] == {}  # 3 px is no whole step of a 2x-pooled map


def _check_transfer(m, html, root):
    assert "Transfer learning" in html and "ImageNet has no" in html
    for name in ("imagenet", "curves"):
        assert (root / "figures" / f"transfer_{name}.png").is_file()
    assert m["imagenet"]["coffee"][0]["class"] == "espresso"
    # faces are ImageNet's world: with one image per class the pretrained features win clearly
    assert m["faces"]["probe"]["1"]["mean"] > m["faces"]["scratch"]["1"]["mean"] + 0.1
    assert m["fashion_mnist"]["probe"]["20"]["mean"] > 0.6
    # finetuning starts from the probe and keeps most of what it knew
    assert m["fashion_mnist"]["finetune"]["20"]["mean"] > 0.6
    assert "Finetuning goes one step further" in html
    assert "pixelab studio my_project/" in html  # where to do the same on one's own images


def _check_generalisation(m, html, root):
    assert "Generalisation: data augmentation" in html and "mixes" in html
    assert m["ops"]["rotate"] == [0, 30, 60, 90] and m["policy"].startswith("translate:0.1")
    assert set(m["ablation"]["ce"]) >= {"viewpoint", "noise"} and m["ablation"]["mce"] > 0
    assert "mCE" in html
    for name in ("ops", "policy", "sweep", "challenges"):
        assert (root / "figures" / f"generalisation_{name}.png").is_file()
    rotate = {r["amount"]: r["accuracy"] for r in m["sweep"]["factors"]["rotate"]["rows"]}
    shift = {r["amount"]: r["accuracy"] for r in m["sweep"]["factors"]["translate"]["rows"]}
    assert rotate[0] == m["sweep"]["clean_accuracy"] > 0.6
    assert rotate[90] < shift[1] - 0.3  # a quarter turn costs far more than a 1-pixel shift
    assert "turned 90 degrees" in html


def _check_generative(m, html, root):
    assert "Generative models: a GAN" in html and "mode collapse" in html
    q = m["quality"]
    assert q["fid_judge"] > q["fid_real_vs_real"] >= 0  # the samples are told from real ones
    # the quick tour measures the GAN pixelab ships with the tour's own CNN: it draws the
    # classes asked for (chance is 0.1; 0.94 by the judge it was made with)
    assert m["shipped"] and q["class_consistency"] > 0.8
    assert "pixelab trained this GAN itself" in html and "make gan-weights" in html
    assert (root / "figures" / "generative_epochs.png").is_file()
    assert (root / "figures" / "generative_nearest.png").is_file()
    assert "Which images are real?" in html and (root / "figures" / "generative_quiz.png").is_file()
    assert m["detect"]["cnn"]["accuracy"] > 0.5  # a detector trained on the fakes beats a coin
    assert "Generative models: autoencoders" in html
    models = {r["name"]: r for r in m["vae"]["models"]}
    assert set(models) >= {"vae-2", "vae-8", "vae-32"}
    assert models["vae-32"]["psnr"] > models["vae-2"]["psnr"]  # more numbers, closer copies
    assert models["vae-32"]["bits_per_image"] < m["vae"]["raw_bits"]
    assert (root / "figures" / "vae_latent_map.png").is_file()
