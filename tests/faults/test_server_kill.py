"""SIGKILL the dev server (SQLite persistence) in the middle of a burst of 500 sends.

A worker in this process serves one function with one step; the step body records, per
event id, which workflow run executed it and on which activity attempt. 500 single-event
sends (``BURST_CONCURRENCY`` at a time, ``send_retry`` of ``SEND_RETRY``) run while the
server is killed with SIGKILL once ``KILL_AFTER`` sends have returned; it stays down until
``DOWN_UNTIL_RAISED`` sends have given up, then starts again on the same port and database
file while the burst goes on. Then:

* every event whose ``send`` returned has exactly one run, completed (none lost, none
  started twice), and its step body ran in that run only;
* a ``send`` that raised ``SendError`` is allowed (the server was down longer than the
  retry); resending those with the same ids afterwards must not double anything;
* a step body that ran twice in the same run (its activity redelivered because its
  completion was lost in the crash: at-least-once) is counted apart from a run started
  twice.

The figures (sends returned and raised, events lost and duplicated, time to recover) are
printed before anything is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from adapter import Backoff, Inngest, SendError
from adapter._protocol import run_id
from adapter._temporal.connect import connect
from adapter._temporal.devserver import DevServer, free_port
from adapter._temporal.search_attributes import register_search_attributes
from adapter.worker import Worker, WorkerSettings
from tests.helpers import eventually, history_events, list_runs, port_open

APP_ID = "faults-server-kill"
FUNCTION = "counted"
EVENT = "kill9/go"
BURST = 500
BURST_CONCURRENCY = 20
KILL_AFTER = 150  # sends returned before the SIGKILL
SEND_RETRY = timedelta(seconds=2)
DOWN_UNTIL_RAISED = 20  # the server stays down until this many sends have raised SendError
RECOVER_TIMEOUT = 100.0  # seconds for every accepted event's run to complete after the restart


def sigkill(server: DevServer) -> None:
    """Kill the server process with SIGKILL (no shutdown of any kind) and reap it.

    DevServer only stops gracefully (SIGTERM first), so this reaches for its process.
    """
    proc = server._proc
    assert proc is not None, "the dev server was not started"
    assert proc.poll() is None, "the dev server is not running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(15)
    server._proc = None


@pytest.fixture
def servers() -> Iterator[list[DevServer]]:
    """The dev servers a test starts; stopped at teardown, which runs even after a timeout."""
    started: list[DevServer] = []
    yield started
    for server in started:
        server.stop()


async def start_server(tmp_path: Path, servers: list[DevServer], attempts: int = 3) -> DevServer:
    """A dev server persisting to ``tmp_path``, on free ports (others may take one meanwhile)."""
    for attempt in range(1, attempts + 1):
        server = DevServer(  # SQLite in WAL mode (devserver.py): durable against kill -9
            db_file=tmp_path / "temporal.db",
            port=free_port(),
            ui_port=free_port(),
            log_file=tmp_path / "server.log",
        )
        servers.append(server)
        try:
            await server.start()
        except RuntimeError:
            if attempt == attempts:
                raise
            continue
        return server
    raise AssertionError("unreachable")


def counted_app(client: Client) -> tuple[Inngest, dict[str, list[tuple[str, int]]]]:
    """The app, and per event id each step body execution: (workflow run id, attempt)."""
    app = Inngest(
        app_id=APP_ID,
        temporal_client=client,
        send_retry=SEND_RETRY,
        backoff=Backoff(initial=timedelta(seconds=1), coefficient=1.0),
        heartbeat_timeout=timedelta(seconds=10),
    )
    executions: dict[str, list[tuple[str, int]]] = defaultdict(list)

    @app.create_function(id=FUNCTION, event=EVENT)
    async def counted(ctx: Any) -> Any:
        async def body() -> str:
            info = activity.info()
            executions[ctx.event.id].append((str(info.workflow_run_id), info.attempt))
            return str(ctx.event.id)

        return await ctx.step.run("count", body)

    return app, executions


async def runs_by_event(client: Client) -> dict[str, list[WorkflowExecution]]:
    """Every execution of the function (visibility), grouped by the event id in its id."""
    grouped: dict[str, list[WorkflowExecution]] = defaultdict(list)
    for wf in await list_runs(client, f"WorkflowType = '{FUNCTION}'"):
        grouped[wf.id.removeprefix(f"{APP_ID}:{FUNCTION}:")].append(wf)
    return grouped


async def statuses(client: Client, event_ids: list[str]) -> dict[str, str]:
    """Each event's run status, read from the run itself (describe: not visibility)."""
    limit = asyncio.Semaphore(BURST_CONCURRENCY)

    async def one(event_id: str) -> str:
        async with limit:
            try:
                desc = await client.get_workflow_handle(
                    run_id(APP_ID, FUNCTION, event_id)
                ).describe()
            except RPCError as err:
                return f"error {err.status.name if err.status else err}"
            return desc.status.name if desc.status else "unknown"

    found = await asyncio.gather(*(one(e) for e in event_ids))
    return dict(zip(event_ids, found, strict=True))


