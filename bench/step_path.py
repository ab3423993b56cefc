"""Where one step's time goes, adapter beside raw temporalio: the critical path, segment by segment.

``bench.steps`` reads run time from history timestamps; this diagnostic adds the
worker's side, on the same wall clock as the server's timestamps (one machine), so each
step's cycle (one ActivityTaskScheduled to the next) splits into what the server, the
temporalio SDK and our own code spend:

1. ActivityTaskScheduled -> the activity task reaches Python (server, core);
2. -> the activity function starts (temporalio: decoding, Info, context);
3. the activity function: raw's returns its argument; the adapter's runs the step body
   and continues the suspended handler to its next step (the lookahead);
4. -> ActivityTaskCompleted (core, the completion RPC, server);
5. -> WorkflowTaskStarted (server: a new workflow task, sticky dispatch);
6. -> the activation reaches Python (server, core);
7. -> the workflow code runs (temporalio: decoding the activation);
8. the workflow code: raw's loop, or the orchestrator recording the step and scheduling
   the next;
9. -> WorkflowTaskCompleted (temporalio, core, the completion RPC, server);
10. -> the next ActivityTaskScheduled (server).

Segments 3 and 8 are the adapter's own; the others are the same machinery for both.
The worker side is timed by wrapping four private temporalio methods for the length
of the benchmark (temporalio 1.35's names); if an SDK release renames them, this
says so and stops. One process, one dev server, sequential runs alternating between
the two, middle steps only (the first and last carry start and finish):

    .venv/bin/python -m bench.step_path              # 50 steps, 6 runs each
    .venv/bin/python -m bench.step_path --steps 100 --runs 10
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import temporalio.activity
import temporalio.worker._activity as sdk_activity
import temporalio.worker._workflow as sdk_workflow
import temporalio.worker._workflow_instance as sdk_instance
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from adapter import Inngest
from adapter._temporal.search_attributes import ALL_KEYS
from adapter.worker import Worker, WorkerSettings
from bench.common import dev_server, exit_now, load_average, log
from bench.steps import RAW_QUEUE, RawSteps, _ms, _of_type, raw_steps_worker, steps_handler

SEGMENTS = (
    "1 scheduled -> activity task in Python",
    "2 -> activity function starts",
    "3 activity function",
    "4 -> ActivityTaskCompleted",
    "5 -> WorkflowTaskStarted",
    "6 -> activation in Python",
    "7 -> workflow code starts",
    "8 workflow code",
    "9 -> WorkflowTaskCompleted",
    "10 -> next ActivityTaskScheduled",
)
OWN = {"3 activity function", "8 workflow code"}


@dataclass
class Marks:
    """Wall-clock times (s) the worker saw, keyed by workflow id / run id."""

    activities: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    activations: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget the marks of earlier runs."""
        self.activities.clear()
        self.activations.clear()


