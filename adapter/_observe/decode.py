"""Reading what a run's history holds: times, payloads, summaries and failures.

Shared by the timeline (``timeline.py``) and the replay (``replay.py``): both decode
payloads with the client's data converter and never fail on one they cannot read.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

UNDECODABLE = "<undecodable payload>"
_MAX_CAUSES = 5


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a ``Z``, or None."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time (a trailing ``Z`` allowed); raise ValueError otherwise."""
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def event_time(event: HistoryEvent) -> datetime:
    """When a history event happened, as an aware UTC datetime."""
    return event.event_time.ToDatetime(tzinfo=UTC)


def loads(value: Any) -> Any:
    """``value`` parsed as JSON when it is JSON text or bytes; otherwise as it is."""
    if isinstance(value, bytes | str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


_FAILURE_TYPES = {
    "timeout_failure_info": "TimeoutError",
    "canceled_failure_info": "CancelledError",
    "terminated_failure_info": "TerminatedError",
    "activity_failure_info": "ActivityError",
    "child_workflow_execution_failure_info": "ChildWorkflowError",
    "server_failure_info": "ServerError",
}


def failure_type(failure: Failure) -> str:
    """The error type a failure stands for: the application's, or Temporal's kind."""
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "Error"
    return _FAILURE_TYPES.get(failure.WhichOneof("failure_info") or "", "Error")


class Decoder:
    """Payloads and failures of one client's history, decoded with its data converter."""

    def __init__(self, client: Client) -> None:
        """Decode with ``client``'s data converter."""
        self._converter = client.data_converter

    async def values(self, payloads: Sequence[Payload]) -> list[Any]:
        """All values of ``payloads`` (placeholders when they cannot be decoded)."""
        if not payloads:
            return []
        try:
            return list(await self._converter.decode(list(payloads)))
        except Exception:
            return [UNDECODABLE] * len(payloads)

    async def first(self, payloads: Sequence[Payload]) -> Any:
        """The first value of ``payloads``, or None."""
        values = await self.values(payloads)
        return values[0] if values else None

    async def summary(self, event: HistoryEvent) -> str | None:
        """The user-metadata summary of a history event (a timer's step id), or None."""
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        value = await self.first([event.user_metadata.summary])
        return value if isinstance(value, str) else None

    async def failure(self, failure: Failure, depth: int = 0) -> dict[str, Any]:
        """Type, message, user stack and cause of a Temporal failure."""
        out: dict[str, Any] = {"type": failure_type(failure), "message": failure.message}
        if failure.HasField("application_failure_info"):
            info = failure.application_failure_info
            if info.non_retryable:
                out["non_retryable"] = True
            details = await self.values(info.details.payloads)
            first = details[0] if details else None
            if isinstance(first, dict) and first.get("stack"):
                out["stack"] = first["stack"]
        cause = failure.cause if failure.HasField("cause") else None
        # The orchestrator re-raises the handler's error: skip a cause that repeats it.
        while cause is not None and (failure_type(cause), cause.message) == (
            out["type"],
            out["message"],
        ):
            cause = cause.cause if cause.HasField("cause") else None
        if cause is not None and depth < _MAX_CAUSES:
            out["cause"] = await self.failure(cause, depth + 1)
        return out
