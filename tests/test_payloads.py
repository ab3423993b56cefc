"""JSON sizes of a handler call's report, with the parts measured when they were encoded."""

from __future__ import annotations

import json

import pytest

from adapter._execution.payloads import json_size


def _encoded(value: object) -> tuple[object, int]:
    text = json.dumps(value, separators=(",", ":"))
    return json.loads(text), len(text.encode())


@pytest.mark.unit
@pytest.mark.parametrize(
    "data",
    [
        # Over the size below which the parts are simply encoded again.
        {"contacts": [{"id": 1, "name": "Zoë", "score": 0.1}, {"id": 2, "tags": []}] * 500},
        ["a", 1, 2.5, None, True, {"é": "☃"}] * 1000,
        "x" * 20_000,
    ],
)
def test_a_measured_part_counts_its_known_size_exactly(data: object) -> None:
    value, size = _encoded(data)
    result, result_size = _encoded({"total": 3})
    compact = {"x": value, "p": [["run", "next", {"timeout": 5}]], "d": result}
    long_form = {"executed": {"id": "fetch", "data": value, "completed_ms": 1}, "result": result}
    for report in (compact, long_form):
        assert json_size(report, [(value, size), (result, result_size)]) == json_size(report)


@pytest.mark.unit
def test_a_part_measured_but_not_in_the_report_changes_nothing() -> None:
    value, size = _encoded({"a": [1, 2, 3]})
    other = {"a": [1, 2, 3]}  # equal, not the same object: encoded as usual
    report = {"x": other, "p": [["sleep", "s"]]}
    assert json_size(report, [(value, size)]) == json_size(report)


@pytest.mark.unit
def test_the_known_size_is_what_counts_not_a_fresh_encoding() -> None:
    value, _ = _encoded({"big": "x" * 100})
    assert json_size({"x": value}, [(value, 100_000)]) == len('{"x":}') + 100_000
