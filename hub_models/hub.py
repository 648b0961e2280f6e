"""Image classifiers from the Hugging Face Hub, by id: timm models, transformers image-classification models and
KerasHub presets, and timm checkpoints run in Keras (``keras:`` in front of the id).

A spec is ``org/name`` or ``org/name@revision``, optionally prefixed with ``keras:``. Before anything is downloaded
the id is checked (no request for a malformed one), the repo's metadata is fetched once with a short timeout
(unknown, gated, revision not found, not an image classifier, pickle-only weights, Keras formats that can carry code
and oversized downloads are refused here), then only the files the model needs are downloaded into the standard HF
cache (``HF_HOME``), configurations before weights, and loaded from there. Pickles, Keras archives, SavedModels and
HDF5 models are never loaded, a Keras configuration may name KerasHub's classes only (``hub_models.keras_formats``),
and ``trust_remote_code`` is never enabled. With ``HF_HUB_OFFLINE=1`` only the cache is used.
"""

from __future__ import annotations

import errno
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors import SafetensorError
from torch import nn

from hub_models import keras_formats
from hub_models.errors import UserInputError
from hub_models.keras_models import KERAS_PREFIX
from hub_models.loaded_model import PIL_FILTERS, LoadedModel, Preprocessing

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID = re.compile(rf"{_NAME}/{_NAME}")
REVISION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?")
MAX_SPEC_LENGTH = 230
PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".ckpt", ".pkl", ".pickle")
PREPROCESSOR_FILE = "preprocessor_config.json"
DEFAULT_CROP_PCT = 0.875
"""timm's crop_pct when a pretrained config has none (``timm.data.DEFAULT_CROP_PCT``)."""
CACHE_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
CACHE_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST}
"""What a write into the HF cache fails with when the disk is full, or the folder cannot be written or created."""


@dataclass(frozen=True)
class Task:
    """What kind of model a caller wants from the Hub: checked from the repo's metadata before any download."""

    pipeline_tag: str
    head_suffix: str  # a transformers architecture name ends with it, e.g. "ForImageClassification"
    noun: str
    advice: str
    auto_class: str  # the transformers Auto class that builds such a model
    mapping: str  # the transformers mapping of the configs that have such a head


CLASSIFICATION = Task(
    "image-classification",
    "ForImageClassification",
    "an image classifier",
    "Use a timm model or a transformers image-classification model.",
    "AutoModelForImageClassification",
    "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING",
)


@dataclass(frozen=True)
class HubSpec:
    repo_id: str
    revision: str | None
    keras: bool = False
    """``keras:`` in front: a timm checkpoint converted to Keras by KerasHub's timm loader."""

    @property
    def key(self) -> str:
        """The normalised spec: the cache key and the model's name."""
        prefix = KERAS_PREFIX if self.keras else ""
        return f"{prefix}{self.repo_id}@{self.revision}" if self.revision else f"{prefix}{self.repo_id}"


def parse_spec(spec: str) -> HubSpec:
    """``org/name`` or ``org/name@revision``, optionally after ``keras:``, checked before any request is made."""
    text = spec.strip()
    keras = text.startswith(KERAS_PREFIX)
    text = text.removeprefix(KERAS_PREFIX).strip() if keras else text
    repo_id, _, revision = text.partition("@")
    ok = (
        len(text) <= MAX_SPEC_LENGTH
        and ".." not in text
        and REPO_ID.fullmatch(repo_id) is not None
        and (not revision or REVISION.fullmatch(revision) is not None)
        and (revision or not text.endswith("@"))
    )
    if not ok:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise UserInputError(
            f"{shown!r} is not a valid Hugging Face model id. Use 'org/name' or 'org/name@revision' "
            "(letters, digits, '-', '_' and '.'; no spaces, no '..', at most 96 characters per part), "
            "for example 'timm/resnet50.a1_in1k' ('keras:timm/resnet50.a1_in1k' runs it in Keras)."
        )
    return HubSpec(repo_id, revision or None, keras)


def max_download_bytes() -> int:
    """The download cap (``XAI_MAX_DOWNLOAD_MB``, default 1000 MB)."""
    return int(float(os.environ.get("XAI_MAX_DOWNLOAD_MB", "1000")) * 1_000_000)


