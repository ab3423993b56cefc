"""Cron expressions as Inngest reads them, mapped onto Temporal Schedules.

Inngest accepts 5-field crons (minute hour day-of-month month day-of-week), the
``@hourly``-style descriptors, and a ``TZ=Area/City`` (or ``CRON_TZ=``) prefix.
Two differences from Temporal are bridged here:

* Temporal reads a 6th field as the *year*; Inngest has no 6-field form, so we
  refuse it rather than let it mean something else.
* When both day-of-month and day-of-week are restricted, classic cron (and
  Inngest) fires when *either* matches; Temporal requires *both*. We hand
  Temporal two expressions, whose union is the classic meaning.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class CronSpec:
    """A validated cron trigger: the user's text, its 5 fields and its zone."""

    text: str
    fields: str
    timezone: str

    @property
    def expressions(self) -> list[str]:
        """The cron strings handed to Temporal (two when dom and dow are both set)."""
        minute, hour, dom, month, dow = self.fields.split()
        if dom not in ("*", "?") and dow not in ("*", "?"):
            return [f"{minute} {hour} {dom} {month} *", f"{minute} {hour} * {month} {dow}"]
        return [self.fields]

    def next_times(self, count: int, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` fire times, as aware datetimes in the schedule's zone."""
        zone = ZoneInfo(self.timezone)
        start = (after or datetime.now(UTC)).astimezone(zone)
        iters = [croniter(expr.replace("?", "*"), start) for expr in self.expressions]
        merged = heapq.merge(*(_forever(it) for it in iters))
        out: list[datetime] = []
        for when in merged:
            if not out or when != out[-1]:
                out.append(when)
            if len(out) == count:
                break
        return out

    def describe(self) -> str:
        """Plain-English description, e.g. "At 09:00 AM, Monday through Friday (UTC)"."""
        from cron_descriptor import Options, get_description

        options = Options()
        options.verbose = False
        text = str(get_description(self.fields, options))
        return f"{text} ({self.timezone})"


def _forever(it: croniter):  # type: ignore[no-untyped-def]
    while True:
        yield it.get_next(datetime)


def parse_cron(text: str, timezone_name: str | None = None, *, where: str = "cron") -> CronSpec:
    """Validate an Inngest cron string; raise ValueError naming ``where`` and the fix."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f'{where}: a cron expression is required, e.g. "0 * * * *"')
    body = text.strip()
    zone = None
    head, _, rest = body.partition(" ")
    if head.startswith(("TZ=", "CRON_TZ=")):
        zone = head.split("=", 1)[1]
        body = rest.strip()
        if timezone_name and timezone_name != zone:
            raise ValueError(
                f"{where}: the TZ= prefix says {zone!r} but timezone is {timezone_name!r}; "
                "give the zone once"
            )
    zone = zone or timezone_name or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{where}: unknown time zone {zone!r}; use an IANA name such as "
            '"Europe/Paris", "America/New_York" or "UTC"'
        ) from None
    fields = _DESCRIPTORS.get(body.lower(), body)
    parts = fields.split()
    if len(parts) != 5:
        raise ValueError(
            f"{where}: {text!r} has {len(parts)} fields; Inngest crons have 5 "
            '(minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5", '
            "or a descriptor such as @hourly"
        )
    if not croniter.is_valid(" ".join(p.replace("?", "*") for p in parts)):
        raise ValueError(
            f'{where}: {text!r} is not a valid cron expression; e.g. "*/15 * * * *" '
            '(every 15 minutes) or "0 9 * * 1" (Mondays at 09:00)'
        )
    return CronSpec(text=text.strip(), fields=" ".join(parts), timezone=zone)
