"""Schedule phrases: "every weekday at 9 AM Berlin time" -> a 5-field cron and an IANA zone.

Schedules become a cron plus an IANA zone ("9 AM Berlin time" is ``0 9 * * *`` in
``Europe/Berlin``), never a fixed UTC offset: Temporal applies the zone's
daylight-saving rules itself, so 9 AM stays 9 AM all year.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapter._authoring.clock import looks_like_time, read_time
from adapter._authoring.cron_fields import ScheduleState, build_cron, day_range, set_every
from adapter._authoring.errors import Invalid, PhraseError, Unknown
from adapter._authoring.tokens import at, token_texts
from adapter._authoring.vocabulary import (
    ALL_UNITS,
    DAY_UNITS,
    DAYS,
    FILLER,
    HOUR_UNITS,
    MINUTE_UNITS,
    MONTH_UNITS,
    PERIOD_WORDS,
    RANGE_WORDS,
    SECOND_UNITS,
    WEEK_UNITS,
    WEEKDAYS,
    WEEKEND,
    YEAR_UNITS,
    number,
    ordinal,
)
from adapter._authoring.zones import match_zone
from adapter._define.config import TriggerCron


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


class ScheduleParser:
    """Read a whole token list as one schedule, or raise Unknown / Invalid."""

    def __init__(self, toks: list[str]) -> None:
        """Start reading ``toks`` (normalised token texts)."""
        self.toks = toks
        self.st = ScheduleState()

    def at(self, i: int) -> str:
        """Return the token at ``i``, or "" past the end."""
        return at(self.toks, i)

    def parse(self) -> tuple[str, str]:
        """Read every token as part of the schedule; return its cron and zone."""
        i = 0
        while i < len(self.toks):
            tok = self.toks[i]
            if tok in FILLER:
                i += 1
                continue
            j = self.element(i)
            if j is None:
                raise Unknown(f'"{tok}" is not part of a schedule I know')
            i = j
        return build_cron(self.st)

    # Each element returns the index after it, None when it does not apply, or raises.
    def element(self, i: int) -> int | None:
        """Read the first element that applies at ``i``."""
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
        """Read "every 15 minutes", "every other hour", "every day", "every Monday"."""
        if self.at(i) not in ("every", "each"):
            return None
        j = i + 1
        word = self.at(j)
        n, shown = 1, ""
        if number(word) is not None:
            n, shown, j = number(word) or 0, word, j + 1
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
                if self.at(j) not in HOUR_UNITS:
                    raise Unknown(f'"every {word} {self.at(j)}" is not an interval')
                j += 1
            self.st.set_interval("minutes", minutes)
            return j
        unit = self.at(j)
        if unit in MINUTE_UNITS:
            set_every(self.st, n, "minutes", shown)
        elif unit in HOUR_UNITS:
            set_every(self.st, n, "hours", shown)
        elif unit in SECOND_UNITS:
            raise Invalid("cron schedules have minute resolution; the shortest is every minute")
        elif unit in DAY_UNITS:
            if n != 1:
                raise Invalid(
                    f'"every {shown} {unit}" cannot be a cron (day counts restart each month); '
                    'name the days instead, e.g. "every Monday and Thursday"'
                )
            self.st.daily = True
        elif unit in WEEK_UNITS:
            if n != 1:
                raise Invalid(
                    f'"every {shown} {unit}" cannot be a cron; use one weekday, e.g. "every Monday"'
                )
            self.st.weekly = True
        elif unit in MONTH_UNITS:
            if n != 1:
                raise Invalid(f'"every {shown} months" is not supported; use "every month"')
            self.st.monthly = True
        elif unit in YEAR_UNITS:
            raise Invalid("yearly schedules are not supported")
        elif shown == "other" and (unit in DAYS or unit.startswith(("weekday", "weekend"))):
            raise Invalid(f'"every other {unit}" cannot be a cron; use "every {unit}"')
        elif not shown and self.day_set(j) is not None:
            return self.days(j)
        else:
            follow = " ".join(self.toks[i + 1 : i + 3])
            raise Unknown(f'"every {follow}" is not a schedule I know')
        return j + 1

    def frequency_word(self, i: int) -> int | None:
        """Read "hourly", "daily", "weekly" or "monthly"."""
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
            raise Unknown("yearly schedules are not supported")
        elif tok == "nightly":
            raise Unknown('"nightly" does not say when; write e.g. "daily at 23:00"')
        else:
            return None
        return i + 1

    def times_per(self, i: int) -> int | None:
        """Read once/twice/N times a day|daily|an hour|a week|a month."""
        tok = self.at(i)
        j = i + 1
        if tok == "once":
            count = 1
        elif tok == "twice":
            count = 2
        elif tok == "thrice":
            count = 3
        elif number(tok) is not None and self.at(i + 1) == "times":
            count, j = number(tok) or 0, i + 2
        else:
            return None
        if self.at(j) == "daily":
            unit = "day"
            j += 1
        elif self.at(j) in PERIOD_WORDS:
            unit = self.at(j + 1)
            j += 2
        else:
            raise Unknown(f'"{tok}" needs a period, e.g. "{tok} a day"')
        if unit not in ALL_UNITS:
            raise Unknown(f'"{tok} {self.at(j - 2)} {unit}" is not a schedule I know')
        if unit in DAY_UNITS:
            self.st.daily = True
            if count > 1:
                self.st.times_per_day = count
        elif unit in HOUR_UNITS:
            if 60 % count != 0:
                raise Invalid(f"{count} times an hour does not divide the hour evenly")
            if count == 1:
                self.st.set_interval("hours", 1)
            else:
                self.st.set_interval("minutes", 60 // count)
        elif unit in WEEK_UNITS and count == 1:
            self.st.weekly = True
        elif unit in MONTH_UNITS and count == 1:
            self.st.monthly = True
        else:
            raise Invalid(
                f'"{tok} a {unit}" cannot be a cron without naming the days; e.g. "every '
                'Monday and Thursday at 9 AM"'
            )
        return j

    def day_set(self, i: int) -> tuple[set[int], int] | None:
        """Read one day item: a day name, a range of them, weekdays or weekends."""
        tok = self.at(i)
        if tok in ("weekday", "weekdays", "workday", "workdays", "weekday's"):
            return set(WEEKDAYS), i + 1
        if tok in ("working", "business", "work") and self.at(i + 1) in DAY_UNITS:
            return set(WEEKDAYS), i + 2
        if tok in ("weekend", "weekends"):
            j = i + 1
            if self.at(j) in DAY_UNITS:
                j += 1
            return set(WEEKEND), j
        if "-" in tok and all(part in DAYS for part in tok.split("-", 1)):
            a, b = tok.split("-", 1)
            return day_range(DAYS[a], DAYS[b]), i + 1
        if tok in DAYS:
            start = DAYS[tok]
            if self.at(i + 1) in RANGE_WORDS and self.at(i + 2) in DAYS:
                return day_range(start, DAYS[self.at(i + 2)]), i + 3
            return {start}, i + 1
        return None

    def days(self, i: int) -> int | None:
        """Read a list of day items: "on Monday and Thursday", "weekdays", "Mon-Fri"."""
        j = i
        if self.at(j) in ("on", "from", "every", "each") and self.day_set(j + 1) is not None:
            j += 1
        item = self.day_set(j)
        if item is None:
            return None
        days, j = item
        while self.at(j) in (",", "and", "or") and self.day_set(j + 1) is not None:
            if self.at(j) == "or":
                raise Invalid('"or" between days is ambiguous; list the days with "and"')
            more, j = self.day_set(j + 1) or (set(), j + 1)
            days |= more
        self.st.add_days(days)
        return j

    def month_days(self, i: int) -> int | None:
        """Read days of the month: "on the 1st and 15th of every month", "day 3"."""
        j = i
        tok = self.at(j)
        if tok == "last" and (self.at(j + 1) in DAY_UNITS or self.at(j + 1) in DAYS):
            raise Invalid(
                "Temporal's cron has no last-day-of-month (no L field); pick a day from 1 to 28 "
                'or the 1st of the month, e.g. "on the 1st of every month at 00:00"'
            )
        if tok == "day" and number(self.at(j + 1)) is not None:
            first: int | None = number(self.at(j + 1))
            j += 1
        else:
            first = ordinal(tok)
        if first is None:
            return None
        if self.at(j + 1) in DAYS or self.at(j + 1) in ("weekday", "weekend"):
            raise Invalid(
                f'"the {tok} {self.at(j + 1)} of the month" cannot be a Temporal cron; use a day '
                'of the month ("on the 1st") or a weekday ("every Monday")'
            )
        days = [first]
        j += 1
        while self.at(j) in (",", "and") and ordinal(self.at(j + 1)) is not None:
            days.append(ordinal(self.at(j + 1)) or 0)
            j += 2
        if self.at(j) in DAY_UNITS:
            j += 1
        if self.at(j) in ("of", "in") and self.at(j + 1) in ("every", "each", "the", "a"):
            if self.at(j + 2) not in MONTH_UNITS:
                raise Unknown(f'"{" ".join(self.toks[j : j + 3])}" is not a schedule I know')
            j += 3
        for day in days:
            if not 1 <= day <= 31:
                raise Invalid(f"day {day} of the month does not exist")
            if day > 28:
                raise Invalid(
                    f"not every month has a day {day}, so some months would be skipped; pick a "
                    "day from 1 to 28"
                )
        self.st.dom = sorted(set((self.st.dom or []) + days))
        self.st.monthly = True
        return j

    def time(self, i: int) -> int | None:
        """Read one or more times: "at 9 AM", "at 9am and 5pm", "at :15"."""
        tok = self.at(i)
        has_at = tok == "at"
        j = i + 1 if has_at else i
        first = read_time(self.toks, j, required=has_at)
        if first is None:
            return None
        value, j = first
        self.record_time(value)
        while self.at(j) in (",", "and"):
            k = j + 1
            if self.at(k) == "at":
                k += 1
            if not looks_like_time(self.at(k)):
                break
            nxt = read_time(self.toks, k, required=has_at or self.at(j + 1) == "at")
            if nxt is None:
                break
            value, j = nxt
            self.record_time(value)
        return j

    def record_time(self, value: tuple[int, int] | int) -> None:
        """Keep a time of day, or the one minute past the hour."""
        if isinstance(value, int):
            if self.st.minute_of_hour is not None and self.st.minute_of_hour != value:
                raise Invalid("it gives two minutes past the hour; give one")
            self.st.minute_of_hour = value
        else:
            self.st.times.append(value)

    def zone(self, i: int) -> int | None:
        """Read a time zone ("Berlin time", "ET", "Europe/Berlin"); a second one is an error."""
        zone, j = match_zone(self.toks, i)
        if zone is None:
            return None
        if self.st.zone is not None and self.st.zone != zone:
            raise Invalid(f"it names two time zones ({self.st.zone} and {zone}); name one")
        self.st.zone = zone
        return j


def parse_schedule(phrase: str) -> Schedule:
    """Read a whole schedule phrase ("every weekday at 9 AM Berlin time").

    Returns the 5-field cron and IANA zone (UTC when none is named); raises
    PhraseError quoting the phrase, the reason and examples that work.
    """
    toks = [t for t in token_texts(phrase) if t != "."]
    if not toks:
        raise PhraseError(phrase, "it is empty")
    try:
        cron, zone = ScheduleParser(toks).parse()
    except (Unknown, Invalid) as exc:
        raise PhraseError(phrase, exc.reason) from None
    return Schedule(cron=cron, timezone=zone, phrase=phrase.strip())
