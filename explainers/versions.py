"""The versions of the packages that produce a result: every record the suite writes carries them."""

from __future__ import annotations

import platform
from importlib import metadata

VERSIONED_PACKAGES = ("torch", "torchvision", "xplique", "tensorflow-cpu", "numpy", "gradio", "timm", "scikit-image")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
