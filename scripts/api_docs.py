"""Writes the API reference into README.md (in brief) and docs/api.md (in full), and the method table of
docs/methods.md, from the app itself.

    python scripts/api_docs.py          (from the repository root, in the project's virtual environment)

A test fails when either page is out of step with the app: run this after changing an endpoint.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["XAI_PRESETS"] = "reference"  # the reference counts: the page must not depend on this machine's speed
os.environ.setdefault("GRADIO_TEMP_DIR", str(ROOT / ".cache" / "gradio"))
sys.path.insert(0, str(ROOT))

from app import build_app  # noqa: E402
from demos.api_docs import PAGES, with_section  # noqa: E402


def main() -> None:
    app = build_app()
    for name, sections in PAGES.items():
        page = ROOT / name
        text = page.read_text()
        for marker, section in sections.items():
            text = with_section(text, section(app), marker)
            print(f"wrote the {marker} section of {name}")
        page.write_text(text)


if __name__ == "__main__":
    main()
