"""Which Keras files from the Hub are loaded, and which are refused before anything is downloaded: weights only,
never code.

Loaded: a KerasHub preset (``save_to_preset``: ``config.json`` naming a KerasHub backbone, ``task.json`` naming a
KerasHub image classifier, ``model.weights.h5`` and ``task.weights.h5``, which hold arrays only, and the optional
``preprocessor.json`` and ``image_converter.json``), and with the ``keras:`` prefix a timm checkpoint
(``config.json`` and ``model.safetensors``) converted by KerasHub's own timm loader.

Refused from the file list, before any download: a repo whose model is only a ``.keras`` archive, a TensorFlow
SavedModel (``saved_model.pb``, ``keras_metadata.pb``, ``variables/``) or an HDF5 model (``*.h5`` other than KerasHub's
``*.weights.h5``, and transformers' ``tf_model.h5``, which holds weights only). Each of these can carry code that runs
when it is loaded (a ``Lambda`` layer's marshalled bytecode, a config that calls Keras functions, TensorFlow graph
ops), and Keras' ``safe_mode`` has been bypassed more than once: CVE-2025-1550 (a ``.keras`` config importing any
module), CVE-2025-8747 (a ``.keras`` config calling ``keras.utils.get_file``), CVE-2025-9906 (a ``.keras`` config
calling ``keras.config.enable_unsafe_deserialization`` before a ``Lambda``), CVE-2025-9905 (HDF5 ignores
``safe_mode``).

Refused from the JSON files, after they are downloaded and before the weights are: any object (a JSON object with a
``class_name``, ``registered_name`` or ``module``) that is not a class registered by KerasHub (``keras_hub>...``, from
a ``keras_hub`` module) or one of the few Keras built-ins KerasHub's own presets serialise (dtype policies,
initializers, regularizers, constraints, activation functions by name). So no ``Lambda`` layer, no ``__lambda__``, no
function other than an activation, no ``Functional`` graph of arbitrary layers, no module outside Keras and KerasHub.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hub_models.errors import UserInputError

KERAS_HUB_PREFIX = "keras_hub>"
"""How KerasHub registers its classes with Keras (``registered_name``)."""
PRESET_CONFIGS = ("config.json", "task.json", "preprocessor.json", "image_converter.json")
"""A KerasHub preset's configuration files, in the order they are checked (``metadata.json`` is not needed)."""
PRESET_WEIGHTS = ("model.weights.h5", "task.weights.h5")
CVES = "CVE-2025-1550, CVE-2025-8747, CVE-2025-9905, CVE-2025-9906"
USE_INSTEAD = (
    "Use a KerasHub preset (config.json, task.json and model.weights.h5, as save_to_preset writes them), or a timm or "
    "transformers repo with model.safetensors ('keras:' in front of a timm id runs it in Keras)."
)

KERAS_BUILTINS: dict[str, frozenset[str]] = {
    "keras": frozenset({"DTypePolicy", "FloatDTypePolicy"}),
    "keras.dtype_policies": frozenset({"DTypePolicy", "FloatDTypePolicy"}),
    "keras.initializers": frozenset(
        {
            "Constant",
            "GlorotNormal",
            "GlorotUniform",
            "HeNormal",
            "HeUniform",
            "Identity",
            "LecunNormal",
            "LecunUniform",
            "Ones",
            "Orthogonal",
            "RandomNormal",
            "RandomUniform",
            "TruncatedNormal",
            "VarianceScaling",
            "Zeros",
        }
    ),
    "keras.regularizers": frozenset({"L1", "L2", "L1L2", "OrthogonalRegularizer"}),
    "keras.constraints": frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"}),
}
"""The Keras classes a preset may name, by module: what KerasHub's image models serialise in their configs."""
KERAS_ACTIVATIONS = frozenset(
    {
        "celu",
        "elu",
        "exponential",
        "gelu",
        "glu",
        "hard_shrink",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "leaky_relu",
        "linear",
        "log_sigmoid",
        "log_softmax",
        "mish",
        "relu",
        "relu6",
        "selu",
        "sigmoid",
        "silu",
        "softmax",
        "softplus",
        "softsign",
        "swish",
        "tanh",
    }
)
"""Keras' activation functions, the only functions a preset may name (serialised as ``module: builtins,
class_name: function, config: <name>``; Keras resolves that name in its own modules only)."""

KERAS_TIMM_FAMILIES = ("resnet", "csp", "darknet", "densenet", "efficientnet", "hgnetv2", "mobilenet", "vgg")
"""The timm architectures KerasHub's timm loader converts, by name prefix (``keras_hub.src.utils.timm.preset_loader``;
``tests/test_keras_hub_models.py`` checks the list against it). Within a family, its converter knows given sizes."""


def preset_files(files: Iterable[str]) -> list[str]:
    """The files of a KerasHub preset that loading it reads (configurations first, then weights), or [] when the repo
    has no ``model.weights.h5``."""
    names = set(files)
    if "model.weights.h5" not in names:
        return []
    return [name for name in (*PRESET_CONFIGS, *PRESET_WEIGHTS) if name in names]


