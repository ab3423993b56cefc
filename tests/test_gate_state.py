"""The gate's admission rules, driven directly (no Temporal): adapter/_workflows/gate_state.py."""

from __future__ import annotations

from typing import Any

from adapter._workflows.gate_state import Admission, GateState


def _config(**rules: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "priority": None,
        "start_timeout": None,
        "rate_limit": None,
        "throttle": None,
        "debounce": None,
        "batch": None,
    }
    return {**base, **rules}


def _event(i: int, **data: Any) -> dict[str, Any]:
    return {"name": "t/e", "id": f"e{i}", "data": data}


def _drain(state: GateState, now: int) -> list[list[str]]:
    started = []
    while True:
        events, _ = state.take(now)
        if events is None:
            return started
        started.append([e["id"] for e in events])


def test_rate_limit_skips_events_over_the_limit_and_forgets_after_the_period() -> None:
    state = GateState(_config(rate_limit={"limit": 2, "period": 60}))
    got = [state.admit(_event(i), now=1_000 + i) for i in range(4)]
    assert got == [
        Admission.QUEUED,
        Admission.QUEUED,
        Admission.RATE_LIMITED,
        Admission.RATE_LIMITED,
    ]
    assert state.admit(_event(9), now=62_000) is Admission.QUEUED
    assert _drain(state, 62_000) == [["e0"], ["e1"], ["e9"]]


def test_a_retried_event_id_counts_once() -> None:
    state = GateState(_config(rate_limit={"limit": 2, "period": 60}))
    assert state.admit(_event(1), now=0) is Admission.QUEUED
    assert state.admit(_event(1), now=1) is Admission.DUPLICATE
    assert state.admit(_event(2), now=2) is Admission.QUEUED


def test_debounce_keeps_the_last_event_until_the_period_passes_quietly() -> None:
    state = GateState(_config(debounce={"period": 5, "timeout": None}))
    for i, now in enumerate((0, 1_000, 2_000)):
        state.admit(_event(i), now)
        assert state.flush(now) == now + 5_000
    assert _drain(state, 6_999) == []
    assert state.flush(7_000) is None
    assert _drain(state, 7_000) == [["e2"]]
    assert state.idle


def test_debounce_timeout_caps_the_wait() -> None:
    state = GateState(_config(debounce={"period": 5, "timeout": 8}))
    for i, now in enumerate(range(0, 10_000, 2_000)):
        state.admit(_event(i), now)
        state.flush(now)
    # The fourth event (6 s) kept it waiting; at 8 s the timeout releases the latest.
    assert _drain(state, 8_000) == [["e4"]]


def test_batch_starts_at_max_size_or_timeout() -> None:
    state = GateState(_config(batch={"max_size": 3, "timeout": 10}))
    for i in range(4):
        state.admit(_event(i), now=i)
    assert state.flush(4) is None  # full: queued at once, the rest in a second batch
    assert _drain(state, 4) == [["e0", "e1", "e2"], ["e3"]]
    state.admit(_event(7), now=100)
    assert state.flush(100) == 10_100
    assert state.flush(10_100) is None
    assert _drain(state, 10_100) == [["e7"]]


def test_a_batch_closes_before_its_events_pass_its_byte_budget() -> None:
    # A run's input must fit Temporal's payload limit: the batch that would pass
    # ``max_bytes`` starts first and the event opens the next one (Inngest's 10 MiB cap).
    state = GateState(_config(batch={"max_size": 8, "timeout": 10, "max_bytes": 2_500}))
    for i in range(5):
        state.admit(_event(i, msg="a" * 1_000), now=i)
    assert _drain(state, 5) == [["e0", "e1"], ["e2", "e3"]]  # queued as they closed
    assert state.flush(5) == 10_004  # the open batch (e4) waits for its timeout
    assert state.flush(10_004) is None
    assert _drain(state, 10_004) == [["e4"]]
    assert state.idle


