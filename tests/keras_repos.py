"""Keras repos for the fake Hub (tests/fake_hub.py), each built the first time a test asks for it (``KerasRepos``),
saved by Keras, KerasHub, TensorFlow and timm themselves.

- ``KERAS_RESNET``: a tiny KerasHub ResNet image classifier at 299 px (``save_to_preset``: config.json,
  metadata.json, task.json, preprocessor.json, image_converter.json, model.weights.h5, task.weights.h5), random
  weights, tagged ``v1.0``; ``KERAS_MOBILENET``: the KerasHub MobileNetV3 that KerasHub's timm loader makes of
  ``TIMM_MOBILENET``, saved as a preset (its image converter resamples bicubic). Both ids are tiny stand-ins, not
  published repos.
- ``TIMM_MOBILENET``: timm/mobilenetv3_small_050.lamb_in1k under its real id, with its published config.json
  (tests/fixtures/published) and random weights saved by timm's ``save_for_hf``; ``TIMM_MOBILENET_TIMM1`` is the same
  weights with the config.json ``save_for_hf`` of timm 1.0 writes (``num_features`` 288, the features before the
  head, where the published file, written by timm 0.9, says 1024): KerasHub 0.32's converter builds the head from it
  and the weights do not fit. ``TIMM_VIT``: a timm ViT config, which KerasHub does not convert (its weights file is
  a placeholder that must never be fetched).
- Repos that must never load, each holding a payload that creates ``KerasRepos.marker`` when its code runs: a
  ``.keras`` archive with a ``Lambda`` layer (``KERAS_ARCHIVE``), a TensorFlow SavedModel whose function writes the
  file (``SAVED_MODEL``), an HDF5 model with a ``Lambda`` (``HDF5_MODEL``), a Keras model saved to a folder as Keras
  uploads ``hf://`` repos (``KERAS_FOLDER``: config.json of a ``Functional`` graph with a ``Lambda``, and
  model.weights.h5), and ``KERAS_RESNET``'s files with a ``Lambda`` hidden inside task.json's image converter
  (``PRESET_WITH_LAMBDA``).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from fake_hub import FakeHub, FakeRepo

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "published"

KERAS_RESNET = "keras/resnet_tiny_299"  # a tiny stand-in saved by KerasHub, not a published id
KERAS_MOBILENET = "keras/mobilenet_v3_small_050_from_timm"  # likewise
TIMM_MOBILENET = "timm/mobilenetv3_small_050.lamb_in1k"  # the real id, published config, random weights
TIMM_MOBILENET_TIMM1 = "fake-org/mobilenetv3_small_050-timm1-config"
TIMM_VIT = "fake-org/tiny-vit-timm"
KERAS_ARCHIVE = "fake-org/keras-archive-with-lambda"
SAVED_MODEL = "fake-org/tf-saved-model"
HDF5_MODEL = "fake-org/keras-hdf5-with-lambda"
KERAS_FOLDER = "fake-org/keras-saved-folder-with-lambda"
PRESET_WITH_LAMBDA = "fake-org/keras-hub-preset-with-lambda"
RESNET_SIZE = (299, 299)
RESNET_SCALE = [1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)]
RESNET_OFFSET = [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]

UNSAFE = (KERAS_ARCHIVE, SAVED_MODEL, HDF5_MODEL, KERAS_FOLDER, PRESET_WITH_LAMBDA)
GROUPS = {
    "resnet": (KERAS_RESNET, PRESET_WITH_LAMBDA),
    "timm": (TIMM_MOBILENET, TIMM_MOBILENET_TIMM1, TIMM_VIT, KERAS_MOBILENET),
    "unsafe": (KERAS_ARCHIVE, SAVED_MODEL, HDF5_MODEL, KERAS_FOLDER),
}


def tiny_resnet_backbone() -> Any:
    """The tests' tiny KerasHub ResNet backbone (basic blocks with ReLU, two stages; KerasHub wants 64 filters first),
    seeded: random weights, the same every time."""
    from hub_models.tensorflow_runtime import import_keras_hub

    keras_hub = import_keras_hub()  # after torch and timm: TensorFlow first would crash triton
    import keras

    keras.utils.set_random_seed(0)
    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 16],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
        image_shape=(None, None, 3),
    )


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its path inside it (a SavedModel has a ``variables/`` folder)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def payload(marker: Path):
    """A function that creates ``marker`` when it runs (a Lambda layer's body: Keras stores its bytecode, the path a
    constant in it; defaults and closures do not survive Keras' round trip)."""
    return eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")


class KerasRepos:
    """Builds the Keras repos in groups, the first time a test asks for one, and serves them from the fake Hub."""

    def __init__(self, hub: FakeHub, root: Path) -> None:
        self.hub = hub
        self.root = root
        self.seconds: dict[str, float] = {}  # build time of each group built so far
        self._lock = threading.Lock()

    @property
    def marker(self) -> Path:
        """Created if any unsafe repo's code ever runs."""
        return self.hub.folder / "keras-code-was-executed"

    def ensure(self, repo_id: str) -> str:
        """``repo_id``, built and served (once)."""
        with self._lock:
            if repo_id not in self.hub.repos:
                group = next(name for name, ids in GROUPS.items() if repo_id in ids)
                start = time.perf_counter()
                self.hub.repos.update(getattr(self, f"_build_{group}")())
                self.seconds[group] = time.perf_counter() - start
        return repo_id

    def folder(self, repo_id: str) -> Path:
        """Where ``repo_id`` was saved (``ensure`` it first)."""
        return self.root / repo_id.replace("/", "--")

    # --- builders --------------------------------------------------------------------------------------------------

    def _build_resnet(self) -> dict[str, FakeRepo]:
        from hub_models.tensorflow_runtime import import_keras_hub

        keras_hub = import_keras_hub()
        import keras

        backbone = tiny_resnet_backbone()
        converter = keras_hub.layers.ResNetImageConverter(
            image_size=RESNET_SIZE, scale=RESNET_SCALE, offset=RESNET_OFFSET
        )
        preprocessor = keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=converter)
        classifier = keras_hub.models.ResNetImageClassifier(
            backbone=backbone, num_classes=1000, preprocessor=preprocessor
        )
        folder = self.folder(KERAS_RESNET)
        classifier.save_to_preset(str(folder))
        files = _files(folder)
        tagged = FakeRepo(files, license="apache-2.0")
        tagged.revisions["v1.0"] = tagged.sha

        task = json.loads(files["task.json"])  # the same preset, a Lambda layer where its image converter was
        lambda_layer = keras.saving.serialize_keras_object(keras.layers.Lambda(payload(self.marker)))
        task["config"]["preprocessor"]["config"]["image_converter"] = lambda_layer
        hidden = {**files, "task.json": json.dumps(task, indent=4).encode()}
        return {KERAS_RESNET: tagged, PRESET_WITH_LAMBDA: FakeRepo(hidden)}

    def _build_timm(self) -> dict[str, FakeRepo]:
        import contextlib
        import io

        import timm
        import torch
        from timm.models import save_for_hf

        torch.manual_seed(0)
        model = timm.create_model("mobilenetv3_small_050.lamb_in1k", pretrained=False)
        timm1 = self.folder(TIMM_MOBILENET_TIMM1)
        save_for_hf(model, timm1, safe_serialization=True)
        folder = self.folder(TIMM_MOBILENET)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(timm1 / "model.safetensors", folder / "model.safetensors")
        shutil.copy(FIXTURES / "timm--mobilenetv3_small_050.lamb_in1k" / "config.json", folder / "config.json")

        vit_config = {"architecture": "vit_tiny_patch16_224", "num_classes": 1000, "pretrained_cfg": {"tag": "x"}}
        vit = {"config.json": json.dumps(vit_config).encode(), "model.safetensors": b"never fetched"}

        from hub_models.tensorflow_runtime import import_keras_hub

        keras_hub = import_keras_hub()
        with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every layer it ports
            converted = keras_hub.models.ImageClassifier.from_preset(str(folder))
        converted.save_to_preset(str(self.folder(KERAS_MOBILENET)))
        return {
            TIMM_MOBILENET: FakeRepo(_files(folder), pipeline_tag="image-classification"),
            TIMM_MOBILENET_TIMM1: FakeRepo(_files(timm1)),
            TIMM_VIT: FakeRepo(vit),
            KERAS_MOBILENET: FakeRepo(_files(self.folder(KERAS_MOBILENET))),
        }

    def _build_unsafe(self) -> dict[str, FakeRepo]:
        from hub_models.tensorflow_runtime import import_keras_hub

        import_keras_hub()
        import keras
        import tensorflow as tf

        def lambda_model() -> Any:
            inputs = keras.Input((4,))
            return keras.Model(inputs, keras.layers.Lambda(payload(self.marker))(keras.layers.Dense(2)(inputs)))

        archive = self.folder(KERAS_ARCHIVE)
        archive.mkdir(parents=True)
        lambda_model().save(archive / "model.keras")
        hdf5 = self.folder(HDF5_MODEL)
        hdf5.mkdir(parents=True)
        lambda_model().save(hdf5 / "model.h5")
        saved_folder = self.folder(KERAS_FOLDER)
        keras.saving.save_model(lambda_model(), str(saved_folder), zipped=False)

        class WritesMarker(tf.Module):
            @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
            def __call__(self, x):
                tf.io.write_file(str(self_marker), "a SavedModel's graph ran")
                return x * 2.0

        self_marker = self.marker
        saved_model = self.folder(SAVED_MODEL)
        tf.saved_model.save(WritesMarker(), str(saved_model))
        self.marker.unlink()  # building a Lambda model calls its function: the payload ran here, on purpose
        readme = {"README.md": b"---\nlibrary_name: keras\n---\n"}
        return {
            KERAS_ARCHIVE: FakeRepo({**_files(archive), **readme}),
            SAVED_MODEL: FakeRepo({**_files(saved_model), **readme}),
            HDF5_MODEL: FakeRepo({**_files(hdf5), **readme}),
            KERAS_FOLDER: FakeRepo({**_files(saved_folder), **readme}),
        }
