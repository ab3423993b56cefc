"""Latency to the first step, sustained throughput and worker memory: adapter vs raw temporalio.

One Temporal dev server, started with the same fast-dispatch flags as the tests and
``bench/steps.py`` (and the adapter's search attributes, as ``make dev`` registers
them); adapter and raw temporalio workers run side by side in this process with the
same limits (``WorkerSettings()``), on separate task queues.

1. **Event → first step.** Adapter: ``app.send`` until the body of the function's first
   ``step.run`` starts (``time.perf_counter`` recorded in the body). Raw: before
   ``client.start_workflow`` until the workflow's first activity starts (raw-eager, a
   diagnostic: the same with ``request_eager_start``). Runs one at a time, each awaited
   to the end before the next; variants alternate. Target: adapter p50 and p95 ≤ 1.2 ×
   raw.
2. **Sustained events/s, 3 steps per run.** N events at once: through ``send`` (batches
   of 100, concurrently), through the HTTP Event API (``EventServer`` on a real socket +
   httpx, 10 concurrent POSTs), and raw (N ``start_workflow`` calls, 64 at a time, as
   ``send`` allows itself; and a diagnostic fourth variant, by default the same with
   ``request_eager_start``, which ``send`` asks by default, or with ``--diagnostic
   search-attributes`` the same with the four search attributes the adapter sets on every
   run, as the server indexes them), each until Temporal's visibility counts N completed
   runs (polled every 0.1 s). Rounds rotate the variants, four rounds by default: with
   four variants, each runs once in each position of a round, so the server's slowing
   over the run (its history store grows) weighs on every variant alike, which three
   rounds did not do. Each round's rate is also divided by raw's in the same round.
3. **Worker memory per 1,000 in-flight runs.** A child process per variant runs a
   worker, finishes 20 warm-up runs, reads its RSS (``/proc/self/status`` VmRSS), starts
   1,000 runs that do one step and then sleep an hour (``step.sleep`` /
   ``workflow.sleep``), waits until all of them sleep, and reads its RSS again.

    .venv/bin/python -m bench.throughput            # about 12 minutes on 2 cores
    .venv/bin/python -m bench.throughput --quick    # smaller, for a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker as TemporalWorker

from adapter import Context, Inngest
from adapter._http.app import create_app
from adapter._http.server import EventServer
from adapter._temporal.search_attributes import ALL_KEYS, run_search_attributes
from adapter.worker import Worker, WorkerSettings
from bench.common import (
    RAW_RETRY,
    STEP_TIMEOUT,
    dev_server,
    exit_now,
    load_average,
    log,
    raw_worker,
)

LATENCY_TARGET = 1.2
THROUGHPUT_TARGET = 0.95
RAW_QUEUE = "bench-tp-raw"
START_CONCURRENCY = 64  # what Inngest.send allows itself (adapter/_client.py)
HTTP_REQUESTS = 10
KEY = "bench-key"


# Step bodies and activities record here (one process: perf_counter is comparable).
FIRST_STEP_AT: dict[str, float] = {}
STEPS_RUN: dict[str, int] = {}


# --- raw temporalio -------------------------------------------------------------------


@activity.defn(name="bench-tp-mark")
async def raw_mark(key: str) -> str:
    """First activity: note when it started."""
    FIRST_STEP_AT.setdefault(key, time.perf_counter())
    return key


@activity.defn(name="bench-tp-noop")
async def raw_noop(i: int) -> int:
    """A trivial step."""
    STEPS_RUN["raw"] = STEPS_RUN.get("raw", 0) + 1
    return i


@workflow.defn(name="bench-tp-first", sandboxed=False)
class RawFirst:
    """One activity that marks its start."""

    @workflow.run
    async def run(self, key: str) -> str:
        """One activity that records when it ran."""
        return await workflow.execute_activity(
            raw_mark, key, start_to_close_timeout=STEP_TIMEOUT, retry_policy=RAW_RETRY
        )


@workflow.defn(name="bench-tp-three", sandboxed=False)
class RawThree:
    """Three trivial activities in sequence."""

    @workflow.run
    async def run(self, n: int) -> int:
        """Three trivial activities in sequence."""
        total = n
        for _ in range(3):
            total = await workflow.execute_activity(
                raw_noop, total + 1, start_to_close_timeout=STEP_TIMEOUT, retry_policy=RAW_RETRY
            )
        return total


@workflow.defn(name="bench-tp-nap", sandboxed=False)
class RawNap:
    """One activity, then an hour's durable sleep."""

    @workflow.run
    async def run(self, n: int) -> int:
        """One activity, then an hour's sleep."""
        await workflow.execute_activity(
            raw_noop, n, start_to_close_timeout=STEP_TIMEOUT, retry_policy=RAW_RETRY
        )
        await workflow.sleep(timedelta(hours=1))
        return n