def hub_timeout() -> float:
    """Seconds to wait for the Hub to answer one request (``XAI_HUB_TIMEOUT``, default 5)."""
    return float(os.environ.get("XAI_HUB_TIMEOUT", "5"))


def hub_url(repo_id: str) -> str:
    return f"{constants.ENDPOINT}/{repo_id}"


def load_hub_model(spec: str) -> LoadedModel:
    """A timm, transformers or KerasHub image classifier from the Hub (or the HF cache when offline); with
    ``keras:``, a timm checkpoint in Keras."""
    parsed = parse_spec(spec)
    folder, source = fetch_snapshot(parsed, CLASSIFICATION)
    config = keras_formats.read_json(parsed.repo_id, folder / "config.json")
    if keras_formats.is_keras_hub_config(config):
        return _keras_preset_model(parsed, folder, source)
    if parsed.keras:
        return _keras_timm_model(parsed, folder, config, source)
    if "architecture" in config:
        return _timm_model(parsed, folder, config, source)
    return _transformers_model(parsed, folder, source)


def fetch_snapshot(parsed: HubSpec, task: Task) -> tuple[Path, dict[str, str]]:
    """The local snapshot folder of a model for ``task`` (downloaded, or from the cache when offline) and its
    provenance; every failure becomes a ``UserInputError`` that says what to do."""
    if parsed.keras and task != CLASSIFICATION:
        raise _unsupported(parsed, f"'{KERAS_PREFIX}' loads image classifiers only", task)
    try:
        if constants.HF_HUB_OFFLINE:
            folder, sha, license_name, size = _from_cache(parsed)
        else:
            folder, sha, license_name, size = _download(parsed, task)
    except UserInputError:
        raise
    except GatedRepoError as error:  # a subclass of RepositoryNotFoundError: first
        raise UserInputError(
            f"{parsed.repo_id} is a gated or private repo: accept its terms on {hub_url(parsed.repo_id)} and set "
            "the HF_TOKEN environment variable to an access token of an account that has access, then restart."
        ) from error
    except RevisionNotFoundError as error:
        raise UserInputError(
            f"{parsed.repo_id} has no revision {parsed.revision!r}: use a branch, a tag or a commit sha of that repo "
            "(or leave out '@...' for the main branch)."
        ) from error
    except RepositoryNotFoundError as error:
        raise UserInputError(
            f"No model repo {parsed.repo_id!r} on the Hugging Face Hub (or it is private: then set HF_TOKEN). "
            "Check the spelling; a dataset or Space id is not a model."
        ) from error
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as error:
        raise _offline_error(parsed) from error
    except HfHubHTTPError as error:  # an OSError too: before the connection errors
        status = getattr(getattr(error, "response", None), "status_code", "an error")
        raise UserInputError(
            f"The Hub refused {parsed.repo_id} (HTTP {status}); try again later or choose another model."
        ) from error
    except (httpx2.TransportError, OSError) as error:
        if isinstance(error, OSError) and error.errno in CACHE_FULL | CACHE_READ_ONLY:
            raise _cache_error(parsed, error) from error
        raise UserInputError(
            f"The Hugging Face Hub ({constants.ENDPOINT}) cannot be reached or broke off the download, so "
            f"{parsed.repo_id} was not loaded ({type(error).__name__}); nothing half-downloaded is kept, so try again "
            "later. The embedded models still work; Hub models already downloaded load with HF_HUB_OFFLINE=1."
        ) from error
    return folder, {
        "id": parsed.repo_id,
        "revision": sha,
        "requested_revision": parsed.revision or "main",
        "license": license_name,
        "url": hub_url(parsed.repo_id),
        "download_bytes": str(size),
    }


def _cache_error(parsed: HubSpec, error: OSError) -> UserInputError:
    """The HF cache cannot take the download: full (or over a file-size limit), or not writable."""
    cache = constants.HF_HUB_CACHE
    if error.errno in CACHE_FULL:
        return UserInputError(
            f"The model cache {cache} has no room for {parsed.repo_id} ({error.strerror}): free some space there, or "
            "set HF_HOME to a folder on a disk with room (XAI_SUITE_HOME moves the app's own files), then try again."
        )
    return UserInputError(
        f"The model cache {cache} cannot be written ({error.strerror}), so {parsed.repo_id} cannot be downloaded: "
        "set HF_HOME to a writable folder (XAI_SUITE_HOME moves the app's own files), then try again."
    )


