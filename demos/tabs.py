"""The app's tabs, in the order the page shows them. Adding a tab: a module with its ``TAB`` (``demos.tab``), and one
line here; the app, the Offering tab's buttons, the deep links and the warm-up follow."""

from __future__ import annotations

from demos import cnn, compare, detection, lstm, mlp, offering
from demos.tab import Tab

TABS: tuple[Tab, ...] = (offering.TAB, cnn.TAB, detection.TAB, mlp.TAB, lstm.TAB, compare.TAB)
