"""The `browser` marker: tests that open the report in headless Chromium (Debian's, see `make system`)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: opens a page in headless Chromium from the system packages")