def _offline_error(parsed: HubSpec) -> UserInputError:
    if constants.HF_HUB_OFFLINE:
        return UserInputError(
            f"The Hub is offline here (HF_HUB_OFFLINE=1) and {parsed.key} is not in the local cache "
            f"({constants.HF_HUB_CACHE}). Use an embedded model, or unset HF_HUB_OFFLINE to download it once."
        )
    return UserInputError(
        f"{parsed.key} could not be downloaded from the Hub ({constants.ENDPOINT}) and is not in the local cache."
    )


def _download(parsed: HubSpec, task: Task) -> tuple[Path, str, str, int]:
    """Checks the repo from its metadata, then downloads only what the model needs, configurations before weights.
    Returns the snapshot folder."""
    info = HfApi().model_info(parsed.repo_id, revision=parsed.revision, files_metadata=True, timeout=hub_timeout())
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    weights = _safetensors_files(sizes)
    preset = keras_formats.preset_files(sizes) if task == CLASSIFICATION else []
    if not weights and not preset and (unsafe := keras_formats.unsafe_keras_files(sizes)):
        raise keras_formats.unsafe_keras_error(parsed.repo_id, unsafe)
    if "config.json" not in sizes:
        raise _unsupported(
            parsed, "it has no config.json (neither a timm nor a transformers model nor a KerasHub preset)", task
        )
    if info.pipeline_tag and info.pipeline_tag != task.pipeline_tag:
        raise _unsupported(parsed, f"its task is {info.pipeline_tag!r}", task)
    if not weights and not preset:
        pickles = sorted(name for name in sizes if name.endswith(PICKLE_SUFFIXES))
        if pickles:
            raise UserInputError(
                f"{parsed.repo_id} has its weights only as pickle files ({', '.join(pickles[:3])}), which can run "
                "arbitrary code when loaded; this app loads safetensors only. Choose a repo with model.safetensors."
            )
        raise UserInputError(f"{parsed.repo_id} has no weights file (model.safetensors).")
    # By the requested revision (not the sha), so that the cache records the branch or tag for offline use.
    revision = parsed.revision or "main"
    config: Any = None
    if preset and weights:  # both KerasHub's and safetensors weights: the config says which model this is
        config = keras_formats.read_json(parsed.repo_id, Path(_fetch(parsed.repo_id, "config.json", revision)))
    is_preset = bool(preset) and (not weights or keras_formats.is_keras_hub_config(config))
    if is_preset:
        wanted = preset
    else:
        preprocessor = [PREPROCESSOR_FILE] if PREPROCESSOR_FILE in sizes and not parsed.keras else []
        wanted = ["config.json", *weights, *preprocessor]
    total = sum(sizes[name] or 0 for name in wanted)
    if total > max_download_bytes():
        raise UserInputError(
            f"{parsed.repo_id} would download {total / 1e6:,.0f} MB, more than the "
            f"{max_download_bytes() / 1e6:,.6g} MB allowed here (XAI_MAX_DOWNLOAD_MB). "
            "Choose a smaller model or raise the limit."
        )
    fetched = {"config.json": Path(_fetch(parsed.repo_id, "config.json", revision))}
    config = keras_formats.read_json(parsed.repo_id, fetched["config.json"])
    if is_preset:  # every configuration checked before a byte of the weights is fetched
        keras_formats.check_preset_json(parsed.repo_id, "config.json", config)
        if "task.json" not in sizes:
            raise _not_a_classifier(parsed, "it is a KerasHub backbone without a task (no task.json), so no classifier")
        for name in wanted:
            if name.endswith(".json") and name not in fetched:
                fetched[name] = Path(_fetch(parsed.repo_id, name, revision))
                keras_formats.check_preset_json(
                    parsed.repo_id, name, keras_formats.read_json(parsed.repo_id, fetched[name])
                )
    elif parsed.keras:
        keras_formats.check_timm_for_keras(parsed.repo_id, config)
    elif "architecture" not in config or task != CLASSIFICATION:
        check_transformers_config(parsed, config, task)
    for name in wanted:
        if name not in fetched:
            fetched[name] = Path(_fetch(parsed.repo_id, name, revision))
    folders = {path.parent for path in fetched.values()}
    config_path = fetched["config.json"]
    folder = config_path.parent
    if len(folders) != 1 or folder.name != info.sha:
        raise UserInputError(f"{parsed.key} changed on the Hub while it was downloading; try again.")
    license_name = _license(info)
    return folder, str(info.sha), license_name, total


