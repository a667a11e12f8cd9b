"""A list of go-e chargers, pasted or uploaded: lines ``serial;token[;name]``, read and checked.

Pure text handling (no request, no Home Assistant): the bulk step of the "Add charger" flow
checks every line's shape here before any charger is asked anything.
"""

from __future__ import annotations

from collections.abc import Iterable
import csv
from dataclasses import dataclass, field
from typing import Final

from ...api.goe import is_valid_grid_token, normalize_serial

# A line's shape is wrong (the keys are the flow's error keys, reused for the line lists).
BAD_SERIAL: Final = "invalid_serial"
BAD_TOKEN: Final = "invalid_grid_token"  # noqa: S105 - an error key
BAD_FIELDS: Final = "invalid_fields"
# How many items a result list shows before it says how many more there are.
SHOWN: Final = 30
# Shown for a reason no line has.
NONE: Final = "-"


def clean_serial(value: str) -> str | None:
    """Return a serial in its normal form (digits, padded to 6), or None when it is none."""
    try:
        return normalize_serial(value)
    except ValueError:
        return None


def clean_token(value: str) -> str | None:
    """Return a grid token without its spaces, or None when it has not go-e's shape."""
    token = "".join(value.split())
    return token if is_valid_grid_token(token) else None


@dataclass(frozen=True, slots=True)
class ChargerLine:
    """One charger of the list: where it stands, its serial, grid token and name."""

    label: str
    serial: str
    token: str = field(repr=False)
    name: str

    def __str__(self) -> str:
        """Name the line in a result: where it stands and its serial, never its token."""
        return f"{self.label} ({self.serial})"


@dataclass(slots=True)
class ChargerList:
    """The chargers of a list, and the labels of the lines whose shape is wrong, by reason."""

    chargers: list[ChargerLine] = field(default_factory=list)
    malformed: dict[str, list[str]] = field(
        default_factory=lambda: {BAD_SERIAL: [], BAD_TOKEN: [], BAD_FIELDS: []}
    )

    @property
    def malformed_count(self) -> int:
        """Return how many lines have a wrong shape."""
        return len({label for labels in self.malformed.values() for label in labels})


def _fields(line: str) -> list[str]:
    """Split a line at its first separator, a semicolon, comma or tab (quotes allowed).

    A line the CSV reader cannot split (a field beyond its size limit) is one field: a line
    of the wrong shape, said as such.
    """
    # The first separator of the line is its separator: a name may hold another one.
    separator = min(";,\t", key=lambda sep: line.find(sep) % (len(line) + 1))
    try:
        fields = [value.strip() for value in next(csv.reader([line], delimiter=separator))]
    except csv.Error:
        return [line]
    # Spreadsheets add empty columns at the end of a row.
    while len(fields) > 1 and not fields[-1]:
        fields.pop()
    return fields


def _is_header(fields: list[str]) -> bool:
    """Tell a header row ("serial;token;name") from a charger: its first column has no digit."""
    return (
        not any(char.isdigit() for char in fields[0])
        and clean_token(fields[1] if len(fields) > 1 else "") is None
    )


def read_chargers(sources: Iterable[tuple[str, str]]) -> ChargerList:
    """Read the chargers of each source (a prefix for its line labels, its text).

    Blank lines and lines starting with ``#`` are skipped; a source's first line may be a
    header. A line is labelled with its number in its source, after the source's prefix.
    """
    result = ChargerList()
    for prefix, text in sources:
        first = True
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = _fields(line)
            if first and _is_header(fields):
                first = False
                continue
            first = False
            label = f"{prefix}{number}"
            if len(fields) not in (2, 3):
                result.malformed[BAD_FIELDS].append(label)
                continue
            serial = clean_serial(fields[0])
            token = clean_token(fields[1])
            if serial is None:
                result.malformed[BAD_SERIAL].append(label)
            if token is None:
                result.malformed[BAD_TOKEN].append(label)
            if serial is not None and token is not None:
                name = fields[2] if len(fields) == 3 else ""
                result.chargers.append(ChargerLine(label, serial, token, name))
    return result


def listing(items: Iterable[object], shown: int = SHOWN) -> str:
    """Return items for a result text: the first ``shown``, then how many more there are."""
    texts = [str(item) for item in items]
    if not texts:
        return NONE
    more = len(texts) - shown
    return ", ".join(texts[:shown]) + (f", … (+{more})" if more > 0 else "")
