"""Checks that a change leaves the result files alone: the same requests, through the app's API and the command line,
on the bundled examples, in two checkouts; then every file compared.

    python scripts/result_snapshot.py write CHECKOUT FOLDER     (run with the project's virtual environment)
    python scripts/result_snapshot.py compare BEFORE AFTER

``write`` serves CHECKOUT's app offline at the reference presets, asks it for an explanation (three methods), a
detection and a box explanation, a comparison, a sanity check, an MLP and an LSTM run, runs the same through
``python -m explainers``, and keeps every file that came back. ``compare`` prints one line per file: ``same``
(bytes; for JSON the same content once timings and dates are left out, for zips the same members) or ``DIFFERENT``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

VOLATILE = {"created", "timing", "timing_seconds", "seconds", "training_seconds", "scoring_seconds"}


def write(checkout: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    scratch = Path(tempfile.mkdtemp())
    os.environ.update(
        GRADIO_TEMP_DIR=str(scratch / "gradio"),
        HF_HUB_OFFLINE="1",
        XAI_PRESETS="reference",
        XAI_RESULT_CACHE_SIZE="0",
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
    )
    os.chdir(checkout)
    sys.path.insert(0, str(checkout))
    from gradio_client import Client, handle_file

    from app import build_app, warm_up
    from hub_models.assets import DARKNET_PHOTOS
    from hub_models.examples import example_photo_paths

    warm_up()
    app = build_app()
    _, url, _ = app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    client = Client(url, verbose=False, download_files=str(scratch / "downloads"))
    photos = example_photo_paths()
    chelsea, coffee = handle_file(str(photos["chelsea"])), handle_file(str(photos["coffee"]))
    dog_path = DARKNET_PHOTOS["dog"].path
    dog = handle_file(str(dog_path))

    def keep(name: str, returned: Any) -> None:
        folder = out / name
        folder.mkdir()
        pending = [returned]
        while pending:
            value = pending.pop()
            if isinstance(value, str) and os.path.isfile(value):
                shutil.copy(value, folder / Path(value).name)
            elif isinstance(value, (list, tuple)):
                pending += list(value)
            elif isinstance(value, dict):
                pending += list(value.values())

    def defaults(endpoint: str, **changes: Any) -> list[Any]:
        described = client.view_api(print_info=False, return_format="dict")["named_endpoints"][endpoint]
        labels = [p["label"] for p in described["parameters"]]
        values = [p["parameter_default"] for p in described["parameters"]]
        for label, value in changes.items():
            values[labels.index(label)] = value
        return values

    keep("explain_gradcam", client.predict(chelsea, "", "Grad-CAM", "", "", api_name="/explain"))
    keep("explain_rise", client.predict(coffee, "", "RISE", "", '{"preset": "fast", "seed": 3}', api_name="/explain"))
    keep(
        "explain_ig",
        client.predict(chelsea, "", "Integrated Gradients", "tabby", '{"preset": "fast"}', api_name="/explain"),
    )
    found = client.predict(dog, "", 0.25, True, api_name="/detect")
    keep("detect", found)
    box = found[1]["indices"][0]
    keep("explain_box", client.predict(dog, "", box, "D-RISE", '{"preset": "fast"}', True, api_name="/explain_box"))
    keep(
        "compare",
        client.predict(coffee, "", ["Grad-CAM", "RISE", "Saliency"], "fast", "insertion", api_name="/compare"),
    )
    keep("sanity", client.predict(chelsea, "", "Grad-CAM", 3, api_name="/sanity_check"))
    keep("mlp", client.predict(*defaults("/mlp_train", epochs=4), api_name="/mlp_train"))
    keep("lstm", client.predict(*defaults("/lstm_train", epochs=2), api_name="/lstm_train"))
    app.close()
    for name, *arguments in (
        ("cli_explain", "explain", str(photos["chelsea"]), "--method", "Grad-CAM"),
        ("cli_rise", "explain", str(photos["coffee"]), "--method", "RISE", "--params", '{"preset": "fast", "seed": 3}'),
        ("cli_detect", "detect", str(dog_path), "--params", '{"preset": "fast"}'),
        ("cli_mlp", "mlp", "--params", '{"epochs": 4}'),
        ("cli_lstm", "lstm", "--params", '{"epochs": 2}'),
    ):
        command = [sys.executable, "-m", "explainers", *arguments, "--out", str(out / name)]
        subprocess.run(command, check=True, capture_output=True)
    print(f"wrote {out}")


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_volatile(item) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    return value


def _content(name: str, data: bytes) -> Any:
    if name.endswith(".json"):
        return ("json", _without_volatile(json.loads(data)))
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return ("zip", {member: _content(member, archive.read(member)) for member in sorted(archive.namelist())})
    return ("bytes", hashlib.sha256(data).hexdigest())


def compare(before: Path, after: Path) -> None:
    def files(root: Path) -> dict[str, Path]:
        return {str(path.relative_to(root)): path for path in sorted(root.rglob("*")) if path.is_file()}

    old, new = files(before), files(after)
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            print(f"only {'after' if name in new else 'before'}: {name}")
            continue
        same = _content(name, old[name].read_bytes()) == _content(name, new[name].read_bytes())
        print(f"{'same     ' if same else 'DIFFERENT'} {name}")


if __name__ == "__main__":
    command, first, second = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()
    {"write": write, "compare": compare}[command](first, second)
