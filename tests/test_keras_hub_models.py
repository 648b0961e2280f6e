"""Keras 3 classifiers from the Hub (TensorFlow backend), against the fake Hub: KerasHub presets by id, timm
checkpoints converted by KerasHub's timm loader (``keras:``), and every Keras format that can carry code refused with
nothing executed. The repos are saved by KerasHub, Keras, TensorFlow and timm themselves (tests/keras_repos.py).

Measured on the 2-vCPU AMD EPYC VM without AVX-512 (KerasHub 0.32, Keras 3.15, TensorFlow 2.20):

- KerasHub's image converter against our ``Preprocessing`` (``keras`` backend, ``hub_models.tf_resize``) on six
  photos (wide, tall, square, a 60x50 crop enlarged), at 299x299 and 256x192, nearest, bilinear and bicubic, cropped
  to the aspect ratio or squashed: on the uint8 photo (what the app holds) every value equal, 4.8e-7 apart at most
  after normalisation (its float order). The same photo as float32 (Keras then does not round to levels): bilinear
  and nearest within half a level.
- The tiny ResNet preset by id: our module on KerasHub's own preprocessor output gives KerasHub's ``predict`` to the
  bit (0); end to end (our preprocessing) within 2.3e-7 of the largest logit. The MobileNetV3 preset (bicubic):
  7.6e-7 and 8.1e-7.
- ``keras:timm/mobilenetv3_small_050.lamb_in1k`` against ``timm/mobilenetv3_small_050.lamb_in1k`` in PyTorch on the
  same pixels (the same ``Preprocessing``, timm's): within 1.0e-6 of the largest logit on the six photos.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from fake_hub import TRANSFORMERS
from keras_repos import (
    HDF5_MODEL,
    KERAS_ARCHIVE,
    KERAS_FOLDER,
    KERAS_MOBILENET,
    KERAS_RESNET,
    PRESET_WITH_LAMBDA,
    RESNET_OFFSET,
    RESNET_SCALE,
    SAVED_MODEL,
    TIMM_MOBILENET,
    TIMM_MOBILENET_TIMM1,
    TIMM_VIT,
    KerasRepos,
)

from hub_models import UserInputError, load_model
from hub_models.cache import cached_specs, normalise_spec
from hub_models.card import model_card
from hub_models.examples import example_photo
from hub_models.hub import load_hub_model
from hub_models.keras_formats import KERAS_TIMM_FAMILIES, check_preset_json
from hub_models.tensorflow_runtime import import_keras_hub

PHOTOS = {name: example_photo(name) for name in ("chelsea", "coffee", "astronaut", "grace_hopper")}
PHOTOS["chelsea upright"] = np.ascontiguousarray(np.rot90(PHOTOS["chelsea"]))  # tall
PHOTOS["a 60x50 crop"] = np.ascontiguousarray(PHOTOS["chelsea"][100:160, 200:250])  # upscaled
LOGITS = 1e-5
"""Logits against the reference, relative to the largest: measured at most 1.0e-6 (see the module docstring)."""
PIXELS = 1e-6
"""Normalised input values against KerasHub's converter: measured at most 4.8e-7."""
PRESET_FETCHED = ["config.json", "task.json", "preprocessor.json", "image_converter.json"]
PRESET_WEIGHTS = ["model.weights.h5", "task.weights.h5"]


@pytest.fixture(scope="module")
def keras_hub():
    return import_keras_hub()


@pytest.fixture(scope="module")
def repos(keras_repos, keras_hub) -> KerasRepos:
    """The session's Keras repos (tests/conftest.py)."""
    return keras_repos


@pytest.fixture(scope="module")
def resnet(repos):
    return load_model(repos.ensure(KERAS_RESNET))


