"""Hub models by id, against the fake Hub of tests/fake_hub.py: the real huggingface_hub, timm and transformers code
downloads and loads tiny models the tests saved with those libraries' own save functions."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import free_port, python_json
from fake_hub import (
    BROKEN,
    CUSTOM_INPUT,
    CUSTOM_LABELS,
    CUSTOM_MEAN,
    CUSTOM_STD,
    GATED,
    HF_INPUT,
    HF_MEAN,
    HF_STD,
    OVERSIZED,
    PICKLE_ONLY,
    SLOW,
    TEXT_MODEL,
    TIMM_CUSTOM,
    TIMM_IMAGENET,
    TRANSFORMERS,
    UNCACHED,
)
from gradio_client import Client, handle_file
from test_registry_methods import tiny_settings

from explainers import METHODS, explain
from explainers.base import CNN
from hub_models import UserInputError, load_model
from hub_models.cache import cached_specs
from hub_models.card import model_card
from hub_models.examples import example_photo_paths
from hub_models.hub import load_hub_model


@pytest.fixture(scope="module")
def timm_imagenet(fake_hub):
    return load_hub_model(TIMM_IMAGENET)


@pytest.fixture(scope="module")
def timm_custom(fake_hub):
    return load_hub_model(TIMM_CUSTOM)


@pytest.fixture(scope="module")
def hf_resnet(fake_hub):
    return load_hub_model(TRANSFORMERS)


@pytest.fixture(scope="module")
def repos_folder(fake_hub) -> Path:
    return fake_hub.folder / "repos"


def _explains(model, image) -> None:
    """Grad-CAM (gradients, hooks) and RISE (perturbation) give finite, non-constant maps at the image's size."""
    for method, params in [("Grad-CAM", {}), ("RISE", {"nb_samples": 8, "grid_size": 3, "seed": 1})]:
        result = explain(model, image, method, None, params)
        assert result.attribution.shape == image.shape[:2]
        assert np.isfinite(result.attribution).all()
        assert result.attribution.max() > result.attribution.min(), method


def test_timm_model_loads_with_imagenet_labels_and_its_preprocessing(timm_imagenet, fake_hub, repos_folder, chelsea):
    import timm

    model = timm_imagenet
    assert model.source["kind"] == "timm"
    assert model.source["id"] == TIMM_IMAGENET
    assert model.source["revision"] == fake_hub.repos[TIMM_IMAGENET].sha
    assert model.source["license"] == "apache-2.0"
    assert model.n_classes == 1000 and model.labels[0].startswith("tench")
    assert model.preprocessing.input_size == (160, 160)  # test_resnet's pretrained_cfg, not the 224 default
    assert model.preprocessing.mean == (0.5, 0.5, 0.5) and model.preprocessing.std == (0.5, 0.5, 0.5)
    reference = timm.create_model("local-dir:" + str(repos_folder / "timm-imagenet"), pretrained=True).eval()
    pixels = model.preprocessing.to_tensor(chelsea)
    with torch.no_grad():
        assert torch.allclose(model.module(pixels), reference(pixels), atol=1e-5)  # the saved weights, not random
    _explains(model, chelsea)


def test_timm_model_with_its_own_ten_labels_and_preprocessing(timm_custom, fake_hub, chelsea):
    assert timm_custom.labels == CUSTOM_LABELS
    assert timm_custom.preprocessing.input_size == CUSTOM_INPUT[1:]
    assert timm_custom.preprocessing.mean == pytest.approx(CUSTOM_MEAN)
    assert timm_custom.preprocessing.std == pytest.approx(CUSTOM_STD)
    assert timm_custom.preprocessing.interpolation == "bicubic"
    assert timm_custom.source["license"] == "cc-by-4.0"
    assert timm_custom.top_k(chelsea, 1)[0][1] in CUSTOM_LABELS
    _explains(timm_custom, chelsea)


def test_model_card_shows_id_link_revision_license_size_and_classes(timm_custom, fake_hub, mobilenet):
    card = model_card(timm_custom)
    assert f"[{TIMM_CUSTOM}]({fake_hub.url}/{TIMM_CUSTOM})" in card
    assert f"revision `{fake_hub.repos[TIMM_CUSTOM].sha}`" in card
    parameters = int(timm_custom.source["parameters"])  # as published: tests/test_folding.py checks the count
    assert f"license cc-by-4.0 · {parameters:,} parameters · input 64x48 · 10 classes" in card
    assert f"{timm_custom.source['batch_norms_folded']} batch norms folded into their convolutions" in card
    assert "download 1.5 MB" in card
    embedded = model_card(mobilenet)
    assert "embedded, works with no network" in embedded and "3.5 M parameters" in embedded
    assert "input 224x224 · 1,000 classes" in embedded


