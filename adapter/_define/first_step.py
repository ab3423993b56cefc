"""The id of a handler's first step, when its source makes it certain.

A run's orchestrator otherwise learns the first step by calling the handler once
(a local activity) before it can schedule anything. When the handler's first
statement is ``ctx.step.run("literal-id", ...)`` (awaited, assigned or returned),
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


def first_step_id(handler: Callable[..., Any]) -> str | None:
    """The literal id of the handler's first ``step.run``, if it is its first statement."""
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
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return None
    first = body[0]
    value = (
        first.value
        if isinstance(first, ast.Expr | ast.Assign | ast.AnnAssign | ast.Return)
        else None
    )
    if isinstance(value, ast.Await):
        value = value.value
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
    step_id = value.args[0]
    if isinstance(step_id, ast.Constant) and isinstance(step_id.value, str) and step_id.value:
        return step_id.value
    return None


def waited_event_names(handler: Callable[..., Any]) -> set[str] | None:
    """The event names ``wait_for_event`` calls name in the handler's module, if all are literals.

    The whole module is read, so helpers beside the handler count. None when the
    source cannot be read or a call names its event with something other than a
    string literal: then any event may be waited on.
    """
    module = inspect.getmodule(handler)
    try:
        tree = ast.parse(inspect.getsource(module if module is not None else handler))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wait_for_event"
        ):
            continue
        event = next((k.value for k in node.keywords if k.arg == "event"), None)
        if isinstance(event, ast.Constant) and isinstance(event.value, str):
            names.add(event.value)
        else:
            return None
    return names
