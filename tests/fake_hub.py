"""A fake Hugging Face Hub on 127.0.0.1: a standard-library HTTP server serving repos that the tests build.

It answers the requests the real ``huggingface_hub`` makes for what ``hub_models.hub`` does:
``GET /api/models/{repo}[/revision/{rev}]`` (model_info, with file sizes), ``HEAD``/``GET
/{repo}/resolve/{rev}/{file}`` (hf_hub_download) and ``GET /api/models/{repo}/tree/{rev}``; errors carry the
``X-Error-Code`` header the client maps to its exceptions. Every request is recorded in ``requests``, every
``Authorization`` header in ``authorizations``. A repo can also fail mid-download (``cut``: the Hub goes away after
half a file) and stay gone (``down``: requests are dropped unanswered) until a test brings it back.

This module imports only the standard library at the top: ``conftest.py`` creates the server (binding its port) before
anything imports huggingface_hub. The repo builders import torch, timm and transformers when they run.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

TOKEN = "hf_fake_token_for_tests"
"""The one token the fake Hub accepts for gated repos."""


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    revisions: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit sha
    gated: bool = False
    broken: bool = False  # every request answers 500
    delay: float = 0.0  # seconds before each answer: a slow Hub
    trickle: float = 0.0  # seconds a file's body takes to arrive (half, pause, half): a slow download
    license: str = "apache-2.0"
    pipeline_tag: str | None = None
    claimed_sizes: dict[str, int] = field(default_factory=dict)  # file -> size announced in the metadata
    cut: tuple[str, ...] = ()  # files whose download breaks off after half the bytes; the repo is then ``down``
    down: bool = False  # every request is dropped without an answer: the Hub has gone away

    def __post_init__(self) -> None:
        if not self.revisions:
            digest = hashlib.sha1()
            for name in sorted(self.files):
                digest.update(name.encode() + self.files[name])
            self.revisions = {"main": digest.hexdigest()}

    @property
    def sha(self) -> str:
        return self.revisions["main"]

    def resolve(self, revision: str) -> str | None:
        if revision in self.revisions:
            return self.revisions[revision]
        return revision if revision in self.revisions.values() else None


class FakeHub:
    """The server and its repos. ``start()`` serves on the port bound at construction."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[str] = []
        self.authorizations: list[str] = []  # every Authorization header received
        self.folder = Path()  # where build_repos saved the models (set by the fake_hub fixture)
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def pickle_marker(self) -> Path:
        """Created if the pickle-only repo's weights are ever unpickled."""
        return self.folder / "pickle-was-executed"

    @property
    def remote_code_marker(self) -> Path:
        """Created if the custom-code repo's Python files are ever imported."""
        return self.folder / "remote-code-was-executed"

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def requests_for(self, repo_id: str) -> list[str]:
        with self._lock:
            return [r for r in self.requests if f"/{repo_id}/" in r or r.endswith(f"/{repo_id}")]

    # --- request handling -----------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        with self._lock:
            self.requests.append(f"{handler.command} {path}")
            if "Authorization" in handler.headers:
                self.authorizations.append(handler.headers["Authorization"])
        authorised = handler.headers.get("Authorization") == f"Bearer {TOKEN}"
        if match := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path):
            self._model_info(handler, match[1], match[2] or "main", authorised)
        elif match := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/.*)?", path):
            self._tree(handler, match[1], match[2], authorised)
        elif match := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            self._resolve(handler, match[1], match[2], match[3], authorised, head)
        else:
            self._error(handler, 404, "RepoNotFound", "not found")

    def _repo(self, handler: BaseHTTPRequestHandler, repo_id: str, revision: str, authorised: bool, files: bool = True):
        """The repo and the commit sha ``revision`` points to, or None once the error is sent.

        As on the real Hub, a gated repo's metadata is public (``files=False``); its files need a token.
        """
        repo = self.repos.get(repo_id)
        if repo is None:
            return self._error(handler, 401, "RepoNotFound", f"Repository Not Found for {repo_id}")
        time.sleep(repo.delay)
        if repo.down:  # no status line at all: the client sees the connection close, as when a server dies
            handler.close_connection = True
            return None
        if repo.broken:
            return self._error(handler, 500, "", "Internal Error - We're working hard to fix this as soon as possible!")
        if repo.gated and files and not authorised:
            return self._error(handler, 403, "GatedRepo", f"Access to model {repo_id} is restricted.")
        sha = repo.resolve(revision)
        if sha is None:
            return self._error(handler, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return repo, sha

    def _model_info(self, handler: BaseHTTPRequestHandler, repo_id: str, revision: str, authorised: bool) -> None:
        found = self._repo(handler, repo_id, revision, authorised, files=False)
        if not found:
            return
        repo, sha = found
        siblings = [
            {"rfilename": name, "size": repo.claimed_sizes.get(name, len(data)), "blobId": _blob(data)}
            for name, data in sorted(repo.files.items())
        ]
        info = {
            "id": repo_id,
            "_id": sha[:24],
            "sha": sha,
            "private": False,
            "gated": "manual" if repo.gated else False,
            "tags": [f"license:{repo.license}"],
            "cardData": {"license": repo.license},
            "siblings": siblings,
        }
        if repo.pipeline_tag:
            info["pipeline_tag"] = repo.pipeline_tag
        self._json(handler, info)

    def _tree(self, handler: BaseHTTPRequestHandler, repo_id: str, revision: str, authorised: bool) -> None:
        found = self._repo(handler, repo_id, revision, authorised)
        if not found:
            return
        repo, _ = found
        self._json(
            handler,
            [{"type": "file", "path": n, "size": len(d), "oid": _blob(d)} for n, d in sorted(repo.files.items())],
        )

    def _resolve(
        self, handler: BaseHTTPRequestHandler, repo_id: str, revision: str, name: str, authorised: bool, head: bool
    ) -> None:
        found = self._repo(handler, repo_id, revision, authorised)
        if not found:
            return
        repo, sha = found
        if name not in repo.files:
            return self._error(handler, 404, "EntryNotFound", f"{name} does not exist on {revision}")
        data = repo.files[name]
        handler.send_response(200)
        handler.send_header("X-Repo-Commit", sha)
        handler.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Content-Type", "application/octet-stream")
        handler.end_headers()
        if not head and name in repo.cut:  # the full length announced, half sent, then the Hub goes away
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            repo.down = True
            handler.close_connection = True
        elif not head:
            half = len(data) // 2
            handler.wfile.write(data[:half])
            handler.wfile.flush()
            time.sleep(repo.trickle)
            handler.wfile.write(data[half:])

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, value: object) -> None:
        body = json.dumps(value).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    @staticmethod
    def _error(handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        handler.send_response(status)
        if code:
            handler.send_header("X-Error-Code", code)
        handler.send_header("X-Error-Message", message)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
        return None


def _blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# --- the repos the tests use ---------------------------------------------------------------------------------------

TIMM_IMAGENET = "fake-org/tiny-resnet.in1k"
TIMM_CUSTOM = "fake-org/tiny-resnet.ten-flowers"
TRANSFORMERS = "fake-org/tiny-hf-resnet"
GATED = "fake-org/gated-resnet"
GATED_FOR_TOKEN = "fake-org/gated-resnet-for-token"  # its own repo: once downloaded, the HF cache would serve it
PICKLE_ONLY = "fake-org/pickle-only"
PICKLE_BESIDE_SAFETENSORS = "fake-org/pickle-beside-safetensors"
PICKLE_AS_SAFETENSORS = "fake-org/pickle-named-safetensors"  # timm config, the pickle saved as model.safetensors
PICKLE_AS_SAFETENSORS_HF = "fake-org/hf-pickle-named-safetensors"  # the same with a transformers config
REMOTE_CODE = "fake-org/custom-code-resnet"
REMOTE_CODE_FILES = ("configuration_evil.py", "modeling_evil.py")
OVERSIZED = "fake-org/huge-resnet"
TEXT_MODEL = "fake-org/tiny-bert"
UNCACHED = "fake-org/never-downloaded"
BROKEN = "fake-org/server-error"
SLOW = "fake-org/slow-resnet"
DETECTOR = "fake-org/tiny-yolos"
DETECTOR_LABELS = ["apple", "banana", "cherry"]
DETECTOR_SIDE = 64
CUSTOM_LABELS = [f"flower {i}" for i in range(10)]
CUSTOM_INPUT = (3, 64, 48)
CUSTOM_MEAN = (0.25, 0.5, 0.75)
CUSTOM_STD = (0.2, 0.3, 0.4)
HF_INPUT = (40, 56)
HF_MEAN = (0.1, 0.2, 0.3)
HF_STD = (0.6, 0.7, 0.8)


class ExecutesOnLoad:
    """Unpickling this creates ``marker``: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


REMOTE_CODE_MODULE = """# Custom model code, as trust_remote_code would import it: importing it runs it.

from pathlib import Path

from transformers import PretrainedConfig, ResNetForImageClassification

Path({marker!r}).touch()


class EvilResNetConfig(PretrainedConfig):
    model_type = "evil-resnet"


class EvilResNetForImageClassification(ResNetForImageClassification):
    config_class = EvilResNetConfig
"""


def remote_code_files(transformers_files: dict[str, bytes], marker: Path) -> dict[str, bytes]:
    """A transformers repo whose config's ``auto_map`` sends the Auto classes to Python files in the repo, which
    create ``marker`` when imported (as ``trust_remote_code=True`` would import them)."""
    config = json.loads(transformers_files["config.json"])
    config.update(
        model_type="evil-resnet",
        architectures=["EvilResNetForImageClassification"],
        auto_map={
            "AutoConfig": "configuration_evil.EvilResNetConfig",
            "AutoModelForImageClassification": "modeling_evil.EvilResNetForImageClassification",
        },
    )
    module = REMOTE_CODE_MODULE.format(marker=str(marker)).encode()
    return {
        **transformers_files,
        "config.json": json.dumps(config, indent=2).encode(),
        **{name: module for name in REMOTE_CODE_FILES},
    }


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def build_repos(root: Path, pickle_marker: Path, remote_code_marker: Path) -> dict[str, FakeRepo]:
    """Tiny models saved with their libraries' own save functions into ``root``, as fake-Hub repos; the markers are
    the files that executing the pickle-only repo's weights or the custom-code repo's Python files would create."""
    import timm
    import torch
    import transformers
    from timm.models import save_for_hf

    torch.manual_seed(0)
    imagenet = timm.create_model("test_resnet", num_classes=1000)
    save_for_hf(imagenet, root / "timm-imagenet", safe_serialization=True)
    timm_files = _folder_files(root / "timm-imagenet")

    custom = timm.create_model("test_resnet", num_classes=len(CUSTOM_LABELS))
    save_for_hf(
        custom,
        root / "timm-custom",
        model_config={"label_names": CUSTOM_LABELS},
        safe_serialization=True,
        data_config={"input_size": CUSTOM_INPUT, "mean": CUSTOM_MEAN, "std": CUSTOM_STD, "interpolation": "bicubic"},
    )

    config = transformers.ResNetConfig(
        embedding_size=8,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        layer_type="basic",
        num_labels=3,
        id2label={0: "apple", 1: "banana", 2: "cherry"},
        label2id={"apple": 0, "banana": 1, "cherry": 2},
    )
    transformers.ResNetForImageClassification(config).save_pretrained(root / "hf-resnet", safe_serialization=True)
    transformers.ViTImageProcessor(
        size={"height": HF_INPUT[0], "width": HF_INPUT[1]}, resample=3, image_mean=list(HF_MEAN), image_std=list(HF_STD)
    ).save_pretrained(root / "hf-resnet")
    hf_files = _folder_files(root / "hf-resnet")

    bert = transformers.BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    transformers.BertForSequenceClassification(bert).save_pretrained(root / "bert", safe_serialization=True)

    labels = dict(enumerate(DETECTOR_LABELS))
    yolos = transformers.YolosConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=[DETECTOR_SIDE, DETECTOR_SIDE],
        patch_size=16,
        num_detection_tokens=10,
        id2label=labels,
        label2id={name: i for i, name in labels.items()},
    )
    transformers.YolosForObjectDetection(yolos).save_pretrained(root / "yolos", safe_serialization=True)
    transformers.YolosImageProcessor(size={"shortest_edge": DETECTOR_SIDE, "longest_edge": 96}).save_pretrained(
        root / "yolos"
    )

    evil = pickle.dumps({"state_dict": ExecutesOnLoad(pickle_marker)})
    tagged = FakeRepo(timm_files, pipeline_tag="image-classification")
    tagged.revisions["v1.0"] = tagged.sha
    return {
        TIMM_IMAGENET: tagged,
        TIMM_CUSTOM: FakeRepo(_folder_files(root / "timm-custom"), license="cc-by-4.0"),
        TRANSFORMERS: FakeRepo(hf_files, license="mit", pipeline_tag="image-classification"),
        GATED: FakeRepo(timm_files, gated=True),
        GATED_FOR_TOKEN: FakeRepo(timm_files, gated=True),
        PICKLE_ONLY: FakeRepo({"config.json": timm_files["config.json"], "pytorch_model.bin": evil}),
        PICKLE_BESIDE_SAFETENSORS: FakeRepo({**timm_files, "pytorch_model.bin": evil}),
        PICKLE_AS_SAFETENSORS: FakeRepo({"config.json": timm_files["config.json"], "model.safetensors": evil}),
        PICKLE_AS_SAFETENSORS_HF: FakeRepo({**hf_files, "model.safetensors": evil}),
        REMOTE_CODE: FakeRepo(remote_code_files(hf_files, remote_code_marker)),
        OVERSIZED: FakeRepo(timm_files, claimed_sizes={"model.safetensors": 5_000_000_000}),
        TEXT_MODEL: FakeRepo(_folder_files(root / "bert")),
        UNCACHED: FakeRepo(_folder_files(root / "timm-custom")),
        BROKEN: FakeRepo(timm_files, broken=True),
        SLOW: FakeRepo(timm_files, delay=0.5),
        DETECTOR: FakeRepo(_folder_files(root / "yolos"), pipeline_tag="object-detection"),
    }
