"""The LSTM tab's handler end to end, in process: files, frames, determinism, and clear errors."""

from __future__ import annotations

import inspect
import json
import zipfile
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from demos.lstm import cost_preview, lstm_train, sequence_data, show_frame, show_views
from hub_models.errors import UserInputError

SMALL = {"hidden_size": 6, "layers": 2, "window": 12, "epochs": 2, "learning_rate": 0.01, "seed": 5}


def _train(series="airline", task="forecast", csv=None, sequence=-1, show_gates=True, **overrides):
    values = {**SMALL, **overrides}
    # The handler itself: neither the error translation nor the result cache (a repeat must really train again).
    return inspect.unwrap(lstm_train)(series, csv, task, *values.values(), sequence, show_gates)


@pytest.fixture(scope="module")
def airline_run():
    return _train()


def test_animation_has_one_frame_per_window_step_and_both_files_decode(airline_run):
    gif, _, _, _, views = airline_run
    with Image.open(gif) as animation:
        assert animation.n_frames == SMALL["window"]
    mp4 = views["media"][1]
    with imageio.get_reader(mp4, format="FFMPEG") as reader:
        decoded = [frame for frame in reader]
        codec = reader.get_meta_data()["codec"]
    assert len(decoded) == SMALL["window"] and codec == "h264"
    assert len(views["frames"]) == SMALL["window"]
    first, last = (np.asarray(Image.open(views["frames"][i])) for i in (0, -1))
    assert first.shape == last.shape and not np.array_equal(first, last)


def test_metrics_and_gates_files(airline_run):
    _, metrics, gates, bundle, views = airline_run
    record = json.loads(Path(metrics).read_text())
    assert record["task"] == "forecast" and record["settings"]["layers"] == 2
    assert [h["epoch"] for h in record["history"]] == [0, 1, 2]
    assert {"val_mae", "naive_last_value_mae", "val_rmse"} <= set(record["metrics"])
    assert record["animated_sequence"]["index"] == record["split"]["validation_sequences"] - 1
    assert record["versions"]["torch"] == "2.14.1"
    arrays = np.load(gates)
    for name in ("input", "forget", "cell_candidate", "output", "cell", "hidden"):
        assert arrays[name].shape == (2, SMALL["window"], SMALL["hidden_size"])
    assert arrays["epoch_mean_forget"].shape == (3, 2, SMALL["hidden_size"])
    assert "What the forget gates keep" in views["summary"]
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert {Path(metrics).name, Path(gates).name, "README.txt"} <= names
    assert not any(name.endswith("_frame_000.png") for name in names), "the slider's frames stay out of the zip"
    assert "python -m explainers lstm --series airline" in readme


def test_same_seed_same_gates_through_the_files(airline_run):
    again = np.load(_train(show_gates=False)[2])
    first = np.load(airline_run[2])
    for name in ("forget", "cell", "epoch_mean_forget"):
        np.testing.assert_array_equal(first[name], again[name])


def test_slider_views_scrub_the_written_frames(airline_run):
    views = airline_run[4]
    video, slider, frame, _, epochs, media = show_views(views)
    assert slider["maximum"] == SMALL["window"] - 1 and frame == views["frames"][-1]
    assert show_frame(views, 3) == views["frames"][3] and show_frame(views, 99) == views["frames"][-1]
    assert Path(epochs).is_file() and Path(video).suffix == ".mp4" and len(media) == 2
    assert show_views(None)[0] is None and show_frame(None, 2) is None


def test_classification_on_italy_power_demand():
    gif, metrics, _, _, _ = _train("italy_power", "classify", layers=1, epochs=1)
    record = json.loads(Path(metrics).read_text())
    assert set(record["animated_sequence"]["probabilities"]) == {"winter day (Oct-Mar)", "summer day (Apr-Sep)"}
    with Image.open(gif) as animation:
        assert animation.n_frames == 24


def test_uploaded_csv_trains(tmp_path):
    path = tmp_path / "level.csv"
    path.write_text("step,level\n" + "\n".join(f"{i},{np.sin(i / 4):.4f}" for i in range(120)))
    _, metrics, _, bundle, _ = _train("csv", csv=str(path), layers=1)
    assert json.loads(Path(metrics).read_text())["series"]["name"] == "level.csv"
    with zipfile.ZipFile(bundle) as archive:
        assert archive.read("series.csv") == path.read_bytes(), "the bundle carries the data it was trained on"
        assert "--csv series.csv" in archive.read("README.txt").decode()


@pytest.mark.parametrize(
    ("series", "task", "message"),
    [
        ("italy_power", "forecast", "choose the task 'classify'"),
        ("co2", "classify", "Classification needs a labelled set"),
        ("csv", "forecast", "No CSV file"),
        ("nile", "forecast", "Unknown series 'nile'"),
        ("co2", "regress", "Unknown task 'regress'"),
    ],
)
def test_mismatched_choices_are_explained(series, task, message):
    with pytest.raises(UserInputError, match=message):
        sequence_data(series, None, task, 12)


def test_bad_parameters_reach_the_user_as_messages():
    import gradio as gr

    preview = cost_preview("co2", None, "forecast", 16, 1, 1000, 8, 0.01, 0)
    assert preview.startswith("**Not ready to train:**") and "'window' must be between 4 and 256" in preview
    assert "No CSV file" in cost_preview("csv", None, "forecast", 16, 1, 52, 8, 0.01, 0)
    with pytest.raises(gr.Error, match="whole number"):
        lstm_train("co2", None, "forecast", 16, 1, 52, 8, 0.01, 0, 1.5, True)
    assert cost_preview("co2", None, "forecast", 16, 1, 52, 8, 0.01, 0).startswith("**Cost:** 1,775 training")
