"""app.py listens where it is told: flags first, then Gradio's own environment variables, then the defaults."""

from __future__ import annotations

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
