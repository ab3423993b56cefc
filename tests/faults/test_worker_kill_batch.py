"""SIGKILL the worker of a batching function twice: the batch still runs once, with all 5.

``batch_events={"max_size": 5, "timeout": "5s"}``; the gate and the runs are served by
spawned ``adapter worker`` processes. Two deterministic kill points:

1. while the gate collects: 3 events sent, the gate has handled them (its history ends
   with a completed task, no child started) and holds them in its state (a timer for the
   batch timeout); the worker is killed, the last 2 events are sent with no worker up
   (the gate's history then has 5 signals), and a second worker starts;
2. as the batch run starts: the second worker runs the batch's step, whose body records
   that it started and hangs; the worker is killed there, and a third worker starts.

Then there is one batch run, ``<app>:batched:batch:<first id>``, with the 5 events in
order, completed, and the gate started exactly one child. The step body ran twice: once
in the killed worker (started, never finished) and once more in the third worker, since
activities are delivered at least once; it finished once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import temporalio.converter
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from adapter import Inngest
from adapter._protocol import WorkflowName, batch_run_id
from adapter._temporal.registry import list_registrations
from tests.helpers import (
    children_started,
    eventually,
    history_events,
    list_runs,
    signals_received,
    spawn_adapter,
    temporal_address,
    wait_for_runs,
)

EVENT = "batch/go"
FUNCTION = "batched"

STEPS = """
import os, time
from pathlib import Path
from functions.client import inngest

LOG = Path(os.environ["STEP_LOG"])


def mark(text):
    with LOG.open("a") as f:
        f.write(f"{text} {os.getpid()}\\n")


@inngest.create_function(
    id="batched", event="batch/go", batch_events={"max_size": 5, "timeout": "5s"}
)
def batched(ctx):
    ids = [e.id for e in ctx.events]

    def collect():
        mark("body-start " + ",".join(ids))
        if os.environ.get("HANG_BODY") == "1":
            time.sleep(600)  # this worker is killed here
        mark("body-end " + ",".join(ids))
        return ids

    return ctx.step.run("collect", collect)
"""


def functions_folder(tmp_path: Path, app_id: str) -> None:
    """A functions folder with the batching function (its step body logs to STEP_LOG)."""
    pkg = tmp_path / "functions"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import timedelta
            from adapter import Backoff, Inngest
            inngest = Inngest(app_id={app_id!r}, heartbeat_timeout=timedelta(seconds=3),
                              backoff=Backoff(initial="1s"))
            """
        )
    )
    (pkg / "steps.py").write_text(STEPS)


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The processes a test spawns; killed at teardown, which runs even after a timeout."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


