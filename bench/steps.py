"""Per-step latency and history size: this adapter versus plain temporalio.

One process, one Temporal dev server (started with the same fast-dispatch flags
as the tests), two workers on separate task queues with the same settings:

* adapter: ``@app.create_function`` whose handler awaits ``ctx.step.run`` N times (the
  first with a literal id, so the first step is known without calling the handler)
  with a trivial async body; timed from ``app.send`` to the run's result;
* raw: a ``@workflow.defn`` that executes N trivial async activities in sequence;
  timed from ``client.execute_workflow`` to its result.

A third, diagnostic variant (raw+heartbeat, up to 100 steps) is raw with one
``activity.heartbeat()`` per activity and the adapter's 10 s heartbeat timeout, as
the adapter's step activity does, to tell that cost apart from the rest.

Runs rotate between variants (each round starts with the next one) after a
warm-up; the median wall time divided by N is the per-step latency. History size
(events, bytes of the event protos) and the second table's timings (read from the
history's timestamps: where the time goes) are medians over all runs.

    .venv/bin/python -m bench.steps            # full run, a few minutes on 2 cores
    .venv/bin/python -m bench.steps --quick    # fewer repetitions
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker as TemporalWorker

from adapter import Context, Inngest
from adapter.worker import Worker, WorkerSettings
from bench.common import (
    HEARTBEAT_TIMEOUT,
    RAW_RETRY,
    STEP_TIMEOUT,
    dev_server,
    log,
    raw_worker,
)

SIZES = (1, 10, 100, 1000)
TARGET_RATIO = 1.10
RAW_QUEUE = "bench-raw"
RESULT_TIMEOUT = 900.0


# --- raw temporalio -----------------------------------------------------------------


@activity.defn(name="bench-noop")
async def raw_noop(i: int) -> int:
    """A trivial step."""
    return i


@activity.defn(name="bench-noop-heartbeat")
async def raw_noop_heartbeat(i: int) -> int:
    """A trivial step that heartbeats once at its start, as the adapter's step activity does."""
    activity.heartbeat()
    return i


@workflow.defn(name="bench-raw-steps", sandboxed=False)
class RawSteps:
    """N trivial activities, one after the other (optionally heartbeating, for diagnosis)."""

    @workflow.run
    async def run(self, n: int, heartbeat: bool) -> int:
        """Run n trivial activities in sequence (with a heartbeat each if asked)."""
        total = 0
        for i in range(n):
            if heartbeat:
                total += await workflow.execute_activity(
                    raw_noop_heartbeat,
                    i,
                    start_to_close_timeout=STEP_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=RAW_RETRY,
                )
            else:
                total += await workflow.execute_activity(
                    raw_noop, i, start_to_close_timeout=STEP_TIMEOUT, retry_policy=RAW_RETRY
                )
        return total


def raw_steps_worker(client: Client, settings: WorkerSettings) -> TemporalWorker:
    """A worker for RawSteps with the adapter worker's limits."""
    return raw_worker(
        client,
        settings,
        task_queue=RAW_QUEUE,
        workflows=[RawSteps],
        activities=[raw_noop, raw_noop_heartbeat],
    )


# --- the adapter ----------------------------------------------------------------------


async def adapter_noop(i: int) -> int:
    """A trivial step body."""
    return i


def steps_handler(n: int) -> Callable[[Context], Awaitable[int]]:
    """A handler awaiting ``ctx.step.run`` ``n`` times."""

    async def handler(ctx: Context) -> int:
        # The first statement is a step with a literal id, as in the seed's examples, so
        # the orchestrator schedules it at once (adapter/_first_step.py); a handler that
        # starts otherwise pays one in-process handler call (~8 ms) per run.
        total: int = await ctx.step.run("s0", adapter_noop, 0)
        for i in range(1, n):
            total += await ctx.step.run(f"s{i}", adapter_noop, i)
        return int(total)

    return handler


