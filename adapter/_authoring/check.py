"""The check of a model-written module before ``adapter new`` writes it.

It must compile, import the app's client, define exactly one function through
``create_function`` with the planned id and trigger (validated by the adapter's own
config code), and use steps with unique literal ids.
"""

from __future__ import annotations

import ast
from typing import Any

from pydantic import ValidationError

from adapter._authoring.events import EventSpec
from adapter._authoring.model import ModelOutputError
from adapter._authoring.plan import FunctionPlan
from adapter._authoring.pysource import client_import
from adapter._authoring.schedule import Schedule
from adapter._define.config import Backoff, FunctionConfig, TriggerCron, TriggerEvent
from adapter._define.function import build_config
from adapter._errors import ConfigError

STEP_METHODS = frozenset(
    {"run", "sleep", "sleep_until", "wait_for_event", "invoke", "invoke_by_id", "send_event"}
)

_TRIGGER_MODELS: dict[str, type[TriggerCron] | type[TriggerEvent] | type[Backoff]] = {
    "TriggerCron": TriggerCron,
    "TriggerEvent": TriggerEvent,
    "Backoff": Backoff,
}
# Handlers, not config: they are not literal values, and the check does not need them.
_HANDLER_ARGS = ("on_failure", "onFailure")


def _callee(node: ast.expr) -> str | None:
    """Return the name a call's callee ends with: ``f`` for ``f(...)`` and ``a.f(...)``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.expr) -> Any:
    """Evaluate a create_function argument: literals and TriggerCron(...)-style calls."""
    if isinstance(node, ast.Call):
        name = _callee(node.func)
        if name in _TRIGGER_MODELS and not node.args:
            kwargs = {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
            try:
                return _TRIGGER_MODELS[name].model_validate(kwargs)
            except ValidationError as exc:
                msg = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                raise ModelOutputError(f"{name}(...) is invalid: {msg}") from None
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                raise ModelOutputError("create_function's config may not use ** unpacking")
            key = _literal(key_node)
            if key not in _HANDLER_ARGS:
                out[key] = _literal(value_node)
        return out
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise ModelOutputError(
            f"create_function's arguments must be literal values; {ast.unparse(node)!r} is not"
        ) from None


def _method_calls(tree: ast.AST, methods: frozenset[str]) -> list[ast.Call]:
    """Return the calls ``<owner>.<method>(...)`` in ``tree`` for any of ``methods``."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in methods
    ]


def create_function_calls(tree: ast.AST) -> list[ast.Call]:
    """Return the ``<client>.create_function(...)`` calls in ``tree``."""
    return _method_calls(tree, frozenset({"create_function"}))


def _config_of(call: ast.Call) -> FunctionConfig:
    """Build the call's FunctionConfig with the adapter's own validation."""
    config = _literal(call.args[0]) if len(call.args) > 0 else None
    trigger = _literal(call.args[1]) if len(call.args) > 1 else None
    options: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise ModelOutputError("create_function may not use ** unpacking")
        if kw.arg not in _HANDLER_ARGS:
            options[kw.arg] = _literal(kw.value)
    try:
        return build_config(config, trigger, options)
    except ConfigError as exc:
        raise ModelOutputError(f"its function config is invalid: {exc}") from None


def _same_trigger(config: FunctionConfig, expected: Schedule | EventSpec) -> bool:
    """Whether the config has exactly the planned trigger (same cron and zone, or event)."""
    if len(config.triggers) != 1:
        return False
    (trigger,) = config.triggers
    if isinstance(expected, Schedule):
        if not isinstance(trigger, TriggerCron):
            return False
        spec = trigger.spec
        return (spec.fields, spec.timezone) == (expected.cron, expected.timezone)
    return isinstance(trigger, TriggerEvent) and trigger.event == expected.name


def _imports_client(tree: ast.Module, package: str) -> bool:
    """Whether the module imports ``inngest`` from ``<package>.client`` (or ``.client``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        from_package = node.level == 0 and node.module == f"{package}.client"
        relative = node.level == 1 and node.module == "client"
        if (from_package or relative) and any(
            a.name == "inngest" and a.asname in (None, "inngest") for a in node.names
        ):
            return True
    return False


def _step_ids(tree: ast.AST) -> list[str]:
    """Return the ids of the ``step.<method>("id", ...)`` calls; each must be a string literal."""
    ids: list[str] = []
    for node in _method_calls(tree, STEP_METHODS):
        assert isinstance(node.func, ast.Attribute)
        owner = node.func.value
        if not (
            (isinstance(owner, ast.Attribute) and owner.attr == "step")
            or (isinstance(owner, ast.Name) and owner.id == "step")
        ):
            continue
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            raise ModelOutputError(
                f"step call {ast.unparse(node)[:60]!r} needs a literal string id as its first "
                "argument"
            )
        ids.append(first.value)
    return ids


def check_module(source: str, plan: FunctionPlan, package: str = "functions") -> None:
    """Raise ModelOutputError unless ``source`` is a module ``adapter new`` may write.

    It must compile; import ``inngest`` from the app's client and create no other
    client; define exactly one function through ``create_function`` whose config the
    adapter accepts, with the planned id and trigger; and run at least one step,
    every step with a unique literal id.
    """
    try:
        tree = ast.parse(source)
        compile(tree, f"{plan.module}.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ModelOutputError(f"it does not compile: {exc.msg} (line {exc.lineno})") from None
    if not _imports_client(tree, package):
        raise ModelOutputError(f"it does not import inngest with `{client_import(package)}`")
    if any(isinstance(n, ast.Call) and _callee(n.func) == "Inngest" for n in ast.walk(tree)):
        raise ModelOutputError("it creates its own Inngest client")
    calls = create_function_calls(tree)
    if len(calls) != 1:
        raise ModelOutputError(
            f"it defines {len(calls)} functions through create_function; exactly one is allowed"
        )
    config = _config_of(calls[0])
    if config.id != plan.id:
        raise ModelOutputError(f"its function id is {config.id!r}, not {plan.id!r}")
    if not _same_trigger(config, plan.trigger):
        raise ModelOutputError(
            f"its trigger {[t.model_dump(exclude_none=True) for t in config.triggers]} is not "
            f"the one described ({plan.trigger_code})"
        )
    ids = _step_ids(tree)
    if not ids:
        raise ModelOutputError("it runs no step (ctx.step.run(...))")
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ModelOutputError(f"step id(s) {', '.join(map(repr, dupes))} are used more than once")
