"""Classifiers see a photo as they were evaluated (the "crop" framing) or whole (letterboxed), and every map is drawn
where the model looked.

The crop framing equals each library's own evaluation pipeline, on photos of every shape (wide, square, tall):
logits of the embedded MobileNetV2 against ``weights.transforms()``, of the fake Hub's timm models against
``timm.data.create_transform(**resolve_data_config(...))`` and of its transformers ResNet against
``AutoImageProcessor.from_pretrained(folder)``; the other timm crop modes and transformers image processors
pixel for pixel (equal pixels give equal logits). Measured here, on the six photos: every input pixel within
2.4e-7 of the library's (the same resampler on the same bytes; only the normalisation's float order differs: timm
2.4e-7, torchvision 2.4e-7, transformers 6e-8), logits within 1.4e-5 (MobileNetV2), 6e-8 (the fake Hub's timm
ResNets) and 1.8e-7 (its transformers ResNet).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fake_hub import TIMM_CUSTOM, TIMM_IMAGENET, TRANSFORMERS
from PIL import Image

from explainers import explain
from explainers.compare import compare
from explainers.counting import CountingModel
from explainers.explain import build_problem
from explainers.sanity import cascading_randomisation
from hub_models import LoadedModel, Preprocessing, load_image, load_model
from hub_models.assets import DARKNET_PHOTOS, verified_path
from hub_models.examples import example_photo
from hub_models.framing import Geometry, centre_crop, check_framing, letterbox
from hub_models.hub import timm_preprocessing, transformers_preprocessing

PIXELS = 1e-6
"""Input pixels after normalisation: measured at most 2.4e-7 apart (timm, torchvision, transformers)."""
LOGITS = 1e-4
"""Logits: measured at most 1.4e-5 apart (MobileNetV2; 1.8e-7 for the fake Hub's timm and transformers ResNets)."""


def _photos() -> dict[str, np.ndarray]:
    photos = {name: example_photo(name) for name in ("chelsea", "coffee", "astronaut")}  # wide, wide, square
    photos["giraffe"] = load_image(verified_path(DARKNET_PHOTOS["giraffe"]))  # square (500x500)
    photos["dog"] = load_image(verified_path(DARKNET_PHOTOS["dog"]))  # wide
    photos["chelsea upright"] = np.ascontiguousarray(np.rot90(photos["chelsea"]))  # tall (451x300)
    return photos


PHOTOS = _photos()


@pytest.fixture(scope="module")
def repos(fake_hub):
    return fake_hub.folder / "repos"


def test_the_embedded_model_sees_what_its_published_transforms_give(mobilenet):
    import torchvision

    from hub_models.assets import MOBILENET_V2_IMAGENET

    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(torch.load(verified_path(MOBILENET_V2_IMAGENET), weights_only=True))
    reference.eval()
    transform = weights.transforms()
    for name, photo in PHOTOS.items():
        ours = mobilenet.preprocessing.to_tensor(photo)
        theirs = transform(Image.fromarray(photo))[None]
        torch.testing.assert_close(ours, theirs, atol=PIXELS, rtol=0, msg=name)
        with torch.no_grad():
            torch.testing.assert_close(mobilenet.module(ours), reference(theirs), atol=LOGITS, rtol=0, msg=name)


def test_darknets_giraffe_photo_is_a_zebra_as_the_model_was_evaluated(mobilenet):
    """The issue's example: stretched (what the app did before, and what the whole-image framing gives on this square
    photo) MobileNetV2 calls it a bittern (0.26); centre-cropped as published, a zebra (measured 0.73)."""
    giraffe = PHOTOS["giraffe"]
    (_, label, probability), *_ = mobilenet.top_k(giraffe, 1)
    assert label == "zebra" and probability > 0.7
    assert mobilenet.top_k(giraffe, 1, "whole image")[0][1] == "bittern"


@pytest.mark.parametrize("spec", [TIMM_IMAGENET, TIMM_CUSTOM])
def test_timm_models_see_what_create_transform_gives(fake_hub, repos, spec):
    import timm
    from timm.data import create_transform, resolve_data_config

    folder = repos / {TIMM_IMAGENET: "timm-imagenet", TIMM_CUSTOM: "timm-custom"}[spec]
    reference = timm.create_model("local-dir:" + str(folder), pretrained=True).eval()
    transform = create_transform(**resolve_data_config(model=reference))
    model = load_model(spec)
    for name, photo in PHOTOS.items():
        ours = model.preprocessing.to_tensor(photo)
        theirs = transform(Image.fromarray(photo))[None]
        torch.testing.assert_close(ours, theirs, atol=PIXELS, rtol=0, msg=name)
        with torch.no_grad():
            torch.testing.assert_close(model.module(ours), reference(theirs), atol=LOGITS, rtol=0, msg=name)


@pytest.mark.parametrize(
    "config",
    [
        {"input_size": (3, 224, 224), "crop_pct": 0.875, "interpolation": "bicubic"},  # center
        {"input_size": (3, 64, 48), "crop_pct": 0.9, "interpolation": "bilinear"},  # center, not square
        {"input_size": (3, 224, 224), "crop_pct": 0.95, "crop_mode": "squash", "interpolation": "bicubic"},
        {"input_size": (3, 224, 224), "crop_pct": 1.0, "crop_mode": "border", "interpolation": "bicubic"},
        {"input_size": (3, 160, 200), "crop_pct": 0.9, "crop_mode": "border", "mean": (0.2, 0.4, 0.6)},
    ],
)
def test_every_timm_crop_mode_gives_create_transforms_pixels(config):
    from timm.data import create_transform, resolve_data_config

    data_config = resolve_data_config(pretrained_cfg=config)
    preprocessing, transform = timm_preprocessing(data_config), create_transform(**data_config)
    for name, photo in PHOTOS.items():
        theirs = transform(Image.fromarray(photo))[None]
        torch.testing.assert_close(preprocessing.to_tensor(photo), theirs, atol=PIXELS, rtol=0, msg=name)


def test_transformers_models_see_what_their_image_processor_gives(fake_hub, repos):
    from transformers import AutoImageProcessor, ResNetForImageClassification

    folder = repos / "hf-resnet"
    processor = AutoImageProcessor.from_pretrained(folder)  # transformers 5: the fast (torchvision) processor
    reference = ResNetForImageClassification.from_pretrained(folder).eval()
    model = load_model(TRANSFORMERS)
    for name, photo in PHOTOS.items():
        ours = model.preprocessing.to_tensor(photo)
        theirs = processor(images=Image.fromarray(photo), return_tensors="pt")["pixel_values"]
        torch.testing.assert_close(ours, theirs, atol=PIXELS, rtol=0, msg=name)
        with torch.no_grad():
            expected = reference(pixel_values=theirs).logits
            torch.testing.assert_close(model.module(ours), expected, atol=LOGITS, rtol=0, msg=name)


def _processors() -> dict[str, object]:
    import transformers as t

    return {
        "ViT (height and width)": t.ViTImageProcessor(),
        "ViT, nearest": t.ViTImageProcessor(resample=0),
        "DeiT (256, centre crop 224)": t.DeiTImageProcessor(),
        "ConvNeXt at 224 (crop_pct, microsoft/resnet-50)": t.ConvNextImageProcessor(size={"shortest_edge": 224}),
        "ConvNeXt at 384 (squashed)": t.ConvNextImageProcessor(),
        "BiT (shortest edge, crop; DINOv2)": t.BitImageProcessor(),
        "MobileNetV2 (shortest edge 256, crop 224)": t.MobileNetV2ImageProcessor(),
        "BEiT": t.BeitImageProcessor(),
        "EfficientNet (include_top)": t.EfficientNetImageProcessor(),
        "EfficientNet (rescale_offset)": t.EfficientNetImageProcessor(rescale_offset=True, rescale_factor=1 / 127.5),
    }


@pytest.mark.parametrize("name", list(_processors()))
def test_transformers_image_processors_are_reproduced_pixel_for_pixel(name):
    processor = _processors()[name]
    preprocessing = transformers_preprocessing(processor)
    for photo_name, photo in PHOTOS.items():
        theirs = processor(images=Image.fromarray(photo), return_tensors="pt")["pixel_values"]
        torch.testing.assert_close(preprocessing.to_tensor(photo), theirs, atol=PIXELS, rtol=0, msg=photo_name)


def test_the_crop_box_is_the_part_of_the_photo_the_model_saw(mobilenet, chelsea):
    # 300x451: shorter side to 256 -> 256x384, centre 224 from (16, 80): rows 18.75..281.25, columns 94.0..357.1.
    geometry = mobilenet.preprocessing.geometry(chelsea.shape[:2])
    assert (geometry.top, geometry.left, geometry.height, geometry.width) == (-16, -80, 256, 384)
    assert geometry.crop_box == (94, 19, 357, 281) and not geometry.covers_photo
    whole = mobilenet.preprocessing.geometry(chelsea.shape[:2], "whole image")
    assert (whole.top, whole.left, whole.height, whole.width) == (37, 0, 149, 224)
    assert whole.crop_box == (0, 0, 451, 300) and whole.covers_photo


def test_centre_crop_rounds_as_each_library_does():
    # An odd excess of 33 pixels: torchvision rounds half of it to even (16), transformers truncates (16); 35: 18, 17.
    assert centre_crop((1, 1), (257, 259), (224, 224), "round").top == -16
    assert centre_crop((1, 1), (257, 259), (224, 224), "round").left == -18
    assert centre_crop((1, 1), (257, 259), (224, 224), "floor").left == -17
    # A side shorter than the crop is padded, the odd pixel after the photo.
    assert centre_crop((1, 1), (221, 300), (224, 224)).top == 1


def test_the_whole_image_is_letterboxed_with_the_mean_colour(mobilenet, chelsea):
    inputs = mobilenet.preprocessing.to_tensor(chelsea, "whole image")
    geometry = letterbox(chelsea.shape[:2], (224, 224))
    assert inputs.shape == (1, 3, 224, 224)
    top, bottom = geometry.top, geometry.top + geometry.height
    assert torch.allclose(inputs[..., :top, :], torch.tensor(0.0), atol=1e-6)  # the mean colour normalises to 0
    assert torch.allclose(inputs[..., bottom:, :], torch.tensor(0.0), atol=1e-6)
    assert inputs[..., top:bottom, :].abs().mean() > 0.3  # the photo


def test_a_map_is_placed_on_the_crop_box_and_is_zero_outside():
    geometry = Geometry((300, 451), -16, -80, 256, 384, (224, 224))
    placed = geometry.map_to_image(np.ones((224, 224), dtype=np.float32))
    left, top, right, bottom = geometry.crop_box
    assert placed.shape == (300, 451) and placed.dtype == np.float32
    assert np.all(placed[top:bottom, left:right] == 1.0) and placed.sum() == (bottom - top) * (right - left)
    letterboxed = letterbox((300, 451), (224, 224))
    assert letterboxed.map_to_image(np.ones((224, 224), dtype=np.float32)).min() == 1.0  # padding cut away


@pytest.mark.parametrize("framing", ["crop", "whole image"])
def test_an_explanation_records_where_the_model_looked(mobilenet, chelsea, framing):
    result = explain(mobilenet, chelsea, "Grad-CAM", framing=framing)
    geometry = mobilenet.preprocessing.geometry(chelsea.shape[:2], framing)
    assert result.framing == framing and result.crop_box == geometry.crop_box
    assert result.input_map.shape == (224, 224) and result.attribution.shape == chelsea.shape[:2]
    left, top, right, bottom = result.crop_box
    outside = np.ones(chelsea.shape[:2], dtype=bool)
    outside[top:bottom, left:right] = False
    assert not result.attribution[outside].any()  # nothing outside the crop box (empty when whole)
    assert result.seen.shape == (bottom - top, right - left) and np.ptp(result.seen) > 0
    np.testing.assert_array_equal(result.attribution, geometry.map_to_image(result.input_map))


def test_every_path_sees_the_same_framed_input(tiny_model):
    """Top-5, the methods' problem, compare's scores and the sanity check all frame the photo alike."""
    model = LoadedModel(
        "tiny-cropping",
        tiny_model.module,
        Preprocessing((32, 32), scaling="shortest_edge", resize_size=(40, 40), backend="pil"),
        tiny_model.labels,
    )
    photo = np.random.default_rng(0).integers(0, 256, size=(48, 80, 3), dtype=np.uint8)
    for framing in ("crop", "whole image"):
        inputs = model.preprocessing.to_tensor(photo, framing)
        with torch.no_grad():
            expected = torch.softmax(model.module(inputs), dim=1)[0].numpy()
        np.testing.assert_allclose(model.probabilities(photo, framing), expected, atol=1e-6)
        problem = build_problem(model, photo, 1, CountingModel(model.module, 1), framing)
        torch.testing.assert_close(problem.inputs, inputs)
        (compared,) = compare(model, photo, ["Saliency"], "fast", framing=framing)
        assert compared.explanation.framing == framing
        box = model.preprocessing.geometry(photo.shape[:2], framing).crop_box
        assert compared.explanation.crop_box == box
        sanity = cascading_randomisation(model, photo, "Saliency", steps=1, framing=framing)
        assert sanity.record()["framing"] == framing and sanity.record()["crop_box"] == list(box)
    assert box == (0, 0, 80, 48)  # whole image: the whole photo
    # Crop: 48x80 -> 40x66 (int(40 * 80 / 48)), centre 32x32 from (4, 17): rows 4.8..43.2, columns 20.6..59.4.
    assert model.preprocessing.geometry(photo.shape[:2]).crop_box == (21, 5, 59, 43)


def test_the_overlay_draws_the_map_only_where_the_model_looked(mobilenet, chelsea):
    from outputs.render import UNSEEN_BRIGHTNESS, _overlay

    result = explain(mobilenet, chelsea, "Grad-CAM")
    left, top, right, bottom = result.crop_box
    _, axes = _overlay(chelsea, result.attribution, "t", 0.55, result.crop_box)
    photo, heat = axes.images
    drawn = np.asarray(photo.get_array())
    np.testing.assert_array_equal(drawn[top:bottom, left:right], chelsea[top:bottom, left:right])
    dimmed = (chelsea[:, :left].astype(np.float32) * UNSEEN_BRIGHTNESS).astype(np.uint8)
    np.testing.assert_array_equal(drawn[:, :left], dimmed)
    assert list(heat.get_extent()) == [left - 0.5, right - 0.5, bottom - 0.5, top - 0.5]
    assert heat.get_array().shape == (bottom - top, right - left)
    assert heat.norm.vmin == pytest.approx(float(result.seen.min()))  # scaled to what the model saw


def test_unknown_framings_are_refused_with_the_choices():
    from hub_models import UserInputError

    assert check_framing("") == "crop"
    with pytest.raises(UserInputError, match="Unknown framing 'stretch': use one of 'crop', 'whole image'"):
        check_framing("stretch")


@pytest.mark.parametrize("framing", ["crop", "whole image"])
def test_a_manifest_records_the_framing_and_replays_to_the_same_map(tmp_path, framing, capsys):
    from cli.main import main

    chelsea = tmp_path / "chelsea.png"
    Image.fromarray(example_photo("chelsea")).save(chelsea)
    params = json.dumps({"nb_samples": 16, "seed": 3})
    argv = ["explain", str(chelsea), "--method", "RISE", "--params", params, "--framing", framing]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    (manifest,) = (tmp_path / "a" / "chelsea").glob("*_manifest.json")
    record = json.loads(manifest.read_text())
    expected_box = load_model(None).preprocessing.geometry((300, 451), framing).crop_box
    assert record["framing"] == framing and record["crop_box"] == list(expected_box)
    assert "centre crop 224x224" in record["model"]["preprocessing"]
    assert main(["explain", str(chelsea), "--manifest", str(manifest), "--out", str(tmp_path / "b")]) == 0
    (first,), (replayed,) = ((tmp_path / run / "chelsea").glob("*_map.npy") for run in "ab")
    np.testing.assert_array_equal(np.load(first), np.load(replayed))
    # A manifest from before framings: replayed with the default, saying why its map differs.
    del record["framing"], record["crop_box"]
    old = tmp_path / "old_manifest.json"
    old.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["explain", str(chelsea), "--manifest", str(old), "--out", str(tmp_path / "c")]) == 0
    assert "written before framings existed" in capsys.readouterr().err


