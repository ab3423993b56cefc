"""The step API of the handler running in this context: inngest-py's ``experimental`` helpers.

``ctx.step`` is also reachable without ``ctx``: :func:`get_step_context` returns it in
the handler's code (and the step bodies and helpers it calls), and :func:`step` turns a
function into a step that is run by ``step.run`` when a handler calls it, and called
directly anywhere else. The API sets itself here when a handler call builds it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_STEP: contextvars.ContextVar[Any] = contextvars.ContextVar("adapter_step_context", default=None)


def bind(step: Any) -> None:
    """Make ``step`` the step API of the code that runs in this context (a handler call)."""
    _STEP.set(step)


def get_step_context() -> Any:
    """The running handler's ``ctx.step`` (``Step`` or ``StepSync``).

    Raises LookupError outside a handler call, as inngest-py does.
    """
    step = _STEP.get()
    if step is None:
        raise LookupError("no step context: get_step_context() is called outside a function run")
    return step


@contextlib.contextmanager
def set_step_context(step: Any) -> Iterator[None]:
    """Use ``step`` as the step context inside the block (inngest-py's ``set_step_context``)."""
    if _STEP.get() is not None:
        raise RuntimeError("Step context already set")
    token = _STEP.set(step)
    try:
        yield
    finally:
        _STEP.reset(token)


def step(step_id: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function so that a handler's call of it is ``step.run(step_id, ...)``.

    Called outside a function run, the function is called directly. In an async handler
    the call returns the awaitable ``step.run`` (``await my_step(...)``).
    """

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            body = functools.partial(func, *args, **kwargs)
            current = _STEP.get()
            if current is None:
                return body()
            result: R = current.run(step_id, body)
            return result

        return wrapper

    return decorator
