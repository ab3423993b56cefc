"""The ``inngest/scheduled.timer`` event a schedule's run is given, built inside the workflow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from adapter._protocol import LifecycleEvent

_SCHEDULED_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def cron_event(cron: dict[str, Any], info: workflow.Info) -> dict[str, Any]:
    """Inngest's ``inngest/scheduled.timer`` event for one tick; its id is the tick's time."""
    scheduled = info.typed_search_attributes.get(_SCHEDULED_TIME)
    if scheduled is None:
        # Schedules name runs "<action id>-<RFC3339 time>".
        try:
            scheduled = datetime.fromisoformat(info.workflow_id[-20:].replace("Z", "+00:00"))
        except ValueError:
            scheduled = info.start_time
    scheduled = scheduled.astimezone(UTC).replace(microsecond=0)
    stamp = scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "name": LifecycleEvent.SCHEDULED.value,
        "id": stamp,
        "ts": int(scheduled.timestamp() * 1000),
        "data": {
            "cron": cron["cron"],
            "timezone": cron.get("timezone") or "UTC",
            "scheduledAt": stamp,
            "fireAt": stamp,
        },
    }
