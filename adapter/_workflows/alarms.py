"""The sleeps of a run, and waking one early (``adapter wake``).

A ``step.sleep`` is a Temporal timer. An operator may end it early with the
orchestrator's ``adapter.wake`` signal naming the sleeping step; the step then
completes as if its time had come. A wake that names a step which is not asleep is
kept, so a wake sent just before the sleep starts still counts.
"""

from __future__ import annotations

from temporalio import workflow


class Alarms:
    """The steps woken by signal, and the one asleep now."""

    def __init__(self) -> None:
        self.woken: set[str] = set()
        self.asleep: str | None = None

    def wake(self, step_id: str | None) -> None:
        """Wake ``step_id`` (None: whichever step sleeps now, if any)."""
        target = step_id or self.asleep
        if target is not None:
            self.woken.add(target)

    async def sleep(self, step_id: str, seconds: float) -> None:
        """Sleep ``seconds`` on a timer unless woken first."""
        if step_id in self.woken:
            return
        self.asleep = step_id
        try:
            await workflow.wait_condition(
                lambda: step_id in self.woken, timeout=seconds, timeout_summary=step_id
            )
        except TimeoutError:
            pass
        finally:
            self.asleep = None
