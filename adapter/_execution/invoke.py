"""What ``step.invoke`` / ``step.invoke_by_id`` plan: the target and its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adapter._define.durations import DurationLike, parse_duration
from adapter._errors import ConfigError
from adapter._execution.call import Execution
from adapter._temporal.registry import REGISTRY

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


def is_remote(ex: Execution, step_id: str, app_id: str | None) -> bool:
    """Whether ``invoke_by_id`` names another app's function (found in the registrations)."""
    app = ex.app
    return (
        app is not None
        and app_id is not None
        and app_id != app.app_id
        and not ex.stubbed(step_id)
        and ex.sender is app  # a worker's run (the sandbox records sends instead)
        and hasattr(app, "temporal")
    )


def is_memoized(ex: Execution, step_id: str) -> bool:
    """Whether the next step called ``step_id`` is in the memo already (no lookup needed)."""
    count = ex.counters.get(step_id, 0)
    return (step_id if count == 0 else f"{step_id}:{count}") in ex.memo


async def remote_invoke_opts(
    ex: Execution,
    step_id: str,
    app_id: str,
    function_id: str,
    data: Mapping[str, Any] | None,
    timeout: DurationLike | None,
    v: str | None = None,
) -> dict[str, Any]:
    """The options of an invoke of another app's function, from its registration.

    The app that serves it registered it in Temporal (adapter/_temporal/registry.py):
    its task queue and run options are read from there, as a sender reads them.
    """
    client = await ex.app.temporal()  # type: ignore[union-attr]
    table = await REGISTRY.table(client)
    for route in table.routes:
        if route.app_id == app_id and route.function_id == function_id:
            opts = {
                "app_id": app_id,
                "function_id": function_id,
                "task_queue": route.task_queue,
                "data": dict(data or {}),
                "timeout": _invoke_timeout(step_id, timeout),
                "opts": dict(route.run_opts),
            }
            if v is not None:
                opts["v"] = v
            return opts
    known = sorted(r.function_id for r in table.routes if r.app_id == app_id)
    where = (
        f"app {app_id!r} serves {', '.join(known)}" if known else f"no app {app_id!r} is registered"
    )
    raise ConfigError(
        f"step.invoke_by_id('{step_id}'): function {function_id!r} of app {app_id!r} is not "
        f"registered in this namespace ({where}); start a worker for it, or fix the ids"
    )


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
