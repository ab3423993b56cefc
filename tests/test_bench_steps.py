"""bench.steps' verdict lines, from synthetic results (no server)."""

from __future__ import annotations

import pytest

from bench.steps import ADAPTER, RAW, HistoryStats, Result, Results, verdict


def _result(steps: int, ms_per_step: float, cpu_ms_per_step: float, bytes_per_step: int) -> Result:
    history = HistoryStats(
        events=3 * steps,
        bytes=bytes_per_step * steps,
        run_ms=ms_per_step * steps,
        first_step_ms=8.0,
        first_wft_ms=5.0,
        cycle_ms=ms_per_step,
        activity_first_ms=3.0,
        activity_last_ms=3.0,
        turn_ms=5.0,
    )
    return Result(
        samples=[ms_per_step * steps / 1e3], cpu=[cpu_ms_per_step * steps / 1e3], history=history
    )


@pytest.mark.unit
def test_the_verdict_reads_time_bytes_and_worker_cpu_linearity_for_each_variant() -> None:
    results: Results = {
        1000: {ADAPTER: _result(1000, 9.0, 3.5, 690), RAW: _result(1000, 8.5, 3.2, 610)},
        5000: {ADAPTER: _result(5000, 10.35, 3.5, 690), RAW: _result(5000, 11.05, 3.2, 610)},
    }
    lines = verdict(results)
    assert "adapter: run time ≤ 1.00 × raw NOT MET at 1,000 steps (1.06)" in lines[0]
    [linearity] = [line for line in lines if line.startswith("Linearity")]
    assert "adapter time ×1.15, bytes ×1.00, worker CPU ×1.00" in linearity
    assert "raw time ×1.30, bytes ×1.00, worker CPU ×1.00" in linearity
