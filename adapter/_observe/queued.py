"""Queued runs: listed (``adapter runs --status queued``) and cancelled (``adapter runs cancel``).

A run is *queued* while nothing of it has run yet:

* its event waits in the function's gate (throttle queue, open debounce, open batch):
  there is no run workflow yet. Each running gate (visibility: workflow type
  ``adapter.gate``) answers a query with the events it holds (``__adapter_gate_queue``);
  each row carries the workflow id the run will get.
* its run workflow waits for its first concurrency slot: the run exists (status
  Running) and answers ``__adapter_queued`` with true. Only functions whose
  registration has a ``concurrency`` rule are asked.

Cancelling a queued event signals its gate to drop it (the gate records who did);
cancelling a run that exists is Temporal's cancellation request, as for any running run.
Both listings read at most ``GATES_READ`` gates and ``RUNS_READ`` runs. A query waits at
most ``QUERY_TIMEOUT``: a workflow whose workers are all stopped cannot answer, and one
such gate must not hold up the listing (Temporal keeps the query until its deadline); the
gates that did not answer are reported, not skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.routes import RouteTable
from adapter._observe.decode import iso
from adapter._observe.errors import ObserveError
from adapter._observe.event_scan import map_limited
from adapter._observe.listing import COORDINATION_TYPES, quote
from adapter._protocol import CancelQueued, Query, Signal, WorkflowName
from adapter._temporal.registry import list_registrations
from adapter._temporal.search_attributes import EVENT_ID, FUNCTION_ID

GATES_READ = 500  # running gates asked at most per listing
RUNS_READ = 500  # running runs of concurrency-limited functions asked at most
QUEUE_ROWS = 1_000  # held events one gate lists at most
QUERY_TIMEOUT = timedelta(seconds=3)  # a live worker answers in milliseconds


@dataclass
class QueuedRun:
    """One queued run: an event a gate holds, or a run waiting for its first slot."""

    workflow_id: str  # the run's (or, in a gate, the one it will get)
    function: str
    app_id: str
    event_id: str
    event_name: str | None
    stage: str  # throttle | debounce | batch | starting | concurrency
    gate: str | None  # the gate's workflow id (None: waiting for a concurrency slot)
    queued_at: datetime | None

    def waited(self, now: datetime | None = None) -> float:
        """Seconds queued so far."""
        if self.queued_at is None:
            return 0.0
        return max(((now or datetime.now(UTC)) - self.queued_at).total_seconds(), 0.0)

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "status": "queued",
            "workflow_id": self.workflow_id,
            "function": self.function,
            "app_id": self.app_id,
            "event_id": self.event_id,
            "event_name": self.event_name,
            "queue": self.stage,
            "gate": self.gate,
            "queued_at": iso(self.queued_at),
            "waited_s": round(self.waited(now), 3),
        }


def _ms(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


def _scope(kind: str, *, app: str | None, function: str | None) -> str:
    clauses = [f"WorkflowType = {quote(kind)}", "ExecutionStatus = 'Running'"]
    if app:
        prefix = f"{app}:{function}:gate:" if function and kind == WorkflowName.GATE else f"{app}:"
        clauses.append(f"WorkflowId STARTS_WITH {quote(prefix)}")
    return " AND ".join(clauses)


async def _ask(
    handle: WorkflowHandle[Any, Any], query: str, args: list[Any], *, silent: list[str]
) -> Any:
    """The workflow's answer to ``query``, or None.

    None when it cannot answer: an older workflow without the query, or one that just
    ended; and, with its id added to ``silent``, one that did not answer within
    ``QUERY_TIMEOUT`` (no worker polls its task queue).
    """
    try:
        return await handle.query(query, args=args, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            silent.append(handle.id)
    except Exception:
        pass
    return None


async def _gate_rows(
    client: Client, *, app: str | None, function: str | None, silent: list[str]
) -> list[QueuedRun]:
    """The events the running gates hold; gates that did not answer in time go to ``silent``."""
    query = _scope(WorkflowName.GATE.value, app=app, function=function)
    gates = [wf.id async for wf in client.list_workflows(query, limit=GATES_READ)]

    async def held(gate: str) -> list[QueuedRun]:
        handle = client.get_workflow_handle(gate)
        answer = await _ask(handle, Query.GATE_QUEUE, [QUEUE_ROWS], silent=silent)
        if not isinstance(answer, dict):
            return []
        fn, app_id = str(answer.get("function_id") or ""), str(answer.get("app_id") or "")
        if function and fn != function:
            return []
        return [
            QueuedRun(
                workflow_id=str(e["run_id"]),
                function=fn,
                app_id=app_id,
                event_id=str(e["event_id"]),
                event_name=e.get("event_name"),
                stage=str(e.get("stage")),
                gate=gate,
                queued_at=_ms(e.get("since_ms")),
            )
            for e in answer.get("entries") or []
        ]

    return [row for rows in await map_limited(held, gates) for row in rows]


async def _slot_rows(
    client: Client, *, app: str | None, function: str | None, silent: list[str]
) -> list[QueuedRun]:
    """Runs waiting for their first concurrency slot; runs that did not answer go to ``silent``."""
    table = RouteTable.of(await list_registrations(client))
    limited = sorted(
        {
            r.function_id
            for r in table.routes
            if r.run_opts.get("concurrency")
            and (app is None or r.app_id == app)
            and (function is None or r.function_id == function)
        }
    )
    if not limited:
        return []
    types = ", ".join(quote(f) for f in limited)
    query = f"WorkflowType IN ({types}) AND ExecutionStatus = 'Running'"
    if app:
        query += f" AND WorkflowId STARTS_WITH {quote(app + ':')}"
    runs = [wf async for wf in client.list_workflows(query, limit=RUNS_READ)]

    async def waiting(index: int) -> bool:
        wf = runs[index]
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        return bool(await _ask(handle, Query.RUN_QUEUED, [], silent=silent))

    flags = await map_limited(waiting, range(len(runs)))
    out = []
    for wf, flag in zip(runs, flags, strict=True):
        if not flag:
            continue
        attrs = wf.typed_search_attributes
        out.append(
            QueuedRun(
                workflow_id=wf.id,
                function=attrs.get(FUNCTION_ID) or wf.workflow_type,
                app_id=wf.id.split(":", 1)[0],
                event_id=attrs.get(EVENT_ID) or wf.id.rsplit(":", 1)[-1],
                event_name=None,
                stage="concurrency",
                gate=None,
                queued_at=wf.start_time,
            )
        )
    return out


async def list_queued(
    client: Client,
    *,
    app: str | None = None,
    function: str | None = None,
    limit: int | None = None,
    silent: list[str] | None = None,
) -> list[QueuedRun]:
    """The queued runs of the namespace (or of one app / function), longest queued first.

    ``silent``, when given, receives the ids of the gates and runs that did not answer
    within ``QUERY_TIMEOUT`` (their workers are stopped): what they hold is not listed.
    """
    unanswered = silent if silent is not None else []
    rows = await _gate_rows(client, app=app, function=function, silent=unanswered)
    rows += await _slot_rows(client, app=app, function=function, silent=unanswered)
    if app:
        rows = [r for r in rows if r.app_id == app]
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (r.queued_at or far, r.workflow_id, r.event_id))
    return rows if limit is None else rows[:limit]


async def cancel_target(
    client: Client, target: str, *, event: bool = False, reason: str = ""
) -> list[dict[str, Any]]:
    """Cancel one run, queued or running; returns what was cancelled.

    ``target`` is a run's workflow id (for a queued event, the id its run would get:
    every held event with that id is dropped), or with ``event`` an event id (dropped
    from the gates that hold it).
    """
    if not event:
        running = await _running_run(client, target)
        if running is not None:
            await client.get_workflow_handle(target).cancel()
            return [{"workflow_id": target, "function": running, "cancelled": "running"}]
    silent: list[str] = []
    rows = [
        r
        for r in await _gate_rows(client, app=None, function=None, silent=silent)
        if (r.event_id if event else r.workflow_id) == target
    ]
    if not rows:
        what = "event" if event else "run"
        raise ObserveError(
            f"no running or queued {what} {target!r} in namespace {client.namespace!r}"
            + silent_note(silent, sep="; ")
        )
    by_gate: dict[str, list[str]] = {}
    for row in rows:
        by_gate.setdefault(str(row.gate), []).append(row.event_id)
    for gate, ids in sorted(by_gate.items()):
        request: CancelQueued = {"event_ids": ids, "reason": reason or "adapter runs cancel"}
        try:
            await client.get_workflow_handle(gate).signal(Signal.CANCEL_QUEUED, request)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            raise ObserveError(
                f"gate {gate} has ended meanwhile: {', '.join(ids)} left it (started or dropped)"
            ) from None
    return [
        {
            "workflow_id": r.workflow_id,
            "function": r.function,
            "event_id": r.event_id,
            "gate": r.gate,
            "cancelled": "queued",
        }
        for r in rows
    ]


async def _running_run(client: Client, workflow_id: str) -> str | None:
    """The function of a running function run with this id, or None."""
    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if desc.status != WorkflowExecutionStatus.RUNNING or desc.workflow_type in COORDINATION_TYPES:
        return None
    return desc.workflow_type


def silent_note(silent: list[str], *, sep: str = "", shown: int = 5) -> str:
    """What to say of gates and runs that did not answer (empty when all did)."""
    if not silent:
        return ""
    ids = ", ".join(sorted(silent)[:shown]) + (" ..." if len(silent) > shown else "")
    seconds = QUERY_TIMEOUT.total_seconds()
    return (
        f"{sep}{len(silent)} gate(s) or run(s) did not answer within {seconds:g} s "
        f"(is a worker of their app running?): {ids}"
    )
