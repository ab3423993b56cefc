"""Queued runs in a gate, driven directly (no Temporal): adapter/_workflows/gate_queue.py."""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from adapter._protocol import subscription_key
from adapter._workflows.gate import Gate
from adapter._workflows.gate_queue import (
    CANCELLED_KEPT,
    QueuedEvents,
    held_ids,
    listing,
    parse_queued_step,
    queued_step_id,
    remove_event,
    subscription,
)
from adapter._workflows.gate_state import GateState

GATE = "app:fn:gate:-"
RULE = {"event": "x/cancel", "if": "event.data.id == async.data.id", "timeout": 60.0}


def _config(**rules: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"priority": None, "start_timeout": None, "rate_limit": None}
    return {**base, "throttle": None, "debounce": None, "batch": None, **rules}


def _event(i: int, **data: Any) -> dict[str, Any]:
    return {"name": "t/e", "id": f"e{i}", "data": data}


def test_queued_step_ids_round_trip_even_with_colons_in_the_event_id() -> None:
    assert parse_queued_step(queued_step_id(2, "a:b:c")) == (2, "a:b:c")
    assert parse_queued_step("charge") is None  # a run's own wait step
    assert parse_queued_step("queued:x:e1") is None


def test_a_queued_event_subscribes_with_its_window_and_its_values_filled_in() -> None:
    sub = subscription(GATE, 0, RULE, _event(1, id="u1"), window_ms=1_000)
    assert sub is not None
    assert sub["kind"] == "wait"  # the hub signals the gate; it never cancels the gate
    assert sub["run"] == GATE
    assert sub["step_id"] == queued_step_id(0, "e1")
    assert sub["window_ms"] == 1_000  # the window opened when the event was accepted
    assert sub["expires_ms"] == 61_000
    assert sub["if"] == '"u1" == async.data.id'
    forever = subscription(GATE, 1, {"event": "x/c", "if": None, "timeout": None}, _event(1), 5)
    assert forever is not None
    assert forever["expires_ms"] is None
    assert forever["if"] is None


def test_a_subscription_too_large_for_the_hub_is_skipped_not_an_error() -> None:
    rule = {"event": "x/c", "if": "event.data.blob == async.data.blob", "timeout": None}
    assert subscription(GATE, 0, rule, _event(1, blob="x" * 10_000), window_ms=0) is None


def test_remove_event_drops_it_from_the_throttle_queue_debounce_or_batch() -> None:
    throttle = GateState.from_dict(_config(throttle={"limit": 1, "period": 60}), None)
    for i in range(3):
        throttle.admit(_event(i), 0)
    assert throttle.take(0)[0] == [_event(0)]
    assert held_ids(throttle) == ["e1", "e2"]
    assert remove_event(throttle, "e2")
    assert not remove_event(throttle, "e2")
    assert held_ids(throttle) == ["e1"]

    debounce = GateState.from_dict(_config(debounce={"period": 5, "timeout": None}), None)
    debounce.admit(_event(1), 0)
    assert held_ids(debounce) == ["e1"]
    assert remove_event(debounce, "e1")
    assert debounce.idle
    assert debounce.flush(10_000) is None
    assert debounce.take(10_000) == (None, None)

    batch = GateState.from_dict(_config(batch={"max_size": 10, "timeout": 5}), None)
    for i in range(3):
        batch.admit(_event(i), 0)
    assert remove_event(batch, "e1")
    batch.flush(5_000)
    assert [e["id"] for e in batch.take(5_000)[0] or []] == ["e0", "e2"]


def test_events_that_leave_the_gate_leave_the_hubs_and_subscribing_is_bounded() -> None:
    queued = QueuedEvents()
    for i in range(5):
        queued.accept(f"e{i}", 100 + i)
    assert queued.to_subscribe(2) == ["e0", "e1"]  # a bounded chunk, in acceptance order
    for event_id in ("e0", "e1"):
        queued.subscribed(event_id)
    assert queued.to_subscribe(10) == ["e2", "e3", "e4"]
    queued.sync(["e1", "e2", "e3", "e4"], rules=2)  # e0 started
    assert queued.leaving == [queued_step_id(0, "e0"), queued_step_id(1, "e0")]
    queued.sync(["e1", "e3", "e4"], rules=2)  # e2 left before it subscribed: nothing to drop
    assert queued.leaving == [queued_step_id(0, "e0"), queued_step_id(1, "e0")]
    assert queued.window("e3") == 103
    assert queued.take_leaving(1) == [queued_step_id(0, "e0")]
    assert queued.leaving == [queued_step_id(1, "e0")]


