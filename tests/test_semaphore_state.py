"""A semaphore's slots, driven directly (no Temporal): adapter/_workflows/semaphore_state.py."""

from __future__ import annotations

from typing import Any

from adapter._protocol import AcquireRequest
from adapter._workflows.priority import queue_score
from adapter._workflows.semaphore_state import MAX_CHECKS, SWEEP_MS, SemaphoreState

LEASE_S = 100.0


def _ask(
    run: str, *, since_ms: int = 0, priority: int = 0, limit: int = 1, run_id: str = "r1"
) -> AcquireRequest:
    return {
        "token": f"{run}|work|0|0",
        "run": run,
        "limit": limit,
        "priority": priority,
        "lease_s": LEASE_S,
        "run_id": run_id,
        "since_ms": since_ms,
    }


def _granted_order(state: SemaphoreState) -> list[str]:
    """Release each holder in turn and return the runs in the order they got the slot."""
    order: list[str] = []
    while state.holders or state.waiting:
        for token in state.grant(now=0):
            order.append(state.run_of(token))
        for token in list(state.holders):
            state.release(token)
    return order


def test_priority_is_a_time_shift_clamped_to_600_seconds() -> None:
    assert queue_score(10_000, 0) == 10_000
    assert queue_score(10_000, 3) == 7_000
    assert queue_score(10_000, -3) == 13_000
    assert queue_score(0, 9_999) == queue_score(0, 600) == -600_000
    assert queue_score(0, -9_999) == 600_000


def test_an_old_run_goes_before_newer_runs_of_slightly_higher_priority() -> None:
    # The probe: a priority-0 run queued before eight priority-1 runs (2 s later) while
    # a blocker holds the only slot. Strict priority ran it last; Inngest runs it next.
    state = SemaphoreState()
    state.acquire(_ask("blocker", since_ms=0), now=0)
    state.acquire(_ask("old", since_ms=1_000), now=1_000)
    for i in range(8):
        state.acquire(_ask(f"new{i}", since_ms=3_000 + i, priority=1), now=3_000 + i)
    assert _granted_order(state) == ["blocker", "old", *(f"new{i}" for i in range(8))]


def test_a_high_priority_run_goes_ahead_of_runs_queued_up_to_its_priority_before() -> None:
    state = SemaphoreState()
    state.acquire(_ask("blocker"), now=0)
    state.acquire(_ask("oldest", since_ms=10_000), now=10_000)
    state.acquire(_ask("recent", since_ms=200_000), now=200_000)
    state.acquire(_ask("vip", since_ms=300_000, priority=120), now=300_000)  # score 180 s
    state.acquire(_ask("late", since_ms=400_000, priority=-600), now=400_000)
    state.acquire(_ask("later", since_ms=500_000), now=500_000)
    assert _granted_order(state) == ["blocker", "oldest", "vip", "recent", "later", "late"]


def test_requests_from_before_since_ms_are_ordered_by_arrival() -> None:
    state = SemaphoreState()
    old: dict[str, Any] = dict(_ask("a"))
    del old["since_ms"], old["run_id"]
    state.acquire(_ask("blocker"), now=0)
    state.acquire(old, now=5_000)  # type: ignore[arg-type]
    state.acquire(_ask("b", since_ms=6_000), now=6_000)
    assert _granted_order(state) == ["blocker", "a", "b"]


def test_a_token_asked_for_again_while_held_is_permitted_again_and_counted_once() -> None:
    # A reset run (or the next run of a singleton key) asks again for the token its
    # workflow id already holds: the same slot, permitted again.
    state = SemaphoreState()
    assert state.acquire(_ask("w", run_id="before-reset"), now=0) is False
    assert state.grant(now=0) == ["w|work|0|0"]
    assert state.acquire(_ask("other"), now=1) is False
    assert state.acquire(_ask("w", run_id="after-reset"), now=2) is True
    assert state.holders.keys() == {"w|work|0|0"}
    assert state.owners["w|work|0|0"] == ["w", "after-reset"]
    assert state.grant(now=2) == []  # the limit of 1 still holds
    assert [q["token"] for q in state.waiting] == ["other|work|0|0"]


def test_a_waiting_token_asked_for_again_is_queued_once() -> None:
    state = SemaphoreState()
    state.acquire(_ask("blocker"), now=0)
    state.grant(now=0)
    state.acquire(_ask("w", run_id="r1"), now=1)
    state.acquire(_ask("w", run_id="r2"), now=2)
    assert [(q["token"], q["run_id"]) for q in state.waiting] == [("w|work|0|0", "r2")]


def test_sweeps_only_while_someone_waits_for_held_slots_at_most_every_interval() -> None:
    state = SemaphoreState()
    state.acquire(_ask("holder"), now=0)
    state.grant(now=0)
    assert not state.sweep_due(now=10 * SWEEP_MS)  # a holder, nobody waits
    assert state.next_due(now=0) == LEASE_S * 1000  # only the lease wakes it
    state.acquire(_ask("waiter"), now=10 * SWEEP_MS)
    assert state.sweep_due(now=10 * SWEEP_MS)  # not checked for long: at once
    assert state.to_check() == [{"run": "holder", "run_id": "r1", "tokens": ["holder|work|0|0"]}]
    assert state.apply({"release": [], "moved": {}}, now=10 * SWEEP_MS) == []
    assert not state.sweep_due(now=10 * SWEEP_MS + SWEEP_MS - 1)
    assert state.next_due(now=10 * SWEEP_MS) == 11 * SWEEP_MS
    assert state.sweep_due(now=11 * SWEEP_MS)


def test_a_sweep_releases_the_slots_of_ended_runs_and_follows_moved_ones() -> None:
    state = SemaphoreState(limit=2)
    state.acquire(_ask("dead", limit=2), now=0)
    state.acquire(_ask("reset", limit=2, run_id="old"), now=0)
    state.grant(now=0)
    state.acquire(_ask("waiter", limit=2), now=1)
    released = state.apply(
        {"release": ["dead|work|0|0", "gone|work|0|0"], "moved": {"reset|work|0|0": "new"}}, now=1
    )
    assert released == ["dead|work|0|0"]
    assert state.owners["reset|work|0|0"] == ["reset", "new"]
    assert state.grant(now=1) == ["waiter|work|0|0"]


def test_holders_are_checked_in_turns_when_many_runs_hold() -> None:
    limit = MAX_CHECKS + 20
    state = SemaphoreState()
    for i in range(limit):
        state.acquire(_ask(f"run{i:03d}", limit=limit), now=0)
    state.grant(now=0)
    first = [c["run"] for c in state.to_check()]
    second = [c["run"] for c in state.to_check()]
    assert len(first) == len(second) == MAX_CHECKS
    assert set(first) | set(second) == {f"run{i:03d}" for i in range(limit)}


def test_state_from_before_sweeps_is_restored_and_its_holders_are_left_to_the_lease() -> None:
    carried = {
        "holders": {"old|work|0|0": 50_000},
        "waiting": [
            {**_ask("b"), "seq": 3},
            {"token": "a|work|0|0", "run": "a", "limit": 1, "priority": 0, "lease_s": 1, "seq": 2},
        ],
        "limit": 1,
        "seq": 3,
    }
    state = SemaphoreState.from_dict(carried)
    assert state.to_check() == []  # no owner recorded: only its lease ends it
    assert state.expire(now=50_000) == ["old|work|0|0"]
    assert [state.run_of(t) for t in state.grant(now=50_000)] == ["a"]
    again = SemaphoreState.from_dict(state.to_dict())
    assert again == state