class Workers:
    """The ``adapter worker`` processes of the test, kept in ``procs`` (see ``spawned``)."""

    def __init__(
        self, tmp_path: Path, env: dict[str, str], procs: list[subprocess.Popen[bytes]]
    ) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.procs = procs

    def start(self, **extra: str) -> subprocess.Popen[bytes]:
        """Start one more worker; its output goes to worker-<n>.log in tmp_path."""
        log = (self.tmp_path / f"worker-{len(self.procs) + 1}.log").open("wb")
        proc = spawn_adapter(
            "worker",
            "--no-schedules",
            cwd=self.tmp_path,
            env={**self.env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()  # the child has its own descriptor
        self.procs.append(proc)
        return proc

    @staticmethod
    def sigkill(proc: subprocess.Popen[bytes]) -> None:
        """Kill it with SIGKILL (kill -9) and reap it."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        """SIGTERM the workers still running (SIGKILL if one does not stop in 30s)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                self.sigkill(proc)


def log_lines(log: Path) -> list[tuple[str, str, str]]:
    """The step log as (what, event ids, pid) triples."""
    if not log.exists():
        return []
    return [
        (what, ids, pid)
        for what, ids, pid in (line.split() for line in log.read_text().splitlines())
    ]


async def run_events(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The ids of the events a run was started with (its input, from its history)."""
    first = (await history_events(handle))[0]
    payloads = first.workflow_execution_started_event_attributes.input.payloads
    [inp] = temporalio.converter.default().payload_converter.from_payloads(payloads[:1])
    return [e["id"] for e in inp["events"]]


# Commands a workflow task records after its WORKFLOW_TASK_COMPLETED.
TASK_COMMANDS = frozenset(
    {
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_MARKER_RECORDED,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    }
)


async def holds(handle: WorkflowHandle[Any, Any], count: int) -> bool:
    """Whether the gate has handled exactly ``count`` events and waits for more, holding them.

    Its last workflow task completed after the last signal, and recorded nothing after
    but the batch timeout's timer (and markers, search attributes): no child started.
    """
    types = [e.event_type for e in await history_events(handle)]
    signals = [
        i for i, t in enumerate(types) if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    tasks = [i for i, t in enumerate(types) if t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    if len(signals) != count or not tasks or tasks[-1] < signals[-1]:
        return False
    after = types[tasks[-1] + 1 :]
    return EventType.EVENT_TYPE_TIMER_STARTED in after and set(after) <= TASK_COMMANDS


async def gate_timeline(handle: WorkflowHandle[Any, Any]) -> str:
    """The gate's history with the time of each event, from its start (for a failure)."""
    events = await history_events(handle)
    start = events[0].event_time.ToDatetime()
    return "; ".join(
        f"{(e.event_time.ToDatetime() - start).total_seconds():.2f}s "
        f"{EventType.Name(e.event_type).removeprefix('EVENT_TYPE_')}"
        for e in events
    )


async def gate_summary(handle: WorkflowHandle[Any, Any]) -> str:
    """The gate's history in short: signals (S), tasks (T), timeouts, children (C)."""
    short = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "S",
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "T",
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "timeout",
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: "failed",
        EventType.EVENT_TYPE_TIMER_FIRED: "fired",
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "C",
    }
    return " ".join(
        short[e.event_type] for e in await history_events(handle) if e.event_type in short
    )


@pytest.mark.timeout(150)
async def test_sigkill_worker_mid_batch_runs_the_batch_once_with_all_events(
    client: Client, tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    app_id = f"faults-batch-{uuid.uuid4().hex[:8]}"
    functions_folder(tmp_path, app_id)
    log = tmp_path / "steps.log"
    env = {"TEMPORAL_ADDRESS": temporal_address(client), "STEP_LOG": str(log)}
    sender = Inngest(app_id=f"{app_id}-sender", temporal_client=client)
    ids = [f"b{i}" for i in range(1, 6)]
    workers = Workers(tmp_path, env, spawned)
    began = time.monotonic()
    try:
        first = workers.start(HANG_BODY="1")

        async def registered() -> bool:
            return any(e["app_id"] == app_id for e in await list_registrations(client))

        await eventually(registered, timeout=60, message=f"the worker registered {app_id}")

        # 1. The gate collects: 3 events in, handled, held in its state; kill the worker.
        await sender.send(
            [{"name": EVENT, "id": i, "data": {"n": n}} for n, i in enumerate(ids[:3])]
        )
        gates = await wait_for_runs(
            client, f"WorkflowType = '{WorkflowName.GATE.value}' AND TaskQueue = '{app_id}'", 1
        )
        gate = client.get_workflow_handle(gates[0].id)

        await eventually(lambda: holds(gate, 3), message="the gate handled the first 3 events")
        workers.sigkill(first)
        killed_collecting = time.monotonic()
        # No worker is up now: the gate cannot have moved on after this check.
        assert await children_started(gate) == 0, (
            "the batch started before the worker was killed: " + await gate_timeline(gate)
        )
        await sender.send(
            [{"name": EVENT, "id": i, "data": {"n": n + 3}} for n, i in enumerate(ids[3:])]
        )

        async def received_five() -> bool:
            return await signals_received(gate) == 5

        await eventually(received_five, message="the gate received all 5 events")
        assert await children_started(gate) == 0
        before_second = await gate_summary(gate)

        # 2. A second worker starts the batch run; kill it inside the step body.
        second = workers.start(HANG_BODY="1")
        await eventually(
            lambda: any(what == "body-start" for what, _, _ in log_lines(log)),
            timeout=60,
            message="the batch's step body started in the second worker",
        )
        workers.sigkill(second)
        killed_running = time.monotonic()
        assert await children_started(gate) == 1

        # 3. A third worker finishes the run.
        third = workers.start()
        run = client.get_workflow_handle(batch_run_id(app_id, FUNCTION, ids[0]))
        result = await asyncio.wait_for(run.result(), 90)
        finished = time.monotonic()
        runs = await list_runs(client, f"WorkflowType = '{FUNCTION}' AND TaskQueue = '{app_id}'")
        inputs = await run_events(run)
        gate_after = await gate_summary(gate)
        children = await children_started(gate)
        status = (await run.describe()).status
    finally:
        workers.stop_all()
    lines = log_lines(log)
    starts = [(batch, pid) for what, batch, pid in lines if what == "body-start"]
    ends = [(batch, pid) for what, batch, pid in lines if what == "body-end"]
    print(
        f"\ngate before the second worker: {before_second}; after: {gate_after}"
        f"\nbatch runs: {len(runs)} ({[r.id for r in runs]}), children started by the gate: "
        f"{children}; run's events {inputs}; result {result}"
        f"\nstep body started {len(starts)}x (pids {[pid for _, pid in starts]}), finished "
        f"{len(ends)}x (pids {[pid for _, pid in ends]}); worker pids: first {first.pid}, "
        f"second {second.pid}, third {third.pid}"
        f"\nkilled while collecting at {killed_collecting - began:.1f}s, inside the body at "
        f"{killed_running - began:.1f}s; batch done {finished - killed_running:.1f}s after the "
        f"second kill"
    )
    assert status == WorkflowExecutionStatus.COMPLETED
    assert [r.id for r in runs] == [batch_run_id(app_id, FUNCTION, ids[0])]
    assert children == 1
    assert inputs == ids
    assert result == ids
    # At least once: the body started in the killed second worker and again in the third;
    # it finished once, in the third. Every execution saw the same 5 events.
    assert starts == [(",".join(ids), str(second.pid)), (",".join(ids), str(third.pid))]
    assert ends == [(",".join(ids), str(third.pid))]