def unsafe_keras_files(files: Iterable[str]) -> dict[str, list[str]]:
    """The repo's files in a Keras or TensorFlow format that can carry code, by format."""
    found: dict[str, list[str]] = {}
    for name in sorted(files):
        base = name.rsplit("/", 1)[-1]
        if base.endswith(".keras"):
            kind = "a .keras archive"
        elif base in ("saved_model.pb", "saved_model.pbtxt", "keras_metadata.pb") or "/variables/" in f"/{name}":
            kind = "a TensorFlow SavedModel"
        elif base.endswith((".h5", ".hdf5")) and not base.endswith(".weights.h5") and base != "tf_model.h5":
            kind = "an HDF5 Keras model"
        else:
            continue
        found.setdefault(kind, []).append(name)
    return found


def unsafe_keras_error(repo_id: str, unsafe: dict[str, list[str]]) -> UserInputError:
    """The refusal of a repo whose model comes only in formats that can carry code."""
    kinds = " and ".join(
        f"{kind} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" for kind, names in unsafe.items()
    )
    return UserInputError(
        f"{repo_id} holds its model only as {kinds}, a format that can run code when it is loaded (Keras' safe_mode "
        f"has been bypassed: {CVES}), so this app never loads it. {USE_INSTEAD}"
    )


def read_json(repo_id: str, path: Path) -> Any:
    """A repo's JSON file, or a message saying it is not valid JSON (or nested too deeply to read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise UserInputError(f"{repo_id}: its {path.name} is not a valid JSON file, so it was not loaded.") from error


def is_keras_hub_config(config: Any) -> bool:
    """Whether a ``config.json`` is a serialised Keras object (a preset, as KerasHub's own loader decides it)."""
    return isinstance(config, dict) and "registered_name" in config


def _objects(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON object in ``value`` that names a class, a function or a module, with where it sits."""
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            if {"class_name", "registered_name", "module"} & item.keys():
                yield path, item
            stack.extend((child, f"{path}.{key}") for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))


def _allowed(item: dict[str, Any]) -> bool:
    class_name, registered, module = item.get("class_name"), item.get("registered_name"), item.get("module")
    if not isinstance(class_name, str) or "Lambda" in class_name or class_name == "__lambda__":
        return False
    if isinstance(registered, str) and registered.startswith(KERAS_HUB_PREFIX):
        from_keras_hub = module is None or module == "keras_hub" or str(module).startswith("keras_hub.")
        return from_keras_hub and class_name != "function" and registered == KERAS_HUB_PREFIX + class_name
    if class_name == "function":  # Keras' serialisation of an activation function
        return module == "builtins" and item.get("config") in KERAS_ACTIVATIONS and registered in (None, "function")
    return class_name in KERAS_BUILTINS.get(str(module), ()) and registered in (None, class_name)


def check_preset_json(repo_id: str, name: str, value: Any) -> None:
    """One preset file: every class it names is KerasHub's or an allowed Keras built-in, and ``config.json`` and
    ``task.json`` are KerasHub objects themselves; a message naming the first one that is not."""
    if name in ("config.json", "task.json"):
        registered = value.get("registered_name") if isinstance(value, dict) else None
        if not (isinstance(registered, str) and registered.startswith(KERAS_HUB_PREFIX)):
            shown = (value.get("class_name") if isinstance(value, dict) else None) or registered
            raise UserInputError(
                f"{repo_id} is not a KerasHub preset: its {name} describes {str(shown)[:80]!r}, not a class registered "
                "by KerasHub. A Keras model saved with model.save (a graph of any layers, Lambda layers and their "
                f"code included) is never loaded here. {USE_INSTEAD}"
            )
    for where, item in _objects(value, name):
        if not _allowed(item):
            what = ", ".join(f"{key} {str(item.get(key))[:60]!r}" for key in ("module", "class_name") if key in item)
            raise UserInputError(
                f"{repo_id} was refused: its {where} names {what}, which is neither a KerasHub class nor one of the "
                "Keras built-ins a KerasHub preset holds. Only weights and KerasHub's own classes are loaded here, "
                "never code (a Lambda layer or a function can run any code)."
            )


def registered_names(value: Any) -> set[str]:
    """The KerasHub registered names a preset file uses."""
    return {
        str(item["registered_name"])
        for _, item in _objects(value, "")
        if str(item.get("registered_name") or "").startswith(KERAS_HUB_PREFIX)
    }


def check_timm_for_keras(repo_id: str, config: Any) -> str:
    """A timm ``config.json`` whose architecture KerasHub's timm loader converts; its architecture, or a message."""
    architecture = config.get("architecture") if isinstance(config, dict) else None
    if not isinstance(architecture, str):
        kind = "a transformers model" if isinstance(config, dict) and "model_type" in config else "not a timm model"
        raise UserInputError(
            f"'keras:' converts timm checkpoints only, and {repo_id} is {kind}: load it without 'keras:' (in PyTorch)."
        )
    if not architecture.startswith(KERAS_TIMM_FAMILIES):
        raise UserInputError(
            f"{repo_id} is a timm {architecture!r}, which KerasHub's timm converter does not convert: it converts "
            f"{', '.join(f'{family}*' for family in KERAS_TIMM_FAMILIES)} (given sizes of each). Load it without "
            "'keras:' to run it in PyTorch."
        )
    return architecture