def test_transformers_model_loads_with_id2label_and_processor_config(hf_resnet, fake_hub, repos_folder, chelsea):
    from transformers import ResNetForImageClassification

    assert hf_resnet.source["kind"] == "transformers"
    assert hf_resnet.source["revision"] == fake_hub.repos[TRANSFORMERS].sha
    assert hf_resnet.source["license"] == "mit"
    assert hf_resnet.labels == ["apple", "banana", "cherry"]
    assert hf_resnet.preprocessing.input_size == HF_INPUT
    assert hf_resnet.preprocessing.mean == pytest.approx(HF_MEAN)
    assert hf_resnet.preprocessing.std == pytest.approx(HF_STD)
    assert hf_resnet.preprocessing.interpolation == "bicubic"
    reference = ResNetForImageClassification.from_pretrained(repos_folder / "hf-resnet").eval()
    pixels = hf_resnet.preprocessing.to_tensor(chelsea)
    with torch.no_grad():
        assert torch.allclose(hf_resnet.module(pixels), reference(pixel_values=pixels).logits, atol=1e-5)
    _explains(hf_resnet, chelsea)


def test_revisions_resolve_to_the_commit_sha(fake_hub, timm_imagenet):
    sha = fake_hub.repos[TIMM_IMAGENET].sha
    tagged = load_hub_model(f"{TIMM_IMAGENET}@v1.0")
    assert tagged.source["revision"] == sha and tagged.source["requested_revision"] == "v1.0"
    assert load_hub_model(f"{TIMM_IMAGENET}@{sha}").source["revision"] == sha
    with pytest.raises(UserInputError, match=f"{TIMM_IMAGENET} has no revision 'no-such-branch'"):
        load_hub_model(f"{TIMM_IMAGENET}@no-such-branch")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fake-org/does-not-exist", "No model repo 'fake-org/does-not-exist' on the Hugging Face Hub"),
        (GATED, "gated or private repo: .* set the HF_TOKEN environment variable"),
        (TEXT_MODEL, "not an image classifier .* BertForSequenceClassification"),
        (BROKEN, r"The Hub refused fake-org/server-error \(HTTP 500\); try again later"),
        (OVERSIZED, "would download 5,000 MB, more than the 1,000 MB allowed here \\(XAI_MAX_DOWNLOAD_MB\\)"),
    ],
)
def test_hub_failures_have_clear_messages(fake_hub, spec, message):
    with pytest.raises(UserInputError, match=message):
        load_model(spec)
    assert not [r for r in fake_hub.requests_for(spec) if "/resolve/" in r and "safetensors" in r]


def test_gated_repo_loads_once_hf_token_is_set(fake_hub, monkeypatch):
    from fake_hub import GATED_FOR_TOKEN, TOKEN

    with pytest.raises(UserInputError, match="HF_TOKEN"):
        load_hub_model(GATED_FOR_TOKEN)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    model = load_hub_model(GATED_FOR_TOKEN)
    assert model.source["revision"] == fake_hub.repos[GATED_FOR_TOKEN].sha


def test_download_cap_is_configurable(fake_hub, monkeypatch):
    monkeypatch.setenv("XAI_MAX_DOWNLOAD_MB", "0.01")
    with pytest.raises(UserInputError, match=r"would download \d+ MB, more than the 0\.01 MB allowed"):
        load_hub_model(TIMM_CUSTOM)


def test_pickle_only_repo_is_refused_and_never_unpickled(fake_hub):
    with pytest.raises(UserInputError, match=r"weights only as pickle files \(pytorch_model\.bin\)"):
        load_model(PICKLE_ONLY)
    assert not fake_hub.pickle_marker.exists()
    assert not [r for r in fake_hub.requests_for(PICKLE_ONLY) if "pytorch_model.bin" in r]
    # The marker really would be created by unpickling: the check above can fail.
    import pickle

    payload = fake_hub.repos[PICKLE_ONLY].files["pytorch_model.bin"]
    pickle.loads(payload)
    assert fake_hub.pickle_marker.exists()
    fake_hub.pickle_marker.unlink()


@pytest.mark.parametrize(
    "spec",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "fake-org/tiny resnet",
        "fake-org/" + "a" * 500,
        "fake-org/tiny..resnet",
        "fake-org/tiny-resnet@../main",
        "fake-org/tiny-resnet@",
        "fake-org/tiny-resnet/extra",
        "https://huggingface.co/timm/resnet50",
    ],
)
def test_malformed_ids_are_rejected_before_any_request(fake_hub, spec):
    before = fake_hub.request_count()
    with pytest.raises(UserInputError, match="is not a valid Hugging Face model id"):
        load_model(spec)
    assert fake_hub.request_count() == before


def test_a_long_name_without_slash_is_an_unknown_model(fake_hub):
    before = fake_hub.request_count()
    with pytest.raises(UserInputError, match=r"Unknown model 'aaaa.*\.\.\.'\. Give a Hugging Face Hub id"):
        load_model("a" * 500)
    assert fake_hub.request_count() == before


