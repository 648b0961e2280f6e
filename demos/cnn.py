"""The CNN tab: classify an image, pick a class and a method, see the cost, explain, download the results.

Wiring only: models come from ``hub_models``, maps from ``explainers``, pictures from ``outputs.render``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import gradio as gr

from demos.errors import user_facing
from demos.inputs import (
    explanation_outputs,
    framing_radio,
    image_with_examples,
    live_cost,
    model_dropdown,
    uploaded_image,
)
from demos.links import example_photo, method_name
from demos.method_panel import MethodPanel
from demos.result_cache import cached_result
from demos.tab import Field, Links, Tab
from explainers import METHODS, estimate, explain
from explainers.families import methods_for
from explainers.presets import machine_of
from explainers.runtime import within_memory_budget
from hub_models import load_model
from hub_models.card import model_card
from hub_models.device import gpu_task
from hub_models.errors import UserInputError
from hub_models.examples import example_photo as example_pixels
from hub_models.examples import example_photo_paths
from hub_models.framing import DEFAULT_FRAMING, check_framing
from outputs.files import new_result_folder
from outputs.render import overlay_figure
from outputs.results import save_explanation

DEFAULT_METHOD = "Grad-CAM"
TOP_K = 5
PANEL = MethodPanel(METHODS, lambda model: machine_of(load_model(model)))
"""The method's controls; /explain's parameters are ``PANEL.as_json`` of them."""


@user_facing
def classify(
    image: str | None,
    model: str | None,
    framing: str = DEFAULT_FRAMING,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> dict[str, float]:
    """Top-5 classes of the image with their probabilities, the image framed as ``framing`` says ("crop": the
    model's own preprocessing; "whole image": letterboxed); a Hub model's download shows as progress."""
    framing = check_framing(framing)
    loaded = load_model(model)
    return {label: probability for _, label, probability in loaded.top_k(uploaded_image(image), TOP_K, framing)}


def classify_if_image(image: str | None, model: str | None, framing: str) -> dict[str, float] | None:
    """On upload, model or framing change: classify; a cleared image just clears the classes (no error)."""
    return classify(image, model, framing) if image else None


def target_choices(top: dict[str, Any] | None) -> dict[str, Any]:
    """After classification: the class dropdown offers the top-5, blank (= top-1) selected."""
    confidences = (top or {}).get("confidences") or []
    choices = [("top-1 class", "")] + [(f"{c['label']} ({c['confidence']:.0%})", c["label"]) for c in confidences]
    return gr.update(choices=choices, value="")


@user_facing
@cached_result
@within_memory_budget
@gpu_task
def explain_image(
    image: str | None,
    model: str | None,
    method: str,
    target: str | None,
    params: str | None,
    framing: str = DEFAULT_FRAMING,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[str, str, str, str]:
    """Explains why the model gives ``target`` (a class name or index; blank: its top-1 class) on the image, with
    ``method`` and ``params`` (a JSON object; blank: the method's default preset), the image framed as ``framing``
    says ("crop": the model's own preprocessing, the map on the part it saw; "whole image": letterboxed): the
    overlay PNG, the raw map (.npy, float32, image resolution, 0 outside the crop), the manifest that reproduces the
    run, and all of them with a README (how to replay it with the command line) as one zip."""
    framing = check_framing(framing)
    rgb = uploaded_image(image)
    loaded = load_model(model)
    progress(0.0, desc="starting")
    result = explain(loaded, rgb, method, target, params, lambda done, text: progress(done, desc=text), framing=framing)
    files = save_explanation(new_result_folder(), loaded, rgb, result, bundle="results").files
    return str(files["overlay"]), str(files["map"]), str(files["manifest"]), str(files["bundle"])


def methods_choice(model: str | None, method: str) -> dict[str, Any]:
    """The method field offers the methods that give a map on the chosen model (its framework and family, from the
    registry); the chosen one stays if it applies, else the first that does. A model that does not load keeps the
    list as it is (its card says why)."""
    try:
        names = [spec.name for spec in methods_for(load_model(model), METHODS)]
    except UserInputError:
        return gr.update()
    return gr.update(choices=names, value=method if method in names else names[0])


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
    return "**Cost:** " + estimate(load_model(model), method, PANEL.as_json(method, *values)).describe()


def warm_up() -> None:
    """Explain and draw an example with the default model once: its throughput is measured (the cost previews) and
    the first click pays no first-call costs (batch shapes, drawing, encoders)."""
    loaded = load_model(None)
    rgb = example_pixels("chelsea")
    for method, params in ((DEFAULT_METHOD, {}), ("RISE", {"nb_samples": 16})):  # one image; a batch of 16
        overlay_figure(rgb, explain(loaded, rgb, method, params=params).attribution, method)


def warm_up_request_path(url: str) -> None:
    """One real ``/explain`` through the running app's own request path (upload, queue, event stream, result files):
    the first click otherwise pays Gradio's first-call costs there. It explains class 1, not the top-1 class, so a
    visitor's first default click is computed (and measured) rather than answered from the result cache."""
    from gradio_client import Client, handle_file

    photo = handle_file(str(example_photo_paths()["chelsea"]))
    with tempfile.TemporaryDirectory() as downloads:  # the files come back as a browser fetches them, then go
        client = Client(url, verbose=False, download_files=downloads)
        client.predict(photo, "", DEFAULT_METHOD, "1", "", DEFAULT_FRAMING, api_name="/explain")


def build(app: gr.Blocks, _tabs: Sequence[Tab]) -> Links:
    """Lays out the tab inside ``app`` (the enclosing ``gr.Blocks``), binds its events; returns its link fields."""
    with gr.Row():
        with gr.Column(scale=5):
            image = image_with_examples("cnn-image")
            model = model_dropdown()
            framing = framing_radio("cnn-framing")
            card = gr.Markdown(elem_id="cnn-model-card")
            classify_button = gr.Button("Classify")
            top = gr.Label(num_top_classes=TOP_K, label="Top-5 classes", elem_id="cnn-top5")
        with gr.Column(scale=5):
            method = PANEL.build_method(DEFAULT_METHOD, "cnn-method")
            target = gr.Dropdown(
                [("top-1 class", "")], value="", allow_custom_value=True, label="Class to explain (name or index)"
            )
            PANEL.build_parameters(app, model, "explain")
            cost = gr.Markdown(elem_id="cnn-cost")
            explain_button = gr.Button("Explain", variant="primary", elem_id="cnn-explain")
        with gr.Column(scale=6):
            overlay, raw_map, record, bundle = explanation_outputs("cnn", "Attribution overlay")

    classified = classify_button.click(classify, [image, model, framing], top, api_name="classify")
    classified.success(target_choices, top, target, api_visibility="private")
    gr.on(
        [image.change, model.change, framing.change],
        classify_if_image,
        [image, model, framing],
        top,
        api_visibility="private",
        show_progress="minimal",
    ).success(target_choices, top, target, api_visibility="private")
    live_cost(app, cost_preview, [model, *PANEL.inputs], cost)
    gr.on([app.load, model.change], show_model_card, model, card, api_visibility="private")
    model.change(methods_choice, [model, method], method, api_visibility="private", show_progress="hidden")
    # The parameters are read from the controls as they are at the click, not from the JSON box, whose update may
    # still be in flight; the click's first step rewrites the box, the second is the /explain endpoint itself.
    explain_button.click(
        PANEL.as_json, PANEL.inputs, PANEL.params, api_visibility="private", show_progress="hidden"
    ).then(
        explain_image,
        [image, model, method, target, PANEL.params, framing],
        [overlay, raw_map, record, bundle],
        api_name="explain",
    )
    return Links({"example": Field(image, example_photo), "method": Field(method, method_name)})


TAB = Tab(
    "cnn",
    "CNN",
    "Explain an image classifier (embedded MobileNetV2 or a Hub model) with the methods below.",
    build,
    example={"example": "chelsea", "method": DEFAULT_METHOD},
    warm_up=warm_up,
    before_serving=True,
)
