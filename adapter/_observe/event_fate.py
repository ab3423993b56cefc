"""What one event did for each function whose trigger names it (``adapter event ID``).

For every function of the current registrations with a trigger on the event's name:
its ``if`` is evaluated again (:mod:`adapter._define.expressions`); a function without
admission rules must have a run under the id the sender derives (event id, singleton
or idempotency key) — one started by this event, or one that existed already (then the
event was deduplicated); a function with a gate had the event signalled to that gate,
and the gate's history tells the rest. The gate's decisions are not recorded anywhere,
so they are recomputed: the gate's input (its rules and carried state) and its signals,
fed to the same :class:`~adapter._workflows.gate_state.GateState` at the times of the
workflow tasks that handled them, give each event's admission; the child workflows it
started say which run (or batch) took the event, or which later event a debounce ran
with; a hub's match of a ``cancel`` rule (a ``waited`` signal for ``queued:<rule>:<id>``)
or an operator's ``cancel_queued`` signal says it was cancelled while queued. Only the
gate runs around the event's arrival are read (at most a few).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from adapter._define.expressions import evaluate
from adapter._define.routes import Route
from adapter._observe.decode import Decoder, event_time
from adapter._observe.event_model import EventItem, EventRun, FunctionFate, Outcome
from adapter._observe.event_scan import (
    describe_run,
    event_in,
    map_limited,
    rfc3339,
    start_input,
)
from adapter._observe.listing import quote
from adapter._observe.words import human_duration
from adapter._protocol import Signal, WorkflowName
from adapter._temporal.dispatch import function_gate_id, trigger_id
from adapter._workflows.gate_queue import parse_queued_step
from adapter._workflows.gate_state import Admission, GateState

GATE_RUNS_READ = 4  # gate executions read for one event at most
ARRIVAL_SLACK = timedelta(seconds=5)  # the record and the gate's signal are sent concurrently


# --- the `if` ----------------------------------------------------------------------------


def _if_false(route: Route, event: dict[str, Any]) -> FunctionFate | None:
    """The fate of a function whose trigger ``if`` rejects the event, or None if one holds."""
    name = event.get("name")
    if route.matches(str(name), event):
        return None
    expressions = [x for n, x in route.triggers if n == name and x is not None]
    reasons = []
    for expression in expressions:
        try:
            reasons.append(f"{expression!r} is {evaluate(expression, event=event)!r}")
        except ValueError as exc:
            reasons.append(f"{expression!r} could not be evaluated ({exc})")
    return FunctionFate(
        app_id=route.app_id,
        function=route.function_id,
        outcome=Outcome.IF_FALSE,
        detail="`if` was false: " + "; ".join(reasons),
        expression=" || ".join(expressions) or None,
    )


# --- functions without a gate --------------------------------------------------------------


async def _run_event_id(client: Client, run: EventRun) -> str | None:
    if run.event_id is not None:
        return run.event_id
    with contextlib.suppress(Exception):
        event = event_in(await start_input(client, run.workflow_id, run.run_id), "")
        return None if event is None else str(event.get("id"))
    return None


async def _direct(
    client: Client, route: Route, item: EventItem, event: dict[str, Any]
) -> FunctionFate:
    fate = FunctionFate(route.app_id, route.function_id, Outcome.NOT_STARTED, "")
    mine = [r for r in item.runs if (r.app_id, r.function) == (route.app_id, route.function_id)]
    if mine:
        fate.outcome, fate.runs = Outcome.RUN_STARTED, mine
        fate.detail = "; ".join(f"run {r.workflow_id} {r.status}" for r in mine)
        return fate
    workflow_id = trigger_id(route, event)
    run = await describe_run(client, workflow_id)
    if run is None:
        fate.detail = (
            f"no run {workflow_id}: the function may have been deployed (or its trigger "
            "changed) after the event, or the run is past the namespace's retention"
        )
        return fate
    fate.runs = [run]
    started_by = await _run_event_id(client, run)
    if started_by in (None, item.id):
        fate.outcome = Outcome.RUN_STARTED
        fate.detail = f"run {run.workflow_id} {run.status}"
        return fate
    why = (
        "singleton"
        if route.singleton is not None
        else "idempotency key"
        if route.idempotency is not None
        else "same run id"
    )
    fate.outcome = Outcome.DEDUPLICATED
    fate.detail = (
        f"deduplicated ({why}): run {run.workflow_id} (started by event {started_by}) "
        f"existed, {run.status}"
    )
    return fate


# --- functions with a gate ------------------------------------------------------------------


@dataclass
class GateRun:
    """What one gate execution did, replayed from its history."""

    config: dict[str, Any]
    admissions: dict[str, Admission] = field(default_factory=dict)  # first decision per id
    signals: dict[str, list[int]] = field(default_factory=dict)  # history positions per id
    children: list[tuple[str, list[str], int]] = field(default_factory=list)
    cancels: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (position, by)
    status: WorkflowExecutionStatus | None = None


async def read_gate_run(client: Client, wf: WorkflowExecution) -> GateRun:
    """Replay one gate execution's admissions (see the module docstring)."""
    decoder = Decoder(client)
    history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
    out = GateRun(config={}, status=wf.status)
    state: GateState | None = None
    inbox: list[dict[str, Any]] = []
    taken: tuple[int, int] | None = None  # (signals in the task, its start time in ms)
    for pos, event in enumerate(history.events):
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            inp = await decoder.first(
                event.workflow_execution_started_event_attributes.input.payloads
            )
            if isinstance(inp, dict) and isinstance(inp.get("gate"), dict):
                out.config = inp["gate"]
                state = GateState.from_dict(inp["gate"], inp.get("state"))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            signalled = await decoder.first(attrs.input.payloads)
            if attrs.signal_name == Signal.EVENT and isinstance(signalled, dict):
                inbox.append(signalled)
                out.signals.setdefault(str(signalled.get("id")), []).append(pos)
            elif isinstance(signalled, dict):
                _note_cancel(out, attrs.signal_name, signalled, pos)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            taken = (len(inbox), int(event_time(event).timestamp() * 1000))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and taken is not None:
            count, now = taken
            for signalled in inbox[:count]:
                if state is not None:
                    admission = state.admit(signalled, now)
                    out.admissions.setdefault(str(signalled.get("id")), admission)
            inbox, taken = inbox[count:], None
        elif kind in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        ):
            taken = None
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            attrs_c = event.start_child_workflow_execution_initiated_event_attributes
            run_inp = await decoder.first(attrs_c.input.payloads)
            events = run_inp.get("events") if isinstance(run_inp, dict) else None
            ids = [str(e.get("id")) for e in events or [] if isinstance(e, dict)]
            out.children.append((attrs_c.workflow_id, ids, pos))
    return out


