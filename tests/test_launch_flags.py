"""app.py listens where it is told: flags first, then Gradio's own environment variables, then the defaults."""

from __future__ import annotations

import os
import re
import sys

import pytest
from app_process import running_app
from gradio_client import Client
from gradio_client.exceptions import AppError

from app import parse_args


def test_defaults(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 7860)


def test_gradio_environment_variables(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8081")
    args = parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 8081)


def test_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8081")
    args = parse_args(["--host", "127.0.0.2", "--port", "9000"])
    assert (args.host, args.port) == ("127.0.0.2", 9000)


def test_the_share_root_path_and_offline_flags(monkeypatch):
    monkeypatch.delenv("GRADIO_ROOT_PATH", raising=False)
    assert (parse_args([]).share, parse_args([]).root_path, parse_args([]).offline) == (False, None, False)
    args = parse_args(["--share", "--root-path", "/xai", "--offline"])
    assert (args.share, args.root_path, args.offline) == (True, "/xai", True)


def test_offline_share_and_root_path_take_effect_in_the_running_app(tmp_path):
    """Started as a user starts it: --offline reaches huggingface_hub (imported at start-up), the share tunnel cannot
    be made here (no internet) and the app says so and keeps serving locally, --root-path shapes the app's URLs."""
    log = tmp_path / "app.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    flags = ["--offline", "--share", "--root-path", "/xai"]
    with running_app(sys.executable, flags, env, log) as (url, config):
        assert config["root"] == f"{url}/xai"
        with pytest.raises(AppError, match=r"The Hub is offline here \(HF_HUB_OFFLINE=1\)"):
            Client(url, verbose=False).predict(None, "timm/resnet50.a1_in1k", api_name="/classify")
    shared = re.search(r"^(Public link: https://\S+|The public link could not be made .*)$", log.read_text(), re.M)
    assert shared, log.read_text()[-2000:]
    if shared.group(0).startswith("The public link"):
        assert shared.group(0).endswith(f"serving locally at {url}/")