def _fetch(repo_id: str, filename: str, revision: str) -> str:
    return hf_hub_download(repo_id, filename, revision=revision, etag_timeout=hub_timeout())


def _from_cache(parsed: HubSpec) -> tuple[Path, str, str, int]:
    """Offline: the snapshot the requested revision points to in the HF cache, if its files are there (a KerasHub
    preset's or safetensors weights)."""
    folder = Path(hf_hub_download(parsed.repo_id, "config.json", revision=parsed.revision or "main")).parent
    names = {p.name: p for p in folder.iterdir()}
    files = keras_formats.preset_files(names) if "task.json" in names else []
    files = files or ["config.json", *_safetensors_files({name: 0 for name in names})]
    if len(files) == 1:
        raise _offline_error(parsed)
    size = sum(names[n].stat().st_size for n in files)
    return folder, folder.name, "unknown (offline)", size


def _safetensors_files(files: dict[str, Any]) -> list[str]:
    root = sorted(name for name in files if "/" not in name and name.endswith(".safetensors"))
    if "model.safetensors" in root:
        return ["model.safetensors"]
    if "model.safetensors.index.json" in files:
        return ["model.safetensors.index.json", *root]
    return []


def _license(info: Any) -> str:
    card = info.card_data
    value = getattr(card, "license", None) if card is not None else None
    if not value:
        value = next((tag.split(":", 1)[1] for tag in info.tags or [] if tag.startswith("license:")), None)
    return str(value or "unknown")


def _not_a_classifier(parsed: HubSpec, why: str) -> UserInputError:
    return _unsupported(parsed, why, CLASSIFICATION)


def _unsupported(parsed: HubSpec, why: str, task: Task) -> UserInputError:
    return UserInputError(f"{parsed.repo_id} is not {task.noun} this app can load: {why}. {task.advice}")


def _invalid_weights(parsed: HubSpec, error: SafetensorError) -> UserInputError:
    """Weights named .safetensors that are not: never read any other way (a pickle in disguise stays unread)."""
    return UserInputError(
        f"{parsed.repo_id}: its weights are not a valid safetensors file ({error}), so they were not loaded. "
        "Choose another model."
    )


def check_transformers_config(parsed: HubSpec, config: dict[str, Any], task: Task) -> None:
    """A transformers config with a head for ``task`` that needs no custom code; a clear error otherwise."""
    if "model_type" not in config:
        kind = "a timm model" if "architecture" in config else "neither a timm nor a transformers model"
        raise _unsupported(parsed, f"its config.json is {kind}", task)
    if config.get("auto_map"):
        raise _unsupported(parsed, "it needs custom code (trust_remote_code), which is never enabled here", task)
    architectures = config.get("architectures") or []
    if architectures and not any(a.endswith(task.head_suffix) for a in architectures):
        raise _unsupported(parsed, f"its architecture is {', '.join(architectures)}", task)


# --- timm ---------------------------------------------------------------------------------------------------------


def _timm_model(parsed: HubSpec, folder: Path, config: dict[str, Any], source: dict[str, str]) -> LoadedModel:
    import timm

    try:
        module = timm.create_model("local-dir:" + str(folder), pretrained=True)
    except SafetensorError as error:
        raise _invalid_weights(parsed, error) from error
    except (RuntimeError, ValueError, KeyError) as error:
        raise UserInputError(f"{parsed.repo_id} could not be built with timm {timm.__version__}: {error}") from error
    labels, preprocessing = _timm_labels_and_preprocessing(parsed, module, config)
    source = {**source, "kind": "timm", "architecture": str(config["architecture"])}
    return LoadedModel(name=parsed.key, module=module, preprocessing=preprocessing, labels=labels, source=source)


