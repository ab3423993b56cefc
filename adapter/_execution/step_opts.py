"""What the step methods plan: their opts from the arguments (checked), and outgoing events.

Pure helpers of :mod:`adapter._execution.step`: no step runs here.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from adapter._define.durations import DurationLike, parse_duration
from adapter._define.event import Event
from adapter._define.expressions import check_expression, match_expression
from adapter._execution.call import Execution

MAX_SLEEP = timedelta(days=366)


class ParallelMode(enum.Enum):
    """How ``parallel`` runs its groups (inngest-py's meaning).

    ``WAIT``: the groups advance together (each round of new steps ends before the next
    starts). ``RACE``: each group of sequential steps goes on without waiting for the
    others. Both return every group's output; ``first_to_finish`` returns the first.
    """

    WAIT = "wait"
    RACE = "race"


def until_time(value: datetime | str, step_id: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"step.sleep_until('{step_id}'): {value!r} is not an ISO 8601 time, "
                'e.g. "2026-12-01T09:00:00Z"'
            ) from None
    # A naive datetime is local time, as inngest-py reads it (datetime.now() + ...).
    return value if value.tzinfo else value.astimezone()


def sleep_opts(step_id: str, duration: DurationLike) -> dict[str, Any]:
    delta = parse_duration(duration, field=f"step.sleep('{step_id}') duration")
    if delta > MAX_SLEEP:
        raise ValueError(f"step.sleep('{step_id}'): at most 366 days, got {delta}")
    return {"seconds": delta.total_seconds()}


def wait_opts(
    step_id: str, event: str, timeout: DurationLike, if_exp: str | None, match: str | None
) -> dict[str, Any]:
    where = f"step.wait_for_event('{step_id}')"
    if not event:
        raise ValueError(f"{where}: event= is required, e.g. event='app/invoice.paid'")
    if if_exp is not None and match is not None:
        raise ValueError(f"{where}: give if_exp or match, not both")
    expression = match_expression(match) if match is not None else if_exp
    if expression is not None:
        check_expression(expression, where=f"{where} if_exp")
    seconds = parse_duration(timeout, field=f"{where} timeout").total_seconds()
    return {"event": event, "timeout": seconds, "if": expression}


def event_ids(ex: Execution, step_id: str, events: list[Event]) -> list[Event]:
    """Ids derived from run and step, so a retried send_event step sends the same events."""
    for i, event in enumerate(events):
        if not event.id:
            digest = hashlib.sha1(f"{ex.run_id}|{step_id}|{i}".encode()).hexdigest()
            event.id = digest[:26].upper()
    return events


def raw_events(events: Any) -> list[Any]:
    return (
        list(events) if isinstance(events, Sequence) and not isinstance(events, str) else [events]
    )
