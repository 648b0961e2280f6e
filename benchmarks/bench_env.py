"""What every benchmark sets before it imports the suite: the repository on ``sys.path`` and the reference presets.

Under ``XAI_PRESETS=reference`` a preset means the same counts on every machine (``explainers/presets.py``), so a
benchmark's numbers compare across machines and with earlier runs; the apps the benchmarks start inherit it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("XAI_PRESETS", "reference")
