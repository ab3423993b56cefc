"""Times of day in schedule phrases: "9 AM", "21:15", "noon", ":15", "30 minutes past"."""

from __future__ import annotations

import re

from adapter._authoring.errors import Invalid, Unknown
from adapter._authoring.tokens import at
from adapter._authoring.vocabulary import number


def looks_like_time(tok: str) -> bool:
    """Whether ``tok`` may start another time in a list ("9am and 5pm")."""
    return (
        tok in ("at", "noon", "midday", "midnight")
        or tok.isdigit()
        or re.fullmatch(r":?\d{1,2}[:.]?\d{0,2}", tok) is not None
    )


def read_time(
    toks: list[str], j: int, *, required: bool
) -> tuple[tuple[int, int] | int, int] | None:
    """Read the time at ``j``: (hour, minute) or minutes past the hour, and the index after it.

    None when there is no time at ``j``; ``required`` (after "at") makes a missing or
    ambiguous time an error.
    """
    tok = at(toks, j)
    if tok in ("noon", "midday"):
        return (12, 0), j + 1
    if tok == "midnight":
        return (0, 0), j + 1
    if re.fullmatch(r":\d{2}", tok):
        minute = int(tok[1:])
        if minute > 59:
            raise Invalid(f'"{tok}" is not a minute of the hour')
        return minute, j + 1
    if tok == "minute" and number(at(toks, j + 1)) is not None:
        minute = number(at(toks, j + 1)) or 0
        if minute > 59:
            raise Invalid(f"minute {minute} does not exist")
        return minute, j + 2
    clock = re.fullmatch(r"(\d{1,2})[:.](\d{2})", tok)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
    elif tok.isdigit() and len(tok) <= 2:
        hour, minute = int(tok), 0
        if at(toks, j + 1) in ("minutes", "min", "mins") or at(toks, j + 1) == "past":
            k = j + 1
            if at(toks, k) in ("minutes", "min", "mins"):
                k += 1
            if at(toks, k) == "past":
                k += 1
                if at(toks, k) == "the" and at(toks, k + 1) == "hour":
                    k += 2
                if hour > 59:
                    raise Invalid(f"minute {hour} does not exist")
                return hour, k
            return None
    else:
        if required:
            raise Unknown(f'"at {tok}" is not a time')
        return None
    k = j + 1
    if at(toks, k) == "o'clock":
        k += 1
    meridiem = at(toks, k) if at(toks, k) in ("am", "pm") else ""
    if meridiem:
        k += 1
    elif at(toks, k) == "in" and at(toks, k + 1) == "the":
        part = at(toks, k + 2)
        if part == "morning":
            meridiem = "am"
        elif part in ("afternoon", "evening"):
            meridiem = "pm"
        if meridiem:
            k += 3
    elif at(toks, k) == "at" and at(toks, k + 1) == "night" and 6 <= hour <= 11:
        meridiem, k = "pm", k + 2
    shown = tok + (f" {meridiem.upper()}" if meridiem else "")
    if minute > 59:
        raise Invalid(f'"{shown}" is not a time of day (minutes go 0-59)')
    if meridiem:
        if not 1 <= hour <= 12:
            raise Invalid(f'"{shown}" is not a time of day (12-hour times go 1-12)')
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif clock:
        if hour > 23:
            raise Invalid(f'"{tok}" is not a time of day (hours go 0-23)')
    else:
        if not required:
            return None
        if hour > 23:
            raise Invalid(f'"{tok}:00" is not a time of day (hours go 0-23)')
        if 1 <= hour <= 12:
            raise Invalid(
                f'"at {tok}" could be morning or evening; write "{tok} AM", "{tok} PM" '
                f'or "{hour + 12 if hour < 12 else hour}:00"'
            )
    return (hour, minute), k
