"""Durations as Inngest users write them: ms ints, timedeltas, or strings like "2h"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")

DurationLike = int | float | timedelta | str


def parse_duration(value: DurationLike, *, field: str = "duration") -> timedelta:
    """Turn ``value`` into a timedelta.

    ints and floats are milliseconds (Inngest's convention); strings are
    ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1h30m"``, ``"2 hours"``.
    """
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a duration, got a bool")
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float):
        result = timedelta(milliseconds=value)
    elif isinstance(value, str):
        text = value.strip().lower()
        pos = 0
        total = 0.0
        for match in _PART.finditer(text):
            if text[pos : match.start()].strip(" ,") not in ("", "and"):
                break
            word = match.group(2)
            unit = _UNITS.get(word, _UNITS.get(word.removesuffix("s")))
            if unit is None:
                break
            total += float(match.group(1)) * unit
            pos = match.end()
        if pos == 0 or text[pos:].strip():
            raise ValueError(
                f'{field}: cannot read {value!r} as a duration; write e.g. "30s", "5m", "2h", '
                '"1d", "1h30m", an int of milliseconds or a timedelta'
            )
        result = timedelta(seconds=total)
    else:
        raise ValueError(f"{field}: expected a duration, got {type(value).__name__}")
    if result < timedelta(0):
        raise ValueError(f"{field}: a duration cannot be negative ({value!r})")
    return result


def format_duration(delta: timedelta) -> str:
    """Compact form such as ``"1h30m"`` or ``"15s"``."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return f"{int(delta.total_seconds() * 1000)}ms"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
