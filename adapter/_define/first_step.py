"""The id of a handler's first step, when its source makes it certain.

A run's orchestrator otherwise learns the first step by calling the handler once
(a local activity) before it can schedule anything. When the first thing the handler
awaits is ``ctx.step.run("literal-id", ...)`` (after simple statements at most),
that step is the first step of every run, so the orchestrator schedules it at once.
If the handler does something else after all (its source changed at run time, or
it raised first), the step's activity reports that and the orchestrator falls back
to calling the handler: the hint saves a round trip but never changes behaviour.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from adapter._protocol import STEP_ACTIVITY_OPTIONS

SIMPLE_STATEMENTS = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)


def first_step_id(handler: Callable[..., Any]) -> str | None:
    """The literal id of the handler's first ``step.run``, when its source makes it certain.

    Simple statements may come first: assignments, and in an async handler calls that
    await nothing and start no step or task (``user = load(ctx.event.data)``,
    ``ctx.logger.info(...)``), which the hinted step's activity runs as new code. (In a
    sync handler any call may be a step, so there only call-free statements.) The
    first statement that awaits must await exactly once, and that must be
    ``<...>.step.run("literal-id", ...)``, possibly inside a call such as
    ``str(await ctx.step.run(...))``. Control flow or a ``return`` before it means no
    hint, and so does a ``step.run`` with its own ``retries=`` or ``timeout=``.
    """
    try:
        source = textwrap.dedent(inspect.getsource(handler))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    func = next(
        (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None
    )
    if func is None or func.name != getattr(handler, "__name__", None):
        return None
    for statement in func.body:
        if not isinstance(statement, SIMPLE_STATEMENTS):
            return None
        sync = isinstance(func, ast.FunctionDef)
        suspending = _suspending_calls(statement, sync=sync)
        if not suspending:
            if isinstance(statement, ast.Return) or not _plain(statement, sync=sync):
                return None  # it returns first, or a call in it may run a step
            # The docstring, assignments or calls (a log line) before the first step: the
            # hinted step's activity runs them first, as new code (they log once).
            continue
        if len(suspending) > 1:
            return None
        return _literal_step_run_id(suspending[0])
    return None


def _suspending_calls(statement: ast.stmt, *, sync: bool) -> list[ast.expr]:
    """What may start a step: the awaited expressions, or in a sync handler the step calls."""
    if not sync:
        return [n.value for n in ast.walk(statement) if isinstance(n, ast.Await)]
    return list(_step_calls(statement))


TASK_STARTERS = frozenset({"ensure_future", "create_task", "run_coroutine_threadsafe"})


def _plain(statement: ast.stmt, *, sync: bool) -> bool:
    """Whether a statement that awaits nothing runs no step before the first one.

    In an async handler a step runs only when awaited, unless a call starts it as a
    task; in a sync handler any call may be a step (``inngest.experimental.step``, a
    helper given ``ctx``), so there only calls-free statements are plain.
    """
    calls = [n for n in ast.walk(statement) if isinstance(n, ast.Call)]
    if sync:
        return not calls
    if _step_calls(statement):
        return False
    return not any(
        isinstance(n.func, ast.Attribute | ast.Name)
        and (n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id) in TASK_STARTERS
        for n in calls
    )


def _step_calls(statement: ast.stmt) -> list[ast.Call]:
    """The ``<...>.step.<method>(...)`` calls in a statement."""
    return [
        n
        for n in ast.walk(statement)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Attribute)
        and n.func.value.attr == "step"
    ]


def _literal_step_run_id(value: ast.expr) -> str | None:
    """``"id"`` when ``value`` is ``<...>.step.run("id", ...)``."""
    if not isinstance(value, ast.Call):
        return None
    callee = value.func
    is_step_run = (
        isinstance(callee, ast.Attribute)
        and callee.attr == "run"
        and isinstance(callee.value, ast.Attribute)
        and callee.value.attr == "step"
    )
    if not is_step_run or not value.args:
        return None
    if any(k.arg in STEP_ACTIVITY_OPTIONS for k in value.keywords):
        return None  # the hint is scheduled with the function's options, not the step's own
    step_id = value.args[0]
    if isinstance(step_id, ast.Constant) and isinstance(step_id.value, str) and step_id.value:
        return step_id.value
    return None
