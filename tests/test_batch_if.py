"""``batch_events`` with ``if`` (Inngest's conditional batching).

Only the events for which the condition holds are batched; each other event starts a
run of its own at once, as Inngest's "premium events trigger individual runs".
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client

import adapter as inngest
from adapter._workflows.gate_state import Admission, GateState
from tests.helpers import make_app, running, wait_for_runs

FREE = 'event.data.plan == "free"'


def _config(batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "priority": None,
        "start_timeout": None,
        "rate_limit": None,
        "throttle": None,
        "debounce": None,
        "batch": batch,
    }


def _event(i: int, plan: str) -> dict[str, Any]:
    return {"name": "t/e", "id": f"e{i}", "data": {"plan": plan}}


def _drain(state: GateState, now: int) -> list[list[str]]:
    started = []
    while True:
        events, _ = state.take(now)
        if events is None:
            return started
        started.append([e["id"] for e in events])


def test_only_matching_events_are_batched_the_others_start_alone_at_once() -> None:
    state = GateState(_config({"max_size": 10, "timeout": 60, "if": FREE}))
    plans = ["free", "paid", "free", "paid", "free"]
    assert [state.admit(_event(i, p), now=1_000) for i, p in enumerate(plans)] == [
        Admission.QUEUED
    ] * 5
    state.flush(1_000)
    assert _drain(state, 1_000) == [["e1"], ["e3"]]  # the paid ones, not waiting
    assert [e["id"] for e in state.pending] == ["e0", "e2", "e4"]
    state.flush(61_000)
    assert _drain(state, 61_000) == [["e0", "e2", "e4"]]


def test_without_if_every_event_is_batched() -> None:
    state = GateState(_config({"max_size": 2, "timeout": 60}))
    for i, p in enumerate(["free", "paid"]):
        state.admit(_event(i, p), now=1_000)
    state.flush(1_000)
    assert _drain(state, 1_000) == [["e0", "e1"]]


def test_the_condition_is_checked_at_definition_and_reaches_the_gate() -> None:
    with pytest.raises(ValueError, match="if"):
        inngest.Batch(max_size=10, if_exp="event.data.plan ==")
    app = inngest.Inngest(app_id="batch-if")

    @app.create_function(
        fn_id="collect",
        trigger=inngest.TriggerEvent(event="t/e"),
        batch_events=inngest.Batch(max_size=10, timeout="5s", if_exp=FREE),
    )
    def collect(ctx: inngest.ContextSync) -> None:
        pass

    @app.create_function(
        fn_id="ts-style",
        trigger=inngest.TriggerEvent(event="t/e"),
        batch_events={"max_size": 3, "timeout": "5s", "if": FREE},
    )
    def ts_style(ctx: inngest.ContextSync) -> None:
        pass

    gate = collect.gate_options()
    assert gate is not None
    assert gate["batch"] == {
        "max_size": 10,
        "timeout": 5.0,
        "max_bytes": app.event_limit,  # a run's input carries the batch (gate_state.py)
        "if": FREE,
    }
    gate = ts_style.gate_options()
    assert gate is not None
    assert gate["batch"]["if"] == FREE


async def test_conditional_batching_on_temporal(client: Client) -> None:
    app = make_app(client)
    runs: list[list[str]] = []

    @app.create_function(
        fn_id="tiered",
        trigger=inngest.TriggerEvent(event="req/process"),
        batch_events=inngest.Batch(max_size=3, timeout="30s", if_exp=FREE),
    )
    async def tiered(ctx: inngest.Context) -> list[str]:
        ids = sorted(e.id for e in ctx.events)
        runs.append(ids)
        return ids

    plans = ["free", "paid", "free", "paid", "free"]
    async with running(client, app):
        await app.send(
            [
                {"name": "req/process", "id": f"r{i}", "data": {"plan": p}}
                for i, p in enumerate(plans)
            ]
        )
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'tiered'"
        found = await wait_for_runs(client, query, 3)
        results = sorted([await client.get_workflow_handle(r.id).result() for r in found])
    # each paid event ran alone; the three free ones filled one batch
    assert results == [["r0", "r2", "r4"], ["r1"], ["r3"]]
    assert sorted(runs) == results
