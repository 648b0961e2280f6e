"""The API as a ``gradio_client`` user meets it: every parameter and output has a real name, every endpoint answers
a call by keyword with the documented names, and the README and docs/api.md say what the app serves."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from demos.api_docs import PAGES, endpoints, generated_names, with_section
from explainers.mlp_dynamics import PARAMS as MLP_PARAMS
from hub_models.assets import DARKNET_PHOTOS
from hub_models.examples import example_photo_paths

ROOT = Path(__file__).resolve().parent.parent


def cheap_calls() -> dict[str, dict]:
    """One cheap call per endpoint, by keyword."""
    photo = handle_file(str(example_photo_paths()["coffee"]))
    dog = handle_file(str(DARKNET_PHOTOS["dog"].path))
    return {
        "/classify": {"image": photo, "model": ""},
        "/explain": {"image": photo, "model": "", "method": "Saliency", "target": "", "params": ""},
        "/detect": {"image": dog, "detector": "", "threshold": 0.25, "letterbox": True},
        "/explain_box": {
            "image": dog,
            "detector": "",
            "box": 0,
            "method": "Box gradient",
            "params": '{"samples": 1}',
            "letterbox": True,
            "threshold": 0.25,
        },
        "/mlp_train": {
            "dataset": "iris",
            "csv_file": None,
            "label_column": "",
            "hidden_layers": "4",
            "activation": "relu",
            "learning_rate": 0.01,
            "epochs": 1,
            "batch_size": 32,
            "weight_decay": 0.0,
            "dropout": 0.0,
            "train_fraction": 0.7,
            "seed": 0,
        },
        "/lstm_train": {
            "series": "airline",
            "csv": None,
            "task": "forecast",
            "hidden_size": 4,
            "layers": 1,
            "window": 6,
            "epochs": 1,
            "learning_rate": 0.01,
            "seed": 0,
            "sequence": -1,
            "show_gates": False,
        },
        "/compare": {"image": photo, "model": "", "methods": ["Saliency"], "preset": "fast", "sort_by": "insertion"},
        "/sanity_check": {"image": photo, "model": "", "method": "Saliency", "steps": 1},
    }


def test_no_parameter_or_output_has_a_name_gradio_made_up(app_blocks):
    assert generated_names(app_blocks) == []


def test_the_readme_and_the_api_page_are_in_step_with_the_app(app_blocks):
    for name, section in PAGES.items():
        text = (ROOT / name).read_text()
        assert with_section(text, section(app_blocks)) == text, f"{name} is out of step: run python scripts/api_docs.py"


def test_the_mlp_endpoint_takes_the_mlp_settings_by_name():
    from demos.mlp import train

    names = list(inspect.signature(train).parameters)
    assert names[3:-1] == [param.name for param in MLP_PARAMS]


def test_every_endpoint_answers_a_call_by_keyword_with_its_documented_names(app_blocks, app_url):
    calls = cheap_calls()
    documented = {endpoint.name: [p.name for p in endpoint.parameters] for endpoint in endpoints(app_blocks)}
    assert set(calls) == set(documented), "a new endpoint needs its cheap call here"
    client = Client(app_url, verbose=False)
    for name, arguments in calls.items():
        assert list(arguments) == documented[name]
        result = client.predict(**arguments, api_name=name)
        assert result is not None and result != (), f"{name} answered nothing"


@pytest.mark.parametrize(
    ("text", "message"),
    [("no markers here", "has no API section"), ("<!-- api:end -->", "has no API section")],
)
def test_a_page_without_markers_is_refused_clearly(text, message):
    with pytest.raises(ValueError, match=message):
        with_section(text, "table")
