"""The repository is a valid Hugging Face Space: README front matter, the gradio pin, packages.txt."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hub_models.bootstrap import pinned_requirements
from hub_models.card import CURATED_HUB_MODELS
from hub_models.detectors import CURATED_HUB_DETECTORS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

# https://huggingface.co/docs/hub/spaces-config-reference, plus the repository card's `license`
# (https://huggingface.co/docs/hub/repositories-licenses; huggingface_hub's SpaceCardData carries it too).
DOCUMENTED_KEYS = {
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "python_version",
    "sdk_version",
    "suggested_hardware",
    "suggested_storage",
    "app_file",
    "app_port",
    "base_path",
    "fullWidth",
    "header",
    "short_description",
    "models",
    "datasets",
    "tags",
    "thumbnail",
    "pinned",
    "hf_oauth",
    "hf_oauth_scopes",
    "hf_oauth_expiration_minutes",
    "hf_oauth_authorized_org",
    "disable_embedding",
    "startup_duration_timeout",
    "custom_headers",
    "preload_from_hub",
    "license",
}
THUMBNAIL_COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
REQUIRED = {"title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version"}


def front_matter() -> tuple[dict, str]:
    match = re.match(r"---\n(.*?)\n---\n", README, re.DOTALL)
    assert match, "README.md must start with a --- YAML block ---"
    return yaml.safe_load(match.group(1)), README[match.end() :]


def test_the_front_matter_uses_only_documented_keys_with_valid_values():
    config, _ = front_matter()
    assert set(config) <= DOCUMENTED_KEYS, f"undocumented keys: {set(config) - DOCUMENTED_KEYS}"
    assert REQUIRED | {"short_description", "models", "license"} <= set(config)
    assert config["sdk"] == "gradio"
    assert config["colorFrom"] in THUMBNAIL_COLOURS and config["colorTo"] in THUMBNAIL_COLOURS
    assert config["python_version"] == "3.11", "quote it: YAML reads 3.11 as a float"
    assert (ROOT / config["app_file"]).is_file()
    assert isinstance(config["short_description"], str) and 0 < len(config["short_description"]) <= 60
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", config["license"])
    assert len(config["emoji"]) == 1 and not config["emoji"].isascii()


def test_sdk_version_is_the_pinned_gradio():
    config, _ = front_matter()
    assert config["sdk_version"] == pinned_requirements(ROOT / "requirements.txt")["gradio"]


def test_models_are_exactly_the_hub_models_the_app_offers():
    config, _ = front_matter()
    offered = {model_id.removeprefix("keras:") for _, model_id in [*CURATED_HUB_MODELS, *CURATED_HUB_DETECTORS]}
    assert sorted(config["models"]) == sorted(offered)


def test_the_two_commands_come_first_below_the_front_matter():
    _, body = front_matter()
    lines = [line for line in body.splitlines() if line.strip()]
    assert lines[:5] == [
        "# xai-suite",
        "```bash",
        lines[2],
        lines[3],
        "```",
    ]
    assert lines[2].startswith("./run.sh app ") and lines[3].startswith("./run.sh test ")


def test_no_debian_package_is_needed_at_run_time():
    """No packages.txt: video is encoded by imageio-ffmpeg's own ffmpeg, OpenCV is the headless wheel, and the
    Darknet example photos (Debian's darknet package drags in ~150 packages of OpenCV, Qt and GTK) are fetched with
    ``apt-get download`` at first start where apt works, else the Detection tab offers uploads only."""
    assert not (ROOT / "packages.txt").exists()
    requirements = (ROOT / "requirements.txt").read_text()
    assert "imageio-ffmpeg==" in requirements and "opencv-python-headless==" in requirements
    assert "\nopencv-python==" not in requirements