def _note_cancel(out: GateRun, signal: str, signalled: dict[str, Any], pos: int) -> None:
    """Remember a cancellation the gate was asked for (a hub's match, an operator's request)."""
    if signal == Signal.WAITED:
        parsed = parse_queued_step(str(signalled.get("step_id")))
        matched = signalled.get("event")
        by: dict[str, Any] = matched if isinstance(matched, dict) else {}
        if parsed is not None:
            name = f" {by.get('name')}" if by.get("name") else ""
            out.cancels.setdefault(parsed[1], (pos, f"by event {by.get('id')}{name}"))
    elif signal == Signal.CANCEL_QUEUED:
        reason = str(signalled.get("reason") or "")
        for event_id in signalled.get("event_ids") or []:
            out.cancels.setdefault(
                str(event_id), (pos, "by an operator" + (f" ({reason})" if reason else ""))
            )


async def gate_runs_around(
    client: Client, gate: str, received: datetime
) -> list[WorkflowExecution]:
    """The executions of a gate from the one running when the event arrived, oldest first."""
    since = rfc3339(received - ARRIVAL_SLACK)
    query = (
        f"WorkflowId = {quote(gate)} AND WorkflowType = {quote(WorkflowName.GATE.value)} "
        f"AND (ExecutionStatus = 'Running' OR CloseTime >= {quote(since)})"
    )
    runs = sorted([wf async for wf in client.list_workflows(query)], key=lambda w: w.start_time)
    return runs[:GATE_RUNS_READ]


