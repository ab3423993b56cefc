"""Run time, history size and worker CPU per step: this adapter versus plain temporalio.

One process, one Temporal dev server (started with the same fast-dispatch flags
as the tests), workers on separate task queues with the same settings:

* adapter: ``@app.create_function`` whose handler awaits ``ctx.step.run`` N times (the
  first with a literal id) with a trivial async body, on a worker that keeps handlers
  suspended between steps (the default);
* adapter-replay: the same on a worker with ``force_replay=True``: every step calls the
  handler again and replays the memo (the fallback path, so a regression in it shows);
* adapter-nohint (up to 10 steps): the handler's first step is inside a loop (no
  first-step hint), so the run's first step is found by calling the handler
  (in-process) first;
* raw: a ``@workflow.defn`` that executes N trivial async activities in sequence,
  sandbox off (as our orchestrator runs); raw-sandbox: the same in temporalio's default
  sandboxed runner (what a Temporal user writes by default);
* raw+heartbeat (diagnostic, up to 100 steps, not with ``--quick``): raw with one
  ``activity.heartbeat()`` per activity, as the adapter's step activity has.

Runs rotate between variants (each round starts with the next one) after a warm-up.
Run time is the server's own: the run's close event time minus its start event time
(no client polling counted). CPU is this process's CPU time during the run (sender and
workers; the server is another process) divided by N. History figures are bytes of the
event protos. Medians over the runs of each size.

    .venv/bin/python -m bench.steps            # full run, a few minutes on 2 cores
    .venv/bin/python -m bench.steps --quick    # fewer repetitions
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
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
from adapter._temporal.search_attributes import ALL_KEYS
from adapter.worker import Worker, WorkerSettings
from bench.common import (
    HEARTBEAT_TIMEOUT,
    RAW_RETRY,
    STEP_TIMEOUT,
    dev_server,
    exit_now,
    load_average,
    log,
    raw_worker,
)
from bench.raw_sandboxed import RawStepsSandboxed

SIZES = (1, 10, 100, 1000, 5000)
TARGET_TIME = 1.0  # adapter run time / raw (sandbox off), at 1..1,000 steps
TARGET_BYTES = 1.2  # adapter history bytes per step / raw
TARGET_LINEAR = 1.15  # 5,000-step figures / (5 x the 1,000-step figures)
RAW_QUEUE = "bench-raw"
RAW_SANDBOX_QUEUE = "bench-raw-sandboxed"
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


def steps_handler(n: int, *, hint: bool = True) -> Callable[[Context], Awaitable[int]]:
    """A handler awaiting ``ctx.step.run`` ``n`` times (``hint``: the first is its first line)."""

    async def unhinted(ctx: Context) -> int:
        total = int(ctx.event.data.get("base", 0))
        for i in range(n):  # the first step inside a loop: no first-step hint
            total += await ctx.step.run(f"s{i}", adapter_noop, i)
        return total

    async def handler(ctx: Context) -> int:
        # The first statement is a step with a literal id, as in the seed's examples, so
        # the orchestrator schedules it at once (adapter/_first_step.py); a handler that
        # starts otherwise pays one in-process handler call (~8 ms) per run.
        total: int = await ctx.step.run("s0", adapter_noop, 0)
        for i in range(1, n):
            total += await ctx.step.run(f"s{i}", adapter_noop, i)
        return int(total)

    return handler if hint else unhinted


def define_app(client: Client, sizes: Sequence[int], *, nohint: bool = False) -> Inngest:
    """An app with one function per size: id ``steps-N``, event ``<app>/steps-N``.

    ``nohint`` adds ``steps-nohint-N`` for the sizes up to 10.
    """
    app = Inngest(app_id=f"bench-{uuid.uuid4().hex[:8]}", temporal_client=client)
    for n in sizes:
        app.create_function(id=f"steps-{n}", event=f"{app.app_id}/steps-{n}")(steps_handler(n))
        if nohint and n <= 10:
            app.create_function(id=f"steps-nohint-{n}", event=f"{app.app_id}/steps-nohint-{n}")(
                steps_handler(n, hint=False)
            )
    return app


# --- one timed run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Wall time of one run, start to result, this process's CPU seconds, its workflow id."""

    seconds: float
    workflow_id: str
    cpu: float = 0.0


Runner = Callable[[int], Awaitable[Sample]]


def adapter_runner(client: Client, app: Inngest, kind: str = "steps") -> Runner:
    """Send the event, then wait for the run's result."""

    async def run(n: int) -> Sample:
        fn = app.function(f"{kind}-{n}")
        start, cpu = time.perf_counter(), time.process_time()
        [event_id] = await app.send({"name": f"{app.app_id}/{kind}-{n}", "data": {}})
        workflow_id = f"{app.app_id}:{fn.id}:{event_id}"
        result = await client.get_workflow_handle(workflow_id).result()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        check(result, n, workflow_id)
        return Sample(seconds, workflow_id, cpu)

    return run


