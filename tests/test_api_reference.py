"""The API as a ``gradio_client`` user meets it: every parameter and output has a real name, every endpoint answers
a call by keyword with the documented names, and the README and docs/api.md say what the app serves."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from endpoint_calls import CHEAP_CALLS
from gradio_client import Client, handle_file

from demos.api_docs import PAGES, endpoints, generated_names, with_section
from explainers.mlp_dynamics import PARAMS as MLP_PARAMS
from hub_models.assets import DARKNET_PHOTOS
from hub_models.examples import example_photo_paths

ROOT = Path(__file__).resolve().parent.parent


def cheap_calls() -> dict[str, dict]:
    """``endpoint_calls.CHEAP_CALLS`` on the bundled photos: darknet's dog for the detector, coffee for the rest."""
    coffee = handle_file(str(example_photo_paths()["coffee"]))
    dog = handle_file(str(DARKNET_PHOTOS["dog"].path))
    photos = {"/detect": dog, "/explain_box": dog}
    return {
        name: {key: (photos.get(name, coffee) if key == "image" else value) for key, value in call.items()}
        for name, call in CHEAP_CALLS.items()
    }


def test_no_parameter_or_output_has_a_name_gradio_made_up(app_blocks):
    assert generated_names(app_blocks) == []


def test_the_readme_and_the_api_page_are_in_step_with_the_app(app_blocks):
    for name, sections in PAGES.items():
        text = (ROOT / name).read_text()
        for marker, section in sections.items():
            expected = with_section(text, section(app_blocks), marker)
            assert expected == text, f"{name}'s {marker} section is out of step: run python scripts/api_docs.py"


def test_the_mlp_endpoint_takes_the_mlp_settings_by_name():
    from demos.mlp import train

    names = list(inspect.signature(train).parameters)
    assert names[3:-1] == [param.name for param in MLP_PARAMS]


def test_every_endpoint_answers_a_call_by_keyword_with_its_documented_names(app_blocks, app_url, keras_repos):
    keras_repos.ensure(CHEAP_CALLS["/cross_check"]["model"])
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
    [("no markers here", "has no api section"), ("<!-- api:end -->", "has no api section")],
)
def test_a_page_without_markers_is_refused_clearly(text, message):
    with pytest.raises(ValueError, match=message):
        with_section(text, "table")
