"""``python -m explainers``: the command line's entry point kept under its published name; the code is ``cli``.

The one import of a higher layer from ``explainers``: named in import-linter's contract (``pyproject.toml``).
"""

import sys

from cli.main import main
from explainers.runtime import ensure_fast_allocator

ensure_fast_allocator()
sys.exit(main())