def _relative(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def _fetched(fake_hub, repo_id: str) -> list[str]:
    """The files of ``repo_id`` downloaded (GET), in order."""
    return [
        r.rsplit("/resolve/", 1)[1].split("/", 1)[1]
        for r in fake_hub.requests_for(repo_id)
        if r.startswith("GET") and "/resolve/" in r
    ]


def test_a_kerashub_preset_loads_by_id_and_gives_kerashubs_own_logits(resnet, repos, fake_hub, keras_hub):
    assert resnet.framework == "keras" and resnet.name == KERAS_RESNET
    assert resnet.n_classes == 1000 and resnet.labels[0].startswith("tench")  # ImageNet's names for 1000 classes
    source = resnet.source
    assert source["kind"] == "KerasHub preset" and source["architecture"] == "ResNetImageClassifier"
    assert source["revision"] == fake_hub.repos[KERAS_RESNET].sha and source["license"] == "apache-2.0"
    # The configurations, each checked, then the weights; metadata.json is not needed.
    fetched = _fetched(fake_hub, KERAS_RESNET)
    assert fetched == PRESET_FETCHED + PRESET_WEIGHTS
    files = fake_hub.repos[KERAS_RESNET].files
    assert int(source["download_bytes"]) == sum(len(files[name]) for name in fetched)
    preprocessing = resnet.preprocessing
    assert preprocessing.input_size == (299, 299) and preprocessing.backend == "keras"
    assert preprocessing.scaling == "crop_to_aspect_ratio" and preprocessing.interpolation == "bilinear"
    card = model_card(resnet)
    assert "Keras 3 on TensorFlow (ResNetBackbone)" in card and "tf.image, no antialias" in card

    reference = keras_hub.models.ImageClassifier.from_preset(str(repos.folder(KERAS_RESNET)))
    converter = reference.preprocessor.image_converter
    for name, photo in PHOTOS.items():
        theirs = reference.predict(photo[None], verbose=0)  # its own preprocessor, on the uint8 photo
        their_input = torch.from_numpy(np.array(converter(photo[None]))).permute(0, 3, 1, 2)
        with torch.no_grad():
            assert _relative(resnet.module(their_input).numpy(), theirs) < PIXELS, name  # the same model
            assert _relative(resnet.module(resnet.preprocessing.to_tensor(photo)).numpy(), theirs) < LOGITS, name
    assert resnet.top_k(PHOTOS["chelsea"], 1)[0][1] in resnet.labels


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("crop", [True, False], ids=["crop to aspect ratio", "squash"])
def test_the_preprocessing_reproduces_kerashubs_image_converter(keras_hub, interpolation, crop):
    from hub_models.keras_models import converter_preprocessing

    level = max(RESNET_SCALE)  # one level of a uint8 pixel after normalisation (the widest channel)
    for size in [(299, 299), (256, 192)]:
        converter = keras_hub.layers.ResNetImageConverter(
            image_size=size,
            scale=RESNET_SCALE,
            offset=RESNET_OFFSET,
            interpolation=interpolation,
            crop_to_aspect_ratio=crop,
        )
        preprocessing = converter_preprocessing(converter, "test")
        for name, photo in PHOTOS.items():
            ours = preprocessing.to_tensor(photo)[0].permute(1, 2, 0).numpy()
            theirs = np.array(converter(photo[None]))[0]  # the uint8 photo, as the app holds it
            assert np.abs(ours - theirs).max() < PIXELS, (size, name)
            if interpolation != "bicubic":  # a float photo: Keras does not round; ours is within half a level
                unrounded = np.array(converter(photo[None].astype(np.float32)))[0]
                assert np.abs(ours - unrounded).max() < level * 0.5 + PIXELS


def test_the_crop_box_is_the_region_kerashub_cuts_out(resnet):
    # chelsea, 451x300: the centred 300x300 from column int(151 / 2) = 75; the map is placed within a photo pixel
    wide = resnet.preprocessing.geometry(PHOTOS["chelsea"].shape[:2]).crop_box
    assert np.abs(np.subtract(wide, (75, 0, 375, 300))).max() <= 1, wide
    tall = resnet.preprocessing.geometry(PHOTOS["chelsea upright"].shape[:2]).crop_box
    assert np.abs(np.subtract(tall, (0, 75, 300, 375))).max() <= 1, tall


def test_keras_timm_gives_the_pytorch_logits_on_the_same_pixels(repos, fake_hub):
    repos.ensure(TIMM_MOBILENET)
    pytorch = load_model(TIMM_MOBILENET)
    keras = load_model(f"keras:{TIMM_MOBILENET}")
    assert keras.framework == "keras" and pytorch.framework == "pytorch"
    assert {TIMM_MOBILENET, f"keras:{TIMM_MOBILENET}"} <= set(cached_specs())  # two models, one cache each
    assert keras.preprocessing == pytorch.preprocessing  # timm's, as resolved for the PyTorch model
    assert keras.preprocessing.backend == "pil" and keras.preprocessing.interpolation == "bicubic"
    assert keras.labels == pytorch.labels and keras.n_classes == 1000
    assert keras.source["revision"] == pytorch.source["revision"] == fake_hub.repos[TIMM_MOBILENET].sha
    assert keras.source["architecture"] == "mobilenetv3_small_050" and "timm in Keras" in keras.source["kind"]
    assert keras.name == f"keras:{TIMM_MOBILENET}"
    for name in ("chelsea", "coffee"):
        pixels = pytorch.preprocessing.to_tensor(PHOTOS[name])
        with torch.no_grad():
            assert _relative(keras.module(pixels).numpy(), pytorch.module(pixels).numpy()) < LOGITS, name


def test_a_bicubic_kerashub_preset_converted_from_timm(repos, fake_hub, keras_hub):
    model = load_hub_model(repos.ensure(KERAS_MOBILENET))
    assert model.preprocessing.interpolation == "bicubic" and model.preprocessing.input_size == (224, 224)
    assert (
        type(model.module).__name__ == "KerasClassifier" and model.source["architecture"] == "MobileNetImageClassifier"
    )
    reference = keras_hub.models.ImageClassifier.from_preset(str(repos.folder(KERAS_MOBILENET)))
    photo = PHOTOS["grace_hopper"]
    with torch.no_grad():
        ours = model.module(model.preprocessing.to_tensor(photo)).numpy()
    assert _relative(ours, reference.predict(photo[None], verbose=0)) < LOGITS


def test_weights_that_do_not_fit_give_a_message_naming_the_repo(repos, fake_hub):
    # timm 1.0's save_for_hf writes num_features 288 (before the head), KerasHub builds a 288-wide head from it
    repos.ensure(TIMM_MOBILENET_TIMM1)
    with pytest.raises(
        UserInputError, match=rf"{TIMM_MOBILENET_TIMM1} could not be loaded with KerasHub 0\.\d+.*shape"
    ) as error:
        load_model(f"keras:{TIMM_MOBILENET_TIMM1}")
    assert len(str(error.value)) < 500  # Keras appends the variable's whole value to this error: cut
    assert load_model(TIMM_MOBILENET_TIMM1).framework == "pytorch"  # the same repo loads in PyTorch


@pytest.mark.parametrize(
    ("repo_id", "kind"),
    [
        (KERAS_ARCHIVE, r"a \.keras archive \(model\.keras\)"),
        (SAVED_MODEL, r"a TensorFlow SavedModel \(saved_model\.pb, variables/variables\.data-00000-of-00001"),
        (HDF5_MODEL, r"an HDF5 Keras model \(model\.h5\)"),
    ],
)
def test_keras_formats_that_can_carry_code_are_refused_before_any_download(repos, fake_hub, repo_id, kind):
    repos.ensure(repo_id)
    message = (
        rf"{repo_id} holds its model only as {kind}.*can run code when it is loaded .*CVE-2025-1550, CVE-2025-8747, "
        r"CVE-2025-9905, CVE-2025-9906.*Use a KerasHub preset .* model\.safetensors"
    )
    with pytest.raises(UserInputError, match=message):
        load_model(repo_id)
    assert not [r for r in fake_hub.requests_for(repo_id) if "/resolve/" in r]  # not even a HEAD
    assert not repos.marker.exists()


@pytest.mark.parametrize(
    ("repo_id", "message"),
    [
        (KERAS_FOLDER, r"is not a KerasHub preset: its config\.json describes 'Functional'.*model\.save"),
        (
            PRESET_WITH_LAMBDA,
            r"was refused: its task\.json\.config\.preprocessor\.config\.image_converter names module "
            r"'keras\.layers', class_name 'Lambda'",
        ),
    ],
)
def test_a_config_naming_anything_but_kerashubs_classes_is_refused_before_the_weights(
    repos, fake_hub, repo_id, message
):
    repos.ensure(repo_id)
    with pytest.raises(UserInputError, match=message):
        load_model(repo_id)
    fetched = _fetched(fake_hub, repo_id)
    assert fetched and all(name.endswith(".json") for name in fetched), fetched
    assert not repos.marker.exists()


def test_each_refused_repo_holds_code_that_would_run(repos, keras_hub):
    """The refusals above matter: loaded the usual way (Keras with safe_mode off, as CVE-2025-9906's config turns it
    off, or TensorFlow), each repo runs its code and the marker appears."""
    import keras
    import tensorflow as tf

    def ran() -> bool:
        found = repos.marker.exists()
        repos.marker.unlink(missing_ok=True)
        return found

    keras.saving.load_model(repos.folder(KERAS_ARCHIVE) / "model.keras", safe_mode=False)
    assert ran()
    keras.saving.load_model(repos.folder(HDF5_MODEL) / "model.h5", safe_mode=False)
    assert ran()
    keras.saving.load_model(str(repos.folder(KERAS_FOLDER)), safe_mode=False)
    assert ran()
    tf.saved_model.load(str(repos.folder(SAVED_MODEL)))(tf.zeros([1, 4]))
    assert ran()
    task = json.loads(repos.hub.repos[PRESET_WITH_LAMBDA].files["task.json"])
    hidden = task["config"]["preprocessor"]["config"]["image_converter"]
    keras.saving.deserialize_keras_object(hidden, safe_mode=False)(keras.ops.zeros((1, 4)))
    assert ran()


LAMBDA_CODE = {"class_name": "__lambda__", "config": {"code": "4wEAAAAA", "defaults": None, "closure": None}}
HOSTILE = {
    "a Lambda layer": {"module": "keras.layers", "class_name": "Lambda", "config": {"function": LAMBDA_CODE}},
    "a bare __lambda__": LAMBDA_CODE,
    "CVE-2025-9906: enable_unsafe_deserialization": {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
        "registered_name": "function",
    },
    "CVE-2025-8747: keras.utils.get_file": {
        "module": "keras.utils",
        "class_name": "function",
        "config": "get_file",
        "registered_name": "function",
    },
    "a function of builtins other than an activation": {
        "module": "builtins",
        "class_name": "function",
        "config": "exec",
        "registered_name": "function",
    },
    "CVE-2025-1550: a class from any module": {"module": "os", "class_name": "system", "config": {}},
    "a Functional graph": {
        "module": "keras",
        "class_name": "Functional",
        "config": {},
        "registered_name": "Functional",
    },
    "a Keras layer": {"module": "keras.layers", "class_name": "Dense", "config": {"units": 1}},
    "keras_hub> from another module": {
        "module": "evil.models",
        "class_name": "ResNetBackbone",
        "config": {},
        "registered_name": "keras_hub>ResNetBackbone",
    },
    "keras_hub> naming another class": {
        "module": "keras_hub.src.models.resnet.resnet_backbone",
        "class_name": "Lambda",
        "config": {},
        "registered_name": "keras_hub>ResNetBackbone",
    },
    "a registered custom class": {"module": None, "class_name": "Evil", "config": {}, "registered_name": "Custom>Evil"},
    "a quantisation map": {"module": "keras.dtype_policies", "class_name": "DTypePolicyMap", "config": {}},
    "a module without a class": {"module": "os", "config": {}},
}


@pytest.mark.parametrize("hostile", list(HOSTILE), ids=list(HOSTILE))
def test_the_configuration_check_refuses_code_wherever_it_hides(hostile):
    preset = {
        "module": "keras_hub.src.models.resnet.resnet_image_classifier",
        "class_name": "ResNetImageClassifier",
        "registered_name": "keras_hub>ResNetImageClassifier",
        "config": {"name": "x", "backbone": {"a": [1, {"b": HOSTILE[hostile]}]}},
    }
    with pytest.raises(
        UserInputError, match=r"org/repo was refused: its task\.json\.config\.backbone\.a\[1\]\.b names"
    ):
        check_preset_json("org/repo", "task.json", preset)


def test_the_configuration_check_accepts_what_kerashub_writes(repos):
    """Every file of both presets KerasHub saved here, and the Keras built-ins its image models serialise."""
    for repo_id in (KERAS_RESNET, KERAS_MOBILENET):
        for name, data in repos.hub.repos[repos.ensure(repo_id)].files.items():
            if name.endswith(".json") and name != "metadata.json":
                check_preset_json(repo_id, name, json.loads(data))
    import keras

    for value in (
        keras.initializers.TruncatedNormal(stddev=0.02),
        keras.regularizers.L2(1e-4),
        keras.constraints.MaxNorm(3),
        keras.activations.gelu,
        keras.DTypePolicy("float32"),
    ):
        check_preset_json("org/repo", "image_converter.json", keras.saving.serialize_keras_object(value))


def test_a_kerashub_name_must_be_a_class_kerashub_registered(repos, tmp_path):
    from hub_models.keras_models import load_keras_preset

    folder = tmp_path / "preset"
    shutil.copytree(repos.folder(repos.ensure(KERAS_RESNET)), folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(class_name="NoSuchBackbone", registered_name="keras_hub>NoSuchBackbone")
    (folder / "config.json").write_text(json.dumps(config))
    check_preset_json("org/repo", "config.json", config)  # it looks like KerasHub's ...
    with pytest.raises(UserInputError, match=r"names 'keras_hub>NoSuchBackbone', which is not a class of KerasHub"):
        load_keras_preset("org/repo", folder)  # ... but KerasHub has no such class


def test_the_download_cap_counts_every_file_of_a_preset(repos, fake_hub, monkeypatch):
    repos.ensure(KERAS_RESNET)
    files = fake_hub.repos[KERAS_RESNET].files
    total = sum(len(files[name]) for name in PRESET_FETCHED + PRESET_WEIGHTS)
    monkeypatch.setenv("XAI_MAX_DOWNLOAD_MB", str((total - 1) / 1e6))  # one byte short
    before = len(_fetched(fake_hub, KERAS_RESNET))
    with pytest.raises(
        UserInputError, match=r"keras/resnet_tiny_299 would download 1 MB, more than .*XAI_MAX_DOWNLOAD_MB"
    ):
        load_hub_model(KERAS_RESNET)
    assert len(_fetched(fake_hub, KERAS_RESNET)) == before  # refused from the metadata


def test_a_revision_of_a_preset(repos, fake_hub):
    sha = fake_hub.repos[repos.ensure(KERAS_RESNET)].sha
    tagged = load_hub_model(f"{KERAS_RESNET}@v1.0")
    assert tagged.source["revision"] == sha and tagged.source["requested_revision"] == "v1.0"
    assert tagged.name == f"{KERAS_RESNET}@v1.0"
    with pytest.raises(UserInputError, match=f"{KERAS_RESNET} has no revision 'v2.0'"):
        load_hub_model(f"{KERAS_RESNET}@v2.0")


def test_offline_a_cached_preset_loads_and_a_half_downloaded_one_says_offline(resnet, repos, fake_hub, monkeypatch):
    from huggingface_hub import constants

    repos.ensure(PRESET_WITH_LAMBDA)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = fake_hub.request_count()
    cached = load_hub_model(KERAS_RESNET)
    assert cached.source["revision"] == fake_hub.repos[KERAS_RESNET].sha
    assert cached.source["download_bytes"] == resnet.source["download_bytes"]
    photo = PHOTOS["coffee"]
    assert np.allclose(cached.probabilities(photo), resnet.probabilities(photo), atol=1e-6)
    with pytest.raises(UserInputError, match=f"offline here \\(HF_HUB_OFFLINE=1\\) and {PRESET_WITH_LAMBDA} is not"):
        load_hub_model(PRESET_WITH_LAMBDA)  # its configurations are cached, its weights never were
    assert fake_hub.request_count() == before


def test_keras_refuses_what_kerashub_does_not_convert(repos, fake_hub):
    repos.ensure(TIMM_VIT)
    families = r"resnet\*, csp\*, darknet\*, densenet\*, efficientnet\*, hgnetv2\*, mobilenet\*, vgg\*"
    with pytest.raises(UserInputError, match=rf"{TIMM_VIT} is a timm 'vit_tiny_patch16_224', .*converts {families}"):
        load_model(f"keras:{TIMM_VIT}")
    assert not [r for r in fake_hub.requests_for(TIMM_VIT) if "safetensors" in r]
    with pytest.raises(
        UserInputError, match=f"'keras:' converts timm checkpoints only, and {TRANSFORMERS} is a transformers"
    ):
        load_model(f"keras:{TRANSFORMERS}")
    from hub_models.detectors import load_detector

    with pytest.raises(
        UserInputError, match="is not an object detector this app can load: 'keras:' loads image classifiers"
    ):
        load_detector(f"keras:{TIMM_VIT}")


def test_the_timm_families_are_those_kerashub_converts(keras_hub):
    from keras_hub.src.utils.timm.preset_loader import TimmPresetLoader

    for family in KERAS_TIMM_FAMILIES:
        TimmPresetLoader("unused", {"architecture": f"{family}_x"})
    with pytest.raises(ValueError, match="no converter"):
        TimmPresetLoader("unused", {"architecture": "vit_small_patch16_224"})


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ("keras:timm/resnet50.a1_in1k", "keras:timm/resnet50.a1_in1k"),
        (" keras:timm/resnet50.a1_in1k@v1 ", "keras:timm/resnet50.a1_in1k@v1"),
        ("timm/resnet50.a1_in1k", "timm/resnet50.a1_in1k"),
    ],
)
def test_keras_specs_are_normalised_apart_from_the_pytorch_ones(spec, key):
    assert normalise_spec(spec) == key


@pytest.mark.parametrize("spec", ["keras:", "keras:keras:org/name", "keras:org", "keras:/org/name"])
def test_malformed_keras_specs_are_refused_before_any_request(fake_hub, spec):
    before = fake_hub.request_count()
    with pytest.raises(UserInputError, match="is not a valid Hugging Face model id"):
        normalise_spec(spec)
    assert fake_hub.request_count() == before