def _timm_labels_and_preprocessing(parsed: HubSpec, module: nn.Module, config: dict[str, Any]):
    """A timm classifier's class names (its config's ``label_names``, else ImageNet's for 1000 classes) and its
    evaluation preprocessing (``resolve_data_config`` of its pretrained config, as timm resolves it for ``module``)."""
    from timm.data import resolve_data_config

    cfg = {**config.get("pretrained_cfg", {}), **module.pretrained_cfg}
    n_classes = int(getattr(module, "num_classes", 0) or config.get("num_classes") or 0)
    if n_classes <= 0:
        raise _not_a_classifier(parsed, "it has no classifier head (num_classes is 0)")
    names = config.get("label_names") or cfg.get("label_names")
    if isinstance(names, dict):
        names = [str(names.get(str(i), names.get(i, f"class {i}"))) for i in range(n_classes)]
    labels = [str(n) for n in names] if names and len(names) == n_classes else default_labels(n_classes)
    try:
        data_config = resolve_data_config(pretrained_cfg=cfg)
    except (AssertionError, KeyError, TypeError, ValueError) as error:
        raise UserInputError(f"{parsed.repo_id} has a data config timm cannot read: {error}") from error
    return labels, timm_preprocessing(data_config)


def default_labels(n_classes: int) -> list[str]:
    """ImageNet's class names (timm's ``ImageNetInfo``) for 1000 classes, else ``class i``."""
    if n_classes == 1000:
        from timm.data import ImageNetInfo

        return list(ImageNetInfo().label_descriptions())
    return [f"class {i}" for i in range(n_classes)]


# --- Keras -------------------------------------------------------------------------------------------------------


def _keras_preset_model(parsed: HubSpec, folder: Path, source: dict[str, str]) -> LoadedModel:
    """A KerasHub preset: its ``ImageClassifier`` built from KerasHub's registered classes, its preprocessing from its
    preprocessor's image converter, ImageNet's class names for 1000 classes."""
    from hub_models.keras_models import converter_preprocessing, keras_loaded_model, load_keras_preset

    for name in keras_formats.PRESET_CONFIGS:  # again: an offline load reads the cache without the download's checks
        if (folder / name).is_file():
            keras_formats.check_preset_json(
                parsed.repo_id, name, keras_formats.read_json(parsed.repo_id, folder / name)
            )
    task, converter = load_keras_preset(parsed.repo_id, folder)
    preprocessing = converter_preprocessing(converter, f"KerasHub {type(converter).__name__}")
    source = {**source, "kind": "KerasHub preset", "architecture": type(task).__name__}
    return keras_loaded_model(parsed.key, task, preprocessing, default_labels(int(task.num_classes)), source)


def _keras_timm_model(parsed: HubSpec, folder: Path, config: dict[str, Any], source: dict[str, str]) -> LoadedModel:
    """A timm checkpoint converted to Keras by KerasHub's timm loader, with the class names and the preprocessing the
    PyTorch model gets (timm's pretrained config, resized with PIL), so that both frameworks see the same pixels."""
    import timm

    from hub_models.keras_models import keras_loaded_model, load_keras_timm

    architecture = keras_formats.check_timm_for_keras(parsed.repo_id, config)
    try:  # timm's own reading of the config (no weights), for the same labels and preprocessing as in PyTorch
        skeleton = timm.create_model("local-dir:" + str(folder), pretrained=False)
    except (RuntimeError, ValueError, KeyError) as error:
        raise UserInputError(f"{parsed.repo_id} could not be read by timm {timm.__version__}: {error}") from error
    labels, preprocessing = _timm_labels_and_preprocessing(parsed, skeleton, config)
    del skeleton
    task = load_keras_timm(parsed.repo_id, folder)
    source = {**source, "kind": "timm in Keras (KerasHub's timm converter)", "architecture": architecture}
    return keras_loaded_model(parsed.key, task, preprocessing, labels, source)


