"""What ``step.invoke`` / ``step.invoke_by_id`` plan: the target and its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adapter._define.durations import DurationLike, parse_duration
from adapter._errors import ConfigError
from adapter._execution.call import Execution

if TYPE_CHECKING:
    from adapter._define.function import Function


def _invoke_timeout(step_id: str, timeout: DurationLike | None) -> float | None:
    if timeout is None:
        return None
    return parse_duration(timeout, field=f"step.invoke('{step_id}') timeout").total_seconds()


def invoke_opts(
    step_id: str,
    target: Function,
    data: Mapping[str, Any] | None,
    timeout: DurationLike | None,
    v: str | None = None,
) -> dict[str, Any]:
    """The options of an invoke of ``target``, carried to the orchestrator."""
    opts = {
        "app_id": target.app_id,
        "function_id": target.id,
        "task_queue": target.client.task_queue,
        "data": dict(data or {}),
        "timeout": _invoke_timeout(step_id, timeout),
        "opts": target.run_options(),
    }
    if v is not None:
        opts["v"] = v  # the invoked run's event.v, as in inngest-py
    return opts


def stubbed_invoke_opts(
    step_id: str,
    function_id: str,
    app_id: str | None,
    data: Mapping[str, Any] | None,
    timeout: DurationLike | None,
) -> dict[str, Any]:
    """Options of a stubbed invoke of a function this app does not have (sandbox only)."""
    return {
        "app_id": app_id,
        "function_id": function_id,
        "data": dict(data or {}),
        "timeout": _invoke_timeout(step_id, timeout),
    }


def resolve_target(
    ex: Execution, step_id: str, function_id: str, app_id: str | None
) -> Function | None:
    """The function to invoke; None for an unknown one whose step a sandbox test stubs."""
    app = ex.app
    if ex.stubbed(step_id):
        if app is None or (app_id is not None and app_id != app.app_id):
            return None
        try:
            return app.function(function_id)
        except KeyError:
            return None
    if app is None or (app_id is not None and app_id != app.app_id):
        raise ConfigError(
            f"step.invoke_by_id('{step_id}'): function {function_id!r} of app "
            f"{app_id or '?'} is not known to this worker; pass function= instead"
        )
    try:
        return app.function(function_id)
    except KeyError as exc:
        raise ConfigError(f"step.invoke_by_id('{step_id}'): {exc.args[0]}") from None