class Completion:
    """Polls the runs of some events until each has completed (describe, not visibility).

    Describing hundreds of runs every second would load the server under test; until
    visibility counts enough completed runs, one count query stands for the describes.
    """

    def __init__(self, client: Client, event_ids: list[str]) -> None:
        self.client = client
        self.expected = len(event_ids)
        self.pending = list(event_ids)
        self.last: dict[str, str] = {}

    async def all_done(self) -> bool:
        """Whether every run has completed (describing them once visibility counts enough)."""
        query = f"WorkflowType = '{FUNCTION}' AND ExecutionStatus = 'Completed'"
        if (await self.client.count_workflows(query)).count < self.expected:
            return False
        return await self.check()

    async def check(self) -> bool:
        """Describe the runs not seen completed yet; whether none is left."""
        self.last = await statuses(self.client, self.pending)
        self.pending = [e for e, status in self.last.items() if status != "COMPLETED"]
        return not self.pending


async def visibility_agrees(client: Client, ids: list[str], pending: list[str]) -> bool:
    """Whether visibility lists as completed every run that describe says completed."""
    done = await visibility_completed(client, ids)
    return done.issuperset(set(ids) - set(pending))


async def history_summary(client: Client, event_id: str) -> str:
    """The event types of a run's history, in order (for a run that did not complete)."""
    handle = client.get_workflow_handle(run_id(APP_ID, FUNCTION, event_id))
    try:
        events = await history_events(handle)
    except RPCError as err:
        return f"{event_id}: {err}"
    return f"{event_id}: " + ", ".join(
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events
    )


async def visibility_completed(client: Client, event_ids: list[str]) -> set[str]:
    """The event ids whose run visibility lists as completed."""
    grouped = await runs_by_event(client)
    return {
        e
        for e in event_ids
        if any(wf.status == WorkflowExecutionStatus.COMPLETED for wf in grouped.get(e, []))
    }


