"""The remote state middleware: placeholders in Temporal, step outputs in the driver's store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from adapter._define.middleware import MiddlewareSync, StepMemos, TransformOutputResult
from adapter._execution.middleware import Opcode


class StateDriver(Protocol):
    """Where step outputs live: saves one and returns its placeholder, loads them back."""

    def load_steps(self, steps: StepMemos) -> None:
        """Replace the placeholders among ``steps`` (``.data``) with the stored outputs."""
        ...

    def save_step(self, run_id: str, value: object) -> dict[str, object]:
        """Store a step's output for ``run_id``; returns the JSON placeholder recorded instead."""
        ...


class RemoteStateMiddleware(MiddlewareSync):
    """Stores ``step.run`` outputs with a driver; Temporal's history holds placeholders only.

    Errors, planned steps, other step kinds and the function's own return value are left
    as they are (as inngest-py's).
    """

    def __init__(self, client: Any, raw_request: object, driver: StateDriver) -> None:
        """A middleware instance for one handler call, over ``driver``."""
        super().__init__(client, raw_request)
        self._driver = driver
        self._run_id: str | None = None

    @classmethod
    def factory(cls, driver: StateDriver) -> Callable[[Any, object], RemoteStateMiddleware]:
        """What ``Inngest(middleware=[...])`` or ``create_function(middleware=[...])`` takes."""

        def make(client: Any, raw_request: object) -> RemoteStateMiddleware:
            return cls(client, raw_request, driver)

        return make

    def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
        """Load the stored outputs before the handler sees the memo."""
        self._driver.load_steps(steps)
        self._run_id = ctx.run_id

    def transform_output(self, result: TransformOutputResult) -> None:
        """Store a step's output and leave its placeholder as what Temporal records."""
        if result.step is None or result.step.op is not Opcode.STEP_RUN:
            return
        if not result.has_output():
            return
        if self._run_id is None:
            raise RuntimeError("remote state: transform_output before transform_input")
        result.output = self._driver.save_step(self._run_id, result.output)
