"""Replaying a past run: a new run of the same function with the same event(s).

The input is read back from the original run's first history event. A cron run's
event is not in its input (the orchestrator builds it from the tick's time), so it
is built here the same way and put into the replay's input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.converter import decode_typed_search_attributes

from adapter._define.ulid import new_ulid
from adapter._observe.decode import Decoder, event_time
from adapter._protocol import replay_run_id, run_summary
from adapter._temporal.search_attributes import FUNCTION_ID, run_search_attributes
from adapter._workflows.cron_event import cron_event

REPLAY_OF = "replay_of"  # memo: the workflow id of the run a replay repeats
REPLAY_OF_RUN = "replay_of_run"  # memo: and its run id


@dataclass(frozen=True)
class _InfoLike:
    """The three fields of ``workflow.Info`` that ``cron_event`` reads."""

    workflow_id: str
    start_time: datetime
    typed_search_attributes: TypedSearchAttributes


def run_events(
    inp: dict[str, Any],
    workflow_id: str,
    start_time: datetime,
    attrs: TypedSearchAttributes,
) -> list[dict[str, Any]]:
    """The run's events: its input's, or the cron tick's event the orchestrator built."""
    events = inp.get("events")
    if events:
        return list(events)
    cron = inp.get("cron")
    if not cron:
        return []
    info = _InfoLike(workflow_id, start_time, attrs)
    return [cron_event(cron, cast(workflow.Info, info))]


@dataclass
class StartInfo:
    """How a run was started: function, task queue, input and search attributes."""

    workflow_id: str
    run_id: str
    function: str
    task_queue: str
    input: dict[str, Any]
    events: list[dict[str, Any]]
    search_attributes: TypedSearchAttributes


async def start_info(client: Client, workflow_id: str, run_id: str | None = None) -> StartInfo:
    """Read the first history event of a run: its type, task queue and input."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id, run_id=run_id)
    first: HistoryEvent | None = None
    async for event in handle.fetch_history_events(page_size=1):
        first = event
        break
    if first is None or first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise ValueError(f"run {workflow_id!r} has no start event in its history")
    attrs = first.workflow_execution_started_event_attributes
    inp = await Decoder(client).first(attrs.input.payloads)
    if not isinstance(inp, dict) or "app_id" not in inp or "opts" not in inp:
        raise ValueError(
            f"{workflow_id!r} (type {attrs.workflow_type.name!r}) is not a function run"
        )
    search = decode_typed_search_attributes(attrs.search_attributes)
    return StartInfo(
        workflow_id=workflow_id,
        run_id=attrs.original_execution_run_id or attrs.first_execution_run_id,
        function=attrs.workflow_type.name,
        task_queue=attrs.task_queue.name,
        input=inp,
        events=run_events(inp, workflow_id, event_time(first), search),
        search_attributes=search,
    )


async def replay_run(client: Client, workflow_id: str) -> dict[str, Any]:
    """Start a new run of the same function with the original run's input.

    The new workflow id is ``<original>:replay-<ULID>``, on the original's task queue,
    with memo ``replay_of`` / ``replay_of_run``. A cron run's event (which the
    orchestrator builds from the tick's time) is put into the input, so the replay
    sees the same event as the original. Search attributes are set when the
    original has them.
    """
    original = await start_info(client, workflow_id)
    inp = {**original.input, "events": original.events}
    new_id = replay_run_id(workflow_id, new_ulid())
    tagged = original.search_attributes.get(FUNCTION_ID) is not None
    event = original.events[0] if original.events else None
    name = event.get("name") if isinstance(event, dict) else None
    handle = await client.start_workflow(
        original.function,
        inp,
        id=new_id,
        task_queue=original.task_queue,
        memo={REPLAY_OF: workflow_id, REPLAY_OF_RUN: original.run_id},
        static_summary=run_summary(original.function, name or "event", replay_of=workflow_id),
        search_attributes=run_search_attributes(str(inp["app_id"]), original.function, event)
        if tagged
        else None,
    )
    return {
        "workflow_id": new_id,
        "run_id": handle.first_execution_run_id or handle.result_run_id,
        "function": original.function,
        "replay_of": workflow_id,
        "replay_of_run": original.run_id,
        "task_queue": original.task_queue,
    }
