"""What a gate or semaphore carries across continue-as-new must fit one payload (limits.py).

Measured on the states themselves: a semaphore carries every waiting step's request
(~280 bytes), so about 7,000 waiting steps per key fill the 2 MiB payload; a gate carries
its throttle backlog's events. Past that, both go on in the same run instead of failing
their workflow task for ever on a continue-as-new Temporal refuses.
"""

from __future__ import annotations

from adapter._workflows.gate_state import GateState
from adapter._workflows.limits import CARRY_BYTES, fits_in_carry
from adapter._workflows.semaphore_state import SemaphoreState


def _semaphore_with(waiting: int) -> SemaphoreState:
    state = SemaphoreState(limit=5)
    for i in range(waiting):
        run = f"my-app:process-order:01M8Y1QNVK1MNB5VZ2RF{i:06d}"
        state.acquire(
            {
                "token": f"{run}|charge-card|0|3",
                "run": run,
                "limit": 5,
                "priority": 0,
                "lease_s": 360.0,
                "run_id": "eec7b4a6-677e-4741-82a0-b18f8855c906",
                "since_ms": 1_764_770_000_000 + i,
            },
            now=1_764_770_000_000 + i,
        )
    return state


def test_a_semaphore_carries_a_few_thousand_waiting_steps_not_ten_thousand() -> None:
    assert fits_in_carry(_semaphore_with(5_000).to_dict())
    assert not fits_in_carry(_semaphore_with(10_000).to_dict())


def test_a_gate_with_a_backlog_over_one_payload_does_not_carry_it() -> None:
    config = {"throttle": {"limit": 1, "period": 60, "burst": 1}, "priority": None}
    state = GateState(config)
    for i in range(30):  # 30 events of 100 KiB wait for the throttle: 3 MiB
        state.admit({"name": "t/e", "id": f"e{i}", "data": {"blob": "x" * 100 * 1024}}, now=i)
    assert not fits_in_carry(state.to_dict())
    while len(state.queue) > 15:  # the throttle lets runs go: what is left fits again
        state.queue.pop(0)
    assert fits_in_carry(state.to_dict())
    assert CARRY_BYTES == 2 * 1024 * 1024 - 64 * 1024
