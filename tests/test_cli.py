"""``python -m explainers``: the app's layer from a script, the same files, and a manifest from the app replayed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from cli.main import main
from hub_models.assets import DARKNET_PHOTOS
from hub_models.examples import example_photo_paths
from outputs.export import explain_command, write_bundle

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def chelsea_path() -> Path:
    return Path(example_photo_paths()["chelsea"])


def only(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


def test_a_manifest_from_the_app_replays_to_the_same_map(app_url, chelsea_path, tmp_path):
    """RISE is random: the replay must take the manifest's model, method, target, parameters and seed."""
    params = json.dumps({"nb_samples": 64, "seed": 7})
    app_files = Client(app_url, verbose=False).predict(
        handle_file(str(chelsea_path)), "", "RISE", "tiger cat", params, api_name="/explain"
    )
    assert main(["explain", str(chelsea_path), "--manifest", app_files[2], "--out", str(tmp_path)]) == 0
    replayed = np.load(only(tmp_path / "chelsea", "rise_282_map.npy"))
    np.testing.assert_allclose(replayed, np.load(app_files[1]), rtol=1e-6, atol=1e-7)


def test_a_folder_gets_one_result_folder_per_image_and_a_progress_bar(chelsea_path, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(chelsea_path, images / "cat.png")
    Image.open(chelsea_path).resize((120, 80)).save(images / "small.jpg")
    (images / "notes.txt").write_text("not an image")
    out = tmp_path / "out"

    assert main(["explain", str(images), "--method", "Grad-CAM", "--target", "tiger cat", "--out", str(out)]) == 0

    progress = capsys.readouterr().err
    assert "images: 100%" in progress and "2/2" in progress
    assert sorted(p.name for p in out.iterdir()) == ["cat", "small"]
    for name, shape in [("cat", (300, 451)), ("small", (80, 120))]:
        folder = out / name
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.txt",
            "gradcam_282_manifest.json",
            "gradcam_282_map.npy",
            "gradcam_282_overlay.png",
        ]
        attribution = np.load(folder / "gradcam_282_map.npy")
        assert attribution.shape == shape and attribution.dtype == np.float32
        assert Image.open(folder / "gradcam_282_overlay.png").format == "PNG"
        record = json.loads((folder / "gradcam_282_manifest.json").read_text())
        assert record["method"] == "Grad-CAM" and record["target"] == {"index": 282, "label": "tiger cat"}
        assert record["image"]["height"] == shape[0]
    readme = (out / "cat" / "README.txt").read_text()
    assert explain_command("gradcam_282_manifest.json", str((images / "cat.png").resolve())) in readme


