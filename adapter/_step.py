"""The step API: ``ctx.step.run`` (async handlers) and its sync twin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._errors import _Interrupt
from ._executor import Execution, Planned

T = TypeVar("T")


class Step:
    """Steps for ``async def`` handlers. Each step runs at most once per run."""

    def __init__(self, execution: Execution) -> None:
        self._ex = execution

    async def run(self, step_id: str, handler: Callable[..., Any], *handler_args: Any) -> Any:
        """Run ``handler(*handler_args)`` as a durable step and return its JSON result.

        The result is recorded under ``step_id``: on later calls of the handler the
        recorded value is returned without running ``handler`` again. A failing
        body is retried with backoff; after the last attempt ``StepError`` is
        raised here, where the handler may catch it.
        """
        ex = self._ex
        sid = ex.unique_id(step_id)
        found, value = ex.lookup(sid)
        if found:
            return value
        gate = ex.plan_step(Planned("run", sid, step_id))
        assert gate is not None
        await gate
        return await ex.call_body(sid, handler, handler_args)


class StepSync:
    """Steps for plain ``def`` handlers; same semantics as :class:`Step`, no ``await``."""

    def __init__(self, execution: Execution) -> None:
        self._ex = execution

    def run(self, step_id: str, handler: Callable[..., Any], *handler_args: Any) -> Any:
        """Run ``handler(*handler_args)`` as a durable step and return its JSON result."""
        ex = self._ex
        sid = ex.unique_id(step_id)
        found, value = ex.lookup(sid)
        if found:
            return value
        if ex.may_run_inline(sid):
            ex.reached_new = True
            return ex.call_body_sync(sid, handler, handler_args)
        ex.plan_step(Planned("run", sid, step_id))
        raise _Interrupt()