def raw_tp_worker(
    client: Client, settings: WorkerSettings, task_queue: str = RAW_QUEUE
) -> TemporalWorker:
    """Raw workflows with the adapter worker's limits (as bench/steps.py)."""
    return raw_worker(
        client,
        settings,
        task_queue=task_queue,
        workflows=[RawFirst, RawThree, RawNap],
        activities=[raw_mark, raw_noop],
    )


# --- the adapter ------------------------------------------------------------------------


async def _mark(key: str) -> str:
    FIRST_STEP_AT.setdefault(key, time.perf_counter())
    return key


async def _noop(counter: str, value: int) -> int:
    STEPS_RUN[counter] = STEPS_RUN.get(counter, 0) + 1
    return value


async def first_step(ctx: Context) -> str:
    """The latency function: one step that records when it ran."""
    return str(await ctx.step.run("first", _mark, ctx.event.data["key"]))


def three_steps(counter: str) -> Callable[[Context], Awaitable[int]]:
    """A handler of three trivial steps that count into ``counter``."""

    async def handler(ctx: Context) -> int:
        a = await ctx.step.run("one", _noop, counter, int(ctx.event.data["n"]))
        b = await ctx.step.run("two", _noop, counter, int(a) + 1)
        return int(await ctx.step.run("three", _noop, counter, int(b) + 1))

    return handler


async def nap(ctx: Context) -> int:
    """The memory function: one step, then an hour's sleep."""
    n = await ctx.step.run("before", _noop, "adapter", int(ctx.event.data["n"]))
    await ctx.step.sleep("nap", "1h")
    return int(n)


def define_app(client: Client, *, rounds: int) -> Inngest:
    """Functions: ``first`` (latency), ``tp-<variant>-<round>`` (throughput), ``nap``.

    Routing is namespace-wide, so one benchmark process defines one app: a second app
    with the same triggers would start a second run of every event.
    """
    app = Inngest(app_id=f"bench-{uuid.uuid4().hex[:8]}", temporal_client=client)
    app.create_function(id="first", event="bench/first")(first_step)
    for variant in ("send", "http"):
        for r in range(rounds):
            fn_id = f"tp-{variant}-{r}"
            app.create_function(id=fn_id, event=f"bench/{fn_id}")(three_steps(fn_id))
    app.create_function(id="nap", event="bench/nap")(nap)
    return app


# --- 1. event → first step ------------------------------------------------------------------


@dataclass(frozen=True)
class LatencySample:
    """One run: event → first step, and until send / start_workflow returned."""

    seconds: float
    accepted: float
    workflow_id: str


LatencyRunner = Callable[[], Awaitable[LatencySample]]


def adapter_latency(client: Client, app: Inngest) -> LatencyRunner:
    """Time from ``send`` to the first step's body, for the adapter."""

    async def run() -> LatencySample:
        key = uuid.uuid4().hex
        start = time.perf_counter()
        [event_id] = await app.send({"name": "bench/first", "data": {"key": key}})
        accepted = time.perf_counter() - start
        workflow_id = f"{app.app_id}:first:{event_id}"
        assert await client.get_workflow_handle(workflow_id).result() == key
        return LatencySample(FIRST_STEP_AT.pop(key) - start, accepted, workflow_id)

    return run


