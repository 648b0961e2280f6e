"""The CNN tab: classify an image, pick a class and a method, see the cost, explain, download the results.

Wiring only: models come from ``hub_models``, maps from ``explainers``, pictures from ``demos.render``.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from demos.downloads import new_result_folder
from demos.errors import user_facing
from demos.export import explain_command, write_bundle
from demos.inputs import image_with_examples, live_cost, method_dropdown, model_dropdown, pixels
from demos.links import Field, example_photo, method_name
from demos.render import overlay_figure
from demos.results import write_explanation
from explainers import METHODS, estimate, explain, get_method
from explainers.manifest import manifest
from explainers.registry import all_params
from hub_models import load_model
from hub_models.card import model_card
from hub_models.errors import UserInputError

DEFAULT_METHOD = "Grad-CAM"
TOP_K = 5
PARAM_SLOTS = [(key, param) for key, method in METHODS.items() for param in all_params(method)]
"""Every method's parameters in one flat list: one UI component each, in this order."""


@user_facing
def classify(
    image: str | None, model: str | None, progress: gr.Progress = gr.Progress(track_tqdm=True)
) -> dict[str, float]:
    """Top-5 classes of the image with their probabilities (a Hub model's download shows as progress)."""
    loaded = load_model(model)
    return {label: probability for _, label, probability in loaded.top_k(pixels(image), TOP_K)}


def classify_if_image(image: str | None, model: str | None) -> dict[str, float] | None:
    """On upload or model change: classify; a cleared image just clears the classes (no error)."""
    return classify(image, model) if image else None


def target_choices(top: dict[str, Any] | None) -> dict[str, Any]:
    """After classification: the class dropdown offers the top-5, blank (= top-1) selected."""
    confidences = (top or {}).get("confidences") or []
    choices = [("top-1 class", "")] + [(f"{c['label']} ({c['confidence']:.0%})", c["label"]) for c in confidences]
    return gr.update(choices=choices, value="")


@user_facing
def explain_image(
    image: str | None,
    model: str | None,
    method: str,
    target: str | None,
    params: str | None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, str, str, str]:
    """Overlay PNG, raw map (.npy, float32, image resolution), the JSON manifest that reproduces the run, and all of
    them with a README (how to replay it with the command line) as one zip."""
    rgb = pixels(image)
    loaded = load_model(model)
    progress(0.0, desc="starting")
    result = explain(loaded, rgb, method, target, params, lambda done, text: progress(done, desc=text))
    title = f"{result.method} for {result.target_label!r} (class {result.target})"
    overlay = overlay_figure(rgb, result.attribution, title)
    folder = new_result_folder()
    written = write_explanation(
        folder, f"{get_method(method).key}_{result.target}", overlay, result.attribution, manifest(loaded, rgb, result)
    )
    files = written.files
    bundle = write_bundle(folder, f"{title} on an uploaded image", [explain_command(files["manifest"].name)], "results")
    return overlay, str(files["map"]), str(files["manifest"]), str(bundle)


@user_facing
def show_model_card(model: str | None) -> str:
    """The model's card under the model field; a model that does not load says why there instead."""
    try:
        return model_card(load_model(model))
    except UserInputError as error:
        return f"**Model not loaded:** {error}"


@user_facing
def cost_preview(model: str | None, method: str, *values: Any) -> str:
    """The cost of the run the controls describe (read from the controls, never from the JSON box in flight)."""
    return "**Cost:** " + estimate(load_model(model), method, _params_json(method, *values)).describe()


def _param_component(param, value) -> gr.components.Component:
    if param.kind is str:
        return gr.Textbox(value=value, label=param.name, info=param.help)
    if param.name == "seed":
        return gr.Number(value=value, precision=0, minimum=param.minimum, maximum=param.maximum, label="seed")
    step = 1 if param.kind is int else 0.05
    return gr.Slider(param.minimum, param.maximum, value=value, step=step, label=param.name, info=param.help)