def _waiting(config: dict[str, Any]) -> str:
    if config.get("debounce"):
        period = human_duration(config["debounce"]["period"])
        return f"in the debounce: a run starts after {period} without another event"
    if config.get("batch"):
        batch = config["batch"]
        return (
            f"in an open batch: it starts at {batch['max_size']} events or after "
            f"{human_duration(batch['timeout'])}"
        )
    return "queued in the gate (throttle): it starts when the throttle allows"


def _resolve(reads: Sequence[GateRun], event_id: str) -> tuple[Outcome, str, str | None]:
    """(outcome, detail, run workflow id) of one event in the gate runs read."""
    config = next((r.config for r in reads if r.config), {})
    seen = next((k for k, r in enumerate(reads) if event_id in r.admissions), None)
    if seen is None:
        return Outcome.GATED, "the gate's history does not show the event (yet)", None
    admission = reads[seen].admissions[event_id]
    if admission is Admission.RATE_LIMITED:
        rate = config.get("rate_limit") or {}
        return (
            Outcome.RATE_LIMITED,
            f"rate limited: at most {rate.get('limit')} run(s) per "
            f"{human_duration(rate.get('period'))} for this key; no run was created",
            None,
        )
    if admission is Admission.DUPLICATE:
        return Outcome.DEDUPLICATED, "deduplicated: the gate had this event id already", None
    after = reads[seen].signals[event_id][0]
    later = [
        (wid, ids)
        for k, r in enumerate(reads[seen:], seen)
        for wid, ids, pos in r.children
        if k > seen or pos > after
    ]
    repeat = len(reads[seen].signals[event_id]) > 1
    note = " (sent again: the gate ignored the repeat)" if repeat else ""
    for wid, ids in later:
        if event_id in ids:
            if config.get("batch"):
                size = f"{len(ids)} event" + ("" if len(ids) == 1 else "s")
                return Outcome.BATCHED, f"added to batch run {wid} ({size}){note}", wid
            return Outcome.RUN_STARTED, f"the gate started run {wid}{note}", wid
    for k, r in enumerate(reads[seen:], seen):
        cancel = r.cancels.get(event_id)
        if cancel is not None and (k > seen or cancel[0] > after):
            return Outcome.CANCELLED, f"cancelled while queued, {cancel[1]}{note}", None
    if config.get("debounce") and later:
        wid, ids = later[0]
        return Outcome.DEBOUNCED, f"debounced into run {wid} (event {ids[-1]}){note}", wid
    if reads[-1].status in (WorkflowExecutionStatus.RUNNING, None):
        return Outcome.WAITING, _waiting(config) + note, None
    if reads[-1].status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
        return Outcome.GATED, f"still in the gate after {len(reads)} of its runs", None
    if config.get("start_timeout"):
        return Outcome.GATED, "dropped by the gate: not started within timeouts.start", None
    return Outcome.GATED, "the gate started no run with this event", None


async def _gated(
    client: Client, route: Route, gate: str, item: EventItem, received: datetime
) -> FunctionFate:
    fate = FunctionFate(route.app_id, route.function_id, Outcome.GATED, "", gate=gate)
    reads: list[GateRun] = []
    outcome, detail, wid = Outcome.GATED, "", None
    for wf in await gate_runs_around(client, gate, received):
        reads.append(await read_gate_run(client, wf))
        outcome, detail, wid = _resolve(reads, item.id)
        if outcome not in (Outcome.GATED, Outcome.WAITING):
            break
    if not reads:
        fate.detail = f"sent to gate {gate}, which has no history left (past retention?)"
        return fate
    fate.outcome = outcome
    fate.detail = f"sent to gate {gate}: {detail}"
    if wid is not None:
        run = await describe_run(client, wid)
        fate.runs = [] if run is None else [run]
    return fate


# --- every function ---------------------------------------------------------------------


async def fates(
    client: Client,
    routes: Sequence[Route],
    item: EventItem,
    event: dict[str, Any],
    received: datetime,
) -> list[FunctionFate]:
    """The fate of the event for each route whose trigger names it."""

    async def one(route: Route) -> FunctionFate:
        rejected = _if_false(route, event)
        if rejected is not None:
            return rejected
        gate = function_gate_id(route, event)
        if gate is not None:
            return await _gated(client, route, gate, item, received)
        return await _direct(client, route, item, event)

    named = [r for r in routes if r.listens_to(item.name)]
    return await map_limited(one, named)
