"""Routing an event from its record: the activity behind events sent before any app registered."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from adapter._define.event import Event
from adapter._protocol import ActivityName, EventOutcome, EventRecordInput
from adapter._temporal.dispatch import dispatch
from adapter._temporal.registry import REGISTRY
from adapter._temporal.search_attributes import missing_search_attributes
from adapter._workflows.event_record import STILL_PAUSED

_TAGGED: dict[tuple[str, str], bool] = {}


async def namespace_has_search_attributes(client: Client) -> bool:
    """Whether the namespace has our search attributes (asked once per process)."""
    key = (client.service_client.config.target_host, client.namespace)
    if key not in _TAGGED:
        try:
            _TAGGED[key] = not await missing_search_attributes(client)
        except RPCError:
            return False
    return _TAGGED[key]


@activity.defn(name=ActivityName.ROUTE_EVENT)
async def route_event(inp: EventRecordInput) -> EventOutcome:
    """Route a recorded event by the registrations of now; retried until one exists."""
    client = activity.client()
    table = await REGISTRY.table(client, max_age=0)
    if table.empty:
        raise ApplicationError("no app has registered yet", type="NoRegistrations")
    event = Event.model_validate(inp["event"])
    only = {(h["app_id"], h["function"]) for h in inp.get("only") or []} or None
    if only is not None and only & table.paused:
        # Not retried here: the record waits for the resume (or its next look).
        raise ApplicationError(
            "the function is still paused", type=STILL_PAUSED, non_retryable=True
        )
    tagged = await namespace_has_search_attributes(client)
    outcomes = await dispatch(client, table, [event], tagged=tagged, records=False, only=only)
    return outcomes[event.id]