def build(app: gr.Blocks) -> dict[str, Field]:
    """Lays out the tab inside ``app`` (the enclosing ``gr.Blocks``), binds its events; returns its link fields."""
    components: list[gr.components.Component] = []
    groups: dict[str, gr.Group] = {}

    with gr.Row():
        with gr.Column(scale=5):
            image = image_with_examples("cnn-image")
            model = model_dropdown()
            card = gr.Markdown(elem_id="cnn-model-card")
            classify_button = gr.Button("Classify")
            top = gr.Label(num_top_classes=TOP_K, label="Top-5 classes", elem_id="cnn-top5")
        with gr.Column(scale=5):
            method = method_dropdown(DEFAULT_METHOD, "cnn-method")
            target = gr.Dropdown(
                [("top-1 class", "")], value="", allow_custom_value=True, label="Class to explain (name or index)"
            )
            preset = gr.Radio(["fast", "default"], value="fast", label="Preset")
            for spec in METHODS.values():
                with gr.Group(visible=spec.name == DEFAULT_METHOD) as groups[spec.key]:
                    components += [_param_component(param, param.fast) for k, param in PARAM_SLOTS if k == spec.key]
            with gr.Accordion("Parameters as JSON (what /explain receives)", open=False):
                params = gr.Code(
                    language="json",
                    value=_params_json(DEFAULT_METHOD, *[c.value for c in components]),
                    interactive=False,
                )
            cost = gr.Markdown(elem_id="cnn-cost")
            explain_button = gr.Button("Explain", variant="primary", elem_id="cnn-explain")
        with gr.Column(scale=6):
            overlay = gr.Image(
                label="Attribution overlay",
                show_label=False,
                format="png",
                type="numpy",
                interactive=False,
                elem_id="cnn-overlay",
            )
            raw_map = gr.File(label="Raw map (.npy, float32, image resolution)")
            record = gr.File(label="Manifest (.json)", elem_id="cnn-manifest")
            bundle = gr.File(label="Download all (.zip)", elem_id="cnn-bundle")

    def show_method(method_name: str) -> list[Any]:
        key = get_method(method_name).key
        return [gr.update(visible=k == key) for k in groups]

    def apply_preset(which: str) -> list[Any]:
        return [param.preset(which) for _, param in PARAM_SLOTS]

    classified = classify_button.click(classify, [image, model], top, api_name="classify")
    classified.success(target_choices, top, target, api_visibility="private")
    gr.on(
        [image.change, model.change],
        classify_if_image,
        [image, model],
        top,
        api_visibility="private",
        show_progress="minimal",
    ).success(target_choices, top, target, api_visibility="private")
    method.change(show_method, method, list(groups.values()), api_visibility="private")
    preset.change(apply_preset, preset, components, api_visibility="private")
    controls = [trigger.change for trigger in [method, *components]]
    gr.on(controls, _params_json, [method, *components], params, api_visibility="private", show_progress="hidden")
    live_cost(app, cost_preview, [model, method, *components], cost)
    gr.on([app.load, model.change], show_model_card, model, card, api_visibility="private")
    # The parameters are read from the controls as they are at the click, not from the JSON box, whose update may
    # still be in flight; the click's first step rewrites the box, the second is the /explain endpoint itself.
    explain_button.click(
        _params_json, [method, *components], params, api_visibility="private", show_progress="hidden"
    ).then(
        explain_image, [image, model, method, target, params], [overlay, raw_map, record, bundle], api_name="explain"
    )

    return {"example": Field(image, example_photo), "method": Field(method, method_name)}


def _params_json(method_name: str, *values: Any) -> str:
    """The selected method's parameter values (one per ``PARAM_SLOTS`` entry) as the JSON object /explain takes."""
    key = get_method(method_name).key
    return json.dumps({param.name: value for (k, param), value in zip(PARAM_SLOTS, values, strict=True) if k == key})
