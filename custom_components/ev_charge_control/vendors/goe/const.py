"""Constants of the go-e vendor."""

from __future__ import annotations

from typing import Final

CONF_SERIAL: Final = "serial"
CONF_GRID_TOKEN: Final = "grid_token"  # noqa: S105 - a key name, not a secret
VENDOR_GOE: Final = "goe"
