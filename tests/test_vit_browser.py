"""A vision transformer with real weights, from the (fake) Hub, explained in the CNN tab as a person would.

The only real transformer weights the package registries hold are DINOv2-small's backbone (tests/dinov2_weights.py).
Here it becomes a transformers ``Dinov2ForImageClassification`` with three classes whose head weights are the class
tokens of the dog, the bicycle and the truck cut out of darknet's dog.jpg (the head reads the class token and the
mean patch token: the second half of its weights is zero), saved with ``save_pretrained`` beside the published
``facebook/dinov2-small-imagenet1k-1-layer`` image-processor settings, and served by the fake Hub under an id a user
types into the model box. ``test-artifacts/vit_*.png`` are the screenshots.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from dinov2_weights import config, dinov2_small
from fake_hub import FakeRepo, _folder_files
from gradio_client import Client, handle_file
from PIL import Image
from test_dinov2 import DOG_BOXES, mass_ratio

from hub_models.assets import DARKNET_PHOTOS, verified_path
from hub_models.images import load_image
from hub_models.loaded_model import Preprocessing

pytestmark = pytest.mark.slow

REPO = "fake-org/dinov2-small-prototypes"
PROCESSOR = "fixtures/published/facebook--dinov2-small-imagenet1k-1-layer/preprocessor_config.json"


def dog_photo() -> str:
    return str(verified_path(DARKNET_PHOTOS["dog"]))


@pytest.fixture(scope="module")
def dinov2_repo(fake_hub, tmp_path_factory) -> str:
    from transformers import Dinov2ForImageClassification

    backbone = dinov2_small()
    photo = load_image(dog_photo())
    crops = [photo[box] for box in DOG_BOXES.values()]  # dog, bicycle, truck: the head's classes
    with torch.no_grad():
        tokens = torch.cat(
            [backbone(Preprocessing((224, 224)).to_tensor(crop)).last_hidden_state[:, 0] for crop in crops]
        )
    settings = config()
    settings.num_labels = 3
    settings.id2label = {0: "dog", 1: "bicycle", 2: "truck"}
    settings.label2id = {name: index for index, name in settings.id2label.items()}
    settings.architectures = ["Dinov2ForImageClassification"]
    model = Dinov2ForImageClassification(settings)
    model.dinov2.load_state_dict(backbone.state_dict())
    with torch.no_grad():
        model.classifier.weight.zero_()
        # 5 x the cosine similarity, roughly: class tokens of photos have about the prototypes' norm
        model.classifier.weight[:, :384] = 5 * torch.nn.functional.normalize(tokens, dim=1) / tokens.norm(dim=1).mean()
        model.classifier.bias.zero_()
    folder = tmp_path_factory.mktemp("dinov2-repo")
    model.save_pretrained(folder, safe_serialization=True)
    processor = json.loads((Path(__file__).parent / PROCESSOR).read_text())
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))
    fake_hub.repos[REPO] = FakeRepo(_folder_files(folder), pipeline_tag="image-classification")
    return REPO


def test_grad_cam_and_rollout_on_a_real_vit_point_at_the_dog(page, app_url, dinov2_repo, artifacts):
    client = Client(app_url, verbose=False)
    photo = handle_file(dog_photo())
    top = client.predict(photo, dinov2_repo, "whole image", api_name="/classify")
    assert {entry["label"] for entry in top["confidences"]} == {"dog", "bicycle", "truck"}
    for method in ("Grad-CAM", "Attention rollout", "Transformer attribution (Chefer)"):
        _, raw_map, _, _ = client.predict(photo, dinov2_repo, method, "dog", "", "whole image", api_name="/explain")
        attribution = np.load(raw_map)
        assert attribution.shape == (576, 768)
        assert mass_ratio(attribution, DOG_BOXES["dog"]) > 1.5, method

    page.get_by_role("tab", name="CNN").click()
    page.locator("#cnn-image input[type=file]").set_input_files(dog_photo())
    model_box = page.get_by_label("Model", exact=True)
    model_box.fill(dinov2_repo)
    model_box.press("Enter")
    page.locator("#cnn-framing").get_by_text("whole image", exact=True).click()
    page.locator("#cnn-top5").get_by_text("dog").first.wait_for(timeout=120_000)
    # The whole photo's top-1 class is the bicycle (class 1): the page explains it; the calls above explained the dog.
    for method, key in (("Grad-CAM", "gradcam"), ("Attention rollout", "rollout")):
        page.locator("#cnn-method").get_by_role("combobox").click()
        page.get_by_role("option", name=method, exact=True).click()
        page.locator("#cnn-explain").click()
        page.locator(f"#cnn-manifest a[href$='{key}_1_manifest.json']").wait_for(timeout=120_000)
        page.screenshot(path=str(artifacts / f"vit_{key}.png"), full_page=True)
        page.locator("#cnn-overlay img").screenshot(path=str(artifacts / f"vit_{key}_overlay.png"))
        shown = np.asarray(Image.open(artifacts / f"vit_{key}_overlay.png").convert("RGB"), dtype=float)
        assert shown.std() > 20, "the overlay should be a picture, not a blank box"