def test_unreachable_hub_fails_fast_and_embedded_models_keep_working(fake_hub, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    start = time.perf_counter()
    with pytest.raises(UserInputError, match="cannot be reached"):
        load_hub_model(UNCACHED)
    assert time.perf_counter() - start < 5
    assert load_model("").n_classes == 1000


def test_memory_cache_is_a_bounded_lru(fake_hub, monkeypatch):
    monkeypatch.setenv("XAI_MODEL_CACHE_SIZE", "2")
    first = load_model(TIMM_IMAGENET)
    custom = load_model(f"  {TIMM_CUSTOM} ")
    load_model(TRANSFORMERS)
    assert cached_specs() == [TIMM_CUSTOM, TRANSFORMERS]
    before = fake_hub.request_count()
    assert load_model(TIMM_CUSTOM) is custom  # from memory: no request
    assert fake_hub.request_count() == before
    again = load_model(TIMM_IMAGENET)  # evicted: loaded again
    assert again is not first and cached_specs() == [TIMM_CUSTOM, TIMM_IMAGENET]


def test_a_slow_download_holds_up_neither_cached_models_nor_itself_twice(fake_hub):
    load_model("")
    results = []
    loaders = [threading.Thread(target=lambda: results.append(load_model(SLOW))) for _ in range(2)]
    for loader in loaders:
        loader.start()
    time.sleep(0.2)  # the first request for SLOW is waiting on the Hub now
    start = time.perf_counter()
    assert load_model("").n_classes == 1000
    assert time.perf_counter() - start < 1.0  # the slow load takes about 2.5 s
    for loader in loaders:
        loader.join(timeout=60)
    assert len(results) == 2 and results[0] is results[1]  # loaded once
    assert len([r for r in fake_hub.requests_for(SLOW) if r.startswith("GET /api/models/")]) == 1


OFFLINE_SCRIPT = """
import json, sys
from hub_models import UserInputError
from hub_models.hub import load_hub_model
model = load_hub_model(sys.argv[1])
try:
    load_hub_model(sys.argv[2])
    message = None
except UserInputError as error:
    message = str(error)
print(json.dumps({"labels": model.labels, "source": model.source, "message": message}))
"""


def test_offline_cached_model_loads_and_uncached_gives_the_offline_message(fake_hub, timm_custom):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    before = fake_hub.request_count()
    result = python_json(OFFLINE_SCRIPT, TIMM_CUSTOM, UNCACHED, env=env)
    assert result["labels"] == CUSTOM_LABELS
    assert result["source"]["revision"] == fake_hub.repos[TIMM_CUSTOM].sha
    assert "offline here (HF_HUB_OFFLINE=1)" in result["message"] and UNCACHED in result["message"]
    assert fake_hub.request_count() == before  # offline means no request at all


def test_api_explains_a_hub_model_and_the_manifest_records_its_commit(app_url, fake_hub, chelsea):
    client = Client(app_url, verbose=False)
    photo = handle_file(str(example_photo_paths()["chelsea"]))
    top = client.predict(photo, TIMM_CUSTOM, api_name="/classify")
    assert top["label"] in CUSTOM_LABELS
    _, raw_map, manifest_file, _ = client.predict(photo, TIMM_CUSTOM, "Grad-CAM", "flower 3", "", api_name="/explain")
    assert np.load(raw_map).shape == chelsea.shape[:2]
    record = json.loads(Path(manifest_file).read_text())
    assert record["model"]["id"] == TIMM_CUSTOM
    assert record["model"]["revision"] == fake_hub.repos[TIMM_CUSTOM].sha
    assert record["model"]["kind"] == "timm"
    assert record["target"] == {"index": 3, "label": "flower 3"}
    with pytest.raises(Exception, match="No model repo 'fake-org/does-not-exist' on the Hugging Face Hub"):
        client.predict(photo, "fake-org/does-not-exist", api_name="/classify")
    assert client.predict(photo, "", api_name="/classify")["label"]


def test_a_hub_download_reports_its_progress_to_the_client(app_url, fake_hub):
    # Same files under a new name (not cached yet), each taking a second to arrive: Gradio samples the open
    # download bars every ~0.1 s, so each download is seen by the server and then by the client's polls.
    fake_hub.repos["fake-org/slow-copy"] = dataclasses.replace(fake_hub.repos[SLOW], delay=0.0, trickle=1.0)
    client = Client(app_url, verbose=False)
    job = client.submit(handle_file(str(example_photo_paths()["chelsea"])), "fake-org/slow-copy", api_name="/classify")
    units = []
    while not job.done():
        units += [unit for unit in job.status().progress_data or []]
        time.sleep(0.05)
    assert job.result()["label"]
    assert any(unit.unit == "B" and "slow-copy" in (unit.desc or "") for unit in units), units


@pytest.mark.parametrize("repo", [TIMM_IMAGENET, TRANSFORMERS])
@pytest.mark.parametrize("key", list(METHODS))
def test_every_method_runs_on_hub_models(fake_hub, repo, key, chelsea):
    if CNN not in METHODS[key].families or METHODS[key].attribute is None:
        pytest.skip(f"{key} gives no map on these PyTorch CNNs (tests/test_registry_methods.py checks the refusal)")
    model = load_model(repo)
    result = explain(model, chelsea, key, target=1, params=tiny_settings(METHODS[key]))
    assert result.attribution.shape == chelsea.shape[:2]
    assert np.isfinite(result.attribution).all() and np.ptp(result.attribution) > 0
