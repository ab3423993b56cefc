"""inngest-py's middleware classes: ``Middleware``, ``MiddlewareSync`` and what their hooks get.

``Inngest(middleware=[...])``, ``client.add_middleware`` and
``create_function(middleware=[...])`` take them (kept in ``client.middleware``,
``fn.middleware``); the worker's executor calls their hooks at the points of a run
where inngest-py calls them (:mod:`adapter._execution.middleware`), in the sandbox
too. Every hook does nothing by default, with inngest-py's names and signatures, so a
subclass written for inngest-py is a valid class here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


class SendEventsResult(BaseModel):
    """What a send returned: the event ids, and an error message if it failed."""

    error: str | None = None
    ids: list[str] = Field(default_factory=list)


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Any = _Empty()
"""``TransformOutputResult.output`` when there is none (an error, a planned step)."""


@dataclass
class TransformOutputStepInfo:
    """The step behind a ``TransformOutputResult``: its id, opcode and options."""

    id: str
    op: Any
    opts: dict[str, object] | None = None


@dataclass
class TransformOutputResult:
    """A function's or step's result as ``transform_output`` sees it.

    Changes to ``output`` and ``error`` are kept (a step's changed output is what is
    stored); ``step`` is None for the function's own result.
    """

    error: Exception | None
    output: object
    step: TransformOutputStepInfo | None = None

    def has_output(self) -> bool:
        """Whether there is an output (not an error, not a planned step)."""
        return self.output is not EMPTY


class StepMemos:
    """The recorded step results of a run, by step id (``transform_input``'s ``steps``)."""

    def __init__(self, memos: Mapping[str, Any]) -> None:
        self._memos = dict(memos)

    @property
    def size(self) -> int:
        """How many steps are recorded."""
        return len(self._memos)

    def values(self) -> Iterator[Any]:
        """The recorded entries."""
        return iter(self._memos.values())


class Middleware:
    """Async middleware, with inngest-py's hooks (sync hooks are fine here too)."""

    def __init__(self, client: Any, raw_request: object) -> None:
        self.client = client
        self.raw_request = raw_request

    async def after_execution(self) -> None:
        """After new code ran (once per step call)."""

    async def after_send_events(self, result: SendEventsResult) -> None:
        """After events were sent."""

    async def before_execution(self) -> None:
        """Before new code runs (once per step call)."""

    async def before_response(self) -> None:
        """After the output is set, before it is reported."""

    async def before_send_events(self, events: list[Any]) -> None:
        """Before events are sent."""

    async def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
        """Before a function or step is called: may replace parts of ``ctx``."""

    async def transform_output(self, result: TransformOutputResult) -> None:
        """After a function or step returned: may change ``result.output``."""


class MiddlewareSync:
    """The sync twin of :class:`Middleware`."""

    def __init__(self, client: Any, raw_request: object) -> None:
        self.client = client
        self.raw_request = raw_request

    def after_execution(self) -> None:
        """After new code ran (once per step call)."""

    def after_send_events(self, result: SendEventsResult) -> None:
        """After events were sent."""

    def before_execution(self) -> None:
        """Before new code runs (once per step call)."""

    def before_response(self) -> None:
        """After the output is set, before it is reported."""

    def before_send_events(self, events: list[Any]) -> None:
        """Before events are sent."""

    def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
        """Before a function or step is called: may replace parts of ``ctx``."""

    def transform_output(self, result: TransformOutputResult) -> None:
        """After a function or step returned: may change ``result.output``."""


UninitializedMiddleware = Callable[[Any, object], Middleware | MiddlewareSync]
"""What ``middleware=`` lists: a class (or factory) taking ``(client, raw_request)``."""
