"""Raw temporalio's steps workflow under the workflow sandbox (temporalio's default runner).

Kept apart from bench/steps.py so that the sandbox re-imports only this small module.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy


@workflow.defn(name="bench-raw-steps-sandboxed")
class RawStepsSandboxed:
    """N trivial activities in sequence, as bench.steps.RawSteps, inside the sandbox."""

    @workflow.run
    async def run(self, n: int, heartbeat: bool) -> int:
        """Run n trivial activities (``bench-noop``) one after the other."""
        total = 0
        for i in range(n):
            total += await workflow.execute_activity(
                "bench-noop",
                i,
                result_type=int,
                start_to_close_timeout=timedelta(hours=2),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        return total
