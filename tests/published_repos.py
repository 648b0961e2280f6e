"""Fake-Hub repos under the real ids of the models the Space lists, built from their published configurations.

Each repo is what the real one holds (``config.json``, ``model.safetensors`` and, for transformers,
``preprocessor_config.json``) with random weights and fewer layers; every other setting (hidden size, patch, image
and window size, label count and names, the image processor's settings) is the published one, so that
``hub_models`` takes the code path the real id takes.

- timm: a timm repo's ``config.json`` is what ``timm.models.save_for_hf`` writes from timm's own pretrained-config
  registry, so each is built with ``timm.create_model(name, pretrained=False, <depth cut>)`` and saved with
  ``save_for_hf``. The cut is recorded in the config's ``model_args`` (as timm 1.0.31's factory records every
  argument), which is how ``timm.create_model("local-dir:...")``, what ``hub_models.hub`` runs, rebuilds the cut
  model. The published configs have no ``model_args``; theirs is otherwise the same pretrained config.
- transformers: ``config.json`` is the published file stored in ``tests/fixtures/published/<org>--<name>/``
  (provenance of each in that folder's README.md) with only the depth keys changed and ``id2label``/``label2id``
  regenerated from a label list (ImageNet: timm's ``ImageNetInfo().label_descriptions()``, the same 1,000 names as
  huggingface/label-files' ``imagenet-1k-id2label.json`` that the conversions used; COCO: the 91 names of the
  published DETR config in ``coco-91-labels.json``, and RT-DETR's 80 are those without the 11 unused ids). It is
  served as stored, not re-saved by transformers 5.23 (whose ``save_pretrained`` writes a newer layout than the Hub
  has), so ``AutoConfig`` parses the legacy keys a real download brings (DETR's ``use_timm_backbone``, RT-DETR's
  ``anchor_image_size``). ``model.safetensors`` is ``save_pretrained``'s, of the model ``AutoModelFor...`` builds
  from that very config. ``preprocessor_config.json`` is the published file, served as stored; that transformers'
  own image-processor classes read each one is checked in tests/test_published_repos.py.

Building is lazy: ``PublishedRepos.ensure(repo_id)`` builds a repo the first time a test asks for it (all 16 take
a few seconds here) and registers it with the fake Hub.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_hub import FakeHub, FakeRepo

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "published"
CNN, VIT, SWIN, DETR_STYLE = "CNN", "ViT", "Swin", "DETR-style"  # explainers.base's family names


@dataclass(frozen=True)
class Published:
    """One published repo: where it comes from, how it is cut, what it is."""

    repo_id: str
    family: str
    kind: str = "transformers"  # or "timm"
    task: str = "image-classification"
    cut: dict[str, Any] = field(default_factory=dict)  # timm: create_model arguments; transformers: config keys
    labels: str = "imagenet"  # imagenet | coco91 | coco80
    license: str = "apache-2.0"

    @property
    def timm_name(self) -> str:
        return self.repo_id.split("/", 1)[1]

    @property
    def fixture(self) -> Path:
        return FIXTURES / self.repo_id.replace("/", "--")


CLASSIFIERS = [
    Published("timm/vit_small_patch16_224.augreg_in21k_ft_in1k", VIT, "timm", cut={"depth": 1}),
    Published("timm/deit_small_distilled_patch16_224.fb_in1k", VIT, "timm", cut={"depth": 1}),
    Published("timm/swin_tiny_patch4_window7_224.ms_in1k", SWIN, "timm", cut={"depths": (2, 2, 2, 2)}, license="mit"),
    Published("timm/convnext_tiny.fb_in22k_ft_in1k", CNN, "timm", cut={"depths": (1, 1, 1, 1)}),
    Published("timm/efficientnet_b0.ra_in1k", CNN, "timm"),  # 5 M parameters: cheap uncut
    Published("timm/resnet50.a1_in1k", CNN, "timm", cut={"layers": (1, 1, 1, 1)}),
    Published("google/vit-base-patch16-224", VIT, cut={"num_hidden_layers": 1}),
    Published("facebook/deit-small-patch16-224", VIT, cut={"num_hidden_layers": 1}),
    Published("microsoft/swin-tiny-patch4-window7-224", SWIN, cut={"depths": [2, 2, 2, 2]}),
    Published("facebook/convnext-tiny-224", CNN, cut={"depths": [1, 1, 1, 1]}),
    Published("microsoft/resnet-50", CNN, cut={"depths": [1, 1, 1, 1]}),
    Published("facebook/dinov2-small-imagenet1k-1-layer", VIT, cut={"num_hidden_layers": 1}),
]
DETECTORS = [
    Published("hustvl/yolos-tiny", DETR_STYLE, task="object-detection", cut={"num_hidden_layers": 1}, labels="coco91"),
    Published(
        "facebook/detr-resnet-50",
        DETR_STYLE,
        task="object-detection",
        cut={"encoder_layers": 1, "decoder_layers": 1, "num_hidden_layers": 1},
        labels="coco91",
    ),
    Published("PekingU/rtdetr_r18vd", DETR_STYLE, task="object-detection", cut={"decoder_layers": 1}, labels="coco80"),
    Published(
        "microsoft/conditional-detr-resnet-50",
        DETR_STYLE,
        task="object-detection",
        cut={"encoder_layers": 1, "decoder_layers": 1, "num_hidden_layers": 1},
        labels="coco91",
    ),
]
PUBLISHED = {spec.repo_id: spec for spec in CLASSIFIERS + DETECTORS}


def label_names(which: str) -> list[str]:
    if which == "imagenet":
        from timm.data import ImageNetInfo

        return list(ImageNetInfo().label_descriptions())
    coco91 = json.loads((FIXTURES / "coco-91-labels.json").read_text())
    if which == "coco91":
        return coco91
    return [name for name in coco91 if name != "N/A" and name not in COCO_UNUSED]


COCO_UNUSED = {"street sign", "hat", "shoe", "eye glasses", "plate", "mirror", "window", "desk", "door", "blender"}
"""The COCO-91 ids no 2017 annotation uses: the 80 detection classes are the other names, in order."""


def published_config(spec: Published) -> dict[str, Any]:
    """The stored published config.json, labels filled in, depth cut."""
    config = json.loads((spec.fixture / "config.json").read_text())
    names = label_names(spec.labels)
    config["id2label"] = {str(i): name for i, name in enumerate(names)}
    config["label2id"] = {name: i for i, name in enumerate(names)}
    config.update(spec.cut)
    return config


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def build(spec: Published, folder: Path) -> dict[str, bytes]:
    """The repo's files, saved into ``folder`` by the libraries' own save functions (see the module docstring)."""
    import torch

    torch.manual_seed(0)
    if spec.kind == "timm":
        import timm
        from timm.models import save_for_hf

        model = timm.create_model(spec.timm_name, pretrained=False, **spec.cut)
        save_for_hf(model, folder, safe_serialization=True)
        return _files(folder)

    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(published_config(spec), indent=2) + "\n")
    config = transformers.AutoConfig.from_pretrained(folder)
    auto = (
        transformers.AutoModelForImageClassification
        if spec.task == "image-classification"
        else transformers.AutoModelForObjectDetection
    )
    model = auto.from_config(config)
    saved = folder / "saved"
    model.save_pretrained(saved, safe_serialization=True)
    shutil.move(saved / "model.safetensors", folder / "model.safetensors")
    shutil.rmtree(saved)
    shutil.copy(spec.fixture / "preprocessor_config.json", folder / "preprocessor_config.json")
    return _files(folder)


class PublishedRepos:
    """Builds each published repo the first time a test needs it and serves it from the fake Hub."""

    def __init__(self, hub: FakeHub, root: Path) -> None:
        self.hub = hub
        self.root = root
        self.seconds: dict[str, float] = {}  # build time of each repo built so far
        self._lock = threading.Lock()

    def ensure(self, repo_id: str) -> str:
        """``repo_id``, built and served (once)."""
        import time

        with self._lock:
            if repo_id not in self.hub.repos:
                spec = PUBLISHED[repo_id]
                start = time.perf_counter()
                files = build(spec, self.root / repo_id.replace("/", "--"))
                self.hub.repos[repo_id] = FakeRepo(files, license=spec.license, pipeline_tag=spec.task)
                self.seconds[repo_id] = time.perf_counter() - start
        return repo_id

    def folder(self, repo_id: str) -> Path:
        """Where ``repo_id`` was saved (``ensure`` it first)."""
        return self.root / repo_id.replace("/", "--")