@pytest.mark.timeout(180)
async def test_dev_server_sigkill_mid_burst_loses_and_doubles_nothing(
    tmp_path: Path, servers: list[DevServer]
) -> None:
    server = await start_server(tmp_path, servers)
    try:
        client = await connect(server.address)
        await register_search_attributes(client)
        app, executions = counted_app(client)
        ids = [f"e{i:03d}" for i in range(BURST)]
        returned: list[str] = []
        raised: list[str] = []
        errors: list[str] = []  # anything but SendError: a failure of the test
        marks: dict[str, float] = {}
        returned_after_restart: list[float] = []
        gave_up_after: list[float] = []  # how long each send that raised had been trying
        limit = asyncio.Semaphore(BURST_CONCURRENCY)

        async def send(i: int) -> None:
            async with limit:
                began = time.monotonic()
                try:
                    got = await app.send({"name": EVENT, "id": ids[i], "data": {"i": i}})
                except SendError:
                    raised.append(ids[i])
                    gave_up_after.append(time.monotonic() - began)
                    return
                except Exception as exc:
                    errors.append(f"{ids[i]}: {type(exc).__name__}: {exc}")
                    return
                assert got == [ids[i]]
                returned.append(ids[i])
                if "restarted" in marks:
                    returned_after_restart.append(time.monotonic())

        async def chaos() -> None:
            await eventually(
                lambda: len(returned) >= KILL_AFTER,
                timeout=60,
                message=f"{KILL_AFTER} sends returned",
            )
            marks["killed"] = time.monotonic()
            marks["returned_at_kill"] = len(returned)
            sigkill(server)
            await eventually(
                lambda: not port_open(server.ip, server.port),
                message="the killed server's port is closed",
            )
            # Down until some sends have given up: their retry is shorter than the outage.
            await eventually(
                lambda: len(raised) >= DOWN_UNTIL_RAISED,
                timeout=30,
                message=f"{DOWN_UNTIL_RAISED} sends raised SendError while the server was down",
            )
            await server.start()
            marks["restarted"] = time.monotonic()

        async with Worker(client, app, WorkerSettings(graceful_shutdown=timedelta(seconds=2))):
            started = time.monotonic()
            await asyncio.wait_for(
                asyncio.gather(chaos(), *(send(i) for i in range(BURST))), timeout=75
            )
            sent_in = time.monotonic() - started
            accepted = list(returned)
            progress = Completion(client, accepted)
            # The figures are printed even when some run never completes.
            with contextlib.suppress(AssertionError):
                await eventually(
                    progress.all_done,
                    timeout=RECOVER_TIMEOUT,
                    interval=1.0,
                    message="every returned event's run completed",
                )
            recovered_at = time.monotonic()
            await progress.check()
            lost = sorted(progress.pending)
            lost_states = Counter(progress.last[e] for e in lost)
            stuck = await history_summary(client, lost[0]) if lost else ""
            # How many of the sends that raised had been accepted anyway (before the kill).
            raised_states = await statuses(client, raised)
            raised_but_ran = sorted(
                e for e, st in raised_states.items() if not st.startswith("error")
            )
            app.send_retry = timedelta(seconds=30)
            for event_id in raised:
                await app.send({"name": EVENT, "id": event_id, "data": {"i": ids.index(event_id)}})
            everything = Completion(client, ids)
            with contextlib.suppress(AssertionError):
                await eventually(
                    everything.all_done,
                    timeout=20 if lost else 45,
                    interval=0.5,
                    message="every event's run completed after the resend",
                )
            await everything.check()
            # Visibility catches up with the runs (it is what list/count queries read).
            with contextlib.suppress(AssertionError):
                await eventually(
                    lambda: visibility_agrees(client, ids, everything.pending),
                    timeout=15,
                    interval=0.5,
                    message="visibility lists every completed run as completed",
                )
            final = await runs_by_event(client)
        # Per event: the runs started (visibility), the runs its step body ran in, and the
        # executions of the body within one run (redelivered activities).
        started_twice = sorted(e for e in ids if len(final.get(e, [])) > 1)
        body_runs = {e: {r for r, _ in executions.get(e, [])} for e in ids}
        body_in_two_runs = sorted(e for e in ids if len(body_runs[e]) > 1)
        redelivered = sorted(
            e
            for e in ids
            if any(n > 1 for n in Counter(r for r, _ in executions.get(e, [])).values())
        )
        never_ran = sorted(e for e in ids if not executions.get(e))
        seen_done = await visibility_completed(client, ids)
        stale = sorted(set(ids) - set(everything.pending) - seen_done)
        first_after = min(returned_after_restart, default=float("nan"))
        recovered = (
            f"{recovered_at - marks['killed']:.1f}s after the kill"
            if not lost
            else f"never (gave up {recovered_at - marks['killed']:.1f}s after the kill)"
        )
        print(
            f"\nserver SIGKILLed after {marks['returned_at_kill']} of {BURST} sends returned; "
            f"restarted in {marks['restarted'] - marks['killed']:.1f}s; burst took {sent_in:.1f}s"
            f"\nsends returned: {len(returned)}; sends raised SendError: {len(raised)} "
            f"({len(raised_but_ran)} of them had been accepted anyway), after trying "
            f"{min(gave_up_after, default=0):.1f}..{max(gave_up_after, default=0):.1f}s "
            f"(send_retry {SEND_RETRY.total_seconds():g}s); other errors: {errors}"
            f"\nevents lost (returned, run not completed): {len(lost)} {lost[:10]} "
            f"states {dict(lost_states)}; not completed after the resend: "
            f"{len(everything.pending)}"
            f"\nevents duplicated (a run started twice): {len(started_twice)} {started_twice[:10]}; "
            f"step body in two runs: {len(body_in_two_runs)}; step body re-run in the same run "
            f"(activity redelivered, at-least-once): {len(redelivered)} {redelivered[:10]}; "
            f"step body never ran: {len(never_ran)}"
            f"\nvisibility: {len(stale)} completed runs not listed as completed {stale[:10]}"
            f"\ntime to recover: first send returned {first_after - marks['killed']:.1f}s after "
            f"the kill; every returned event's run completed {recovered}; "
            f"resent {len(raised)} events that had raised"
        )
        if stuck:
            print(f"first lost run's history: {stuck}")
        assert errors == []
        assert len(returned) + len(raised) == BURST
        assert len(returned) > KILL_AFTER
        assert lost == []
        assert everything.pending == []
        assert started_twice == []
        assert body_in_two_runs == []
        assert never_ran == []
        for event_id in redelivered:  # each re-run is a new attempt of the step's activity
            attempts = [attempt for _, attempt in executions[event_id]]
            assert len(set(attempts)) == len(attempts), (event_id, executions[event_id])
        assert stale == []
        assert sorted(final) == ids
        for event_id in ids:
            [wf] = final[event_id]
            assert wf.id == run_id(APP_ID, FUNCTION, event_id)
            assert wf.status == WorkflowExecutionStatus.COMPLETED
            assert await client.get_workflow_handle(wf.id).result() == event_id
    finally:
        if server._proc is not None:
            server.stop()