def raw_latency(client: Client, *, eager: bool = False) -> LatencyRunner:
    """Time from ``start_workflow`` to the first activity's body, for raw temporalio.

    ``eager``: with ``request_eager_start`` (Temporal's eager workflow start), as the
    adapter's ``send`` asks by default — a diagnostic row, so the gain it brings shows.
    """

    async def run() -> LatencySample:
        key = uuid.uuid4().hex
        workflow_id = f"bench-first-{key}"
        start = time.perf_counter()
        handle = await client.start_workflow(
            RawFirst.run, key, id=workflow_id, task_queue=RAW_QUEUE, request_eager_start=eager
        )
        accepted = time.perf_counter() - start
        assert await handle.result() == key
        return LatencySample(FIRST_STEP_AT.pop(key) - start, accepted, workflow_id)

    return run


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def measure_latency(
    runners: dict[str, LatencyRunner], samples: int, warmup: int
) -> dict[str, list[LatencySample]]:
    """Latency samples of each variant, rotating variants after a warm-up."""
    for _ in range(warmup):
        for run in runners.values():
            await run()
    names = list(runners)
    got: dict[str, list[LatencySample]] = {name: [] for name in names}
    for i in range(samples):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            got[name].append(await runners[name]())
    return got


def _event_ms(event: HistoryEvent) -> float:
    return float(event.event_time.ToNanoseconds()) / 1e6


async def server_side_ms(client: Client, samples: Sequence[LatencySample]) -> float:
    """Median, from history timestamps, of WorkflowExecutionStarted → first ActivityTaskScheduled."""
    gaps = []
    for sample in samples:
        history = await client.get_workflow_handle(sample.workflow_id).fetch_history()
        events = list(history.events)
        scheduled = next(
            e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        )
        gaps.append(_event_ms(scheduled) - _event_ms(events[0]))
    return statistics.median(gaps)


# --- 2. sustained throughput ------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    """One sustained-throughput round: when the events were accepted and when all runs ended."""

    events: int
    accepted_s: float  # until every send / POST / start_workflow returned
    done_s: float  # until visibility counted every run completed

    @property
    def per_second(self) -> float:
        """Events per second, from the first send to the last run's completion."""
        return self.events / self.done_s


async def _wait_completed(client: Client, query: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        count = (await client.count_workflows(f"{query} AND ExecutionStatus = 'Completed'")).count
        if count >= n:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count}/{n} runs completed for {query}")
        await asyncio.sleep(0.1)


async def throughput_send(client: Client, app: Inngest, fn_id: str, n: int) -> Throughput:
    """Send n events with ``Inngest.send`` and wait for their 3-step runs."""
    events = [{"name": f"bench/{fn_id}", "data": {"n": i}} for i in range(n)]
    start = time.perf_counter()
    await asyncio.gather(*(app.send(events[i : i + 100]) for i in range(0, n, 100)))
    accepted = time.perf_counter() - start
    query = f"WorkflowType = '{fn_id}' AND TaskQueue = '{app.task_queue}'"
    await _wait_completed(client, query, n, 600)
    return Throughput(n, accepted, time.perf_counter() - start)


