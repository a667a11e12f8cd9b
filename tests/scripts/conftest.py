"""The scripts' tests need no Home Assistant."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Start no Home Assistant: scripts/find_python.py runs before any exists."""