def timm_preprocessing(data_config: dict[str, Any]) -> Preprocessing:
    """What ``timm.data.create_transform(**data_config)`` does at evaluation (``transforms_imagenet_eval``), as a
    ``Preprocessing``: the sides scaled to ``floor(input / crop_pct)``, then per ``crop_mode``: ``center`` (the
    default) keeps the aspect ratio until the shorter side fits and crops the centre; ``squash`` stretches and crops
    the centre; ``border`` keeps the aspect ratio until the longer side fits and pads with the mean colour. Resized
    with PIL, as timm's transforms are run on a PIL image."""
    height, width = (int(v) for v in data_config["input_size"][1:])
    crop_pct = float(data_config.get("crop_pct") or DEFAULT_CROP_PCT)
    scale = (math.floor(height / crop_pct), math.floor(width / crop_pct))
    mean = _three(data_config.get("mean"), (0.485, 0.456, 0.406))
    interpolation = str(data_config.get("interpolation") or "bilinear")
    if interpolation not in PIL_FILTERS:
        interpolation = "bicubic"  # "random" is a training choice; timm evaluates its models with bicubic by default
    common = {
        "input_size": (height, width),
        "mean": mean,
        "std": _three(data_config.get("std"), (0.229, 0.224, 0.225)),
        "interpolation": interpolation,
        "resize_size": scale,
        "backend": "pil",
    }
    mode = data_config.get("crop_mode") or "center"
    origin = f"timm pretrained config, crop_pct {crop_pct:g}, crop_mode {mode}"
    if mode == "squash":
        return Preprocessing(**common, scaling="squash", origin=origin)
    if mode == "border":
        fill = tuple(round(255 * v) / 255 for v in mean)
        return Preprocessing(**common, scaling="keep_ratio", keep_ratio_longest=1.0, crop_fill=fill, origin=origin)
    if scale[0] == scale[1]:
        return Preprocessing(**common, scaling="shortest_edge", origin=origin)
    return Preprocessing(**common, scaling="keep_ratio", origin=origin)


