"""Plain-language triggers: schedule phrases to cron + IANA zone, event phrases to names.

A small deterministic parser; it never guesses. Anything it cannot read is a
:class:`PhraseError` that quotes the phrase and lists phrases that work.

Schedules become a 5-field cron plus an IANA zone ("9 AM Berlin time" is
``0 9 * * *`` in ``Europe/Berlin``), never a fixed UTC offset: Temporal applies
the zone's daylight-saving rules itself, so 9 AM stays 9 AM all year.

Events become Inngest-style names ``noun/verb``: the noun is the subject (or,
for an active verb with an object, the object), singular and lowercase; the
verb is its past participle, phrasal particles joined with a dot, and common
synonyms folded (added/new/registered/signed up → ``created``; removed →
``deleted``; changed/edited → ``updated``). "when a new user is added" is
``user/created``, "when an order is paid" is ``order/paid``, "when a user logs
in" is ``user/logged.in``, "when a customer places an order" is ``order/placed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import available_timezones

from adapter._define.config import TriggerCron, TriggerEvent
from adapter._define.cron import parse_cron

SCHEDULE_EXAMPLES = (
    "every 15 minutes",
    "hourly",
    "daily at 9 AM",
    "every weekday at 9:30 am Europe/Berlin",
    "every Monday and Thursday at 17:00 New York time",
    "on the 1st of every month at midnight",
    "twice a day at 9am and 5pm",
)
EVENT_EXAMPLES = (
    "when a new user is added",
    "when an order is paid",
    "when a user signs up",
    'on "invoice/created"',
)


class PhraseError(ValueError):
    """A schedule or event phrase that could not be read.

    The message quotes the phrase, says what is wrong and lists phrases that work.
    """

    def __init__(self, phrase: str, reason: str, *, kind: str = "schedule") -> None:
        self.phrase = phrase
        self.reason = reason
        examples: tuple[str, ...]
        if kind == "event":
            examples = EVENT_EXAMPLES
        elif kind == "schedule":
            examples = SCHEDULE_EXAMPLES
        else:
            examples = (*SCHEDULE_EXAMPLES[2:5], *EVENT_EXAMPLES[:2])
        listed = ", ".join(f'"{e}"' for e in examples)
        super().__init__(
            f'cannot read the {kind} "{phrase.strip()}": {reason}. Phrases that work: {listed}'
        )


class _Unknown(Exception):
    """Not part of the grammar (the words may belong to something else)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Invalid(Exception):
    """Recognised as a schedule or event, but the value cannot be honoured."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- results -------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: 5-field ``cron`` in the IANA zone ``timezone``."""

    cron: str
    timezone: str
    phrase: str = ""

    @property
    def trigger(self) -> TriggerCron:
        """The trigger, validated by the adapter (``timezone`` left out for UTC)."""
        return TriggerCron(
            cron=self.cron, timezone=None if self.timezone == "UTC" else self.timezone
        )

    def describe(self) -> str:
        """In words, e.g. "At 09:00, Monday through Friday, Europe/Berlin"."""
        from cron_descriptor import Options, get_description

        options = Options()
        options.verbose = False
        options.use_24hour_time_format = True
        return f"{get_description(self.cron, options)}, {self.timezone}"


@dataclass(frozen=True)
class EventSpec:
    """A parsed event trigger: the Inngest-style event ``name``."""

    name: str
    phrase: str = ""

    @property
    def trigger(self) -> TriggerEvent:
        """The trigger, validated by the adapter."""
        return TriggerEvent(event=self.name)

    def describe(self) -> str:
        """In words, e.g. 'On every "user/created" event'."""
        return f'On every "{self.name}" event'


@dataclass(frozen=True)
class Description:
    """A workflow description split into its trigger and its action (the rest)."""

    text: str
    trigger: Schedule | EventSpec
    action: str


