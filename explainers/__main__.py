"""``python -m explainers``: see ``explainers.cli``."""

import sys

from explainers.cli import main
from explainers.runtime import ensure_fast_allocator

ensure_fast_allocator()
sys.exit(main())
