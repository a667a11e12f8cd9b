"""Constants of the go-e vendor."""

from __future__ import annotations

from typing import Final

CONF_SERIAL: Final = "serial"
CONF_GRID_TOKEN: Final = "grid_token"  # noqa: S105 - a key name, not a secret
VENDOR_GOE: Final = "goe"
# One subentry per charger: serial, grid token and an optional name.
SUBENTRY_CHARGER: Final = "charger"
# The entry's title when the user gives none, and that of entries made from version 1.
DEFAULT_TITLE: Final = "go-e chargers"