def define_app(client: Client, sizes: Sequence[int]) -> Inngest:
    """An app with one function per size: id ``steps-N``, event ``bench/steps-N``."""
    app = Inngest(app_id=f"bench-{uuid.uuid4().hex[:8]}", temporal_client=client)
    for n in sizes:
        app.create_function(id=f"steps-{n}", event=f"bench/steps-{n}")(steps_handler(n))
    return app


# --- one timed run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Wall time of one run, start to result, and the workflow id to read its history."""

    seconds: float
    workflow_id: str


Runner = Callable[[int], Awaitable[Sample]]


def adapter_runner(client: Client, app: Inngest) -> Runner:
    """Send the event, then wait for the run's result."""

    async def run(n: int) -> Sample:
        fn = app.function(f"steps-{n}")
        start = time.perf_counter()
        [event_id] = await app.send({"name": f"bench/steps-{n}", "data": {}})
        workflow_id = f"{app.app_id}:{fn.id}:{event_id}"
        result = await client.get_workflow_handle(workflow_id).result()
        seconds = time.perf_counter() - start
        check(result, n, workflow_id)
        return Sample(seconds, workflow_id)

    return run


def raw_runner(client: Client, *, heartbeat: bool = False) -> Runner:
    """Start the workflow and wait for its result."""

    async def run(n: int) -> Sample:
        workflow_id = f"bench-raw-{n}-{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        result = await client.execute_workflow(
            RawSteps.run, args=[n, heartbeat], id=workflow_id, task_queue=RAW_QUEUE
        )
        seconds = time.perf_counter() - start
        check(result, n, workflow_id)
        return Sample(seconds, workflow_id)

    return run


def check(result: Any, n: int, workflow_id: str) -> None:
    """Both variants return the sum of their step results, 0 + 1 + ... + (n - 1)."""
    expected = n * (n - 1) // 2
    if result != expected:
        raise AssertionError(f"{workflow_id}: result {result!r}, expected {expected}")


# --- reading histories ------------------------------------------------------------------


def _ms(event: HistoryEvent) -> float:
    return float(event.event_time.ToNanoseconds()) / 1e6


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _of_type(events: Sequence[HistoryEvent], kind: EventType.ValueType) -> list[HistoryEvent]:
    return [e for e in events if e.event_type == kind]


