"""Security, each shown against the real code: models never run code, the app serves only its own files, and
HF_TOKEN never shows."""

from __future__ import annotations

import ast
import http.client
import json
import os
import pickle
import secrets
import sys
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import gradio
import pytest
import torch
from app_process import running_app
from conftest import ROOT
from fake_hub import (
    BROKEN,
    DETECTOR,
    GATED,
    PICKLE_AS_SAFETENSORS,
    PICKLE_AS_SAFETENSORS_HF,
    PICKLE_BESIDE_SAFETENSORS,
    REMOTE_CODE,
    REMOTE_CODE_FILES,
    TIMM_CUSTOM,
    TIMM_IMAGENET,
)
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from hub_models import UserInputError, load_model
from hub_models.assets import DARKNET_PHOTOS
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


# --- file access -----------------------------------------------------------------------------------------------------


def raw_get(app_url: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` sent byte for byte (an HTTP library would resolve '..' and re-encode it first)."""
    parts = urlsplit(app_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def file_urls(target: Path, allowed: list[Path]) -> list[str]:
    """Every way of asking the app for ``target``: the API's and the legacy file route, absolute, URL-encoded,
    double-encoded, relative to the working folder, and climbing out of each folder the app does serve."""
    text = str(target)
    up = "../" * 12 + text.lstrip("/")
    urls = [
        f"{route}={form}"
        for route in ("/gradio_api/file", "/file")
        for form in (text, quote(text, safe=""), quote(quote(text, safe=""), safe=""), up, quote(up, safe=""))
    ]
    for folder in allowed:
        urls += [
            f"/gradio_api/file={folder}/{up}",
            f"/gradio_api/file={quote(f'{folder}/{up}', safe='')}",
            f"/gradio_api/file={folder}/{'..%2F' * 12}{quote(text.lstrip('/'), safe='')}",
            f"/gradio_api/file={folder}/%00{text}",
        ]
    if target.is_relative_to(ROOT):
        urls.append(f"/gradio_api/file={target.relative_to(ROOT)}")
    return urls


@pytest.fixture
def private_files(fake_hub, tmp_path) -> dict[Path, bytes]:
    """Files the app must never serve, each with bytes that must not show in an answer: system, project, venv,
    embedded weights, the HF cache (a downloaded model) and the HF token file."""
    from huggingface_hub import constants

    from hub_models.assets import MOBILENET_V2_IMAGENET

    model = load_hub_model(TIMM_IMAGENET)
    snapshot = Path(constants.HF_HUB_CACHE) / f"models--{TIMM_IMAGENET.replace('/', '--')}" / "snapshots"
    token_file = Path(constants.HF_TOKEN_PATH)
    assert not token_file.exists()  # a token here would be sent with every test's Hub request
    token_file.write_text("hf_" + secrets.token_hex(16))
    paths = [
        Path("/etc/passwd"),
        ROOT / "app.py",
        ROOT / "hub_models" / "hub.py",
        Path(sys.prefix) / "pyvenv.cfg",
        Path(gradio.__file__),
        MOBILENET_V2_IMAGENET.path,
        snapshot / model.source["revision"] / "model.safetensors",
        snapshot / model.source["revision"] / "config.json",
        token_file,
    ]
    yield {path: path.read_bytes()[:200] for path in paths}
    token_file.unlink()


def test_the_app_serves_no_file_outside_its_outputs_and_examples(app_url, private_files):
    from outputs.files import results_root

    allowed = [Path(os.environ["GRADIO_TEMP_DIR"]), results_root(), example_photo_paths()["chelsea"].parent]
    served = {}
    for target, content in private_files.items():
        for url in file_urls(target, allowed):
            status, body = raw_get(app_url, url)
            if not 400 <= status < 500 or content[:40] in body:
                served[url] = status
    assert not served
    assert len(private_files) == 9


def test_the_app_fetches_no_url_for_a_client(app_url, fake_hub):
    """The file route's URL form must not reach into the server's network (the fake Hub listens on 127.0.0.1)."""
    before = fake_hub.request_count()
    for url in (f"{fake_hub.url}/api/models/{TIMM_IMAGENET}", f"http://localhost:{fake_hub.port}/api/models/x"):
        status, body = raw_get(app_url, f"/gradio_api/file={url}")
        assert 400 <= status < 500 and b"siblings" not in body
    assert fake_hub.request_count() == before


def test_the_app_serves_its_outputs_and_example_photos(app_url):
    client = Client(app_url, verbose=False, download_files=False)
    photo = handle_file(str(example_photo_paths()["astronaut"]))
    outputs = client.predict(photo, "", "Saliency", "", "", api_name="/explain")
    for output in outputs:
        status, body = raw_get(app_url, urlsplit(output["url"]).path)
        assert status == 200 and body == Path(output["path"]).read_bytes()
    assert [Path(output["path"]).suffix for output in outputs] == [".png", ".npy", ".json", ".zip"]
    photos = [*example_photo_paths().values(), *(a.path for a in DARKNET_PHOTOS.values() if a.path.is_file())]
    for path in photos:
        status, body = raw_get(app_url, f"/gradio_api/file={quote(str(path))}")
        assert status == 200 and body == path.read_bytes(), path


# --- secrets ---------------------------------------------------------------------------------------------------------


def readable(path: Path) -> list[bytes]:
    """A returned file's bytes, and every member of it when it is a zip (deflated members hide their text)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [path.read_bytes(), *(archive.read(name) for name in archive.namelist())]
    return [path.read_bytes()]


def test_hf_token_reaches_the_hub_and_nowhere_else(fake_hub, tmp_path):
    """The app started as a user starts it, with a token: Hub models (good, missing, gated, broken, malformed),
    an explanation's files, a detection and its explanation; then the token is looked for in everything it said."""
    token = "hf_" + secrets.token_hex(20)
    env = {
        **os.environ,
        "HF_TOKEN": token,
        "HF_HOME": str(tmp_path / "hf-home"),
        "GRADIO_TEMP_DIR": str(tmp_path / "gradio"),
        "XAI_RESULT_CACHE_SIZE": "0",
    }
    seen: list[bytes] = []
    errors: list[str] = []
    log = tmp_path / "app.log"
    with running_app(sys.executable, [], env, log) as (url, config):
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        photo = handle_file(str(example_photo_paths()["chelsea"]))
        for spec in ("fake-org/does-not-exist", GATED, BROKEN, "fake-org/bad id", TIMM_CUSTOM):
            try:
                seen.append(json.dumps(client.predict(photo, spec, api_name="/classify")).encode())
            except AppError as error:
                errors.append(str(error))
        files = client.predict(photo, TIMM_CUSTOM, "Grad-CAM", "", "", api_name="/explain")
        annotated, detections = client.predict(photo, DETECTOR, 0.01, True, api_name="/detect")
        box = detections["indices"][0]
        files = [
            *files,
            annotated,
            *client.predict(photo, DETECTOR, box, "Box gradient", "", True, 0.01, api_name="/explain_box"),
        ]
        for path in files:
            seen += readable(Path(path))
        for page in ("/", "/config", "/gradio_api/info", "/gradio_api/info?all_endpoints=true"):
            with urllib.request.urlopen(url + page, timeout=30) as response:
                seen.append(response.read())
        seen.append(json.dumps(config).encode())
    seen += [log.read_bytes(), *(message.encode() for message in errors)]
    assert len(errors) == 4 and any("HF_TOKEN" in message for message in errors)  # the gated repo's advice
    assert sum(name.endswith(".zip") for name in map(str, files)) == 2 and len(files) == 9
    assert f"Bearer {token}" in fake_hub.authorizations  # the token was used: its absence below means something
    leaks = [text[:200] for text in seen if token[3:].encode() in text]
    assert not leaks
