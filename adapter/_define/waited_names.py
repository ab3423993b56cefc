"""The event names a handler's module waits on, read from its source.

Senders hand an event to its name's hubs only when some registered app waits or
cancels on that name (README, "Hubs only where someone listens"), so a worker publishes
the names its functions' ``step.wait_for_event(event=...)`` calls use. A name is known
when the call gives a string literal, or a module-level name bound exactly once in the
module, to a string (``ORDER_PAID = "order/paid"``, or ``from .events import
ORDER_PAID``): its value is read from the loaded module. Anything else (an f-string,
an attribute, a name bound more than once or also as a local) makes the module's waits
unknown, and then every event of the namespace goes to the hubs while its app is
registered.
"""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any


def waited_event_names(handler: Callable[..., Any]) -> set[str] | None:
    """The event names ``wait_for_event`` calls name in the handler's module, if all are known.

    The whole module is read, so helpers beside the handler count. None when the
    source cannot be read or a call names its event in a way the source does not settle
    (see the module docstring): then any event may be waited on.
    """
    module = inspect.getmodule(handler)
    try:
        tree = ast.parse(inspect.getsource(module if module is not None else handler))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    bindings: Counter[str] | None = None
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
            continue
        if bindings is None:
            bindings = _bindings(tree)
        value = _constant(event, module, bindings)
        if value is None:
            return None
        names.add(value)
    return names


def _constant(
    node: ast.expr | None, module: ModuleType | None, bindings: Counter[str]
) -> str | None:
    """The string a module-level name bound once holds, or None."""
    if not isinstance(node, ast.Name) or module is None or bindings[node.id] != 1:
        return None
    value = vars(module).get(node.id)
    return value if isinstance(value, str) else None


def _bindings(tree: ast.Module) -> Counter[str]:
    """How many times each name is bound anywhere in the module (a local counts too)."""
    bound: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound[node.id] += 1
        elif isinstance(node, ast.arg):
            bound[node.arg] += 1
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound[node.name] += 1
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound[(alias.asname or alias.name).split(".")[0]] += 1
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound[node.name] += 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update({name: 2 for name in node.names})  # rebound from a function
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bound[node.name] += 1
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound[node.rest] += 1
    return bound