def raw_runner(client: Client, *, heartbeat: bool = False, sandboxed: bool = False) -> Runner:
    """Start the workflow and wait for its result."""

    async def run(n: int) -> Sample:
        workflow_id = f"bench-raw-{n}-{uuid.uuid4().hex[:12]}"
        start, cpu = time.perf_counter(), time.process_time()
        result = await client.execute_workflow(
            "bench-raw-steps-sandboxed" if sandboxed else "bench-raw-steps",
            args=[n, heartbeat],
            id=workflow_id,
            task_queue=RAW_SANDBOX_QUEUE if sandboxed else RAW_QUEUE,
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        check(result, n, workflow_id)
        return Sample(seconds, workflow_id, cpu)

    return run


def raw_sandboxed_worker(client: Client, settings: WorkerSettings) -> TemporalWorker:
    """RawStepsSandboxed in temporalio's default (sandboxed) workflow runner."""
    return TemporalWorker(
        client,
        task_queue=RAW_SANDBOX_QUEUE,
        workflows=[RawStepsSandboxed],
        activities=[raw_noop],
        max_concurrent_activities=settings.max_concurrent_steps,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
    )


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
    run_ms: float  # WorkflowExecutionStarted -> the closing event: the server's run time
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
            run_ms=_ms(events[-1]) - _ms(events[0]),
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

ADAPTER, REPLAY, NOHINT = "adapter", "adapter-replay", "adapter-nohint"
RAW, RAW_SANDBOX, RAW_HB = "raw", "raw-sandbox", "raw+heartbeat"


@dataclass
class Result:
    """One variant's runs at one size: wall times, CPU and their median history figures."""

    samples: list[float]
    cpu: list[float]
    history: HistoryStats

    @property
    def median(self) -> float:
        """The median wall time of the runs, in seconds."""
        return statistics.median(self.samples)

    @property
    def run_ms(self) -> float:
        """The median server run time (start to close event), in ms."""
        return self.history.run_ms

    @property
    def cpu_ms(self) -> float:
        """The median CPU time of this process during a run, in ms."""
        return statistics.median(self.cpu) * 1000


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
            log(f"  {n:>5} steps  {name:<14}  run {r + 1}/{repeat}  {ms:9.1f} ms")
    results = {}
    for name in names:
        histories = [
            HistoryStats.of(await client.get_workflow_handle(s.workflow_id).fetch_history())
            for s in samples[name]
        ]
        results[name] = Result(
            [s.seconds for s in samples[name]],
            [s.cpu for s in samples[name]],
            HistoryStats.median_of(histories),
        )
    return results


def _label(n: int) -> str:
    return "1 step" if n == 1 else f"{n:,} steps"


def main_table(results: Results) -> list[str]:
    """Run time, history and CPU per variant and size, each beside raw (sandbox off)."""
    lines = [
        "| steps | variant | run ms (server) | ms/step | run / raw | history KiB | bytes/step "
        "| bytes / raw | CPU ms/step | CPU / raw |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, by_name in results.items():
        raw = by_name[RAW]
        for name, res in by_name.items():
            h = res.history
            lines.append(
                f"| {n:,} | {name} | {res.run_ms:,.1f} | {res.run_ms / n:.2f} "
                f"| {res.run_ms / raw.run_ms:.2f} | {h.bytes / 1024:,.1f} | {h.bytes / n:,.0f} "
                f"| {h.bytes / raw.history.bytes:.2f} | {res.cpu_ms / n:.2f} "
                f"| {res.cpu_ms / raw.cpu_ms:.2f} |"
            )
    return lines


def step_bytes(results: Results, name: str) -> float | None:
    """History bytes one more step costs: the slope between the two largest sizes run."""
    sizes = [n for n in results if name in results[n]]
    if len(sizes) < 2:
        return None
    a, b = sizes[-2], sizes[-1]
    return (results[b][name].history.bytes - results[a][name].history.bytes) / (b - a)


def detail_table(results: Results) -> list[str]:
    """Where the time goes, from history timestamps."""
    lines = [
        "| steps | variant | wall ms: min / median / max | start→1st step ms | 1st WFT ms "
        "| step cycle ms | activity ms: first 10 % / last 10 % | workflow turn ms |",
        "|---:|---|---|---:|---:|---:|---|---:|",
    ]
    for n, by_name in results.items():
        for name, res in by_name.items():
            h, s = res.history, res.samples
            lines.append(
                f"| {n:,} | {name} "
                f"| {min(s) * 1000:.0f} / {res.median * 1000:.0f} / {max(s) * 1000:.0f} "
                f"| {h.first_step_ms:.1f} | {h.first_wft_ms:.1f} | {h.cycle_ms:.2f} "
                f"| {h.activity_first_ms:.2f} / {h.activity_last_ms:.2f} | {h.turn_ms:.2f} |"
            )
    return lines


def verdict(results: Results) -> list[str]:
    """Whether the targets are met: run time, history per step, first step, linearity."""
    lines = []
    for name in (ADAPTER, REPLAY):
        ratios = {
            n: r[name].run_ms / r[RAW].run_ms for n, r in results.items() if name in r and n <= 1000
        }
        failing = [f"{_label(n)} ({v:.2f})" for n, v in ratios.items() if v > TARGET_TIME]
        lines.append(
            f"{name}: run time ≤ {TARGET_TIME:.2f} × raw "
            + (f"NOT MET at {', '.join(failing)}" if failing else "met at every size")
            + " ("
            + ", ".join(f"{_label(n)} {v:.2f}" for n, v in ratios.items())
            + ")."
        )
    a, r = step_bytes(results, ADAPTER), step_bytes(results, RAW)
    if a is not None and r:
        ok = "met" if a / r <= TARGET_BYTES else "NOT MET"
        lines.append(
            f"History per step (slope of the two largest sizes): adapter {a:,.0f} B, raw "
            f"{r:,.0f} B: ×{a / r:.2f} ({ok}, target ≤ {TARGET_BYTES:.2f})."
        )
    firsts = [
        f"{_label(n)}: {name} {by[name].history.first_step_ms:.1f} ms"
        for n, by in results.items()
        for name in (ADAPTER, NOHINT, RAW)
        if name in by and n <= 10
    ]
    if firsts:
        lines.append("Run start → first step scheduled (server): " + "; ".join(firsts) + ".")
    if 1000 in results and 5000 in results:
        parts = []
        for name in (ADAPTER, REPLAY, RAW):
            if name not in results[5000] or name not in results[1000]:
                continue
            small, large = results[1000][name], results[5000][name]
            t = large.run_ms / (5 * small.run_ms)
            b = large.history.bytes / (5 * small.history.bytes)
            c = large.cpu_ms / (5 * small.cpu_ms)
            parts.append(f"{name} time ×{t:.2f}, bytes ×{b:.2f}, worker CPU ×{c:.2f}")
        lines.append(
            f"Linearity, 5,000 steps / (5 × 1,000 steps) (target ≤ {TARGET_LINEAR:.2f} for the "
            "adapter; raw's time shows what the server adds as a history grows): "
            + "; ".join(parts)
            + "."
        )
    return lines


async def bench(args: argparse.Namespace) -> None:
    """Run the benchmark on a fresh dev server and print the tables."""
    sizes = [n for n in SIZES if n <= args.max_steps]
    log(f"load average before: {load_average()}")
    async with dev_server(ALL_KEYS) as env:
        client = env.client
        settings = WorkerSettings()
        app = define_app(client, sizes, nohint=True)
        replay_app = define_app(client, sizes)
        runners: dict[str, Runner] = {
            ADAPTER: adapter_runner(client, app),
            REPLAY: adapter_runner(client, replay_app),
            NOHINT: adapter_runner(client, app, "steps-nohint"),
            RAW: raw_runner(client),
            RAW_SANDBOX: raw_runner(client, sandboxed=True),
        }
        if args.heartbeat_variant:
            runners[RAW_HB] = raw_runner(client, heartbeat=True)
        replay_settings = WorkerSettings(force_replay=True)
        async with (
            Worker(client, app, settings),
            Worker(client, replay_app, replay_settings),
            raw_steps_worker(client, settings),
            raw_sandboxed_worker(client, settings),
        ):
            log("warming up ...")
            for size in [n for n in sizes if n <= 100]:
                for _ in range(args.warmup):
                    for name, runner in runners.items():
                        if name != NOHINT or size <= 10:
                            await runner(size)
            results: Results = {}
            for n in sizes:
                chosen = {
                    k: v
                    for k, v in runners.items()
                    if (k != NOHINT or n <= 10) and (k != RAW_HB or n <= 100)
                }
                repeat = args.repeat if n < 1000 else args.large_repeat if n < 5000 else 1
                results[n] = await measure(client, chosen, n, repeat)
    log(f"load average after: {load_average()}")

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
        "--large-repeat",
        type=int,
        default=3,
        help="runs per variant at 1,000 steps (default 3; 1 at 5,000)",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed runs at 1, 10, 100 steps (default 2)"
    )
    parser.add_argument(
        "--max-steps", type=int, default=5000, choices=SIZES, help="largest size (default 5000)"
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
    exit_now()
