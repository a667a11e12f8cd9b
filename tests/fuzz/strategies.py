"""Hypothesis strategies for fuzzing: vendor answers built from real shapes, and form fields.

The answers start from a real answer (a fixture or a simulator's JSON) and mutate it: fields
dropped, values swapped for junk of any type, extra fields, nested junk, huge numbers, NaN and
infinity (as JSON's NaN/Infinity words and as strings), unicode, odd times. The field values are
what a user (or an automation) may type into a form or an action: text, numbers of any size,
NaN/inf, empty, missing and values of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import math
import os
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st

# Bounded and reproducible: CI runs the same examples every time. FUZZ_EXAMPLES=2000 digs
# deeper by hand (with new random examples each run).
_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_EXAMPLES or 60,
    deadline=None,
    derandomize=not _EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# For tests whose every example runs Home Assistant code (a flow, an action): fewer examples.
FUZZ_HA = settings(FUZZ, max_examples=_EXAMPLES or 75)

HUGE = 10**30
# Strings that look like numbers, times or clock times to a lenient parser.
TRICKY_STRINGS = (
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1e-999",
    "0x10",
    "16",
    " 16 ",
    "16.5",
    "-1",
    "0",
    "٣",  # an Arabic-Indic digit: str.isdigit says yes
    "²",  # superscript two: isdigit says yes, int() says no
    "9" * 5000,  # longer than int() reads
    "true",
    "null",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999+00:00",
    "2026-11-21T12:00:00Z",
    "2026-11-21T12:00:00+00.00",
    "2026-02-30T00:00:00Z",
    "24:00",
    "24:00Z",
    "99:99",
    "23:59:60",
    "00:00:00.5",
    "0 0 * * *",
    "* * * * *",
    "0 0 30 2 *",
    "\u0660 \u0660 * * *",  # Arabic-Indic zeros
    "60 25 * * 8",
    "@reboot",
    "\x00",
    "\ud7ff\U0010ffff",
    "é" * 3,
)

json_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-HUGE, max_value=HUGE),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**400, 6, 32, 1e308, 5e-324, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
junk_text = st.one_of(st.sampled_from(TRICKY_STRINGS), st.text(max_size=30))
junk_scalars = st.one_of(st.none(), st.booleans(), json_numbers, junk_text)
# The values most likely to trip a parser, drawn often.
tricky = st.one_of(
    st.sampled_from(TRICKY_STRINGS),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**400, -(10**30), 2**63, True, None]),
)
# Anything JSON can carry (and NaN/Infinity, which Python's json module reads and writes).
junk = st.recursive(
    junk_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(junk_text, children, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, sample: object, depth: int = 0) -> object:
    """Return ``sample`` with some of its fields dropped, swapped for junk or added to."""
    choice = draw(st.integers(min_value=0, max_value=9))
    if choice == 0:
        return draw(junk)  # the whole value replaced (wrong type, null, ...)
    if isinstance(sample, Mapping):
        result: dict[str, object] = {}
        for key, value in sample.items():
            if draw(st.integers(min_value=0, max_value=7)) == 0:
                continue  # a missing field
            result[key] = draw(mutated(value, depth + 1)) if depth < 6 else value
        extra = draw(st.dictionaries(junk_text, junk, max_size=2))
        return {**extra, **result} if draw(st.booleans()) else {**result, **extra}
    if isinstance(sample, list):
        items = [draw(mutated(item, depth + 1)) if depth < 6 else item for item in sample]
        if draw(st.booleans()):
            items += draw(st.lists(junk, max_size=2))
        return items
    if choice <= 1:
        return draw(junk_scalars)
    if choice <= 3:
        return draw(tricky)
    return sample


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


raw_bodies = st.one_of(
    st.sampled_from(
        [
            b"",
            b" ",
            b"null",
            b"[]",
            b"{}",
            b'"text"',
            b"NaN",
            b"<html>502 Bad Gateway</html>",
            b"\xff\xfe\x00",
            b"[" * 100_000,
            _deep(100_000),
            b'{"a": 1',
        ]
    ),
    st.binary(max_size=40),
)


def encode(value: object) -> bytes:
    """Write a value as a vendor would send it (NaN and Infinity as JavaScript writes them)."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def json_body(draw: st.DrawFn, sample: object) -> bytes:
    """Return an answer body: mostly the sample mutated, sometimes junk or not JSON at all."""
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind == 0:
        return draw(raw_bodies)  # about one in 20 of them nested too deep for the parser
    if kind == 1:
        return encode(draw(junk))
    return encode(draw(mutated(sample)))


HTTP_STATUSES = st.one_of(
    st.sampled_from([200, 200, 200, 201, 202, 204, 400, 401, 403, 404, 409, 410, 422, 429, 500]),
    st.integers(min_value=100, max_value=599),
)
RETRY_AFTER = st.one_of(
    st.none(), junk_text, st.sampled_from(["120", "Wed, 21 Oct 2015 07:28:00 GMT"])
)


# Form and action fields.

field_numbers = st.one_of(
    st.integers(min_value=-HUGE, max_value=HUGE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 5, 6, 16, 32, 33, 1e308, -1e308, 5e-324, 10**400, 2**63]),
    # The selectors' range checks are comparisons, which NaN passes: drawn often.
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, -0.0]),
)
field_values = st.one_of(
    st.none(),
    st.booleans(),
    field_numbers,
    junk_text,
    st.lists(junk_scalars, max_size=3),
    st.dictionaries(junk_text, junk_scalars, max_size=2),
)


# A valid strategy may draw OMIT: the field is left out (an optional field, valid without it).
OMIT: Any = object()


@st.composite
def form(
    draw: st.DrawFn,
    valid: Mapping[str, st.SearchStrategy[Any]],
    odd: Mapping[str, st.SearchStrategy[Any]] | None = None,
    *,
    extra: bool = False,
) -> dict[str, Any]:
    """Return form or action input: valid, except for one or two fields odd, junk or missing.

    ``valid`` gives each field's valid values (so the input reaches the code behind the schema
    and only the changed field is wrong); ``odd`` the edge values of a field (default: any
    ``field_values``). With ``extra``, now and then a field nobody asked for.
    """
    data = {name: draw(strategy) for name, strategy in valid.items()}
    # Mostly one field changed: a second one often hides the first behind its own refusal.
    count = draw(st.sampled_from([1, 1, 1, 1, 1, 1, 0, 2]))
    changed = draw(st.permutations(sorted(valid)))[:count]
    for name in changed:
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            data[name] = OMIT
            continue
        edge = (odd or {}).get(name)
        data[name] = draw(field_values if edge is None else st.one_of(edge, edge, field_values))
    if extra and draw(st.integers(min_value=0, max_value=9)) == 0:
        data[draw(junk_text)] = draw(field_values)
    return {name: value for name, value in data.items() if value is not OMIT}
