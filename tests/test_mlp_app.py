"""The MLP tab through its real API (gradio_client) and in a real browser."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from demos import result_cache
from explainers.mlp_dynamics import PARAMS, preset_values


def _params(**overrides) -> list:
    values = preset_values("generalises") | overrides
    return [values[param.name] for param in PARAMS]


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def short_run(client):
    return client.predict("wine", None, None, *_params(epochs=5, hidden_layers="16"), api_name="/mlp_train")


def test_one_frame_per_recorded_epoch_in_gif_and_mp4(short_run):
    gif, final, metrics_file, mp4, npz, bundle, reading = short_run
    metrics = json.loads(Path(metrics_file).read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [0, 1, 2, 3, 4, 5]
    with Image.open(gif) as animation:
        assert animation.n_frames == 6
        size = animation.size
    with imageio.get_reader(mp4) as reader:
        assert reader.get_meta_data()["codec"] == "h264"
        assert len(list(reader.iter_data())) == 6
    assert Image.open(final).size == size, "the final figure is the animation's last frame"
    with np.load(npz) as arrays:
        assert arrays["hidden1"].shape[:2] == (6, len(arrays["sample_labels"]))
        assert arrays["probabilities"].shape[2] == 3
        assert arrays["dead_hidden1"].shape == (6, 16)
    assert reading.startswith("**Reading.**")
    assert metrics["classes"] == ["class_0", "class_1", "class_2"]
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert {Path(gif).name, Path(mp4).name, Path(npz).name, Path(metrics_file).name, "README.txt"} <= names
    assert "python -m explainers mlp --dataset wine" in readme


def test_same_seed_same_metrics(client, short_run):
    result_cache.clear()  # the app runs in this process: make the repeat train again, not answer from the cache
    again = client.predict("wine", None, None, *_params(epochs=5, hidden_layers="16"), api_name="/mlp_train")
    first, second = (json.loads(Path(run[2]).read_text())["epochs"] for run in (short_run, again))
    assert first == second


def test_an_uploaded_csv_trains_on_its_label_column(client, tmp_path):
    rng = np.random.default_rng(0)
    rows = ["height,weight,species"] + [
        f"{h:.2f},{w:.2f},{'cat' if h < 0 else 'dog'}" for h, w in rng.normal(size=(200, 2))
    ]
    path = tmp_path / "animals.csv"
    path.write_text("\n".join(rows))
    result = client.predict(
        "digits",
        handle_file(str(path)),
        "species",
        *_params(epochs=20, hidden_layers="8", learning_rate=0.03),
        api_name="/mlp_train",
    )
    metrics = json.loads(Path(result[2]).read_text())
    assert metrics["classes"] == ["cat", "dog"]
    assert metrics["dataset"].startswith("animals.csv")
    assert metrics["epochs"][-1]["val_accuracy"] > 0.9, "the label is a threshold on height: easy to learn"


@pytest.mark.parametrize(
    ("content", "label", "message"),
    [
        ("a,b,y\n1,2,x\n3,hello,z\n5,6,x\n7,8,z\n", "y", "Column 'b' must hold numbers, but row 3"),
        ("a,b,y\n1,2,x\n3,4,\n5,6,x\n7,8,z\n", "y", "1 rows have no label in column 'y'"),
        ("a,b,y\n1,2,x\n3,4,x\n5,6,x\n", "y", "holds one class only"),
        ("a,b,y\n1,2,x\n3,4,z\n", "label", "The CSV has no column 'label'"),
        ("", "y", "is empty"),
    ],
    ids=["text-feature", "missing-label", "one-class", "no-such-column", "empty"],
)
def test_bad_csvs_get_a_clear_message_and_the_app_keeps_working(client, tmp_path, content, label, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(Exception, match=message):
        client.predict("digits", handle_file(str(path)), label, *_params(epochs=2), api_name="/mlp_train")
    ok = client.predict("iris", None, None, *_params(epochs=2, hidden_layers="4"), api_name="/mlp_train")
    assert ok[0].endswith(".gif")


def test_the_browser_plays_the_tab_once(page, artifacts):
    page.get_by_role("tab", name="MLP").click()
    page.locator("#mlp-preset").get_by_text("overfits").click()
    page.locator("#mlp-cost").get_by_text("60 epochs").wait_for(timeout=60_000)
    page.locator("#mlp-train").click()
    page.locator("#mlp-reading").get_by_text("overfitting").first.wait_for(timeout=120_000)
    page.locator("#mlp-metrics a[href$='mlp_metrics.json']").wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "mlp_tab.png"), full_page=True)
    page.locator("#mlp-animation img").screenshot(path=str(artifacts / "mlp_animation.png"))
    shown = np.asarray(Image.open(artifacts / "mlp_animation.png").convert("RGB"), dtype=float)
    assert shown.shape[1] > 500 and shown.std() > 20
