"""Do the maps point at the object? The real ImageNet MobileNetV2 explaining scikit-image's photo of Chelsea the cat.

These tests check the *content* of the maps, not only their shape: a method that returned noise, a map flipped or
shifted by a resizing bug, or a map that ignored the target class would fail them.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from matplotlib import colormaps
from PIL import Image, ImageDraw

from explainers import METHODS, explain

pytestmark = pytest.mark.slow

FRAMING = "whole image"
"""The regions below are drawn on the whole photo, and the room around the cat lies outside the model's own centre
crop (columns 94-357 of 451), where every map is 0 by construction: with the default crop framing the face would
"beat" a background the model never saw. Letterboxed whole, the model sees the face and the room. (Before framings
existed the photo was stretched to 224x224; the ratios below were re-measured whole.)"""
CAT_CLASSES = range(281, 286)
"""ImageNet's domestic cats: tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat."""

# Regions of chelsea (300 rows x 451 columns), drawn by looking at the photo; each is (rows, columns).
# The cat fills most of the frame, so the regions compared are her face and the out-of-focus room around her,
# not "inside vs. outside the cat". test-artifacts/quality_<method>.png shows them over each map.
CAT_FACE = (slice(30, 290), slice(100, 350))
"""Both eyes (rows ~80-150, columns ~130-345), the nose and the muzzle (rows ~210-280, columns ~220-300)."""
BACKGROUND = (
    (slice(60, 300), slice(375, 451)),  # the blurred room right of her right cheek and whiskers
    (slice(0, 60), slice(405, 451)),  # above and right of her right ear
    (slice(0, 100), slice(0, 25)),  # the grey top-left corner, left of her left ear
)


