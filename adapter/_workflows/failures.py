"""How the orchestrator turns activity and child failures into memo entries and run failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from adapter._errors import FATAL_ERROR_NAMES


class FunctionTimeout(Exception):
    """The run did not start (``timeouts.start``) or finish (``timeouts.finish``) in time."""


def retry_policy(opts: dict[str, Any], *, compact: bool = False) -> RetryPolicy:
    """The function's retry policy: ``retries`` + 1 attempts with exponential backoff.

    ``compact`` (step_wire.py) leaves out the non-retryable error types: the step
    activity raises those errors non-retryable itself, and history records the list on
    every step.
    """
    backoff = opts["backoff"]
    return RetryPolicy(
        initial_interval=timedelta(seconds=backoff["initial"]),
        backoff_coefficient=backoff["coefficient"],
        maximum_interval=timedelta(seconds=backoff["maximum"]),
        maximum_attempts=opts["retries"] + 1,
        non_retryable_error_types=None if compact else sorted(FATAL_ERROR_NAMES),
    )


def step_options(
    opts: dict[str, Any], policy: RetryPolicy, step: dict[str, Any], *, compact: bool = False
) -> dict[str, Any]:
    """A step activity's start-to-close timeout and retry policy (``execute_activity``'s).

    ``step`` is what ``step.run(timeout=, retries=)`` put in the plan: the step's own,
    else the function's (``step_timeout``, ``policy``).
    """
    if "retries" in step or compact:
        retries = step.get("retries", opts["retries"])
        policy = retry_policy({**opts, "retries": retries}, compact=compact)
    timeout = timedelta(seconds=step.get("timeout", opts["step_timeout"]))
    return {"start_to_close_timeout": timeout, "retry_policy": policy}


def error_entry(error: BaseException) -> dict[str, Any]:
    """The memo form of a step's final failure: name, message, stack."""
    if isinstance(error, ApplicationError):
        details = error.details[0] if error.details else {}
        stack = details.get("stack", "") if isinstance(details, dict) else ""
        return {"name": error.type or "Error", "message": error.message, "stack": stack}
    message = error.message if isinstance(error, FailureError) else str(error)
    return {"name": type(error).__name__, "message": message, "stack": ""}


def run_failure(err: ActivityError) -> ApplicationError:
    """The error that fails the run, carrying the user's error type, message and stack."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return ApplicationError(
            cause.message, *cause.details, type=cause.type or "Error", non_retryable=True
        )
    message = cause.message if isinstance(cause, FailureError) else str(cause or err)
    return ApplicationError(message, type=type(cause or err).__name__, non_retryable=True)
