"""Suite-wide ordering: the browser tests run last.

Playwright's sync API keeps its own event loop running for as long as the session's browser is
open; pytest-asyncio tests collected after it would then fail with "Runner.run() cannot be called
from a running event loop". Running the e2e tests at the
end keeps one pytest run and one summary.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
