"""The detection methods' table, in the registry's style: one module + one entry per method.

Kept apart from ``explainers.registry.METHODS`` (image classification): the CNN tab lists only those.
"""

from __future__ import annotations

from explainers.base import Method
from explainers.detection import box_gradient, d_rise

DETECTION_METHODS: dict[str, Method] = {module.METHOD.key: module.METHOD for module in (d_rise, box_gradient)}