def _published_classifiers():
    from published_repos import CLASSIFIERS

    return CLASSIFIERS


@pytest.mark.parametrize("spec", _published_classifiers(), ids=lambda spec: spec.repo_id)
def test_the_listed_models_published_preprocessing_is_reproduced(spec):
    """The published settings of every classifier the Space lists: timm's pretrained config from timm's own
    registry, a transformers repo's published ``preprocessor_config.json`` (tests/fixtures/published/)."""
    if spec.kind == "timm":
        import timm
        from timm.data import create_transform, resolve_data_config

        data_config = resolve_data_config(pretrained_cfg=timm.models.get_pretrained_cfg(spec.timm_name).to_dict())
        preprocessing, transform = timm_preprocessing(data_config), create_transform(**data_config)

        def library(photo: np.ndarray) -> torch.Tensor:
            return transform(Image.fromarray(photo))[None]
    else:
        from transformers import AutoImageProcessor

        processor = AutoImageProcessor.from_pretrained(spec.fixture)
        preprocessing = transformers_preprocessing(processor)

        def library(photo: np.ndarray) -> torch.Tensor:
            return processor(images=Image.fromarray(photo), return_tensors="pt")["pixel_values"]

    for name, photo in PHOTOS.items():
        torch.testing.assert_close(preprocessing.to_tensor(photo), library(photo), atol=PIXELS, rtol=0, msg=name)