def test_replaying_on_another_picture_is_refused(chelsea_path, tmp_path, capsys):
    assert main(["explain", str(chelsea_path), "--method", "Saliency", "--out", str(tmp_path / "a")]) == 0
    record = only(tmp_path / "a" / "chelsea", "*_manifest.json")
    other = tmp_path / "other.png"
    Image.open(chelsea_path).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)
    assert main(["explain", str(other), "--manifest", str(record), "--out", str(tmp_path / "b")]) == 2
    assert "not the image the manifest was made from" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain", "{chelsea}", "--method", "deep-taylor"], "Unknown method 'deep-taylor'"),
        (["explain", "{chelsea}", "--method", "RISE", "--params", '{"nb_samples": '], "not valid JSON"),
        (["explain", "{chelsea}", "--method", "Grad-CAM", "--target", "unicorn"], "Unknown target class"),
        (["explain", "{chelsea}", "--manifest", "{chelsea}"], "is not a manifest"),
        (["explain", "{chelsea}", "--manifest", "m.json", "--method", "RISE"], "leave out --method"),
        (["explain", "{empty}", "--method", "Grad-CAM"], "holds no images"),
        (["mlp", "--params", '{"epochs": 0}'], "epochs"),
        (["lstm", "--series", "nile"], "Unknown series"),
        (["lstm", "--params", '{"units": 3}'], "no parameter 'units'"),
        (["compare", "{chelsea}", "--boxes", "[[10, 20, 5, 40]]"], "needs x2 > x1 and y2 > y1"),
        (["compare", "{chelsea}", "--models", "a/b,c/d,e/f,g/h"], "at most 3 models"),
        (["compare", "{chelsea}", "--sort-by", "beauty"], "Unknown score 'beauty'"),
        (["sanity", "{chelsea}", "--checks", "cascade,vibes"], "Unknown sanity check 'vibes'"),
        (["sanity", "{chelsea}", "--seeds", "1"], "'seeds' must be between 2 and 8; got 1"),
        (["sanity", "{chelsea}", "--steps", "three"], "--steps must be a number, got 'three'"),
    ],
)
def test_user_mistakes_are_one_line_and_status_2(argv, message, chelsea_path, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    places = {"{chelsea}": str(chelsea_path), "{empty}": str(tmp_path / "empty")}
    filled = [places.get(a, a) for a in argv]
    assert main([*filled, "--out", str(tmp_path / "out")]) == 2
    shown = capsys.readouterr().err.split("\r")[-1]  # what a terminal shows once a progress bar has cleared itself
    assert shown.startswith("error: ") and message in shown and shown.count("\n") == 1


def test_the_module_entry_point_exits_2_without_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "explainers", "explain", "missing.png", "--method", "Grad-CAM", "--out", "out"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: missing.png does not exist: give an image file or a folder of images."


def test_compare_writes_the_tabs_report_and_the_command_that_repeats_it(chelsea_path, tmp_path):
    argv = ["compare", str(chelsea_path), "--methods", "Grad-CAM,edges", "--sort-by", "relevance_mass"]
    assert main([*argv, "--boxes", "[[110, 70, 360, 290]]", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "chelsea"
    record = json.loads((folder / "compare_scores.json").read_text())
    (model,) = record["models"]
    assert [row["method"] for row in model["methods"]] == ["Grad-CAM", "Edge detector (control)"], "mass on the face"
    assert {"road_morf", "road_lerf", "pointing_game", "relevance_mass", "relevance_rank"} <= set(model["methods"][0])
    assert (folder / "compare_curves.png").stat().st_size > 10_000
    readme = (folder / "README.txt").read_text()
    assert f"python -m explainers compare {chelsea_path.resolve()} --models mobilenet_v2" in readme
    assert "--boxes '[[110, 70, 360, 290]]'" in readme and "Relevance mass" in readme


def test_detect_explains_the_best_box_and_replays_it(tmp_path):
    dog = DARKNET_PHOTOS["dog"].path
    assert main(["detect", str(dog), "--method", "Box gradient", "--out", str(tmp_path / "a")]) == 0
    folder = tmp_path / "a" / "dog"
    record = json.loads(only(folder, "box_gradient_box*_manifest.json").read_text())
    assert record["model"]["name"] == "yolov3-tiny" and record["detection"]["letterbox"] is True
    first = np.load(only(folder, "box_gradient_box*_map.npy"))
    assert first.shape == Image.open(dog).size[::-1]
    assert "python -m explainers detect" in (folder / "README.txt").read_text()
    manifest_path = only(folder, "*_manifest.json")
    assert main(["detect", str(dog), "--manifest", str(manifest_path), "--out", str(tmp_path / "b")]) == 0
    np.testing.assert_allclose(np.load(only(tmp_path / "b" / "dog", "*_map.npy")), first, rtol=1e-6)


def test_mlp_and_lstm_write_their_animation_metrics_and_arrays(tmp_path):
    mlp_params = json.dumps({"epochs": 2, "hidden_layers": "8"})
    assert main(["mlp", "--dataset", "iris", "--params", mlp_params, "--out", str(tmp_path / "mlp")]) == 0
    metrics = json.loads((tmp_path / "mlp" / "mlp_metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [0, 1, 2] and metrics["settings"]["hidden_layers"] == [8]
    assert Image.open(tmp_path / "mlp" / "mlp_training.gif").n_frames >= 2
    assert np.load(tmp_path / "mlp" / "mlp_activations.npz")["hidden1"].shape[-1] == 8

    lstm_params = json.dumps({"epochs": 1, "hidden_size": 4, "window": 8})
    assert main(["lstm", "--series", "airline", "--params", lstm_params, "--out", str(tmp_path / "lstm")]) == 0
    record = json.loads((tmp_path / "lstm" / "lstm_airline_forecast_metrics.json").read_text())
    assert record["settings"]["hidden_size"] == 4 and record["task"] == "forecast"
    assert Image.open(tmp_path / "lstm" / "lstm_airline_forecast.gif").n_frames == 8
    assert (tmp_path / "lstm" / "lstm_airline_forecast.mp4").is_file(), "the same files as the tab's download"
    assert "python -m explainers lstm --series airline" in (tmp_path / "lstm" / "README.txt").read_text()


def test_the_download_all_bundle_zips_the_files_with_a_readme(tmp_path):
    (tmp_path / "map.npy").write_bytes(b"x")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "old.zip").write_bytes(b"left out")
    command = explain_command("manifest.json")
    bundle = write_bundle(tmp_path, "Grad-CAM for 'tiger cat'", [command])
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "manifest.json", "map.npy"]
        readme = archive.read("README.txt").decode()
    assert command == "python -m explainers explain IMAGE --manifest manifest.json --out reproduced"
    assert command in readme and "  map.npy" in readme and "rgb_sha256" in readme


def test_sanity_writes_the_sections_files_with_the_verdicts_and_the_command_on_top(chelsea_path, tmp_path):
    argv = ["sanity", str(chelsea_path), "--method", "edges", "--steps", "1", "--seeds", "2"]
    assert main([*argv, "--checks", "cascade,random_logit", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "chelsea"
    names = {p.name for p in folder.iterdir()}
    assert {"sanity_edges_step00.png", "sanity_edges_step01.png", "sanity_edges_similarity.png"} <= names
    assert {"sanity_edges_correlations.json", "sanity_edges_maps.npz", "README.txt", "sanity_results.zip"} <= names
    record = json.loads((folder / "sanity_edges_correlations.json").read_text())
    assert list(record["checks"]) == ["cascade", "random_logit"] and record["passes"] is False
    readme = (folder / "README.txt").read_text().splitlines()
    assert readme[2].startswith("Edge detector (control) does not pass")
    assert readme[3].startswith("cascading randomisation: FAILS.") and readme[4].startswith("random logit: FAILS.")
    command = f"python -m explainers sanity {chelsea_path.resolve()} --checks cascade,random_logit --method"
    assert f"  {command} 'Edge detector (control)' --steps 1 --seeds 2 --framing crop --out reproduced" in readme