async def throughput_http(client: Client, app: Inngest, url: str, fn_id: str, n: int) -> Throughput:
    """Send n events over the Event API and wait for their 3-step runs."""
    events = [{"name": f"bench/{fn_id}", "data": {"n": i}} for i in range(n)]
    size = -(-n // HTTP_REQUESTS)
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        start = time.perf_counter()
        answers = await asyncio.gather(
            *(http.post(f"/e/{KEY}", json=events[i : i + size]) for i in range(0, n, size))
        )
        accepted = time.perf_counter() - start
    for answer in answers:
        answer.raise_for_status()
    query = f"WorkflowType = '{fn_id}' AND TaskQueue = '{app.task_queue}'"
    await _wait_completed(client, query, n, 600)
    return Throughput(n, accepted, time.perf_counter() - start)


async def throughput_raw(
    client: Client, prefix: str, n: int, *, eager: bool = False, tagged: bool = False
) -> Throughput:
    """Start n raw 3-activity workflows and wait for them.

    ``eager``: with request_eager_start; ``tagged``: with the adapter's four search
    attributes (function, event name, event id, app), as every adapter run has them.
    """
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def start_one(i: int) -> None:
        event = {"name": "bench/raw", "id": f"{prefix}{i}"}
        attrs = run_search_attributes("bench-raw", "raw", event) if tagged else None
        async with limit:
            await client.start_workflow(
                RawThree.run,
                i,
                id=f"{prefix}{i}",
                task_queue=RAW_QUEUE,
                request_eager_start=eager,
                search_attributes=attrs,
            )

    start = time.perf_counter()
    await asyncio.gather(*(start_one(i) for i in range(n)))
    accepted = time.perf_counter() - start
    await _wait_completed(client, f"WorkflowId STARTS_WITH '{prefix}'", n, 600)
    return Throughput(n, accepted, time.perf_counter() - start)


# --- 3. memory per 1,000 in-flight runs (in a child process per variant) ------------------------


def rss_kib() -> int:
    """Resident set size of this process, from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _wait_steps(counter: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while STEPS_RUN.get(counter, 0) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{STEPS_RUN.get(counter, 0)}/{n} first steps ran")
        await asyncio.sleep(0.1)


async def _wait_running_idle(client: Client, query: str, n: int, timeout: float) -> None:
    """Until n runs exist and none has a pending workflow task or activity (all asleep)."""
    deadline = time.monotonic() + timeout
    while True:
        running = (await client.count_workflows(f"{query} AND ExecutionStatus = 'Running'")).count
        if running >= n:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{running}/{n} runs running")
        await asyncio.sleep(0.2)
    # The last step's completion is followed by one workflow task that starts the timer.
    await asyncio.sleep(3)


async def memory_child(variant: str, address: str, runs: int) -> dict[str, Any]:
    """In a child process: RSS before and after ``runs`` sleeping runs of one variant."""
    client = await Client.connect(address)
    settings = WorkerSettings()
    tag = uuid.uuid4().hex[:8]
    adapter = variant.startswith("adapter")
    if adapter:
        app = define_app(client, rounds=0)
        worker: Worker | TemporalWorker = Worker(client, app, settings)
    else:
        queue = f"{RAW_QUEUE}-mem-{tag}"
        worker = raw_tp_worker(client, settings, queue)
    async with worker:
        # Warm-up: imports, connections, caches of a finished run.
        if adapter:
            for i in range(20):
                [eid] = await app.send({"name": "bench/first", "data": {"key": f"w{i}"}})
                await client.get_workflow_handle(f"{app.app_id}:first:{eid}").result()
        else:
            for i in range(20):
                await client.execute_workflow(
                    RawFirst.run, f"w{i}", id=f"bench-mem-w-{tag}-{i}", task_queue=queue
                )
        FIRST_STEP_AT.clear()
        gc.collect()
        await asyncio.sleep(1)
        before = rss_kib()
        started = time.perf_counter()
        if adapter:
            events = [{"name": "bench/nap", "data": {"n": i}} for i in range(runs)]
            await asyncio.gather(*(app.send(events[i : i + 100]) for i in range(0, runs, 100)))
            await _wait_steps("adapter", runs, 600)
            await _wait_running_idle(
                client, f"WorkflowType = 'nap' AND TaskQueue = '{app.task_queue}'", runs, 600
            )
        else:
            limit = asyncio.Semaphore(START_CONCURRENCY)

            async def start_one(i: int) -> None:
                async with limit:
                    await client.start_workflow(
                        RawNap.run, i, id=f"bench-mem-{tag}-{i}", task_queue=queue
                    )

            await asyncio.gather(*(start_one(i) for i in range(runs)))
            await _wait_steps("raw", runs, 600)
            await _wait_running_idle(
                client, f"WorkflowId STARTS_WITH 'bench-mem-{tag}-'", runs, 600
            )
        settle = time.perf_counter() - started
        gc.collect()
        await asyncio.sleep(1)
        after = rss_kib()
    return {
        "variant": variant,
        "runs": runs,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "seconds_to_all_asleep": round(settle, 1),
    }


def run_memory_child(variant: str, address: str, runs: int) -> dict[str, Any]:
    """Run :func:`memory_child` in a fresh interpreter and return its figures."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.throughput",
            "--memory-child",
            variant,
            "--address",
            address,
            "--memory-runs",
            str(runs),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child {variant} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- the benchmark ----------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    """Run the three sections on a fresh dev server and print the tables."""
    log(f"load average before: {load_average()}; {os.cpu_count()} cores")
    out: list[str] = []
    async with dev_server(ALL_KEYS) as env:
        client = env.client
        settings = WorkerSettings()
        app = define_app(client, rounds=args.rounds)
        api = create_app([app], event_keys={KEY})
        async with (
            Worker(client, app, settings),
            raw_tp_worker(client, settings),
            EventServer(api, port=0) as server,
        ):
            # 1. latency
            log(f"latency: {args.samples} runs per variant after {args.warmup} warm-up ...")
            lat = await measure_latency(
                {
                    "adapter": adapter_latency(client, app),
                    "raw": raw_latency(client),
                    "raw-eager": raw_latency(client, eager=True),
                },
                args.samples,
                args.warmup,
            )
            server_ms = {name: await server_side_ms(client, got) for name, got in lat.items()}
            out += latency_table(lat, server_ms)
            # 2. throughput
            diagnostic = DIAGNOSTICS[args.diagnostic]
            tps: dict[str, list[Throughput]] = {"send": [], "http": [], "raw": [], diagnostic: []}
            for r in range(args.rounds):
                order = list(tps)
                order = order[r % len(order) :] + order[: r % len(order)]
                for name in order:
                    log(f"throughput round {r + 1}/{args.rounds}: {name}, {args.events} events ...")
                    if name.startswith("raw"):
                        result = await throughput_raw(
                            client,
                            f"bench-{name}-{r}-",
                            args.events,
                            eager=name == "raw-eager",
                            tagged=name == "raw-tagged",
                        )
                    elif name == "send":
                        result = await throughput_send(client, app, f"tp-send-{r}", args.events)
                    else:
                        result = await throughput_http(
                            client, app, server.url, f"tp-http-{r}", args.events
                        )
                    log(
                        f"  {name}: accepted in {result.accepted_s:.1f} s, "
                        f"done in {result.done_s:.1f} s = {result.per_second:.1f} events/s"
                    )
                    tps[name].append(result)
            out += ["", *throughput_table(tps)]
        # 3. memory, each variant in its own process
        address = client.service_client.config.target_host
        mem = []
        for variant in ("raw", "adapter"):
            log(f"memory: {variant}, {args.memory_runs} sleeping runs in a child process ...")
            mem.append(run_memory_child(variant, address, args.memory_runs))
            log(f"  {mem[-1]}")
        out += ["", *memory_table(mem)]
    log(f"load average after: {load_average()}")
    print("\n".join(out))


def latency_table(lat: dict[str, list[LatencySample]], server_ms: dict[str, float]) -> list[str]:
    """Event → first step, p50 and p95, beside raw."""

    def pct(name: str, q: float) -> float:
        return _pct([x.seconds for x in lat[name]], q)

    raw50, raw95 = pct("raw", 0.5), pct("raw", 0.95)
    lines = [
        "| event → first step | runs | p50 ms | p95 ms | p50 / raw | p95 / raw "
        "| send / start returned, p50 ms | server: started → 1st activity scheduled, p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, values in lat.items():
        p50, p95 = pct(name, 0.5), pct(name, 0.95)
        accepted = _pct([x.accepted for x in values], 0.5)
        lines.append(
            f"| {name} | {len(values)} | {p50 * 1000:.1f} | {p95 * 1000:.1f} "
            f"| {p50 / raw50:.2f} | {p95 / raw95:.2f} | {accepted * 1000:.1f} "
            f"| {server_ms[name]:.1f} |"
        )
    a50, a95 = pct("adapter", 0.5) / raw50, pct("adapter", 0.95) / raw95
    verdict = "MET" if max(a50, a95) <= LATENCY_TARGET else "NOT MET"
    lines += [
        "",
        f"Target adapter ≤ {LATENCY_TARGET:.1f} × raw at p50 and p95: {verdict} "
        f"(p50 ×{a50:.2f}, p95 ×{a95:.2f}).",
    ]
    return lines


def throughput_table(tps: dict[str, list[Throughput]]) -> list[str]:
    """Sustained events per second, beside raw."""
    labels = {
        "send": "adapter, `send` (batches of 100)",
        "http": f"adapter, HTTP Event API ({HTTP_REQUESTS} concurrent POSTs)",
        "raw": f"raw temporalio, start_workflow ({START_CONCURRENCY} at a time)",
        "raw-eager": "raw temporalio, the same with request_eager_start (diagnostic)",
        "raw-tagged": "raw temporalio, the same with the adapter's 4 search attributes "
        "(diagnostic)",
    }
    raw = statistics.median(t.per_second for t in tps["raw"])
    raw_pooled = pooled_rate(tps["raw"])
    lines = [
        "| 3-step runs | events | accepted in s | all done in s | events/s (median) "
        "| events/s per round | / raw | / raw of the same round (median) "
        "| all rounds: events/s | / raw |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name, results in tps.items():
        rate = statistics.median(t.per_second for t in results)
        pooled = pooled_rate(results)
        paired = statistics.median(
            t.per_second / r.per_second for t, r in zip(results, tps["raw"], strict=True)
        )
        lines.append(
            f"| {labels[name]} | {results[0].events:,} "
            f"| {statistics.median(t.accepted_s for t in results):.1f} "
            f"| {statistics.median(t.done_s for t in results):.1f} | {rate:.1f} "
            f"| {', '.join(f'{t.per_second:.1f}' for t in results)} | {rate / raw:.2f} "
            f"| {paired:.2f} | {pooled:.1f} | {pooled / raw_pooled:.2f} |"
        )
    ratios = {name: pooled_rate(tps[name]) / raw_pooled for name in ("send", "http")}
    verdict = "MET" if min(ratios.values()) >= THROUGHPUT_TARGET else "NOT MET"
    lines += [
        "",
        f"Target adapter ≥ {THROUGHPUT_TARGET:.2f} × raw, all rounds pooled (each variant ran "
        f"once in each position when rounds are a multiple of 4): {verdict} "
        f"(`send` ×{ratios['send']:.2f}, HTTP ×{ratios['http']:.2f}).",
    ]
    return lines


def pooled_rate(results: Sequence[Throughput]) -> float:
    """Events per second over all of a variant's rounds: their events over their total time."""
    return sum(t.events for t in results) / sum(t.done_s for t in results)


def memory_table(mem: list[dict[str, Any]]) -> list[str]:
    """Worker memory per 1,000 sleeping runs."""
    lines = [
        "| worker process | in-flight runs | RSS before MiB | RSS after MiB "
        "| delta MiB per 1,000 runs | KiB per run | s until all asleep |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in mem:
        delta = m["rss_after_kib"] - m["rss_before_kib"]
        lines.append(
            f"| {m['variant']} | {m['runs']:,} | {m['rss_before_kib'] / 1024:.1f} "
            f"| {m['rss_after_kib'] / 1024:.1f} | {delta / 1024 * 1000 / m['runs']:.1f} "
            f"| {delta / m['runs']:.1f} | {m['seconds_to_all_asleep']} |"
        )
    return lines


DIAGNOSTICS = {"eager": "raw-eager", "search-attributes": "raw-tagged"}
"""``--diagnostic``: which raw variant runs fourth in the throughput rounds."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The benchmark's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=100, help="latency runs per variant")
    parser.add_argument("--warmup", type=int, default=5, help="untimed latency runs per variant")
    parser.add_argument("--events", type=int, default=500, help="events per throughput round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="throughput rounds per variant (default 4: each variant once in each position)",
    )
    parser.add_argument(
        "--memory-runs", type=int, default=1000, help="sleeping runs for the memory figure"
    )
    parser.add_argument(
        "--diagnostic",
        choices=sorted(DIAGNOSTICS),
        default="eager",
        help="the fourth throughput variant: raw with eager start (default) or with the "
        "adapter's search attributes",
    )
    parser.add_argument("--quick", action="store_true", help="20 samples, 100 events, 1 round")
    parser.add_argument(
        "--memory-child",
        choices=["adapter", "raw"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.warmup, args.events, args.rounds = 20, 2, 100, 1
        args.memory_runs = min(args.memory_runs, 200)
    return args


def main() -> None:
    """Entry point: the benchmark, or one memory child."""
    args = parse_args()
    if args.memory_child:
        result = asyncio.run(memory_child(args.memory_child, args.address, args.memory_runs))
        print(json.dumps(result), flush=True)
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
    exit_now()
