"""What a schedule phrase says (intervals, days, times, zone) and the 5-field cron it makes."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapter._authoring.errors import Invalid, Unknown
from adapter._define.cron import parse_cron


@dataclass
class ScheduleState:
    """The parts of a schedule read so far; :func:`build_cron` turns them into a cron."""

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
        """Run every ``n`` minutes or hours; a second interval is an error."""
        if self.minutes is not None or self.hours is not None:
            raise Invalid("it gives two intervals; give one")
        if unit == "minutes":
            self.minutes = n
        else:
            self.hours = n

    def add_days(self, days: set[int]) -> None:
        """Also run on these days of the week (cron numbers, Sunday is 0)."""
        self.dow = (self.dow or set()) | days


def set_every(st: ScheduleState, n: int, unit: str, shown: str) -> None:
    """Record "every ``n`` minutes/hours" when a cron can keep it evenly spaced."""
    if n <= 0:
        raise Invalid(f'"every {shown} {unit}" is not an interval')
    if unit == "minutes":
        if n >= 60 and n % 60 == 0:
            set_every(st, n // 60, "hours", str(n // 60))
            return
        if 60 % n != 0:
            raise Invalid(
                f"every {n} minutes does not divide the hour, so a cron cannot keep even "
                "spacing (it would restart at :00); use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30"
            )
        st.set_interval("minutes", n)
    elif n == 24:
        st.daily = True
    else:
        if 24 % n != 0:
            raise Invalid(
                f"every {n} hours does not divide the day, so a cron cannot keep even spacing "
                "(it would restart at midnight); use 1, 2, 3, 4, 6, 8 or 12"
            )
        st.set_interval("hours", n)


def day_range(a: int, b: int) -> set[int]:
    """Return the days from ``a`` to ``b`` inclusive, wrapping past Saturday."""
    days = {a}
    d = a
    while d != b:
        d = (d + 1) % 7
        days.add(d)
    return days


def _dow_field(days: set[int]) -> str:
    """Return the day-of-week field, Monday first and runs of three or more as ranges ("1-5,0")."""
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
    """Return the minute and hour fields for times of day that share a minute or an hour."""
    unique = sorted(set(times))
    minutes = {m for _, m in unique}
    hours = {h for h, _ in unique}
    if len(minutes) == 1:
        return str(unique[0][1]), ",".join(str(h) for h in sorted(hours))
    if len(hours) == 1:
        return ",".join(str(m) for m in sorted(minutes)), str(unique[0][0])
    shown = " and ".join(f"{h:02d}:{m:02d}" for h, m in unique)
    raise Invalid(
        f"{shown} differ in both hour and minute, which one cron cannot hold; pick times on "
        "the same minute (e.g. 09:00 and 17:00) or make two functions"
    )


def _interval_fields(st: ScheduleState) -> tuple[str, str]:
    """Return the minute and hour fields of an every-N-minutes or every-N-hours schedule."""
    if st.times:
        raise Invalid(
            "it gives both an interval and times of day; give one "
            '(e.g. "every 2 hours" or "daily at 9 AM and 5 PM")'
        )
    if st.times_per_day:
        raise Invalid("it gives both an interval and a number of times a day")
    if st.minutes is not None:
        if st.minute_of_hour is not None:
            raise Invalid("minutes past the hour only go with an hourly schedule")
        return ("*" if st.minutes == 1 else f"*/{st.minutes}"), "*"
    return str(st.minute_of_hour or 0), ("*" if st.hours == 1 else f"*/{st.hours}")


def _clock_fields(st: ScheduleState) -> tuple[str, str]:
    """Return the minute and hour fields of a schedule at times of day (midnight by default)."""
    if st.minute_of_hour is not None:
        raise Invalid('minutes past the hour need an hourly schedule, e.g. "every hour at :15"')
    if not (st.daily or st.weekly or st.monthly or st.dow or st.dom or st.times):
        raise Unknown("it has no schedule in it")
    times = st.times or [(0, 0)]
    if st.times_per_day and len(set(times)) != st.times_per_day:
        raise Invalid(
            f"it says {st.times_per_day} times a day but gives {len(set(st.times))} "
            'time(s); list them, e.g. "twice a day at 9am and 5pm"'
        )
    return _time_fields(times)


def build_cron(st: ScheduleState) -> tuple[str, str]:
    """Return the 5-field cron and IANA zone (UTC by default) of a whole schedule."""
    if st.minutes is not None or st.hours is not None:
        minute_f, hour_f = _interval_fields(st)
    else:
        minute_f, hour_f = _clock_fields(st)
    if st.monthly and (st.daily or st.weekly):
        raise Invalid(
            f"it says both {'daily' if st.daily else 'weekly'} and monthly; say one "
            '(e.g. "on the 1st of every month at 9 AM")'
        )
    if st.weekly and not st.dow:
        raise Invalid('"weekly" needs a day, e.g. "every Monday at 9 AM"')
    dom = st.dom or ([1] if st.monthly else None)
    if dom and st.dow:
        raise Invalid(
            "it gives both days of the month and days of the week; a cron would run on "
            "either, so give one"
        )
    dom_f = ",".join(str(d) for d in dom) if dom else "*"
    dow_f = _dow_field(st.dow) if st.dow else "*"
    cron = f"{minute_f} {hour_f} {dom_f} * {dow_f}"
    zone = st.zone or "UTC"
    parse_cron(cron, zone)  # the adapter's own check; it must never fail here
    return cron, zone