def test_a_batch_of_one_event_over_the_budget_still_starts() -> None:
    state = GateState(_config(batch={"max_size": 8, "timeout": 10, "max_bytes": 500}))
    state.admit(_event(0, msg="a" * 1_000), now=0)
    assert state.flush(0) is None  # over the budget on its own: due now, alone
    assert _drain(state, 0) == [["e0"]]
    state.admit(_event(1), now=1)
    assert state.flush(1) == 10_001


def test_a_batch_without_a_byte_budget_is_bounded_by_count_only() -> None:
    # Gates started before the budget existed hold their input's config: no split.
    state = GateState(_config(batch={"max_size": 8, "timeout": 10}))
    for i in range(3):
        state.admit(_event(i, msg="a" * 100_000), now=i)
    assert state.flush(3) == 10_000
    assert state.flush(10_000) is None
    assert _drain(state, 10_000) == [["e0", "e1", "e2"]]


def test_pending_bytes_are_measured_again_after_continue_as_new() -> None:
    config = _config(batch={"max_size": 8, "timeout": 10, "max_bytes": 2_500})
    state = GateState(config)
    state.admit(_event(0, msg="a" * 1_000), now=0)
    carried = GateState.from_dict(config, state.to_dict())
    assert "pending_bytes" not in state.to_dict()
    carried.admit(_event(1, msg="a" * 1_000), now=1)
    carried.admit(_event(2, msg="a" * 1_000), now=2)
    assert _drain(carried, 2) == [["e0", "e1"]]  # e2 would pass the budget: e0, e1 start
    assert carried.flush(2) == 10_002  # e2 opened the next batch at 2
    assert carried.flush(10_002) is None
    assert _drain(carried, 10_002) == [["e2"]]


def test_throttle_releases_runs_as_the_window_frees_in_priority_order() -> None:
    config = _config(throttle={"limit": 1, "period": 10, "burst": 1}, priority="event.data.p")
    state = GateState(config)
    state.admit(_event(0, p=0), now=0)
    state.admit(_event(1, p=0), now=0)
    state.admit(_event(2, p=100), now=0)
    events, _ = state.take(0)
    assert [e["id"] for e in events or []] == ["e2"]
    assert state.take(0) == (None, 10_000)
    assert [e["id"] for e in state.take(10_001)[0] or []] == ["e0"]
    assert state.keep_until() == 20_001


def test_start_timeout_drops_runs_that_waited_too_long() -> None:
    state = GateState(_config(throttle={"limit": 1, "period": 60, "burst": 1}, start_timeout=5))
    state.admit(_event(0), now=0)
    state.admit(_event(1), now=0)
    assert state.take(0)[0] is not None
    dropped = state.drop_expired(5_001)
    assert [q["events"][0]["id"] for q in dropped] == ["e1"]
    assert state.idle


def test_state_survives_continue_as_new() -> None:
    config = _config(batch={"max_size": 10, "timeout": 60})
    state = GateState(config)
    for i in range(3):
        state.admit(_event(i), now=i)
    carried = GateState.from_dict(config, state.to_dict())
    assert carried == state
    assert carried.admit(_event(1), now=5) is Admission.DUPLICATE


def test_throttle_queue_orders_by_queued_time_shifted_by_priority() -> None:
    # Inngest's priority: seconds ahead of runs queued up to that long before, never
    # ahead of older ones. A priority-0 run queued 2 s before eight priority-1 runs
    # starts first; with strict priority order (gates from before) it started last.
    config = _config(throttle={"limit": 1, "period": 60, "burst": 1}, priority="event.data.p")
    state = GateState(config)
    state.admit(_event(0, p=0), now=0)
    for i in range(1, 9):
        state.admit(_event(i, p=1), now=2_000)
    state.admit(_event(9, p=600), now=600_000)  # clamped shift: ahead of e1..e8, not e0
    order = []
    for t in range(10):
        events, _ = state.take(t * 60_001 + 600_000)
        order.append((events or [{}])[0].get("id"))
    assert order == ["e0", "e9", *(f"e{i}" for i in range(1, 9))]

    legacy = GateState(config)
    legacy.admit(_event(0, p=0), now=0)
    legacy.admit(_event(1, p=1), now=2_000)
    events, _ = legacy.take(2_000, shifted=False)
    assert [e["id"] for e in events or []] == ["e1"]
