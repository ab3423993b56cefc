"""One event name at a sustained rate for minutes, 2 KB payloads, while runs wait on it.

Every second the sender calls ``send`` with ``--rate`` events of ``bench/tick`` (2 KB
of data each). Every 10 s a wave of ``--wave`` new runs starts and waits on
``bench/tick`` with ``if_exp="async.data.k == event.data.k"`` (a timeout of 10
minutes); the ticks of the next wave's seconds carry the keys of the previous wave,
so each wait is matched by one tick among thousands that match nothing. The figures:

* the accepted rate (events whose ``send`` returned, per second of sending) against
  the offered rate, and ``send``'s own latency (p50 / p95 / max): a busy hub must
  never slow it;
* waits matched (each waiter returns the key it got) out of waits started;
* the hub: failed workflow tasks, continue-as-new count, the largest continue-as-new
  input (the state carried across, under Temporal's 2 MB payload limit), the largest
  single history, and every shard's buffered bytes at the end.

    .venv/bin/python -m bench.hub            # 5 minutes of sending, 20 events/s
    .venv/bin/python -m bench.hub --quick    # 30 s, for a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from adapter import Context, Inngest
from adapter._protocol import Query, hub_shard_ids
from adapter._temporal.search_attributes import ALL_KEYS
from adapter.worker import Worker, WorkerSettings
from bench.common import dev_server, exit_now, load_average, log

NAME = "bench/tick"
PAYLOAD = "x" * 2000
WAVE_EVERY_S = 10


def define_app(client: Client) -> Inngest:
    """The waiting function: one wait on ``bench/tick`` for its own key."""
    app = Inngest(app_id=f"bench-hub-{uuid.uuid4().hex[:8]}", temporal_client=client)

    @app.create_function(id="waiter", event="bench/wait")
    async def waiter(ctx: Context) -> Any:
        got = await ctx.step.wait_for_event(
            "tick", event=NAME, timeout="10m", if_exp="async.data.k == event.data.k"
        )
        return None if got is None else got.data["k"]

    return app


async def chain(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    """Every run's history of one workflow id, oldest first (following continue-as-new)."""
    runs: list[list[HistoryEvent]] = []
    run_id: str | None = None
    async for wf in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        run_id = wf.run_id  # newest first; the chain is walked from the oldest
    while run_id:
        history = list(
            (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events
        )
        runs.append(history)
        last = history[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return runs


async def hub_figures(client: Client) -> dict[str, Any]:
    """Failures, continues, the largest carried state and history, over every shard."""
    failed: list[str] = []
    continued, largest_input, largest_history = 0, 0, 0
    buffered = []
    for shard in hub_shard_ids(NAME):
        for history in await chain(client, shard):
            largest_history = max(largest_history, sum(e.ByteSize() for e in history))
            for e in history:
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    cause = e.workflow_task_failed_event_attributes.cause
                    failed.append(WorkflowTaskFailedCause.Name(cause))
                elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                    continued += 1
                    payloads = e.workflow_execution_continued_as_new_event_attributes.input
                    largest_input = max(largest_input, sum(p.ByteSize() for p in payloads.payloads))
        stats = await client.get_workflow_handle(shard).query(Query.HUB_STATS)
        buffered.append(stats)
    return {
        "failed": failed,
        "continued": continued,
        "largest_input": largest_input,
        "largest_history": largest_history,
        "stats": buffered,
    }


async def bench(args: argparse.Namespace) -> None:
    """Send for ``args.seconds`` at ``args.rate`` while waves of runs wait; print the table."""
    log(f"load average before: {load_average()}")
    async with dev_server(ALL_KEYS) as env:
        client = env.client
        app = define_app(client)
        async with Worker(client, app, WorkerSettings()):
            send_ms: list[float] = []
            accepted = 0
            waiters: list[str] = []
            pending: list[str] = []  # keys of the last wave, matched during the next
            schedule: list[list[str]] = []  # those keys, spread over the wave's seconds
            started = time.monotonic()
            second = 0
            while second < args.seconds:
                if second % WAVE_EVERY_S == 0:
                    keys = [f"w{second}-{i}" for i in range(args.wave)]
                    await app.send(
                        [{"name": "bench/wait", "id": k, "data": {"k": k}} for k in keys]
                    )
                    matches, pending = pending, keys
                    waiters += keys
                    per_second = -(-len(matches) // WAVE_EVERY_S) if matches else 0
                    schedule = (
                        [matches[i : i + per_second] for i in range(0, len(matches), per_second)]
                        if per_second
                        else []
                    )
                batch_keys = schedule.pop(0) if schedule else []
                events = [{"name": NAME, "data": {"k": k, "pad": PAYLOAD}} for k in batch_keys] + [
                    {"name": NAME, "data": {"k": f"none-{second}-{i}", "pad": PAYLOAD}}
                    for i in range(args.rate - len(batch_keys))
                ]
                t0 = time.perf_counter()
                await app.send(events)
                send_ms.append((time.perf_counter() - t0) * 1000)
                accepted += len(events)
                second += 1
                await asyncio.sleep(max(0.0, started + second - time.monotonic()))
            sending_s = time.monotonic() - started
            # The last wave's matches, then every waiter's result.
            await app.send([{"name": NAME, "data": {"k": k, "pad": PAYLOAD}} for k in pending])
            results = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        client.get_workflow_handle(f"{app.app_id}:waiter:{k}").result()
                        for k in waiters
                    )
                ),
                timeout=900,
            )
            matched = sum(r == k for r, k in zip(results, waiters, strict=True))
            hub = await hub_figures(client)
    log(f"load average after: {load_average()}")
    ordered = sorted(send_ms)
    offered = args.rate
    print(
        "| sustained `bench/tick`, 2 KB | seconds | offered ev/s | accepted ev/s "
        "| send p50 / p95 / max ms | waits matched | failed hub tasks | continued as new "
        "| largest CaN input | largest history |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    print(
        f"| adapter, `send` every 1 s | {sending_s:.0f} | {offered} | {accepted / sending_s:.1f} "
        f"| {statistics.median(ordered):.0f} / {ordered[int(0.95 * (len(ordered) - 1))]:.0f} "
        f"/ {ordered[-1]:.0f} | {matched} / {len(waiters)} | {len(hub['failed'])} "
        f"| {hub['continued']} | {hub['largest_input']:,} B | {hub['largest_history']:,} B |"
    )
    print()
    print("Shards at the end (HUB_STATS):", *hub["stats"], sep="\n  ")
    if hub["failed"]:
        print("Failed hub tasks:", sorted(set(hub["failed"])))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=300, help="how long to send")
    parser.add_argument("--rate", type=int, default=20, help="events per second")
    parser.add_argument("--wave", type=int, default=10, help="runs that start waiting every 10 s")
    parser.add_argument("--quick", action="store_true", help="30 s of sending")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 30
    return args


def main() -> None:
    """Entry point."""
    asyncio.run(bench(parse_args()))


if __name__ == "__main__":
    main()
    exit_now()
