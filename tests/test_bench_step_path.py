"""bench.step_path splits each step's cycle into the segments its table names."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.step_path import (
    FIRST_SEGMENTS,
    SEGMENTS,
    Marks,
    _wrapped,
    first_step_segments,
    step_segments,
    table,
)

pytestmark = pytest.mark.unit

T0 = 1_000.0  # seconds since the epoch, as event times and the worker's marks are
E = EventType


def _event(event_id: int, kind: EventType.ValueType, at_ms: float) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=kind)
    event.event_time.FromNanoseconds(int((T0 + at_ms / 1e3) * 1e9))
    return event


def _history() -> list[HistoryEvent]:
    """Three steps, one every 10 ms: scheduled, completed 4 ms later, a workflow task 5-9 ms."""
    start = _event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0)
    start.workflow_execution_started_event_attributes.original_execution_run_id = "run-1"
    events = [start]
    for step in range(3):
        at, first = step * 10.0, 2 + step * 4
        scheduled = _event(first, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, at)
        scheduled.activity_task_scheduled_event_attributes.activity_id = f"s{step}"
        completed = _event(first + 1, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, at + 4)
        completed.activity_task_completed_event_attributes.scheduled_event_id = first
        events += [
            scheduled,
            completed,
            _event(first + 2, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, at + 5),
            _event(first + 3, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, at + 9),
        ]
    return events


def test_the_middle_step_splits_into_its_ten_segments() -> None:
    marks = Marks()
    # Step s1 is scheduled at 10 ms; the worker sees it at 11, 12, 13; the activation
    # of its workflow task (started at 15) at 16, 17, 18.
    marks.activities[("wf", "s1")] = {"task": T0 + 0.011, "fn": T0 + 0.012, "fn_end": T0 + 0.013}
    marks.activations["run-1"] = [
        {"task": T0 + 0.006, "code": T0 + 0.0065, "code_end": T0 + 0.007},  # step s0's
        {"task": T0 + 0.016, "code": T0 + 0.017, "code_end": T0 + 0.018},
    ]
    segments = step_segments("wf", _history(), marks)
    assert [round(segments[name][0], 6) for name in SEGMENTS] == [1.0] * 10
    assert segments["cycle"] == [pytest.approx(10.0)]
    lines = table({"adapter": segments, "raw": segments})
    assert "| **3 activity function** (ours) | 1.000 | 1.000 | +0.000 |" in lines


def test_a_step_the_worker_did_not_see_is_left_out() -> None:
    segments = step_segments("wf", _history(), Marks())
    assert all(values == [] for values in segments.values())


def test_a_renamed_sdk_method_stops_with_a_clear_message() -> None:
    class Sdk:
        pass

    with pytest.raises(SystemExit, match=r"no Sdk\._gone"), _wrapped(Sdk, "_gone", lambda f: f):
        pass


def test_the_first_step_splits_around_the_local_activity_that_found_it() -> None:
    events = _history()  # the run starts at 0 ms; its first step is scheduled at 0 too
    events[1].event_time.FromNanoseconds(int((T0 + 0.010) * 1e9))  # now at 10 ms
    marks = Marks()
    marks.activations["run-1"] = [
        {"task": T0 + 0.0015, "code": T0 + 0.002, "code_end": T0 + 0.003},
        {"task": T0 + 0.0055, "code": T0 + 0.006, "code_end": T0 + 0.007},
    ]
    marks.activities[("wf", "1")] = {"local": 1.0, "fn": T0 + 0.004, "fn_end": T0 + 0.005}
    segments = first_step_segments("wf", events, marks)
    assert [round(segments[name][0], 6) for name in FIRST_SEGMENTS] == [2, 1, 1, 1, 1, 1, 3]
    assert segments["total"] == [pytest.approx(10.0)]

    del marks.activities[("wf", "1")]  # a literal first step: no local activity
    segments = first_step_segments("wf", events, marks)
    assert [len(segments[name]) for name in FIRST_SEGMENTS] == [1, 1, 0, 0, 0, 0, 1]
    assert segments[FIRST_SEGMENTS[-1]] == [pytest.approx(7.0)]
