"""The LSTM tab through its real API (gradio_client) and in a real browser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

QUICK = [8, 1, 26, 2, 0.01, 0]
"""hidden_size, layers, window, epochs, learning_rate, seed"""


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


def test_lstm_train_endpoint_takes_a_series_and_returns_three_files(client):
    endpoint = client.view_api(return_format="dict")["named_endpoints"]["/lstm_train"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    assert names == [
        "series",
        "csv",
        "task",
        "hidden_size",
        "layers",
        "window",
        "epochs",
        "learning_rate",
        "seed",
        "sequence",
        "show_gates",
    ]
    assert len(endpoint["returns"]) == 4

    gif, metrics, gates, _ = client.predict("co2", None, "forecast", *QUICK, -1, True, api_name="/lstm_train")
    with Image.open(gif) as animation:
        assert animation.format == "GIF" and animation.n_frames == 26
    record = json.loads(Path(metrics).read_text())
    assert len(record["history"]) == 3 and record["series"]["key"] == "co2"
    assert record["metrics"]["val_mae"] > 0 and "interpolation" in record["series"]["note"]
    with np.load(gates) as arrays:
        assert arrays["forget"].shape == (1, 26, 8)


def test_an_uploaded_csv_through_the_api(client, tmp_path):
    path = tmp_path / "tides.csv"
    path.write_text("hour;height\n" + "\n".join(f"{i};{np.sin(i / 2):.3f}" for i in range(200)))
    _, metrics, _, _ = client.predict(
        "csv", handle_file(str(path)), "forecast", *QUICK, 0, False, api_name="/lstm_train"
    )
    record = json.loads(Path(metrics).read_text())
    assert record["series"]["name"] == "tides.csv" and record["animated_sequence"]["index"] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,sales\n1,3\n2,4\n3,5\n5,6\n" + "\n".join(f"{d},{d}" for d in range(6, 60)), "has a gap in time"),
        ("sales\n" + "\n".join(["1"] * 30 + ["twelve"] + ["2"] * 30), "holds 'twelve'"),
        ("sales\n1\n2\n", "needs a longer series"),
        ("sales\n" + "\n".join(str(i) for i in range(40)), "too short for a window of 26"),
    ],
)
def test_bad_csvs_get_clear_messages(client, tmp_path, text, message):
    path = tmp_path / "upload.csv"
    path.write_text(text)
    with pytest.raises(Exception, match=message):
        client.predict("csv", handle_file(str(path)), "forecast", *QUICK, -1, True, api_name="/lstm_train")


def test_the_tab_trains_plays_and_scrubs_in_a_browser(page, artifacts):
    page.get_by_role("tab", name="LSTM").click()
    page.locator("#lstm-cost").get_by_text("training sequences").wait_for(timeout=60_000)
    page.locator("#lstm-epochs input[type='number']").fill("3")
    page.locator("#lstm-train").click()
    page.locator("#lstm-summary").get_by_text("What the forget gates keep").wait_for(timeout=120_000)
    assert page.locator("#lstm-animation img").get_attribute("src").endswith(".gif")
    page.locator("#lstm-frame img[src$='_frame_051.png']").wait_for(timeout=30_000)
    page.locator("#lstm-step input[type='number']").fill("10")
    page.locator("#lstm-step input[type='number']").press("Enter")
    page.locator("#lstm-frame img[src$='_frame_010.png']").wait_for(timeout=30_000)
    page.locator("#lstm-metrics a[href$='_metrics.json']").wait_for(timeout=10_000)
    page.screenshot(path=str(artifacts / "lstm_tab.png"), full_page=True)
    page.locator("#lstm-animation img").screenshot(path=str(artifacts / "lstm_animation.png"))
    shown = np.asarray(Image.open(artifacts / "lstm_animation.png").convert("RGB"), dtype=float)
    assert shown.shape[1] > 400 and shown.std() > 20, "the animation should be a picture, not a blank box"