def region_mask(shape: tuple[int, int], *rectangles: tuple[slice, slice]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for rows, columns in rectangles:
        mask[rows, columns] = True
    return mask


def face_to_background_ratio(attribution: np.ndarray) -> float:
    """Mean of the min-max normalised map on the face over its mean on the background.

    Normalising makes the measure blind to a map's offset and scale (RISE maps, for one, sit on a large constant):
    1 means no preference, above 1 the face, below 1 the background.
    """
    face = region_mask(attribution.shape, CAT_FACE)
    background = region_mask(attribution.shape, *BACKGROUND)
    spread = float(attribution.max() - attribution.min())
    assert spread > 0, "a constant map points at nothing"
    normalised = (attribution - attribution.min()) / spread
    return float(normalised[face].mean() / normalised[background].mean())


# What "importance" means for each map, and the ratio it must exceed. Thresholds are calibrated on runs of the
# default preset (torch 2.14.1, xplique 2.0.2) with a margin of 25-50% on the photo stretched to 224x224, as the app
# framed it before: Grad-CAM 3.04, Integrated Gradients 1.75. Whole (letterboxed, the face 149 px high instead of
# 224): Grad-CAM 2.91, Integrated Gradients 2.04. The same maps rolled by half the image width, which puts the face's
# attribution on the background, measured 0.63 and 0.49: far below their thresholds.
IMPORTANCE = {
    "gradcam": (lambda a: a, 2.0),  # already ReLU'd
    "integrated_gradients": (np.abs, 1.3),  # signed per-pixel contributions: their magnitude
    # Superpixel surrogates, positive part (evidence for the class). Stretched, LIME measured 7.99 / 6.73 (seeds
    # 0 / 1), KernelSHAP 2.40 / 5.06; whole, 29.8 and 9.43; rolled by half a width 0.13-0.25. LIME's map was ~1e-5
    # noise with Xplique's default kernel (see explainers/lime.py).
    "lime": (lambda a: np.maximum(a, 0.0), 3.0),
    "kernel_shap": (lambda a: np.maximum(a, 0.0), 1.6),
    # Stretched 3.72 (Grad-CAM++), 1.37 (Saliency: already a magnitude), 2.32 (SmoothGrad's magnitude); whole 2.57,
    # 1.81, 2.21; rolled by half a width 0.66, 0.78, 0.50.
    "gradcampp": (lambda a: a, 2.4),
    "saliency": (lambda a: a, 1.1),
    "smoothgrad": (np.abs, 1.6),
    # Whole: Gradient x Input's magnitude 1.48; VarGrad 2.19 / 2.39 (seeds 0 / 1), SquareGrad 2.42 / 2.61 (both
    # unsigned already); rolled by half a width 0.70, 0.46, 0.42.
    "gradient_input": (np.abs, 1.15),
    "vargrad": (lambda a: a, 1.6),
    "squaregrad": (lambda a: a, 1.8),
    # Unsigned indices (Xplique, 8x8 grid, default preset): whole, Sobol measured 17.0 / 13.9 (seeds 0 / 1), HSIC
    # 5.71 / 5.90; rolled by half a width 0.22-0.37.
    "sobol": (lambda a: a, 9.0),
    "hsic": (lambda a: a, 4.0),
}
NOT_SCORED = {
    # Whole, chelsea's face is 149 px high in the model's input and these two coarse perturbation maps stop preferring
    # it: Occlusion (32-px patches) measured 1.40 (its half-width roll 1.52: the measure no longer tells it from a
    # shifted map), RISE 1.34 (roll 1.18); on the stretched photo they measured 2.18 and 2.13, and the same code on
    # a stretching preprocessing still gives those, so the maps are placed right. Cropped, the measure has no
    # background to compare with. Their content is checked by the blanking test below, on the default crop.
    "occlusion": "face/background needs the whole photo, where its 32-px patches do not separate the face (1.40 "
    "against 1.52 shifted); checked by test_blanking_the_top_pixels_costs_the_class_more_than_blanking_the_bottom_ones",
    "rise": "face/background needs the whole photo, where it measured 1.34 (1.18 shifted), below its 1.5; checked by "
    "test_blanking_the_top_pixels_costs_the_class_more_than_blanking_the_bottom_ones",
    "edges": "the model-free control: its edge map scores 2.40 here (the face has the edges, the room behind is out of "
    "focus), which is why a localisation measure alone cannot certify a method; the sanity check fails it "
    "(tests/test_sanity.py)",
    # Vision transformers only (Method.families): they refuse MobileNetV2. Their localisation is measured on the
    # one real ViT here, DINOv2-small, on chelsea and dog.jpg (tests/test_dinov2.py).
    "rollout": "reads a ViT's attention: MobileNetV2 has none; scored on DINOv2-small in tests/test_dinov2.py",
    "chefer": "reads a ViT's attention: MobileNetV2 has none; scored on DINOv2-small in tests/test_dinov2.py",
    # Keras only (Xplique): the embedded MobileNetV2 is a PyTorch model, which refuses them; they run on Keras models
    # in tests/test_keras_methods.py.
    "fem": "Keras only: the embedded MobileNetV2 is a PyTorch model; run on Keras in tests/test_keras_methods.py",
    "guided_backprop": "Keras only: the embedded MobileNetV2 is a PyTorch model; run on Keras in "
    "tests/test_keras_methods.py",
    "deconvnet": "Keras only: the embedded MobileNetV2 is a PyTorch model; run on Keras in tests/test_keras_methods.py",
}
"""Methods this measure does not score, each with the reason: every registered method is in one table or the other."""


@pytest.fixture(scope="module")
def cat_map(mobilenet, chelsea):
    """``cat_map(method)``: the method's map for the top-1 class with its default preset, computed once."""

    @functools.cache
    def compute(method: str) -> np.ndarray:
        return explain(mobilenet, chelsea, method, framing=FRAMING).attribution

    return compute


def save_overlay(path, image: np.ndarray, importance: np.ndarray) -> None:
    """The photo under the normalised map, with the face (white) and background (black) rectangles."""
    normalised = (importance - importance.min()) / max(float(importance.max() - importance.min()), 1e-12)
    heat = (colormaps["jet"](normalised)[..., :3] * 255).astype(np.uint8)
    picture = Image.fromarray((0.45 * image + 0.55 * heat).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for (rows, columns), colour in [(CAT_FACE, "white"), *((region, "black") for region in BACKGROUND)]:
        draw.rectangle([columns.start, rows.start, columns.stop - 1, rows.stop - 1], outline=colour, width=2)
    picture.save(path)


def test_every_registered_method_is_scored_or_says_why_not():
    assert set(IMPORTANCE) | set(NOT_SCORED) == set(METHODS) and not set(IMPORTANCE) & set(NOT_SCORED)


def test_chelsea_is_classified_as_a_cat(mobilenet, chelsea):
    for framing in ("crop", FRAMING):
        (index, label, probability), *_ = mobilenet.top_k(chelsea, 5, framing)
        assert index in CAT_CLASSES, f"top-1 is {label!r} ({index})"
        assert probability > 0.5  # Egyptian cat at 0.72 cropped, 0.58 whole (0.76 stretched, before framings)
        # A blank target explains the top-1 class.
        assert explain(mobilenet, chelsea, "gradcam", framing=framing).target == index


def test_regions_lie_inside_the_photo_and_do_not_overlap(chelsea):
    shape = chelsea.shape[:2]
    face = region_mask(shape, CAT_FACE)
    background = region_mask(shape, *BACKGROUND)
    assert face.sum() == 260 * 250  # no rectangle clipped by the image border
    assert background.sum() == 240 * 76 + 60 * 46 + 100 * 25
    assert not (face & background).any()


@pytest.mark.parametrize("method", list(IMPORTANCE))
def test_attribution_concentrates_on_the_cat_not_the_background(method, cat_map, chelsea, artifacts):
    importance_of, threshold = IMPORTANCE[method]
    importance = importance_of(cat_map(method))
    save_overlay(artifacts / f"quality_{method}.png", chelsea, importance)

    ratio = face_to_background_ratio(importance)
    assert ratio > threshold, f"{method}: face/background ratio {ratio:.2f} <= {threshold}"

    # The measure can fail: the same map moved by half the width, onto the background, is rejected.
    shifted = np.roll(importance, importance.shape[1] // 2, axis=1)
    assert face_to_background_ratio(shifted) < threshold


@pytest.mark.parametrize("method", ["gradcam", "occlusion", "rise"])
def test_blanking_the_top_pixels_costs_the_class_more_than_blanking_the_bottom_ones(method, mobilenet, chelsea):
    """A deletion check, blind to regions drawn by hand, on what the model saw (the default crop framing): does the
    map rank the pixels the model needs first?

    The 20% of the model's input pixels its map (``input_map``) ranks highest are set to the training set's mean
    colour (0 once normalised, the methods' own baseline), then the 20% it ranks lowest. Measured logit drops (top /
    bottom, from 18.85): Grad-CAM 4.46 / 1.87, Occlusion 6.76 / 2.56, RISE 4.06 / 0.22. (Before framings, on the
    stretched photo and in photo pixels, from 16.0: 2.52 / 0.16, 4.74 / -0.03, 3.05 / -0.20.) Integrated Gradients
    is left out: its top pixels are scattered, and blanking scattered pixels costs about as much wherever they are
    (13.2 / 12.4 stretched).
    """
    result = explain(mobilenet, chelsea, method)
    inputs = mobilenet.preprocessing.to_tensor(chelsea)
    order = torch.from_numpy(np.argsort(result.input_map, axis=None))
    count = order.numel() // 5
    with torch.no_grad():
        base = float(mobilenet.module(inputs)[0, result.target])
        drops = {}
        for name, chosen in (("top", order[-count:]), ("bottom", order[:count])):
            blanked = inputs.clone().flatten(2)
            blanked[..., chosen] = 0.0
            drops[name] = base - float(mobilenet.module(blanked.view_as(inputs))[0, result.target])
    assert drops["top"] > 1.0, drops
    assert drops["top"] - drops["bottom"] > 1.0, drops


def test_a_map_on_the_background_or_a_flat_noise_map_fails_the_measure(chelsea):
    shape = chelsea.shape[:2]
    on_background = region_mask(shape, *BACKGROUND).astype(np.float32)
    noise = np.random.default_rng(0).random(shape).astype(np.float32)
    smallest_threshold = min(threshold for _, threshold in IMPORTANCE.values())
    assert face_to_background_ratio(on_background) < 0.1
    assert face_to_background_ratio(noise) < smallest_threshold


def test_another_target_class_gives_another_grad_cam_map(mobilenet, chelsea, cat_map):
    cat = explain(mobilenet, chelsea, "gradcam", target="Egyptian cat", framing=FRAMING)
    espresso = explain(mobilenet, chelsea, "gradcam", target="espresso", framing=FRAMING)
    assert (cat.target, espresso.target) == (285, 967)
    assert cat.target_label == "Egyptian cat"
    # The top-1 map (fixture) is the Egyptian cat map: same class, same deterministic method.
    np.testing.assert_array_equal(cat.attribution, cat_map("gradcam"))

    assert espresso.attribution.std() > 0, "the espresso map should not be flat"
    assert not np.allclose(cat.attribution, espresso.attribution, rtol=0.05, atol=0.01 * cat.attribution.max())
    # Measured correlation 0.35 (tiger cat, a near-synonym, gives 0.91): a map that ignored the target gives 1.
    correlation = np.corrcoef(cat.attribution.ravel(), espresso.attribution.ravel())[0, 1]
    assert correlation < 0.8