def _three(values: Any, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if values is None:
        return default
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if len(values) == 1:
        values = values * 3
    return (values[0], values[1], values[2])


# --- transformers -------------------------------------------------------------------------------------------------


class LogitsOnly(nn.Module):
    """A transformers classifier as a plain ``pixels -> logits`` module, the form every explainer takes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).logits


def load_transformers(parsed: HubSpec, folder: Path, task: Task) -> tuple[Any, nn.Module, list[str]]:
    """A transformers model for ``task`` from a snapshot folder (safetensors, no remote code): config, model,
    class names from ``id2label``; a clear error if it has no such head or does not load."""
    import transformers
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
        check_transformers_config(parsed, config.to_dict(), task)
        if type(config) not in getattr(transformers, task.mapping):
            raise _unsupported(parsed, f"transformers has no {task.pipeline_tag} head for {config.model_type!r}", task)
        auto = getattr(transformers, task.auto_class)
        model = auto.from_pretrained(folder, trust_remote_code=False, use_safetensors=True)
    except UserInputError:
        raise
    except SafetensorError as error:
        raise _invalid_weights(parsed, error) from error
    except (OSError, ValueError, KeyError) as error:
        raise UserInputError(
            f"{parsed.repo_id} could not be loaded with transformers {transformers.__version__}: "
            f"{str(error).splitlines()[0]}"
        ) from error
    id2label = config.id2label or {}
    labels = [str(id2label.get(i, id2label.get(str(i), f"class {i}"))) for i in range(int(config.num_labels))]
    return config, model, labels


def _transformers_model(parsed: HubSpec, folder: Path, source: dict[str, str]) -> LoadedModel:
    config, model, labels = load_transformers(parsed, folder, CLASSIFICATION)
    image_size = getattr(config, "image_size", 224)
    if (folder / PREPROCESSOR_FILE).exists():
        preprocessing = transformers_preprocessing(_image_processor(parsed, folder))
    else:  # no processor: the model's own input size, squashed, ImageNet statistics
        side = image_size if isinstance(image_size, int) else 224
        preprocessing = Preprocessing(input_size=(side, side), origin="no image processor: the config's image_size")
    source = {**source, "kind": "transformers", "architecture": (config.architectures or [type(model).__name__])[0]}
    return LoadedModel(
        name=parsed.key, module=LogitsOnly(model), preprocessing=preprocessing, labels=labels, source=source
    )


def _image_processor(parsed: HubSpec, folder: Path) -> Any:
    """The repo's image processor as ``AutoImageProcessor`` builds it (transformers 5: the fast, torchvision one)."""
    import transformers

    try:
        return transformers.AutoImageProcessor.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserInputError(
            f"{parsed.repo_id}: its {PREPROCESSOR_FILE} could not be read by transformers {transformers.__version__}: "
            f"{str(error).splitlines()[0]}"
        ) from error


def transformers_preprocessing(processor: Any) -> Preprocessing:
    """What a transformers image processor does to one image, as a ``Preprocessing`` (``tensor`` backend: the fast
    processors resize the uint8 tensor with torchvision, antialiased, and crop with ``int()`` offsets):

    - resize (``do_resize``): ``size`` as height and width squashes; ``shortest_edge`` keeps the aspect ratio; a
      ConvNeXt-style processor (``crop_pct``, e.g. microsoft/resnet-50 and facebook/convnext-tiny-224) below 384 px
      resizes the shorter side to ``int(shortest_edge / crop_pct)`` and crops the centre ``shortest_edge`` square;
    - centre crop to ``crop_size`` (``do_center_crop``); a ``shortest_edge`` resize without one gives inputs of
      varying shape, so the centre ``shortest_edge`` square is kept;
    - rescale (``rescale_factor``, and EfficientNet's ``rescale_offset``) and normalise (and EfficientNet's
      ``include_top``, a second division by the std), folded into one mean and std over pixels in [0, 1].

    Not reproduced: MobileViT's BGR channel order, LeViT's and PoolFormer's own resize rules (their processors
    override ``resize``); those models get the standard steps of their ``size`` and ``crop_size``.
    """
    from transformers.image_utils import pil_torch_interpolation_mapping

    size, crop = processor.size, processor.crop_size
    resample = processor.resample if processor.resample is not None else 2
    mode = pil_torch_interpolation_mapping.get(resample, resample)
    interpolation = str(getattr(mode, "value", mode))
    edge = getattr(size, "shortest_edge", None) if processor.do_resize else None
    height, width = (getattr(size, "height", None), getattr(size, "width", None)) if processor.do_resize else (0, 0)
    name = type(processor).__name__
    crop_pct = getattr(processor, "crop_pct", None)
    if edge and crop_pct and name.startswith("ConvNext"):
        if edge < 384:
            resized, scaling, input_size = int(edge / crop_pct), "shortest_edge", (edge, edge)
            resize_size: tuple[int, int] | None = (resized, resized)
        else:
            resize_size, scaling, input_size = (edge, edge), "squash", (edge, edge)
    elif edge:
        resize_size, scaling, input_size = (edge, edge), "shortest_edge", (edge, edge)
    elif height and width:
        resize_size, scaling, input_size = (height, width), "squash", (height, width)
    else:
        raise UserInputError(f"{name} with size {size} is an image processor this app cannot reproduce yet.")
    if processor.do_center_crop and getattr(crop, "height", None) and getattr(crop, "width", None):
        input_size = (crop.height, crop.width)
    rescale = float(processor.rescale_factor) * 255.0 if processor.do_rescale else 255.0
    offset = 1.0 if processor.do_rescale and getattr(processor, "rescale_offset", False) else 0.0
    mean = _three(processor.image_mean, (0.0, 0.0, 0.0)) if processor.do_normalize else (0.0, 0.0, 0.0)
    std = _three(processor.image_std, (1.0, 1.0, 1.0)) if processor.do_normalize else (1.0, 1.0, 1.0)
    # EfficientNet's include_top divides by the std once more.
    top = _three(processor.image_std, (1.0, 1.0, 1.0)) if getattr(processor, "include_top", False) else (1.0, 1.0, 1.0)
    # ((p * r - offset - m) / s) / t over pixels p in [0, 1], r = 255 * factor: (p - (m + offset) / r) / (s * t / r)
    return Preprocessing(
        input_size=input_size,
        mean=tuple((m + offset) / rescale for m in mean),  # type: ignore[arg-type]
        std=tuple(s * t / rescale for s, t in zip(std, top, strict=True)),  # type: ignore[arg-type]
        interpolation=interpolation,
        scaling=scaling,
        resize_size=resize_size,
        crop_rounding="floor",
        backend="tensor",
        origin=f"transformers {name}",
    )


def _processor_size(size: Any, crop_size: Any, image_size: Any) -> tuple[int, int]:
    """(height, width) from an image processor's ``size`` (or ``crop_size`` when it crops)."""
    for value in (crop_size, size):
        if isinstance(value, int):
            return (value, value)
        if isinstance(value, dict):
            if "height" in value and "width" in value:
                return (int(value["height"]), int(value["width"]))
            if "shortest_edge" in value:
                edge = int(value["shortest_edge"])
                return (edge, edge)
    side = image_size if isinstance(image_size, int) else 224
    return (side, side)
