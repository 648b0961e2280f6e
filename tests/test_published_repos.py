"""Every family the Space lists, through the real loaders: the 12 classifiers and 4 detectors of
tests/published_repos.py (real Hub ids, published configurations, random weights, fewer layers) load from the fake
Hub, and every registered method runs on each through the app's /explain and /explain_box."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_hub import DETECTOR
from gradio_client import Client, handle_file
from PIL import Image
from published_repos import (
    CLASSIFIERS,
    CNN,
    DETECTORS,
    DETR_STYLE,
    FIXTURES,
    PUBLISHED,
    SWIN,
    VIT,
    PublishedRepos,
    label_names,
)
from test_registry_methods import tiny_settings

from explainers import METHODS
from explainers.detection import DETECTION_METHODS
from hub_models import detectors, load_model
from hub_models.assets import DARKNET_PHOTOS
from hub_models.detectors import MAX_HUB_SIDE, cached_detectors, load_detector, load_hub_detector
from hub_models.errors import UserInputError
from hub_models.examples import example_photo_paths

PHOTO_SIZE = (72, 96)  # (height, width): small photos, so that only the models' own input sizes cost time
COCO80_DOG, COCO91_DOG = 16, 18


@pytest.fixture(scope="session")
def published(fake_hub, tmp_path_factory) -> PublishedRepos:
    """The published repos, each built the first time a test asks for it (``PublishedRepos.ensure``)."""
    return PublishedRepos(fake_hub, tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module", autouse=True)
def each_model_loaded_once():
    """Every model of this module stays in memory (``XAI_MODEL_CACHE_SIZE``), so the app's endpoints use the one
    the loading tests loaded; and a fixed throughput stands in for measuring each (``explainers.throughput``): the
    measurement pushes 112 images through a model before its first explanation (10-50 s per model here, most of
    this module's time), and what is tested here is the loading and the methods, not the cost previews."""
    from explainers import compare, presets, throughput
    from explainers.detection import explain as detection_explain

    def assumed(model, input_size, batch_size=16):
        with throughput._lock:
            return throughput._measured.setdefault(model, throughput.Throughput(50.0, 15.0))

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XAI_MODEL_CACHE_SIZE", str(len(PUBLISHED) + 4))
        for module in (throughput, compare, presets, detection_explain):
            patch.setattr(module, "measure", assumed)
        yield


def small_photo(path: Path, folder: Path, name: str) -> Path:
    """``path`` shrunk to ``PHOTO_SIZE`` as a PNG in ``folder``."""
    out = folder / f"{name}.png"
    Image.open(path).convert("RGB").resize(PHOTO_SIZE[::-1], Image.Resampling.BILINEAR).save(out)
    return out


@pytest.fixture(scope="module")
def cat_file(tmp_path_factory) -> Path:
    return small_photo(example_photo_paths()["chelsea"], tmp_path_factory.mktemp("photos"), "chelsea")


@pytest.fixture(scope="module")
def dog_file(tmp_path_factory) -> Path:
    return small_photo(DARKNET_PHOTOS["dog"].path, tmp_path_factory.mktemp("photos"), "dog")


def cheap_settings(method, side: int = 224) -> dict:
    """``tiny_settings``, with Occlusion's patches a quarter of the input (4 forward passes, not 3,000)."""
    settings = tiny_settings(method)
    if "patch_size" in settings:
        settings.update(patch_size=side // 2, patch_stride=side // 2)
    return settings


def assert_a_map(attribution: np.ndarray) -> None:
    assert attribution.shape == PHOTO_SIZE
    assert np.isfinite(attribution).all()
    assert np.ptp(attribution) > 0, "a constant map"


# --- the published configurations -----------------------------------------------------------------------------

PROCESSORS = {
    "google/vit-base-patch16-224": ("ViTImageProcessor", {"height": 224, "width": 224}),
    "facebook/deit-small-patch16-224": ("DeiTImageProcessor", {"height": 256, "width": 256}),
    "microsoft/swin-tiny-patch4-window7-224": ("ViTImageProcessor", {"height": 224, "width": 224}),
    "facebook/convnext-tiny-224": ("ConvNextImageProcessor", {"shortest_edge": 224}),
    "microsoft/resnet-50": ("ConvNextImageProcessor", {"shortest_edge": 224}),
    "facebook/dinov2-small-imagenet1k-1-layer": ("BitImageProcessor", {"shortest_edge": 256}),
    "hustvl/yolos-tiny": ("YolosImageProcessor", {"shortest_edge": 512, "longest_edge": 1333}),
    "facebook/detr-resnet-50": ("DetrImageProcessor", {"shortest_edge": 800, "longest_edge": 1333}),
    "PekingU/rtdetr_r18vd": ("RTDetrImageProcessor", {"height": 640, "width": 640}),
    "microsoft/conditional-detr-resnet-50": (
        "ConditionalDetrImageProcessor",
        {"shortest_edge": 800, "longest_edge": 1333},
    ),
}
LEGACY_TYPE = {"facebook/detr-resnet-50"}
"""Published with ``"image_processor_type": "DetrFeatureExtractor"`` (a 4.x re-save through the old feature
extractor class), which transformers 5.23's AutoImageProcessor no longer resolves; its own class reads the file.
hub_models reads preprocessor_config.json itself, so the app is not affected."""


def image_processor(repo: str, folder: Path):
    """The repo's image processor as transformers reads ``folder``'s preprocessor_config.json."""
    import transformers

    if repo in LEGACY_TYPE:
        with pytest.raises(ValueError, match="Unrecognized image processor"):
            transformers.AutoImageProcessor.from_pretrained(folder)
        return getattr(transformers, PROCESSORS[repo][0]).from_pretrained(folder)
    return transformers.AutoImageProcessor.from_pretrained(folder)


@pytest.mark.parametrize("repo", list(PROCESSORS))
def test_the_published_files_are_read_by_transformers_own_classes(repo):
    """Each stored config.json and preprocessor_config.json parses with transformers' classes as the published one
    does (the legacy feature-extractor files become today's image processors)."""
    from transformers import AutoConfig

    processor = image_processor(repo, FIXTURES / repo.replace("/", "--"))
    name, size = PROCESSORS[repo]
    assert type(processor).__name__.removesuffix("Pil") in (name, name + "Fast")
    assert {k: v for k, v in dict(processor.size).items() if v is not None} == size
    config = AutoConfig.from_pretrained(FIXTURES / repo.replace("/", "--"))
    assert config.architectures[0].endswith(("ForImageClassification", "ForObjectDetection"))


# --- classifiers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CLASSIFIERS, ids=[s.repo_id for s in CLASSIFIERS])
def test_a_published_classifier_loads_as_published(published, spec, chelsea):
    """The real loader gives the 1,000 ImageNet classes, the published input size and the saved weights (the
    library's own loading of the same files gives the same logits)."""
    published.ensure(spec.repo_id)
    model = load_model(spec.repo_id)  # the loader the app's endpoints use (load_hub_model, cached)
    assert model.source["kind"] == spec.kind and model.source["id"] == spec.repo_id
    assert model.n_classes == 1000 and model.labels[285] == "Egyptian cat" == label_names("imagenet")[285]
    assert model.preprocessing.input_size == (224, 224)
    folder = published.folder(spec.repo_id)
    if spec.kind == "timm":
        import timm

        reference = timm.create_model("local-dir:" + str(folder), pretrained=True).eval()
    else:
        from transformers import AutoModelForImageClassification

        network = AutoModelForImageClassification.from_pretrained(folder).eval()
        reference = lambda pixels: network(pixel_values=pixels).logits  # noqa: E731
    pixels = model.preprocessing.to_tensor(chelsea)
    with torch.no_grad():
        torch.testing.assert_close(model.module(pixels), reference(pixels), atol=2e-4, rtol=1e-4)


FAMILY_NAMES = {CNN: "a CNN", VIT: "a ViT-style transformer", SWIN: "a Swin-style transformer"}


@pytest.mark.parametrize("spec", CLASSIFIERS, ids=[s.repo_id for s in CLASSIFIERS])
def test_every_method_explains_every_published_classifier(published, client, cat_file, spec):
    """The model's family is recognised; every registered method, with tiny settings, gives a finite, non-constant
    map of the photo's size, or, where it does not apply to the family, a message that says so and names the methods
    that do. All of them through ``explain()`` (what /explain runs), and through /explain itself Grad-CAM (which
    every family supports: it finds the model's map of the image) and, where one is refused, the refusal: 0.7 s of
    Gradio round trip and result files per call, for 144 pairs, would buy no other code path."""
    from explainers import explain
    from explainers.families import family_of

    published.ensure(spec.repo_id)
    model = load_model(spec.repo_id)
    cat = np.asarray(Image.open(cat_file).convert("RGB"))
    assert family_of(model.module, model.preprocessing.to_tensor(cat)) == spec.family
    refused = []
    for key, method in METHODS.items():
        if method.attribute is None:  # Keras only: its refusal of a PyTorch model is in test_registry_methods
            continue
        if spec.family not in method.families:
            with pytest.raises(UserInputError, match=refusal_pattern(method, spec.family)):
                explain(model, cat, key, params=cheap_settings(method))
            refused.append(method)
            continue
        result = explain(model, cat, key, params=cheap_settings(method))
        assert_a_map(result.attribution)

    photo = handle_file(str(cat_file))
    gradcam = METHODS["gradcam"]
    params = json.dumps(cheap_settings(gradcam))
    _, raw_map, manifest, _ = client.predict(photo, spec.repo_id, gradcam.name, "", params, api_name="/explain")
    assert_a_map(np.load(raw_map))
    record = json.loads(Path(manifest).read_text())
    assert record["model"]["id"] == spec.repo_id and record["method"] == gradcam.name
    for method in refused[:1]:
        with pytest.raises(Exception, match=refusal_pattern(method, spec.family)):
            client.predict(
                photo, spec.repo_id, method.name, "", json.dumps(cheap_settings(method)), api_name="/explain"
            )


def refusal_pattern(method, family: str) -> str:
    return (
        rf"{re.escape(method.name)} does not apply to this model: .* this model is {FAMILY_NAMES[family]}\b"
        r".*Methods that apply: "
    )


# --- detectors ------------------------------------------------------------------------------------------------

NORMALISED = {"PekingU/rtdetr_r18vd": False}  # RTDetrImageProcessor: do_normalize false, pixels in [0, 1]


@pytest.mark.parametrize("spec", DETECTORS, ids=[s.repo_id for s in DETECTORS])
def test_a_published_detector_loads_and_scores_its_boxes_as_its_processor_does(published, fake_hub, spec):
    """The real loader reads the published detector (no other repo is fetched: DETR's timm ResNet-50 backbone comes
    from the checkpoint, never from its own pretrained weights), and every score ``objectness * p_c`` is the one the
    family's own ``post_process_object_detection`` gives that box and class (softmax with "no object" for DETR and
    YOLOS, focal-loss sigmoids for Conditional DETR and RT-DETR)."""
    published.ensure(spec.repo_id)
    before = len(fake_hub.requests)
    detector = load_detector(spec.repo_id)  # the loader the app's endpoints use (load_hub_detector, cached)
    assert spec.repo_id in cached_detectors()
    assert all(spec.repo_id in request for request in fake_hub.requests[before:]), fake_hub.requests[before:]
    assert detector.labels == label_names(spec.labels)
    assert detector.labels[COCO91_DOG if spec.labels == "coco91" else COCO80_DOG] == "dog"
    assert detector.preprocessing.input_size == (MAX_HUB_SIDE, MAX_HUB_SIDE)
    normalised = NORMALISED.get(spec.repo_id, True)
    assert detector.preprocessing.mean == ((0.485, 0.456, 0.406) if normalised else (0.0, 0.0, 0.0))

    image = np.array(Image.open(DARKNET_PHOTOS["dog"].path).convert("RGB"))
    inputs, rows, _ = detector.boxes(image, letterbox=True)
    queries = {"PekingU/rtdetr_r18vd": 300, "microsoft/conditional-detr-resnet-50": 300}.get(spec.repo_id, 100)
    assert rows.shape == (queries, 4 + 1 + len(detector.labels))
    with torch.no_grad():
        outputs = detector.module.model(pixel_values=inputs)
    processor = image_processor(spec.repo_id, published.folder(spec.repo_id))
    side = inputs.shape[-1]
    found = processor.post_process_object_detection(outputs, threshold=0.0, target_sizes=[(side, side)])[0]
    assert len(found["scores"]) > 0
    for score, label, box in zip(found["scores"][:50], found["labels"][:50], found["boxes"][:50], strict=True):
        same_box = torch.isclose(rows[:, :4], box, atol=1e-3).all(-1)
        assert same_box.any(), box
        ours = rows[same_box, 4] * rows[same_box, 5 + int(label)]
        assert torch.isclose(ours, score, atol=1e-5).any(), (float(score), ours)


def detector_cases():
    for spec in DETECTORS:
        for key, method in DETECTION_METHODS.items():
            yield pytest.param(spec, method, id=f"{spec.repo_id}-{key}")


@pytest.mark.parametrize(("spec", "method"), list(detector_cases()))
def test_every_detection_method_explains_every_published_detector(published, client, dog_file, spec, method):
    """/detect at the least threshold, then /explain_box on its best box with tiny settings: a finite,
    non-constant map of the photo's size."""
    assert spec.family == DETR_STYLE and DETR_STYLE in method.families
    published.ensure(spec.repo_id)
    photo = handle_file(str(dog_file))
    _, detections = client.predict(photo, spec.repo_id, 0.01, True, api_name="/detect")
    assert detections["indices"], "random weights, yet no box scores 0.01"
    params = json.dumps(cheap_settings(method))
    _, raw_map, manifest, _ = client.predict(
        photo, spec.repo_id, 0, method.name, params, True, 0.01, api_name="/explain_box"
    )
    assert_a_map(np.load(raw_map))
    record = json.loads(Path(manifest).read_text())
    assert record["model"]["id"] == spec.repo_id and record["target"]["label"] == detections["labels"][0]


def test_a_detector_family_the_app_cannot_read_is_refused_by_name(fake_hub, monkeypatch):
    monkeypatch.delitem(detectors.HEAD_SCORING, "yolos")
    with pytest.raises(UserInputError, match=r"is a 'yolos' detector, whose boxes and scores this app cannot read"):
        load_hub_detector(DETECTOR)


def test_every_published_repo_is_registered_once():
    assert len(PUBLISHED) == 16 == len(CLASSIFIERS) + len(DETECTORS)
    assert {spec.repo_id for spec in DETECTORS} >= {repo for _, repo in detectors.CURATED_HUB_DETECTORS}


def test_the_published_repos_are_cheap_to_build(published):
    """Built as the tests asked for them (all 16 take about 9 s on an idle 2-vCPU VM); a generous bound, for a busy
    machine."""
    if not published.seconds:
        pytest.skip("no published repo was built in this session")
    assert sum(published.seconds.values()) < 60, published.seconds
