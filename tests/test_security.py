"""Security, each shown against the real code: models never run code, the app serves only its own files, and
HF_TOKEN never shows."""

from __future__ import annotations

import ast
import pickle

import pytest
import torch
from conftest import ROOT
from fake_hub import (
    PICKLE_AS_SAFETENSORS,
    PICKLE_AS_SAFETENSORS_HF,
    PICKLE_BESIDE_SAFETENSORS,
    REMOTE_CODE,
    REMOTE_CODE_FILES,
    TIMM_IMAGENET,
)
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from hub_models import UserInputError, load_model
from hub_models.detectors import load_detector
from hub_models.examples import example_photo_paths
from hub_models.hub import load_hub_model

CUSTOM_CODE_REFUSED = r"needs custom code \(trust_remote_code\), which is never enabled here"

# --- no code execution from models ---------------------------------------------------------------------------------


def test_a_custom_code_repo_is_refused_and_its_code_never_runs(fake_hub, tmp_path):
    with pytest.raises(UserInputError, match=f"{REMOTE_CODE} is not an image classifier .*{CUSTOM_CODE_REFUSED}"):
        load_model(REMOTE_CODE)
    with pytest.raises(UserInputError, match=f"{REMOTE_CODE} is not an object detector .*{CUSTOM_CODE_REFUSED}"):
        load_detector(REMOTE_CODE)
    assert not fake_hub.remote_code_marker.exists()
    fetched = [r for r in fake_hub.requests_for(REMOTE_CODE) if r.startswith("GET") and "/resolve/" in r]
    assert fetched and all(r.endswith("/config.json") for r in fetched), fetched  # neither code nor weights
    # The check above can fail: transformers, trusting the repo's code, imports it and the marker appears.
    from transformers import AutoConfig

    for name, data in fake_hub.repos[REMOTE_CODE].files.items():
        (tmp_path / name).write_bytes(data)
    AutoConfig.from_pretrained(tmp_path, trust_remote_code=True)
    assert fake_hub.remote_code_marker.exists()
    fake_hub.remote_code_marker.unlink()


def test_a_custom_code_repo_is_refused_through_the_api(app_url, fake_hub):
    client = Client(app_url, verbose=False)
    photo = handle_file(str(example_photo_paths()["coffee"]))
    with pytest.raises(AppError, match=CUSTOM_CODE_REFUSED):
        client.predict(photo, REMOTE_CODE, api_name="/classify")
    with pytest.raises(AppError, match=CUSTOM_CODE_REFUSED):
        client.predict(photo, REMOTE_CODE, 0.25, True, api_name="/detect")
    assert not fake_hub.remote_code_marker.exists()
    assert not [r for r in fake_hub.requests_for(REMOTE_CODE) if r.endswith(REMOTE_CODE_FILES)]
    assert client.predict(photo, "", api_name="/classify")["label"]


def test_weights_beside_a_pickle_load_from_safetensors_and_the_pickle_is_never_fetched(fake_hub, chelsea):
    model = load_hub_model(PICKLE_BESIDE_SAFETENSORS)
    reference = load_hub_model(TIMM_IMAGENET)  # the same safetensors weights
    pixels = model.preprocessing.to_tensor(chelsea)
    with torch.no_grad():
        assert torch.equal(model.module(pixels), reference.module(pixels))
    assert not [r for r in fake_hub.requests_for(PICKLE_BESIDE_SAFETENSORS) if "pytorch_model.bin" in r]
    assert not fake_hub.pickle_marker.exists()


@pytest.mark.parametrize("repo", [PICKLE_AS_SAFETENSORS, PICKLE_AS_SAFETENSORS_HF])
def test_a_pickle_named_safetensors_is_refused_and_never_unpickled(fake_hub, repo):
    refused = f"{repo}: its weights are not a valid safetensors file .*Choose another model"
    with pytest.raises(UserInputError, match=refused):
        load_model(repo)
    assert not fake_hub.pickle_marker.exists()
    pickle.loads(fake_hub.repos[repo].files["model.safetensors"])  # it is the executing pickle
    assert fake_hub.pickle_marker.exists()
    fake_hub.pickle_marker.unlink()


APP_FOLDERS = ("hub_models", "explainers", "demos", "scripts", "benchmarks")
APP_CODE = [ROOT / "app.py", *(path for folder in APP_FOLDERS for path in (ROOT / folder).rglob("*.py"))]
PICKLERS = ("pickle", "joblib", "dill", "cloudpickle")


def unsafe_loads(source: str) -> list[str]:
    """Calls in ``source`` that could run code from a file: ``trust_remote_code`` not literally False, ``torch.load``
    without ``weights_only=True``, ``pickle``/``joblib``/``dill`` loads, ``numpy.load`` with ``allow_pickle``."""
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    return [f"line {call.lineno}: {ast.unparse(call)}" for call in calls if _may_run_code(call)]


def _may_run_code(call: ast.Call) -> bool:
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    name = ast.unparse(call.func)
    return (
        ("trust_remote_code" in keywords and not _is_literal(keywords["trust_remote_code"], False))
        or (name == "torch.load" and not _is_literal(keywords.get("weights_only"), True))
        or (name.split(".")[0] in PICKLERS and name.endswith(("load", "loads")))
        or (name in ("np.load", "numpy.load") and not _is_literal(keywords.get("allow_pickle"), False, default=True))
    )


def _is_literal(node: ast.expr | None, value: bool, default: bool = False) -> bool:
    """``node`` is the constant ``value``; ``default`` when the keyword is absent."""
    if node is None:
        return default
    return isinstance(node, ast.Constant) and node.value is value


def test_no_code_in_the_app_loads_models_unsafely():
    assert len(APP_CODE) > 50
    found = {str(p.relative_to(ROOT)): unsafe_loads(p.read_text()) for p in APP_CODE}
    assert not {path: lines for path, lines in found.items() if lines}
    sources = "".join(p.read_text() for p in APP_CODE)
    assert "weights_only=True" in sources and "trust_remote_code=False" in sources  # the checked calls exist
    # ... and the check sees what it is looking for.
    bad = [
        "AutoModel.from_pretrained(p, trust_remote_code=True)",
        "f(trust_remote_code=flag)",
        "torch.load(p)",
        "torch.load(p, weights_only=False)",
        "pickle.loads(b)",
        "np.load(p, allow_pickle=True)",
    ]
    assert all(unsafe_loads(line) for line in bad)
    assert not unsafe_loads("torch.load(p, weights_only=True); from_pretrained(p, trust_remote_code=False)")
