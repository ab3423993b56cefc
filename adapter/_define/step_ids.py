"""The step ids a handler's source names, read statically (``adapter check-deploy``).

A run in flight resumes on the new code: each step it recorded is found again only if
the new handler still calls a step with that id. The ids are read from the handler's
module with ``ast`` (as :mod:`adapter._define.first_step` does): the first argument of
every ``<...>.step.<method>(...)`` or ``step.<method>(...)`` call. Literal ids are
known exactly, f-strings become patterns (``f"item-{i}"`` reaches ``item-0``, ``item-7``);
any other expression makes the names incomplete: then nothing can be said.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STEP_METHODS = frozenset(
    {"run", "sleep", "sleep_until", "wait_for_event", "invoke", "invoke_by_id", "send_event"}
)
_REPEAT = re.compile(r"^(?P<base>.+):(?P<n>\d+)$")  # Inngest's suffix for a repeated id


@dataclass
class StepNames:
    """The step ids a handler's module names.

    ``order``: the literal ids the handler function itself names, in source order
    (first occurrence); ``complete``: False when some id is not a literal or f-string.
    """

    literals: set[str] = field(default_factory=set)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    complete: bool = True
    reason: str = ""

    def reaches(self, step_id: str) -> bool:
        """Whether the code may call a step with this id (always, when incomplete)."""
        if not self.complete:
            return True
        candidates = [step_id]
        repeated = _REPEAT.match(step_id)
        if repeated:
            candidates.append(repeated.group("base"))
        return any(
            c in self.literals or any(p.fullmatch(c) for p in self.patterns) for c in candidates
        )


def _step_call_id(node: ast.AST) -> ast.expr | None:
    """The id argument of a ``<...>.step.<method>(id, ...)`` or ``step.<method>(id)`` call."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    if node.func.attr not in STEP_METHODS:
        return None
    owner = node.func.value
    is_step = (isinstance(owner, ast.Attribute) and owner.attr == "step") or (
        isinstance(owner, ast.Name) and owner.id == "step"
    )
    if not is_step:
        return None
    if node.args:
        return node.args[0]
    return next((k.value for k in node.keywords if k.arg in ("step_id", "id")), None)


def _pattern(value: ast.JoinedStr) -> re.Pattern[str]:
    parts = [
        re.escape(str(part.value)) if isinstance(part, ast.Constant) else ".+"
        for part in value.values
    ]
    return re.compile("".join(parts))


def source_step_names(source: str, handler_name: str | None = None) -> StepNames:
    """The step ids ``source`` (a module) names; ``order`` from its function ``handler_name``."""
    names = StepNames()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return StepNames(complete=False, reason=f"its source does not parse ({exc.msg})")
    for node in ast.walk(tree):
        arg = _step_call_id(node)
        if arg is None:
            continue
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.literals.add(arg.value)
        elif isinstance(arg, ast.JoinedStr):
            names.patterns.append(_pattern(arg))
        else:
            names.complete = False
            names.reason = f"a step id at line {arg.lineno} is not a literal"
    handler = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == handler_name
        ),
        None,
    )
    if handler is not None:
        calls = sorted(
            (
                (arg.lineno, arg.col_offset, arg.value)
                for n in ast.walk(handler)
                if (arg := _step_call_id(n)) is not None
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
            ),
        )
        for _, _, step_id in calls:
            if step_id not in names.order:
                names.order.append(step_id)
    return names


def handler_step_names(handler: Callable[..., Any]) -> StepNames:
    """The step ids the module of ``handler`` names."""
    module = inspect.getmodule(handler)
    try:
        source = inspect.getsource(module if module is not None else handler)
    except (OSError, TypeError):
        return StepNames(complete=False, reason="its source cannot be read")
    return source_step_names(source, getattr(handler, "__name__", None))