@contextmanager
def _wrapped(owner: Any, name: str, wrap: Callable[[Any], Any]) -> Iterator[None]:
    original = getattr(owner, name, None)
    if original is None:
        raise SystemExit(
            f"bench.step_path: temporalio has no {owner.__name__}.{name} (renamed in this "
            "release?); this diagnostic wraps temporalio 1.35's private worker methods"
        )
    setattr(owner, name, wrap(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def instrumented(marks: Marks) -> Iterator[None]:
    """Time activity tasks and workflow activations in this process while the block runs."""

    def activity_task(original: Any) -> Any:
        async def handle(self: Any, task_token: Any, start: Any, running: Any) -> Any:
            rec = {"task": time.time(), "local": float(start.is_local)}
            marks.activities[(start.workflow_execution.workflow_id, start.activity_id)] = rec
            return await original(self, task_token, start, running)

        return handle

    def activity_function(original: Any) -> Any:
        async def execute(self: Any, inp: Any) -> Any:
            info = temporalio.activity.info()
            rec = marks.activities.get((info.workflow_id or "", info.activity_id), {})
            rec["fn"] = time.time()
            try:
                return await original(self, inp)
            finally:
                rec["fn_end"] = time.time()

        return execute

    def activation(original: Any) -> Any:
        async def handle(self: Any, act: Any) -> Any:
            marks.activations.setdefault(act.run_id, []).append({"task": time.time()})
            return await original(self, act)

        return handle

    def workflow_code(original: Any) -> Any:
        def activate(self: Any, act: Any) -> Any:
            recs = marks.activations.get(act.run_id) or [{}]
            recs[-1]["code"] = time.time()
            try:
                return original(self, act)
            finally:
                recs[-1]["code_end"] = time.time()

        return activate

    with ExitStack() as stack:
        stack.enter_context(
            _wrapped(sdk_activity._ActivityWorker, "_handle_start_activity_task", activity_task)
        )
        stack.enter_context(
            _wrapped(sdk_activity._ActivityInboundImpl, "execute_activity", activity_function)
        )
        stack.enter_context(
            _wrapped(sdk_workflow._WorkflowWorker, "_handle_activation", activation)
        )
        stack.enter_context(_wrapped(sdk_instance._WorkflowInstanceImpl, "activate", workflow_code))
        yield


def _s(event: HistoryEvent) -> float:
    """An event's time in seconds since the epoch, as ``time.time()`` marks are."""
    return _ms(event) / 1e3


def step_segments(
    workflow_id: str, events: Sequence[HistoryEvent], marks: Marks
) -> dict[str, list[float]]:
    """Each middle step's segments (ms) of one run, from its history and the worker's marks."""
    scheduled = _of_type(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    completed = _of_type(events, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    wft_started = _of_type(events, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    wft_completed = _of_type(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    run_id = events[0].workflow_execution_started_event_attributes.original_execution_run_id
    activations = marks.activations.get(run_id, [])
    out: dict[str, list[float]] = {name: [] for name in (*SEGMENTS, "cycle")}
    for i in range(1, len(completed) - 1):
        act_id = scheduled[i].activity_task_scheduled_event_attributes.activity_id
        act = marks.activities.get((workflow_id, act_id))
        started = next((e for e in wft_started if e.event_id > completed[i].event_id), None)
        if act is None or "fn_end" not in act or started is None:
            continue
        done = next(e for e in wft_completed if e.event_id > started.event_id)
        task = next((a for a in activations if a["task"] >= _s(started) and "code_end" in a), None)
        if task is None:
            continue
        points = [
            _s(scheduled[i]),
            act["task"],
            act["fn"],
            act["fn_end"],
            _s(completed[i]),
            _s(started),
            task["task"],
            task["code"],
            task["code_end"],
            _s(done),
            _s(scheduled[i + 1]),
        ]
        for name, (a, b) in zip(SEGMENTS, itertools.pairwise(points), strict=True):
            out[name].append((b - a) * 1e3)
        out["cycle"].append((points[-1] - points[0]) * 1e3)
    return out


FIRST_SEGMENTS = (
    "a WorkflowExecutionStarted -> workflow code starts",
    "b workflow code (first activation)",
    "c -> local activity function starts",
    "d local activity function (the handler call)",
    "e -> workflow code starts again",
    "f workflow code (second activation)",
    "g -> first ActivityTaskScheduled",
)
FIRST_OWN = {FIRST_SEGMENTS[1], FIRST_SEGMENTS[3], FIRST_SEGMENTS[5]}


def first_step_segments(
    workflow_id: str, events: Sequence[HistoryEvent], marks: Marks
) -> dict[str, list[float]]:
    """Run start -> first step scheduled, split; c-f only when a local activity found the step."""
    out: dict[str, list[float]] = {name: [] for name in (*FIRST_SEGMENTS, "total")}
    scheduled = _of_type(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    run_id = events[0].workflow_execution_started_event_attributes.original_execution_run_id
    activations = [a for a in marks.activations.get(run_id, []) if "code_end" in a]
    if not scheduled or not activations:
        return out
    start, first = _s(events[0]), activations[0]
    local = next(
        (
            a
            for (wf, _), a in marks.activities.items()
            if wf == workflow_id and a.get("local") and "fn_end" in a
        ),
        None,
    )
    points = [start, first["code"], first["code_end"]]
    names = list(FIRST_SEGMENTS[:2])
    if local is not None:
        again = next((a for a in activations if a["code"] >= local["fn_end"]), None)
        if again is None:
            return out
        points += [local["fn"], local["fn_end"], again["code"], again["code_end"]]
        names += list(FIRST_SEGMENTS[2:6])
    points.append(_s(scheduled[0]))
    names.append(FIRST_SEGMENTS[6])
    for name, (a, b) in zip(names, itertools.pairwise(points), strict=True):
        out[name].append((b - a) * 1e3)
    out["total"].append((points[-1] - points[0]) * 1e3)
    return out


Runner = Callable[[], Awaitable[str]]


async def bench(args: argparse.Namespace) -> None:
    """Alternate the variants' runs; print the median segments (per step, or the first step)."""
    log(f"load average before: {load_average()}")
    marks = Marks()
    steps = 1 if args.first_step else args.steps
    async with dev_server(ALL_KEYS) as env:
        client: Client = env.client
        settings = WorkerSettings()
        app = Inngest(app_id=f"bench-path-{uuid.uuid4().hex[:6]}", temporal_client=client)
        app.create_function(id="steps", event=f"{app.app_id}/steps")(steps_handler(steps))
        app.create_function(id="nohint", event=f"{app.app_id}/nohint")(
            steps_handler(steps, hint=False)
        )

        def adapter(fn: str) -> Runner:
            async def run() -> str:
                [event_id] = await app.send({"name": f"{app.app_id}/{fn}", "data": {}})
                workflow_id = f"{app.app_id}:{fn}:{event_id}"
                await client.get_workflow_handle(workflow_id).result()
                return workflow_id

            return run

        async def raw() -> str:
            workflow_id = f"bench-path-raw-{uuid.uuid4().hex[:12]}"
            await client.execute_workflow(
                RawSteps.run, args=[steps, False], id=workflow_id, task_queue=RAW_QUEUE
            )
            return workflow_id

        runners: dict[str, Runner] = {"adapter": adapter("steps"), "raw": raw}
        segments = step_segments
        names: tuple[str, ...] = (*SEGMENTS, "cycle")
        if args.first_step:
            runners = {"adapter": adapter("steps"), "adapter-nohint": adapter("nohint"), "raw": raw}
            segments, names = first_step_segments, (*FIRST_SEGMENTS, "total")
        found: dict[str, dict[str, list[float]]] = {
            who: {name: [] for name in names} for who in runners
        }
        with instrumented(marks):
            async with Worker(client, app, settings), raw_steps_worker(client, settings):
                for run in runners.values():  # warm-up
                    await run()
                for r in range(args.runs):
                    order = list(runners)[r % len(runners) :] + list(runners)[: r % len(runners)]
                    for who in order:
                        marks.clear()
                        workflow_id = await runners[who]()
                        history = await client.get_workflow_handle(workflow_id).fetch_history()
                        for name, values in segments(
                            workflow_id, list(history.events), marks
                        ).items():
                            found[who][name].extend(values)
                    log(f"    round {r + 1}/{args.runs}")
    log(f"load average after: {load_average()}")
    print()
    if args.first_step:
        title = f"Run start -> first step scheduled, medians of {args.runs} runs (ms):"
    else:
        title = (
            f"Per step, medians over the middle steps of {args.runs} runs of {steps} steps (ms):"
        )
    print("\n".join([title, "", *table(found, FIRST_OWN if args.first_step else OWN)]))


def table(found: dict[str, dict[str, list[float]]], own: Collection[str] = OWN) -> list[str]:
    """The median of each segment per variant, and each variant's difference from raw's."""
    variants = list(found)
    others = [v for v in variants if v != "raw"]
    rows = [
        "| segment | " + " | ".join([*variants, *(f"{v} - raw" for v in others)]) + " |",
        "|---|" + "---:|" * (len(variants) + len(others)),
    ]
    for name in next(iter(found.values())):
        med = {v: statistics.median(found[v][name] or [float("nan")]) for v in variants}
        cells = [f"{med[v]:.3f}" for v in variants]
        cells += [f"{med[v] - med['raw']:+.3f}" for v in others]
        label = f"**{name}** (ours)" if name in own else name
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The diagnostic's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=50, help="steps per run (default 50)")
    parser.add_argument("--runs", type=int, default=6, help="runs per variant (default 6)")
    parser.add_argument(
        "--first-step",
        action="store_true",
        help="split run start -> first step instead (1-step runs; also a handler whose first "
        "step is not known from its source)",
    )
    args = parser.parse_args(argv)
    if args.steps < 3 or args.runs < 1:
        parser.error("--steps must be ≥ 3 (middle steps are measured) and --runs ≥ 1")
    return args


if __name__ == "__main__":
    asyncio.run(bench(parse_args()))
    exit_now()
    sys.stdout.flush()
