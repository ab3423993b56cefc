"""The words of schedules: numbers, ordinals, days of the week and units of time."""

from __future__ import annotations

import re

from adapter._authoring.tokens import words

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty-five": 45,
}
_ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_ORDINALS: dict[str, int] = {
    **{w: i + 1 for i, w in enumerate(_ORDINAL_WORDS.split())},
    **{f"twenty-{w}": 20 + i + 1 for i, w in enumerate(_ORDINAL_WORDS.split()[:9])},
    "thirtieth": 30,
    "thirty-first": 31,
}


def _day_names() -> dict[str, int]:
    """Day name -> cron day of the week (Sunday is 0): full, plural and short forms."""
    days: dict[str, int] = {}
    names = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    for i, name in enumerate(names):
        for form in (name, name + "s", name[:3]):
            days[form] = i
    days.update({"tues": 2, "thur": 4, "thurs": 4, "weds": 3})
    return days


DAYS = _day_names()
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
WEEKEND = frozenset({6, 0})
MINUTE_UNITS = {"minute", "minutes", "min", "mins"}
HOUR_UNITS = {"hour", "hours", "hr", "hrs"}
SECOND_UNITS = {"second", "seconds", "sec", "secs"}
DAY_UNITS = {"day", "days"}
WEEK_UNITS = {"week", "weeks"}
MONTH_UNITS = {"month", "months"}
YEAR_UNITS = {"year", "years"}
ALL_UNITS = MINUTE_UNITS | HOUR_UNITS | DAY_UNITS | WEEK_UNITS | MONTH_UNITS | YEAR_UNITS
PERIOD_WORDS = {"a", "an", "per", "each", "every"}
RANGE_WORDS = {"to", "through", "thru", "till", "until", "-"}
FILLER = words(
    """
    , also and from in of on the
    """
)

# Words that, next to "every"/"each" or on their own, mean a schedule was meant;
# finding them outside the parsed schedule is an error rather than a silent drop.
TIMEY = words(
    """
    afternoon afternoons annually dawn dusk evening evenings fortnight fortnightly moon
    morning mornings night nights other quarter quarterly season second seconds semester
    sunrise sunset today tomorrow tonight year yearly
    """
)


def number(tok: str) -> int | None:
    """Return the count a token names ("15", "fifteen"), or None."""
    if tok.isdigit():
        return int(tok)
    return _NUMBER_WORDS.get(tok)


def ordinal(tok: str) -> int | None:
    """Return the position an ordinal names ("1st", "first", "twenty-second"), or None."""
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", tok)
    if m:
        return int(m.group(1))
    return _ORDINALS.get(tok)