@dataclass(frozen=True)
class HistoryStats:
    """Size of one run's history, and where its time went (from event timestamps).

    Times are means over the run's steps, so that they add up like wall time does
    (cycle = activity + workflow turn). ActivityTaskStarted is only written when the
    activity closes, so activity time runs from Scheduled to Completed: dispatch,
    the activity itself and its completion RPC.
    """

    events: int
    bytes: int
    first_step_ms: float  # WorkflowExecutionStarted -> first ActivityTaskScheduled
    first_wft_ms: float  # first workflow task, started -> completed
    cycle_ms: float  # between consecutive ActivityTaskScheduled events
    activity_first_ms: float  # ActivityTaskScheduled -> Completed, first 10 % of steps
    activity_last_ms: float  # same, last 10 % of steps
    turn_ms: float  # ActivityTaskCompleted -> next ActivityTaskScheduled

    @classmethod
    def of(cls, history: WorkflowHistory) -> HistoryStats:
        """Count a run's history events and bytes, and read its timings."""
        events = list(history.events)
        by_id = {e.event_id: e for e in events}
        scheduled = _of_type(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        completed = _of_type(events, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        wfts = _of_type(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        activity = [
            _ms(e) - _ms(by_id[e.activity_task_completed_event_attributes.scheduled_event_id])
            for e in completed
        ]
        first_wft = wfts[0].workflow_task_completed_event_attributes.started_event_id
        tenth = max(1, len(activity) // 10)
        return cls(
            events=len(events),
            bytes=sum(e.ByteSize() for e in events),
            first_step_ms=_ms(scheduled[0]) - _ms(events[0]),
            first_wft_ms=_ms(wfts[0]) - _ms(by_id[first_wft]),
            cycle_ms=_mean([_ms(b) - _ms(a) for a, b in itertools.pairwise(scheduled)]),
            activity_first_ms=_mean(activity[:tenth]),
            activity_last_ms=_mean(activity[-tenth:]),
            turn_ms=_mean(
                [_ms(b) - _ms(a) for a, b in zip(completed[:-1], scheduled[1:], strict=True)]
            ),
        )

    @classmethod
    def median_of(cls, runs: Sequence[HistoryStats]) -> HistoryStats:
        """Field by field median over several runs of the same function."""
        values = {f.name: statistics.median(getattr(r, f.name) for r in runs) for f in fields(cls)}
        return cls(**{**values, "events": int(values["events"]), "bytes": int(values["bytes"])})


# --- the benchmark ----------------------------------------------------------------------

ADAPTER, RAW, RAW_HB = "adapter", "raw", "raw+heartbeat"


@dataclass
class Result:
    """Wall times of one variant's runs at one size, and their median history figures."""

    samples: list[float]
    history: HistoryStats

    @property
    def median(self) -> float:
        """The median wall time of the runs, in seconds."""
        return statistics.median(self.samples)


Results = dict[int, dict[str, Result]]


async def measure(
    client: Client, runners: dict[str, Runner], n: int, repeat: int
) -> dict[str, Result]:
    """``repeat`` rounds of one run per variant; each round starts with the next variant."""
    names = list(runners)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for r in range(repeat):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            sample = await asyncio.wait_for(runners[name](n), RESULT_TIMEOUT)
            samples[name].append(sample)
            ms = sample.seconds * 1000
            log(f"  {n:>5} steps  {name:<13}  run {r + 1}/{repeat}  {ms:9.1f} ms")
    results = {}
    for name in names:
        histories = [
            HistoryStats.of(await client.get_workflow_handle(s.workflow_id).fetch_history())
            for s in samples[name]
        ]
        results[name] = Result(
            [s.seconds for s in samples[name]], HistoryStats.median_of(histories)
        )
    return results


def _label(n: int) -> str:
    return "1 step" if n == 1 else f"{n:,} steps"


def main_table(results: Results) -> list[str]:
    """The per-step latency and history table, adapter beside raw."""
    lines = [
        "| | adapter ms/step | raw ms/step | adapter/raw | adapter history events "
        "| adapter history KiB | raw history events | raw history KiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, by_name in results.items():
        a, r = by_name[ADAPTER], by_name[RAW]
        a_ms, r_ms = a.median * 1000 / n, r.median * 1000 / n
        lines.append(
            f"| {_label(n)} | {a_ms:.2f} | {r_ms:.2f} | {a_ms / r_ms:.2f} "
            f"| {a.history.events:,} | {a.history.bytes / 1024:.1f} "
            f"| {r.history.events:,} | {r.history.bytes / 1024:.1f} |"
        )
    return lines


def detail_table(results: Results) -> list[str]:
    """Where the time goes, from history timestamps."""
    lines = [
        "| steps | variant | runs ms: min / median / max | start→1st step ms | 1st WFT ms "
        "| step cycle ms | activity ms: first 10 % / last 10 % | workflow turn ms | bytes/step |",
        "|---:|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for n, by_name in results.items():
        for name, res in by_name.items():
            h, s = res.history, res.samples
            lines.append(
                f"| {n:,} | {name} "
                f"| {min(s) * 1000:.0f} / {res.median * 1000:.0f} / {max(s) * 1000:.0f} "
                f"| {h.first_step_ms:.1f} | {h.first_wft_ms:.1f} | {h.cycle_ms:.2f} "
                f"| {h.activity_first_ms:.2f} / {h.activity_last_ms:.2f} | {h.turn_ms:.2f} "
                f"| {h.bytes / n:,.0f} |"
            )
    return lines


def verdict(results: Results) -> list[str]:
    """Whether the targets are met, and linearity from 100 to 1,000 steps."""
    ratios = {n: r[ADAPTER].median / r[RAW].median for n, r in results.items()}
    worst = max(ratios, key=lambda n: ratios[n])
    failing = [f"{_label(n)} ({ratios[n]:.2f})" for n in ratios if ratios[n] > TARGET_RATIO]
    lines = [
        f"Verdict: target adapter/raw ≤ {TARGET_RATIO:.2f} per step "
        + (f"NOT MET at {', '.join(failing)}" if failing else "MET at every size")
        + f"; worst {ratios[worst]:.2f} at {_label(worst)}."
    ]
    if 100 in results and 1000 in results:
        parts = []
        for name in (ADAPTER, RAW):
            small, large = results[100][name], results[1000][name]
            b100, b1000 = small.history.bytes / 100, large.history.bytes / 1000
            t100, t1000 = small.median * 1000 / 100, large.median * 1000 / 1000
            parts.append(
                f"{name} {b100:,.0f} → {b1000:,.0f} B/step (×{b1000 / b100:.2f}), "
                f"{t100:.2f} → {t1000:.2f} ms/step (×{t1000 / t100:.2f})"
            )
        lines.append("Linearity, 100 → 1,000 steps: " + "; ".join(parts) + ".")
    return lines


async def bench(args: argparse.Namespace) -> None:
    """Run the benchmark on a fresh dev server and print the tables."""
    sizes = [n for n in SIZES if n <= args.max_steps]
    async with dev_server() as env:
        client = env.client
        settings = WorkerSettings()
        app = define_app(client, sizes)
        runners: dict[str, Runner] = {
            ADAPTER: adapter_runner(client, app),
            RAW: raw_runner(client),
        }
        if args.heartbeat_variant:
            runners[RAW_HB] = raw_runner(client, heartbeat=True)
        async with Worker(client, app, settings), raw_steps_worker(client, settings):
            log("warming up ...")
            for size in [n for n in sizes if n <= 100]:
                for _ in range(args.warmup):
                    for runner in runners.values():
                        await runner(size)
            results: Results = {}
            for n in sizes:
                if n >= 1000:
                    chosen = {k: v for k, v in runners.items() if k != RAW_HB}
                    results[n] = await measure(client, chosen, n, args.large_repeat)
                else:
                    results[n] = await measure(client, runners, n, args.repeat)

    print()
    print("\n".join(main_table(results)))
    print()
    print("\n".join(verdict(results)))
    print()
    print("Where the time goes (history timestamps; means per run, medians over runs):")
    print()
    print("\n".join(detail_table(results)))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The benchmark's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--repeat", type=int, default=9, help="runs per variant at 1, 10, 100 steps (default 9)"
    )
    parser.add_argument(
        "--large-repeat", type=int, default=3, help="runs per variant at 1,000 steps (default 3)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed runs at 1, 10, 100 steps (default 2)"
    )
    parser.add_argument(
        "--max-steps", type=int, default=1000, choices=SIZES, help="largest size (default 1000)"
    )
    parser.add_argument(
        "--no-heartbeat-variant",
        dest="heartbeat_variant",
        action="store_false",
        help="skip the diagnostic raw variant whose activities heartbeat like the adapter's",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 runs per size, 1 at 1,000 steps, 1 warm-up, no diagnostic variant",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.large_repeat, args.warmup = 3, 1, 1
        args.heartbeat_variant = False
    if min(args.repeat, args.large_repeat) < 1 or args.warmup < 0:
        parser.error("--repeat and --large-repeat must be ≥ 1, --warmup ≥ 0")
    return args


if __name__ == "__main__":
    asyncio.run(bench(parse_args()))
    # The Temporal client's native runtime can abort while the interpreter finalizes
    # (PyGILState_Release, temporalio/sdk-python#300); all is done, so leave at once,
    # as adapter/cli.py does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