def test_the_carried_state_round_trips_and_remembers_few_cancellations() -> None:
    queued = QueuedEvents()
    for i in range(CANCELLED_KEPT + 20):
        queued.accept(f"e{i}", i)
        queued.cancelled_by(f"e{i}", {"event": f"c{i}"}, at_ms=i)
    queued.sync([f"e{i}" for i in range(CANCELLED_KEPT + 20)], rules=1)
    data = json.loads(json.dumps(queued.to_dict()))
    again = QueuedEvents.from_dict(data)
    assert again.to_dict() == queued.to_dict()
    assert len(again.cancelled) == CANCELLED_KEPT
    assert again.cancelled[-1] == {
        "id": f"e{CANCELLED_KEPT + 19}",
        "by": {"event": f"c{CANCELLED_KEPT + 19}"},
        "at_ms": CANCELLED_KEPT + 19,
    }
    assert QueuedEvents.from_dict(None).to_dict() == QueuedEvents().to_dict()


def test_the_listing_shows_each_held_event_with_its_stage_and_since_when() -> None:
    state = GateState.from_dict(_config(throttle={"limit": 1, "period": 60}), None)
    queued = QueuedEvents()
    for i in range(3):
        state.admit({**_event(i), "name": "t/go"}, 1_000 + i)
        queued.accept(f"e{i}", 900 + i)
    state.take(2_000)
    queued.sync(held_ids(state), rules=0)
    out = listing(state, queued, app_id="app", function_id="fn", limit=1)
    assert out["total"] == 2
    assert out["entries"] == [
        {
            "event_id": "e1",
            "event_name": "t/go",
            "run_id": "app:fn:e1",
            "stage": "throttle",
            "since_ms": 901,
        }
    ]
    batch = GateState.from_dict(_config(batch={"max_size": 5, "timeout": 5}), None)
    batch.admit(_event(7), 3_000)
    [entry] = listing(batch, QueuedEvents(), app_id="app", function_id="fn", limit=10)["entries"]
    assert entry["stage"] == "batch"
    assert entry["run_id"] == "app:fn:batch:e7"
    assert entry["since_ms"] == 3_000  # no accepted time carried: when the gate took it
    sub = subscription(GATE, 0, RULE, _event(1, id=1), window_ms=0)
    assert sub is not None
    assert subscription_key(sub) == f"{GATE}|wait|{queued_step_id(0, 'e1')}"


# --- replay: gates recorded before held events could be cancelled -----------------------

CORPUS = Path(__file__).parent / "replay" / "histories" / "0.1.0"


def _with_cancel_rule(text: str) -> str:
    """A recorded gate history as if its function had had a cancel rule all along."""
    history = json.loads(text)
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]
    inp = json.loads(base64.b64decode(payload["data"]))
    inp["opts"]["cancel"] = [{"event": "x/cancel", "if": "event.data.i == async.data.i"}]
    payload["data"] = base64.b64encode(json.dumps(inp).encode()).decode()
    return json.dumps(history)


@pytest.mark.parametrize("case", ["gate_throttle", "gate_debounce", "gate_priority"])
async def test_a_gate_recorded_before_queued_cancel_replays_without_subscribing(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its history has no ``gate-queued-cancel`` marker: it never subscribes its held events."""
    index = json.loads((CORPUS / "index.json").read_text())
    for dotted, value in index.get("constants", {}).items():
        module_name, name = dotted.rsplit(".", 1)
        monkeypatch.setattr(importlib.import_module(module_name), name, value)
    entry = index["cases"][case]
    text = _with_cancel_rule((CORPUS / entry["file"]).read_text())
    history = WorkflowHistory.from_json(entry["workflow_id"], text)
    replayer = Replayer(workflows=[Gate], workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