# --- tokens --------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ampm>[ap]\.m\.?(?![a-z]))
    |(?P<offset>(?:utc|gmt)\s*[+-]\s*\d{1,2}(?::?\d{2})?)
    |(?P<slash>[a-z_][\w.+-]*(?:/[\w.+-]+)+)
    |(?P<minute>:\d{2}(?!\d))
    |(?P<clock>\d{1,2}[:.]\d{2}(?!\d))
    |(?P<ord>\d{1,2}(?:st|nd|rd|th)(?![a-z]))
    |(?P<num>\d+)
    |(?P<word>[a-z]+(?:['’][a-z]+)?(?:-[a-z]+)*)
    |(?P<punct>[,;.!?&@\-–—])
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    text: str  # normalised: lowercase, "a.m." -> "am", "&" -> "and", "@" -> "at"
    start: int
    end: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        kind = m.lastgroup
        norm = raw.lower().replace("’", "'")
        if kind == "ampm":
            norm = norm[0] + "m"
        elif kind == "offset":
            norm = re.sub(r"\s+", "", norm)
        elif kind == "slash":
            norm = raw.rstrip(".")  # event names keep their case; zones are matched lowercase
        elif kind == "punct":
            norm = {"&": "and", "@": "at", "–": "-", "—": "-", "!": ".", "?": "."}.get(norm, norm)
        out.append(_Tok(norm, m.start(), m.end()))
    return out


_BOUNDARIES = {",", ".", ";", "then", "and"}
_HARD_BOUNDARIES = {",", ".", ";", "then"}

# --- vocabulary ------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
_ORDINALS: dict[str, int] = {w: i + 1 for i, w in enumerate(_ORDINAL_WORDS.split())}
_ORDINALS.update({f"twenty-{w}": 20 + i + 1 for i, w in enumerate(_ORDINAL_WORDS.split()[:9])})
_ORDINALS.update({"thirtieth": 30, "thirty-first": 31})

_DAYS: dict[str, int] = {}
for _i, _name in enumerate(
    ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
):
    for _form in (_name, _name + "s", _name[:3]):
        _DAYS[_form] = _i
_DAYS.update({"tues": 2, "thur": 4, "thurs": 4, "weds": 3})

_WEEKDAYS = frozenset({1, 2, 3, 4, 5})
_WEEKEND = frozenset({6, 0})
_MINUTE_UNITS = {"minute", "minutes", "min", "mins"}
_HOUR_UNITS = {"hour", "hours", "hr", "hrs"}
_SECOND_UNITS = {"second", "seconds", "sec", "secs"}
_DAY_UNITS = {"day", "days"}
_WEEK_UNITS = {"week", "weeks"}
_MONTH_UNITS = {"month", "months"}
_YEAR_UNITS = {"year", "years"}
_PERIOD_WORDS = {"a", "an", "per", "each", "every"}
_RANGE_WORDS = {"to", "through", "thru", "till", "until", "-"}
_FILLER = _words(
    """
    , also and from in of on the
    """
)

# Words that, next to "every"/"each" or on their own, mean a schedule was meant;
# finding them outside the parsed schedule is an error rather than a silent drop.
_TIMEY = _words(
    """
    afternoon afternoons annually dawn dusk evening evenings fortnight fortnightly moon
    morning mornings night nights other quarter quarterly season second seconds semester
    sunrise sunset today tomorrow tonight year yearly
    """
)

# --- zones -----------------------------------------------------------------------

_ZONE_ALIASES: dict[str, str] = {
    # abbreviations and names of zones
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "zulu": "UTC",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "central european": "Europe/Berlin",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "eastern european": "Europe/Athens",
    "wet": "Europe/Lisbon",
    "western european": "Europe/Lisbon",
    "bst": "Europe/London",
    "british": "Europe/London",
    "msk": "Europe/Moscow",
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "eastern": "America/New_York",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "central": "America/Chicago",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mountain": "America/Denver",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "alaska": "America/Anchorage",
    "hst": "Pacific/Honolulu",
    "hawaii": "Pacific/Honolulu",
    "brt": "America/Sao_Paulo",
    "ist": "Asia/Kolkata",
    "india": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "japan": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul",
    "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "acst": "Australia/Adelaide",
    "acdt": "Australia/Adelaide",
    "awst": "Australia/Perth",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
    "new zealand": "Pacific/Auckland",
    "sast": "Africa/Johannesburg",
    # countries with a single zone
    "germany": "Europe/Berlin",
    "france": "Europe/Paris",
    "uk": "Europe/London",
    "united kingdom": "Europe/London",
    "britain": "Europe/London",
    "england": "Europe/London",
    "ireland": "Europe/Dublin",
    "netherlands": "Europe/Amsterdam",
    "italy": "Europe/Rome",
    "poland": "Europe/Warsaw",
    "switzerland": "Europe/Zurich",
    "austria": "Europe/Vienna",
    "sweden": "Europe/Stockholm",
    "israel": "Asia/Jerusalem",
    # cities not (or not only) spelled as in the IANA database
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "lyon": "Europe/Paris",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "kiev": "Europe/Kyiv",
    "new york": "America/New_York",
    "new york city": "America/New_York",
    "nyc": "America/New_York",
    "boston": "America/New_York",
    "washington dc": "America/New_York",
    "new jersey": "America/New_York",
    "east coast": "America/New_York",
    "west coast": "America/Los_Angeles",
    "california": "America/Los_Angeles",
    "dc": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "montreal": "America/Toronto",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "salt lake city": "America/Denver",
    "los angeles": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles",
    "bay area": "America/Los_Angeles",
    "silicon valley": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "são paulo": "America/Sao_Paulo",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "pune": "Asia/Kolkata",
    "tel aviv": "Asia/Jerusalem",
    "saigon": "Asia/Ho_Chi_Minh",
    "ho chi minh city": "Asia/Ho_Chi_Minh",
    "cape town": "Africa/Johannesburg",
    "canberra": "Australia/Sydney",
    "wellington": "Pacific/Auckland",
}
_CITY_AREAS = _words(
    """
    Africa America Asia Atlantic Australia Europe Indian Pacific
    """
)
# IANA city names that are also everyday words; only their full IANA name is accepted.
_CITY_DENY = _words(
    """
    center christmas easter midway north south wake west
    """
)


@cache
def _zone_names() -> dict[str, str]:
    """Lowercase phrase -> IANA zone: IANA names, their city parts, and the aliases."""
    names: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    for zone in available_timezones():
        if "/" not in zone:
            continue
        names[zone.lower()] = zone
        area, _, city = zone.partition("/")
        if area in _CITY_AREAS and "/" not in city:
            cities.setdefault(city.replace("_", " ").lower(), set()).add(zone)
    for city, zones in cities.items():
        if len(zones) == 1 and city not in _CITY_DENY:
            names[city] = next(iter(zones))
    names.update(_ZONE_ALIASES)
    return names


def resolve_zone(text: str) -> str:
    """The IANA zone for a name, city or abbreviation ("Berlin", "ET", "Asia/Tokyo").

    Raises PhraseError for fixed offsets and unknown names.
    """
    toks = [t.text for t in _tokenize(text)]
    try:
        zone, end = _match_zone(toks, 0)
    except _Invalid as exc:
        raise PhraseError(text, exc.reason, kind="time zone") from None
    if zone is None or end != len(toks):
        raise PhraseError(
            text,
            "not a time zone I know; use an IANA name such as Europe/Berlin, a city or an "
            "abbreviation such as ET or CET",
            kind="time zone",
        )
    return zone


def _match_zone(toks: list[str], i: int) -> tuple[str | None, int]:
    """Longest zone name at ``i``; (None, i) when there is none."""
    if i >= len(toks):
        return None, i
    first = toks[i]
    if re.fullmatch(r"(?:utc|gmt)[+-].*", first):
        raise _Invalid(
            f'"{first.upper()}" is a fixed UTC offset, which ignores daylight saving; name the '
            "place instead (a city such as Berlin, or an IANA zone such as Europe/Berlin)"
        )
    if (
        first in ("local", "my", "our", "server")
        and i + 1 < len(toks)
        and toks[i + 1]
        in (
            "time",
            "timezone",
            "tz",
        )
    ):
        raise _Invalid(
            f'"{first} time" does not say which zone; name it (e.g. Europe/Berlin, New York, UTC)'
        )
    names = _zone_names()
    for n in range(min(4, len(toks) - i), 0, -1):
        key = " ".join(toks[i : i + n]).lower()
        if key in names:
            zone = names[key]
            j = i + n
            if j < len(toks) and toks[j] in ("standard", "daylight"):
                j += 1
            if j < len(toks) and toks[j] in ("time", "timezone", "tz"):
                j += 1
            elif j + 1 < len(toks) and toks[j : j + 2] == ["time", "zone"]:
                j += 2
            return zone, j
    return None, i


# --- schedule grammar --------------------------------------------------------------


@dataclass
class _State:
    minutes: int | None = None
    hours: int | None = None
    daily: bool = False
    weekly: bool = False
    monthly: bool = False
    dow: set[int] | None = None
    dom: list[int] | None = None
    times: list[tuple[int, int]] = field(default_factory=list)
    minute_of_hour: int | None = None
    times_per_day: int | None = None
    zone: str | None = None

    def set_interval(self, unit: str, n: int) -> None:
        if self.minutes is not None or self.hours is not None:
            raise _Invalid("it gives two intervals; give one")
        if unit == "minutes":
            self.minutes = n
        else:
            self.hours = n

    def add_days(self, days: set[int]) -> None:
        self.dow = (self.dow or set()) | days


def _number(tok: str) -> int | None:
    if tok.isdigit():
        return int(tok)
    return _NUMBER_WORDS.get(tok)


def _ordinal(tok: str) -> int | None:
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", tok)
    if m:
        return int(m.group(1))
    return _ORDINALS.get(tok)


def _interval(st: _State, n: int, unit: str, shown: str) -> None:
    if n <= 0:
        raise _Invalid(f'"every {shown} {unit}" is not an interval')
    if unit == "minutes":
        if n >= 60 and n % 60 == 0:
            _interval(st, n // 60, "hours", str(n // 60))
            return
        if 60 % n != 0:
            raise _Invalid(
                f"every {n} minutes does not divide the hour, so a cron cannot keep even "
                "spacing (it would restart at :00); use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30"
            )
        st.set_interval("minutes", n)
    elif n == 24:
        st.daily = True
    else:
        _check_hours(n)
        st.set_interval("hours", n)


def _check_hours(n: int) -> None:
    if 24 % n != 0:
        raise _Invalid(
            f"every {n} hours does not divide the day, so a cron cannot keep even spacing "
            "(it would restart at midnight); use 1, 2, 3, 4, 6, 8 or 12"
        )


class _ScheduleParser:
    """Reads a whole token list as one schedule, or raises _Unknown / _Invalid."""

    def __init__(self, toks: list[str]) -> None:
        self.toks = toks
        self.st = _State()

    def at(self, i: int) -> str:
        return self.toks[i] if i < len(self.toks) else ""

    def parse(self) -> tuple[str, str]:
        i = 0
        while i < len(self.toks):
            tok = self.toks[i]
            if tok in _FILLER:
                i += 1
                continue
            j = self.element(i)
            if j is None:
                raise _Unknown(f'"{tok}" is not part of a schedule I know')
            i = j
        return self.build()

    # Each element returns the index after it, None when it does not apply, or raises.
    def element(self, i: int) -> int | None:
        for reader in (
            self.every,
            self.frequency_word,
            self.times_per,
            self.days,
            self.month_days,
            self.time,
            self.zone,
        ):
            j = reader(i)
            if j is not None:
                return j
        return None

    def every(self, i: int) -> int | None:
        if self.at(i) not in ("every", "each"):
            return None
        j = i + 1
        word = self.at(j)
        n, shown = 1, ""
        if _number(word) is not None:
            n, shown, j = _number(word) or 0, word, j + 1
        elif word == "other":
            n, shown, j = 2, "other", j + 1
        elif word == "single":
            j += 1
        elif word in ("half", "half-hour", "quarter"):
            minutes = 30 if word.startswith("half") else 15
            j += 1
            if self.at(j) == "of":
                j += 1
            if self.at(j) in ("an", "a"):
                j += 1
            if word != "half-hour":
                if self.at(j) not in _HOUR_UNITS:
                    raise _Unknown(f'"every {word} {self.at(j)}" is not an interval')
                j += 1
            self.st.set_interval("minutes", minutes)
            return j
        unit = self.at(j)
        if unit in _MINUTE_UNITS:
            _interval(self.st, n, "minutes", shown)
        elif unit in _HOUR_UNITS:
            _interval(self.st, n, "hours", shown)
        elif unit in _SECOND_UNITS:
            raise _Invalid("cron schedules have minute resolution; the shortest is every minute")
        elif unit in _DAY_UNITS:
            if n != 1:
                raise _Invalid(
                    f'"every {shown} {unit}" cannot be a cron (day counts restart each month); '
                    'name the days instead, e.g. "every Monday and Thursday"'
                )
            self.st.daily = True
        elif unit in _WEEK_UNITS:
            if n != 1:
                raise _Invalid(
                    f'"every {shown} {unit}" cannot be a cron; use one weekday, e.g. "every Monday"'
                )
            self.st.weekly = True
        elif unit in _MONTH_UNITS:
            if n != 1:
                raise _Invalid(f'"every {shown} months" is not supported; use "every month"')
            self.st.monthly = True
        elif unit in _YEAR_UNITS:
            raise _Invalid("yearly schedules are not supported")
        elif shown == "other" and (unit in _DAYS or unit.startswith(("weekday", "weekend"))):
            raise _Invalid(f'"every other {unit}" cannot be a cron; use "every {unit}"')
        elif not shown and self.day_set(j) is not None:
            return self.days(j)
        else:
            follow = " ".join(self.toks[i + 1 : i + 3])
            raise _Unknown(f'"every {follow}" is not a schedule I know')
        return j + 1

    def frequency_word(self, i: int) -> int | None:
        tok = self.at(i)
        if tok == "hourly":
            self.st.set_interval("hours", 1)
        elif tok in ("daily", "everyday"):
            self.st.daily = True
        elif tok == "weekly":
            self.st.weekly = True
        elif tok == "monthly":
            self.st.monthly = True
        elif tok in ("yearly", "annually"):
            raise _Unknown("yearly schedules are not supported")
        elif tok == "nightly":
            raise _Unknown('"nightly" does not say when; write e.g. "daily at 23:00"')
        else:
            return None
        return i + 1

    def times_per(self, i: int) -> int | None:
        """once/twice/N times a day|daily|an hour|a week|a month."""
        tok = self.at(i)
        j = i + 1
        if tok == "once":
            count = 1
        elif tok == "twice":
            count = 2
        elif tok == "thrice":
            count = 3
        elif _number(tok) is not None and self.at(i + 1) == "times":
            count, j = _number(tok) or 0, i + 2
        else:
            return None
        if self.at(j) == "daily":
            unit = "day"
            j += 1
        elif self.at(j) in _PERIOD_WORDS:
            unit = self.at(j + 1)
            j += 2
        else:
            raise _Unknown(f'"{tok}" needs a period, e.g. "{tok} a day"')
        if unit not in _ALL_UNITS:
            raise _Unknown(f'"{tok} {self.at(j - 2)} {unit}" is not a schedule I know')
        if unit in _DAY_UNITS:
            self.st.daily = True
            if count > 1:
                self.st.times_per_day = count
        elif unit in _HOUR_UNITS:
            if 60 % count != 0:
                raise _Invalid(f"{count} times an hour does not divide the hour evenly")
            if count == 1:
                self.st.set_interval("hours", 1)
            else:
                self.st.set_interval("minutes", 60 // count)
        elif unit in _WEEK_UNITS and count == 1:
            self.st.weekly = True
        elif unit in _MONTH_UNITS and count == 1:
            self.st.monthly = True
        else:
            raise _Invalid(
                f'"{tok} a {unit}" cannot be a cron without naming the days; e.g. "every '
                'Monday and Thursday at 9 AM"'
            )
        return j

    def day_set(self, i: int) -> tuple[set[int], int] | None:
        """One day item: a day name, a range of them, weekdays or weekends."""
        tok = self.at(i)
        if tok in ("weekday", "weekdays", "workday", "workdays", "weekday's"):
            return set(_WEEKDAYS), i + 1
        if tok in ("working", "business", "work") and self.at(i + 1) in _DAY_UNITS:
            return set(_WEEKDAYS), i + 2
        if tok in ("weekend", "weekends"):
            j = i + 1
            if self.at(j) in _DAY_UNITS:
                j += 1
            return set(_WEEKEND), j
        if "-" in tok and all(part in _DAYS for part in tok.split("-", 1)):
            a, b = tok.split("-", 1)
            return _day_range(_DAYS[a], _DAYS[b]), i + 1
        if tok in _DAYS:
            start = _DAYS[tok]
            if self.at(i + 1) in _RANGE_WORDS and self.at(i + 2) in _DAYS:
                return _day_range(start, _DAYS[self.at(i + 2)]), i + 3
            return {start}, i + 1
        return None

    def days(self, i: int) -> int | None:
        j = i
        if self.at(j) in ("on", "from", "every", "each") and self.day_set(j + 1) is not None:
            j += 1
        item = self.day_set(j)
        if item is None:
            return None
        days, j = item
        while self.at(j) in (",", "and", "or") and self.day_set(j + 1) is not None:
            if self.at(j) == "or":
                raise _Invalid('"or" between days is ambiguous; list the days with "and"')
            more, j = self.day_set(j + 1) or (set(), j + 1)
            days |= more
        self.st.add_days(days)
        return j

    def month_days(self, i: int) -> int | None:
        j = i
        tok = self.at(j)
        if tok == "last" and (self.at(j + 1) in _DAY_UNITS or self.at(j + 1) in _DAYS):
            raise _Invalid(
                "Temporal's cron has no last-day-of-month (no L field); pick a day from 1 to 28 "
                'or the 1st of the month, e.g. "on the 1st of every month at 00:00"'
            )
        if tok == "day" and _number(self.at(j + 1)) is not None:
            first: int | None = _number(self.at(j + 1))
            j += 1
        else:
            first = _ordinal(tok)
        if first is None:
            return None
        if self.at(j + 1) in _DAYS or self.at(j + 1) in ("weekday", "weekend"):
            raise _Invalid(
                f'"the {tok} {self.at(j + 1)} of the month" cannot be a Temporal cron; use a day '
                'of the month ("on the 1st") or a weekday ("every Monday")'
            )
        days = [first]
        j += 1
        while self.at(j) in (",", "and") and _ordinal(self.at(j + 1)) is not None:
            days.append(_ordinal(self.at(j + 1)) or 0)
            j += 2
        if self.at(j) in _DAY_UNITS:
            j += 1
        if self.at(j) in ("of", "in") and self.at(j + 1) in ("every", "each", "the", "a"):
            if self.at(j + 2) not in _MONTH_UNITS:
                raise _Unknown(f'"{" ".join(self.toks[j : j + 3])}" is not a schedule I know')
            j += 3
        for day in days:
            if not 1 <= day <= 31:
                raise _Invalid(f"day {day} of the month does not exist")
            if day > 28:
                raise _Invalid(
                    f"not every month has a day {day}, so some months would be skipped; pick a "
                    "day from 1 to 28"
                )
        self.st.dom = sorted(set((self.st.dom or []) + days))
        self.st.monthly = True
        return j

    def time(self, i: int) -> int | None:
        tok = self.at(i)
        has_at = tok == "at"
        j = i + 1 if has_at else i
        first = self.one_time(j, required=has_at)
        if first is None:
            return None
        value, j = first
        self.record_time(value)
        while self.at(j) in (",", "and"):
            k = j + 1
            if self.at(k) == "at":
                k += 1
            if not _looks_like_time(self.at(k)):
                break
            nxt = self.one_time(k, required=has_at or self.at(j + 1) == "at")
            if nxt is None:
                break
            value, j = nxt
            self.record_time(value)
        return j

    def record_time(self, value: tuple[int, int] | int) -> None:
        if isinstance(value, int):
            if self.st.minute_of_hour is not None and self.st.minute_of_hour != value:
                raise _Invalid("it gives two minutes past the hour; give one")
            self.st.minute_of_hour = value
        else:
            self.st.times.append(value)

    def one_time(self, j: int, *, required: bool) -> tuple[tuple[int, int] | int, int] | None:
        """A time of day (hour, minute), or minutes past the hour (int)."""
        tok = self.at(j)
        if tok in ("noon", "midday"):
            return (12, 0), j + 1
        if tok == "midnight":
            return (0, 0), j + 1
        if re.fullmatch(r":\d{2}", tok):
            minute = int(tok[1:])
            if minute > 59:
                raise _Invalid(f'"{tok}" is not a minute of the hour')
            return minute, j + 1
        if tok == "minute" and _number(self.at(j + 1)) is not None:
            minute = _number(self.at(j + 1)) or 0
            if minute > 59:
                raise _Invalid(f"minute {minute} does not exist")
            return minute, j + 2
        clock = re.fullmatch(r"(\d{1,2})[:.](\d{2})", tok)
        if clock:
            hour, minute = int(clock.group(1)), int(clock.group(2))
        elif tok.isdigit() and len(tok) <= 2:
            hour, minute = int(tok), 0
            if self.at(j + 1) in ("minutes", "min", "mins") or self.at(j + 1) == "past":
                k = j + 1
                if self.at(k) in ("minutes", "min", "mins"):
                    k += 1
                if self.at(k) == "past":
                    k += 1
                    if self.at(k) == "the" and self.at(k + 1) == "hour":
                        k += 2
                    if hour > 59:
                        raise _Invalid(f"minute {hour} does not exist")
                    return hour, k
                return None
        else:
            if required:
                raise _Unknown(f'"at {tok}" is not a time')
            return None
        k = j + 1
        if self.at(k) == "o'clock":
            k += 1
        meridiem = self.at(k) if self.at(k) in ("am", "pm") else ""
        if meridiem:
            k += 1
        elif self.at(k) == "in" and self.at(k + 1) == "the":
            part = self.at(k + 2)
            if part == "morning":
                meridiem = "am"
            elif part in ("afternoon", "evening"):
                meridiem = "pm"
            if meridiem:
                k += 3
        elif self.at(k) == "at" and self.at(k + 1) == "night" and 6 <= hour <= 11:
            meridiem, k = "pm", k + 2
        shown = tok + (f" {meridiem.upper()}" if meridiem else "")
        if minute > 59:
            raise _Invalid(f'"{shown}" is not a time of day (minutes go 0-59)')
        if meridiem:
            if not 1 <= hour <= 12:
                raise _Invalid(f'"{shown}" is not a time of day (12-hour times go 1-12)')
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        elif clock:
            if hour > 23:
                raise _Invalid(f'"{tok}" is not a time of day (hours go 0-23)')
        else:
            if not required:
                return None
            if hour > 23:
                raise _Invalid(f'"{tok}:00" is not a time of day (hours go 0-23)')
            if 1 <= hour <= 12:
                raise _Invalid(
                    f'"at {tok}" could be morning or evening; write "{tok} AM", "{tok} PM" '
                    f'or "{hour + 12 if hour < 12 else hour}:00"'
                )
        return (hour, minute), k

    def zone(self, i: int) -> int | None:
        zone, j = _match_zone(self.toks, i)
        if zone is None:
            return None
        if self.st.zone is not None and self.st.zone != zone:
            raise _Invalid(f"it names two time zones ({self.st.zone} and {zone}); name one")
        self.st.zone = zone
        return j

    def build(self) -> tuple[str, str]:
        st = self.st
        if st.minutes is not None or st.hours is not None:
            if st.times:
                raise _Invalid(
                    "it gives both an interval and times of day; give one "
                    '(e.g. "every 2 hours" or "daily at 9 AM and 5 PM")'
                )
            if st.times_per_day:
                raise _Invalid("it gives both an interval and a number of times a day")
            if st.minutes is not None:
                if st.minute_of_hour is not None:
                    raise _Invalid("minutes past the hour only go with an hourly schedule")
                minute_f = "*" if st.minutes == 1 else f"*/{st.minutes}"
                hour_f = "*"
            else:
                minute_f = str(st.minute_of_hour or 0)
                hour_f = "*" if st.hours == 1 else f"*/{st.hours}"
        else:
            if st.minute_of_hour is not None:
                raise _Invalid(
                    'minutes past the hour need an hourly schedule, e.g. "every hour at :15"'
                )
            if not (st.daily or st.weekly or st.monthly or st.dow or st.dom or st.times):
                raise _Unknown("it has no schedule in it")
            times = st.times or [(0, 0)]
            if st.times_per_day and len(set(times)) != st.times_per_day:
                raise _Invalid(
                    f"it says {st.times_per_day} times a day but gives {len(set(st.times))} "
                    'time(s); list them, e.g. "twice a day at 9am and 5pm"'
                )
            minute_f, hour_f = _time_fields(times)
        if st.monthly and (st.daily or st.weekly):
            raise _Invalid(
                f"it says both {'daily' if st.daily else 'weekly'} and monthly; say one "
                '(e.g. "on the 1st of every month at 9 AM")'
            )
        if st.weekly and not st.dow:
            raise _Invalid('"weekly" needs a day, e.g. "every Monday at 9 AM"')
        dom = st.dom or ([1] if st.monthly else None)
        if dom and st.dow:
            raise _Invalid(
                "it gives both days of the month and days of the week; a cron would run on "
                "either, so give one"
            )
        dom_f = ",".join(str(d) for d in dom) if dom else "*"
        dow_f = _dow_field(st.dow) if st.dow else "*"
        cron = f"{minute_f} {hour_f} {dom_f} * {dow_f}"
        zone = st.zone or "UTC"
        parse_cron(cron, zone)  # the adapter's own check; it must never fail here
        return cron, zone


def _looks_like_time(tok: str) -> bool:
    return (
        tok in ("at", "noon", "midday", "midnight")
        or tok.isdigit()
        or re.fullmatch(r":?\d{1,2}[:.]?\d{0,2}", tok) is not None
    )


def _day_range(a: int, b: int) -> set[int]:
    days = {a}
    d = a
    while d != b:
        d = (d + 1) % 7
        days.add(d)
    return days


def _dow_field(days: set[int]) -> str:
    if len(days) == 7:
        return "*"
    order = [d for d in (1, 2, 3, 4, 5, 6) if d in days]
    parts: list[str] = []
    k = 0
    while k < len(order):
        run = k
        while run + 1 < len(order) and order[run + 1] == order[run] + 1:
            run += 1
        if run - k >= 2:
            parts.append(f"{order[k]}-{order[run]}")
        else:
            parts.extend(str(d) for d in order[k : run + 1])
        k = run + 1
    if 0 in days:
        parts.append("0")
    return ",".join(parts)


def _time_fields(times: list[tuple[int, int]]) -> tuple[str, str]:
    unique = sorted(set(times))
    minutes = {m for _, m in unique}
    hours = {h for h, _ in unique}
    if len(minutes) == 1:
        return str(unique[0][1]), ",".join(str(h) for h in sorted(hours))
    if len(hours) == 1:
        return ",".join(str(m) for m in sorted(minutes)), str(unique[0][0])
    shown = " and ".join(f"{h:02d}:{m:02d}" for h, m in unique)
    raise _Invalid(
        f"{shown} differ in both hour and minute, which one cron cannot hold; pick times on "
        "the same minute (e.g. 09:00 and 17:00) or make two functions"
    )


def parse_schedule(phrase: str) -> Schedule:
    """Read a whole schedule phrase ("every weekday at 9 AM Berlin time").

    Returns the 5-field cron and IANA zone (UTC when none is named); raises
    PhraseError quoting the phrase, the reason and examples that work.
    """
    toks = [t.text for t in _tokenize(phrase) if t.text not in (".",)]
    if not toks:
        raise PhraseError(phrase, "it is empty")
    try:
        cron, zone = _ScheduleParser(toks).parse()
    except (_Unknown, _Invalid) as exc:
        raise PhraseError(phrase, exc.reason) from None
    return Schedule(cron=cron, timezone=zone, phrase=phrase.strip())


# --- events ----------------------------------------------------------------------

_DETERMINERS = _words(
    """
    a an any each every her his its my our some that the their this your
    """
)
_AUX = _words(
    """
    are become becomes get gets got has have is was were
    """
)
_AUX_FILL = _words(
    """
    been being finally first fully just newly successfully
    """
)
_PARTICLES = _words(
    """
    away back down in off out over up
    """
)
_PREPOSITIONS = _words(
    """
    after and at before by for from in inside into on onto or through to using via with
    within
    """
)
_EVENT_VERBS = _words(
    """
    abandon accept activate add appear approve archive arrive assign back ban begin bill
    block book bounce break buy cancel change charge check churn click close come comment
    commit complete confirm convert create deactivate decline delete deliver deploy deposit
    destroy disable downgrade download drop edit enable end enroll erase exceed expire
    export fail finish flag import insert invite join leave log lose merge modify move open
    opt order pay place publish purchase rate reach receive refund register reject remove
    renew reopen reply report request reschedule resolve restore return review schedule sell
    send ship sign start stop submit subscribe succeed sync transfer trigger unsubscribe
    update upgrade upload verify view visit win withdraw
    """
)
_IRREGULAR_PAST = {
    "pay": "paid",
    "send": "sent",
    "make": "made",
    "buy": "bought",
    "sell": "sold",
    "begin": "begun",
    "come": "come",
    "go": "gone",
    "leave": "left",
    "lose": "lost",
    "win": "won",
    "hit": "hit",
    "set": "set",
    "put": "put",
    "get": "got",
    "take": "taken",
    "write": "written",
    "give": "given",
    "break": "broken",
    "choose": "chosen",
    "freeze": "frozen",
    "read": "read",
    "build": "built",
    "spend": "spent",
    "find": "found",
    "see": "seen",
    "do": "done",
    "withdraw": "withdrawn",
    "undo": "undone",
    "run": "run",
}
_DOUBLING = _words(
    """
    admit ban cancel chat commit drop flag log opt permit pin plan refer ship shop skip stop
    submit swap tag transfer zip
    """
)
_VERB_SYNONYMS = {
    "added": "created",
    "created": "created",
    "new": "created",
    "registered": "created",
    "signed.up": "created",
    "joined": "created",
    "inserted": "created",
    "come.in": "created",
    "arrived": "created",
    "appeared": "created",
    "removed": "deleted",
    "deleted": "deleted",
    "destroyed": "deleted",
    "erased": "deleted",
    "updated": "updated",
    "changed": "updated",
    "edited": "updated",
    "modified": "updated",
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "finished": "completed",
    "completed": "completed",
}
_IRREGULAR_PLURALS = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "mice": "mouse",
    "data": "data",
    "news": "news",
    "series": "series",
}


def past_participle(verb: str) -> str:
    """The past participle: "pay" -> "paid", "ship" -> "shipped", "reply" -> "replied"."""
    if verb in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    if verb in _DOUBLING:
        return verb + verb[-1] + "ed"
    return verb + "ed"


def base_form(word: str, known: set[str] | frozenset[str]) -> str | None:
    """The base form of a third-person verb ("syncs" -> "sync") if it is in ``known``."""
    if word in known:
        return word
    candidates = []
    if word.endswith("ies"):
        candidates.append(word[:-3] + "y")
    if word.endswith("s"):
        candidates.append(word[:-1])
    if word.endswith("es"):
        candidates.append(word[:-2])
    for cand in candidates:
        if cand in known:
            return cand
    return None


def singular(noun: str) -> str:
    """The singular: "users" -> "user", "companies" -> "company", "addresses" -> "address"."""
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if len(noun) <= 3 or noun.endswith(("ss", "us", "is")):
        return noun
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith(("sses", "xes", "ches", "shes", "zes")):
        return noun[:-2]
    if noun.endswith("s"):
        return noun[:-1]
    return noun


def _noun(words: list[str]) -> str:
    head = words[-1]
    head = re.sub(r"'s$", "", head)
    return re.sub(r"[^a-z0-9_-]", "", singular(head))


def _event_name(noun: str, verb: str) -> str:
    return f"{noun}/{_VERB_SYNONYMS.get(verb, verb)}"


_EXPLICIT_EVENT = re.compile(r"[a-z0-9_][a-z0-9_.-]*/[a-z0-9_.:/-]+", re.IGNORECASE)


def _event_from_clause(toks: list[str]) -> str:
    """The event name of a clause after "when" ("a new user is added" -> user/created)."""
    for tok in toks:
        if _EXPLICIT_EVENT.fullmatch(tok):
            return tok
    k = 0
    is_new = False
    if toks[:2] in (["there", "is"], ["there", "are"], ["there's"]):
        k = 2 if toks[0] == "there" else 1
        is_new = True
    nouns: list[str] = []
    while k < len(toks):
        tok = toks[k]
        if tok in (",", ".", ";"):
            break
        if not nouns and tok in _DETERMINERS:
            k += 1
            continue
        if tok in ("new", "newly"):
            is_new = True
            k += 1
            continue
        if nouns and tok in _AUX:
            return _passive(nouns, toks, k + 1)
        next_is_aux = k + 1 < len(toks) and toks[k + 1] in _AUX
        if nouns and not next_is_aux:
            subject_plural = nouns[-1].endswith("s") and singular(nouns[-1]) != nouns[-1]
            base = base_form(tok, _EVENT_VERBS) if tok not in _EVENT_VERBS else None
            if base is None and subject_plural and tok in _EVENT_VERBS:
                base = tok
            if base is not None:
                return _active(nouns, base, toks, k + 1)
        if tok in _PREPOSITIONS and nouns:
            break
        nouns.append(tok)
        k += 1
    if nouns and is_new:
        return _event_name(_noun(nouns), "created")
    if not nouns:
        raise _Invalid("it does not say what the event is about")
    raise _Invalid(
        f'no verb I know after "{" ".join(nouns)}"; write it like "when an order is paid" '
        'or "when a user signs up"'
    )


def _passive(nouns: list[str], toks: list[str], k: int) -> str:
    while k < len(toks) and toks[k] in _AUX_FILL:
        k += 1
    if k >= len(toks):
        raise _Invalid(f'"{" ".join(nouns)} is" needs a verb, e.g. "is paid"')
    verb = toks[k]
    participles = set(_IRREGULAR_PAST.values())
    if verb == "new":
        return _event_name(_noun(nouns), "created")
    if not (verb.endswith("ed") or verb in participles):
        raise _Invalid(f'"{verb}" is not a verb I can read; write e.g. "is created" or "is paid"')
    if k + 1 < len(toks) and toks[k + 1] in _PARTICLES and _particle_ends(toks, k + 2):
        verb = f"{verb}.{toks[k + 1]}"
    return _event_name(_noun(nouns), verb)


def _particle_ends(toks: list[str], k: int) -> bool:
    """A particle is phrasal when nothing or a preposition follows it."""
    return k >= len(toks) or toks[k] in _PREPOSITIONS or toks[k] in (",", ".", ";")


def _active(nouns: list[str], base: str, toks: list[str], k: int) -> str:
    verb = past_participle(base)
    if k < len(toks) and toks[k] in _PARTICLES and _particle_ends(toks, k + 1):
        verb = f"{verb}.{toks[k]}"
        k += 1
    obj: list[str] = []
    while k < len(toks) and toks[k] not in _PREPOSITIONS and toks[k] not in (",", ".", ";"):
        if not (not obj and toks[k] in _DETERMINERS) and toks[k] not in ("new", "newly"):
            obj.append(toks[k])
        k += 1
    return _event_name(_noun(obj or nouns), verb)


_EVENT_STARTERS: tuple[tuple[str, ...], ...] = (
    ("every", "time"),
    ("each", "time"),
    ("any", "time"),
    ("as", "soon", "as"),
    ("whenever",),
    ("when",),
    ("once",),
    ("after",),
    ("on",),
)


def _starter_at(toks: list[str], i: int) -> int | None:
    """Index after an event starter at ``i``, or None."""
    for starter in _EVENT_STARTERS:
        n = len(starter)
        if tuple(toks[i : i + n]) != starter:
            continue
        nxt = toks[i + n] if i + n < len(toks) else ""
        if starter in (("once",), ("after",)) and (
            nxt not in ("a", "an", "the", "new", "any", "every", "each")
            or (i + n + 1 < len(toks) and toks[i + n + 1] in _ALL_UNITS)
        ):
            return None
        if starter == ("on",):
            after = toks[i + n + 1] if i + n + 1 < len(toks) else ""
            if not (
                _EXPLICIT_EVENT.fullmatch(nxt)
                or (nxt in ("event", "the") and _EXPLICIT_EVENT.fullmatch(after))
                or "new" in toks[i + 1 : i + 3]
            ):
                return None
        return i + n
    return None


_ALL_UNITS = _MINUTE_UNITS | _HOUR_UNITS | _DAY_UNITS | _WEEK_UNITS | _MONTH_UNITS | _YEAR_UNITS


def parse_event(phrase: str) -> EventSpec:
    """Read an event phrase ("when an order is paid") into an Inngest-style name.

    The starter ("when", "whenever", "every time", "after", "on") is optional.
    Raises PhraseError quoting the phrase when no event can be read.
    """
    toks = [t.text for t in _tokenize(phrase)]
    start = _starter_at(toks, 0) or 0
    clause = toks[start:]
    if not clause:
        raise PhraseError(phrase, "it is empty", kind="event")
    try:
        name = _event_from_clause(clause)
        TriggerEvent(event=name)
    except _Invalid as exc:
        raise PhraseError(phrase, exc.reason, kind="event") from None
    except ValueError as exc:
        raise PhraseError(phrase, str(exc), kind="event") from None
    if name.startswith("inngest/"):
        raise PhraseError(phrase, "the inngest/ prefix is reserved", kind="event")
    return EventSpec(name=name, phrase=phrase.strip())


# --- whole descriptions ----------------------------------------------------------------

ACTION_VERBS = _words(
    """
    add aggregate alert analyse analyze announce append approve archive assign audit back
    backup bill broadcast build calculate call cancel charge check clean cleanup close
    collect compile compress compute convert copy count crawl create credit debit dedupe
    deduplicate delete deliver deploy detect disable download draft email enable encrypt
    enqueue enrich escalate export extract fetch file filter find flag forward gather
    generate get import index insert invite invoice label list load log mail mark merge
    message migrate monitor move notify onboard open parse pause pay ping poll post prepare
    print process provision publish pull purge push query queue read rebuild recalculate
    reconcile record refresh refund reindex reject release remind remove render renew report
    request reset resize restart resume retry rotate run save scan schedule score scrape
    send ship sms snapshot sort start stop store submit summarise summarize sync tag text
    track train transfer transform translate trigger tweet unsubscribe update upload upsert
    validate verify warn welcome write
    """
)


def action_verb(word: str) -> str | None:
    """The base form of an action verb ("syncs" -> "sync", "fetches" -> "fetch"), or None."""
    return base_form(word.lower(), ACTION_VERBS)


_PREAMBLE_VERBS = _words(
    """
    add build create define generate make need schedule setup want write
    """
)
_PREAMBLE_NOUNS = _words(
    """
    automation cron cronjob function job routine task workflow
    """
)
_PREAMBLE_ADJECTIVES = _words(
    """
    background cron durable inngest new recurring scheduled simple small temporal
    """
)
_PREAMBLE_FREQUENCIES = {"daily", "hourly", "weekly", "monthly"}


def _preamble(toks: list[str]) -> tuple[int, list[str]]:
    """Skip "Create a (daily) workflow that ..."; return where the action starts and
    the frequency words found on the way."""
    k = 0
    if k < len(toks) and toks[k] == "please":
        k += 1
    if toks[k : k + 2] in (["i", "need"], ["i", "want"], ["we", "need"], ["we", "want"]):
        k += 1
    if toks[k : k + 2] == ["set", "up"]:
        k += 2
    elif k < len(toks) and toks[k] in _PREAMBLE_VERBS:
        k += 1
    else:
        return 0, []
    if k < len(toks) and toks[k] in ("me", "us"):
        k += 1
    if k < len(toks) and toks[k] in ("a", "an", "one"):
        k += 1
    else:
        return 0, []
    freqs: list[str] = []
    while k < len(toks) and (toks[k] in _PREAMBLE_ADJECTIVES or toks[k] in _PREAMBLE_FREQUENCIES):
        if toks[k] in _PREAMBLE_FREQUENCIES:
            freqs.append(toks[k])
        k += 1
    if k < len(toks) and toks[k] in _PREAMBLE_NOUNS:
        k += 1
        if k < len(toks) and toks[k] == "job":
            k += 1
    else:
        return 0, []
    if k < len(toks) and toks[k] in ("that", "which", "to", "for"):
        k += 1
    return k, freqs


def _find_event(toks: list[str], begin: int) -> tuple[int, int, EventSpec] | None:
    for i in range(begin, len(toks)):
        start = _starter_at(toks, i)
        if start is None:
            continue
        end = start
        while end < len(toks) and toks[end] not in _HARD_BOUNDARIES:
            if toks[end] == "and" and end + 1 < len(toks) and action_verb(toks[end + 1]):
                break
            end += 1
        clause = toks[start:end]
        if not clause:
            continue
        try:
            name = _event_from_clause(clause)
        except _Invalid as exc:
            raise _Invalid(f'"{" ".join(toks[i:end])}": {exc.reason}') from None
        try:
            TriggerEvent(event=name)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
        return i, end, EventSpec(name=name, phrase=" ".join(toks[i:end]))
    return None


def _schedule_span(
    toks: list[str], begin: int, end: int, prefix: list[str]
) -> tuple[int, int, str, str] | None:
    """The earliest, longest run of tokens in [begin, end) that reads as a schedule."""
    ends = [j for j in range(begin + 1, end) if toks[j] in _BOUNDARIES] + [end]
    for i in range(begin, end):
        if toks[i] in _FILLER or toks[i] in (".", ";"):
            continue
        for j in sorted((e for e in ends if e > i), reverse=True):
            try:
                cron, zone = _ScheduleParser(prefix + toks[i:j]).parse()
            except _Unknown:
                continue
            return i, j, cron, zone
    return None


def _leftover_check(toks: list[str]) -> None:
    """Schedule words outside the parsed trigger are an error, not a silent drop."""
    for k, tok in enumerate(toks):
        nxt = toks[k + 1 : k + 3]
        strong = (
            tok in ("am", "pm", "noon", "midnight", "o'clock")
            or re.fullmatch(r"\d{1,2}:\d{2}", tok) is not None
            or (tok in _DAYS and len(tok) > 3)
            or tok in ("weekday", "weekdays", "weekend", "weekends")
            or (tok in ("every", "each") and any(w in _TIMEY or w in _ALL_UNITS for w in nxt))
            or (tok in ("every", "each") and any(_number(w) is not None for w in nxt[:1]))
        )
        if strong:
            around = " ".join(toks[k : k + 3])
            raise _Invalid(f'"{around}" looks like part of a schedule but I could not read it')


def parse_description(text: str) -> Description:
    """Split a workflow description into its trigger and its action.

    "Send a Slack summary of open tickets every weekday at 9 AM Berlin time" gives
    a Schedule (``0 9 * * 1-5``, Europe/Berlin) and the action "Send a Slack summary
    of open tickets"; "...when a new user is added" gives ``user/created``. Raises
    PhraseError when there is no trigger, two triggers, or words that look like a
    schedule but cannot be read.
    """
    tokens = _tokenize(text)
    toks = [t.text for t in tokens]
    try:
        begin, freqs = _preamble(toks)
        event = _find_event(toks, begin)
        spans: list[tuple[int, int]] = []
        trigger: Schedule | EventSpec | None = None
        if event is not None:
            e_start, e_end, spec = event
            spans.append((e_start, e_end))
            trigger = spec
        found = None
        for lo, hi in _free_ranges(begin, len(toks), spans):
            found = _schedule_span(toks, lo, hi, freqs)
            if found is not None:
                break
        if found is None and freqs:
            cron, zone = _ScheduleParser(list(freqs)).parse()
            found = (begin, begin, cron, zone)
        if found is not None:
            s_start, s_end, cron, zone = found
            while s_start > begin and toks[s_start - 1] in ("on", "the", "from"):
                s_start -= 1
            if trigger is not None:
                raise _Invalid(
                    "it has both a schedule and an event; a description gives one trigger"
                )
            words = text[tokens[s_start].start : tokens[s_end - 1].end] if s_end > s_start else ""
            phrase = " ".join([*freqs, words]).strip()
            trigger = Schedule(cron=cron, timezone=zone, phrase=phrase)
            spans.append((s_start, s_end))
        if trigger is None:
            reason = _no_trigger_reason(toks, begin)
            raise _Unknown(reason)
        rest = [t for k, t in enumerate(toks) if k >= begin and not _inside(k, spans)]
        _leftover_check(rest)
    except (_Unknown, _Invalid) as exc:
        raise PhraseError(text, exc.reason, kind="description") from None
    action = _action_text(text, tokens, begin, spans)
    return Description(text=text.strip(), trigger=trigger, action=action)


def _no_trigger_reason(toks: list[str], begin: int) -> str:
    """Why no schedule was found: the first schedule-like word's error, if any."""
    for i in range(begin, len(toks)):
        if toks[i] in (
            "every",
            "each",
            "at",
            "hourly",
            "daily",
            "weekly",
            "monthly",
            "twice",
            "once",
        ):
            end = i
            while end < len(toks) and toks[end] not in _HARD_BOUNDARIES:
                end += 1
            try:
                _ScheduleParser(toks[i:end]).parse()
            except (_Unknown, _Invalid) as exc:
                return f"it has no schedule or event I can read ({exc.reason})"
    return 'it has no schedule (e.g. "every hour") and no event (e.g. "when a user signs up")'


def _free_ranges(begin: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    lo = begin
    for s, e in sorted(spans):
        if s > lo:
            ranges.append((lo, s))
        lo = max(lo, e)
    if lo < end:
        ranges.append((lo, end))
    return ranges


def _inside(k: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= k < e for s, e in spans)


def _action_text(text: str, tokens: list[_Tok], begin: int, spans: list[tuple[int, int]]) -> str:
    """The description without preamble and trigger, in the user's own words."""
    pieces: list[str] = []
    current: list[_Tok] = []
    for k in range(begin, len(tokens)):
        if _inside(k, spans):
            if current:
                pieces.append(text[current[0].start : current[-1].end])
                current = []
            continue
        current.append(tokens[k])
    if current:
        pieces.append(text[current[0].start : current[-1].end])
    action = " ".join(p.strip() for p in pieces)
    action = re.sub(r"\s+([,;.])", r"\1", action)
    action = re.sub(r"^[\s,;.]*(?:(?:and|then)\b[\s,]*)*", "", action, flags=re.IGNORECASE)
    action = re.sub(r"(?:[\s,;]+(?:and|then))*[\s,;.]*$", "", action, flags=re.IGNORECASE)
    return action.strip()


def zone_aliases() -> dict[str, str]:
    """The hand-written names (abbreviations, cities, countries) and their IANA zones."""
    return dict(_ZONE_ALIASES)
