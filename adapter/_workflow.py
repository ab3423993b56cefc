"""The orchestrator: one generic, deterministic workflow that runs every function.

It never runs user code. It asks an activity to call the handler, runs one
activity per planned step (activity id and summary = step id), records results in
the memo, and repeats until the handler returns. See DESIGN.md, "The execution
model".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from ._event import CRON_EVENT
from ._run_state import RUN_STATES, STATE_QUERY

RUN_STEP_ACTIVITY = "step.run"
HANDLER_ACTIVITY = "handler"
# Errors that end the run at once instead of becoming a memoized step error.
FATAL_ERROR_TYPES = frozenset(
    {"NonRetriableError", "StepError", "StepOutputError", "PayloadTooLargeError"}
)
_SCHEDULED_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def retry_policy(opts: dict[str, Any]) -> RetryPolicy:
    """The function's retry policy: ``retries`` + 1 attempts with exponential backoff."""
    backoff = opts["backoff"]
    return RetryPolicy(
        initial_interval=timedelta(seconds=backoff["initial"]),
        backoff_coefficient=backoff["coefficient"],
        maximum_interval=timedelta(seconds=backoff["maximum"]),
        maximum_attempts=opts["retries"] + 1,
        non_retryable_error_types=sorted(FATAL_ERROR_TYPES),
    )


def cron_event(cron: dict[str, Any], info: workflow.Info) -> dict[str, Any]:
    """Inngest's ``inngest/scheduled.timer`` event for one tick; its id is the tick's time."""
    scheduled = info.typed_search_attributes.get(_SCHEDULED_TIME)
    if scheduled is None:
        # Schedules name runs "<action id>-<RFC3339 time>".
        try:
            scheduled = datetime.fromisoformat(info.workflow_id[-20:].replace("Z", "+00:00"))
        except ValueError:
            scheduled = info.start_time
    scheduled = scheduled.astimezone(UTC).replace(microsecond=0)
    stamp = scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "name": CRON_EVENT,
        "id": stamp,
        "ts": int(scheduled.timestamp() * 1000),
        "data": {
            "cron": cron["cron"],
            "timezone": cron.get("timezone") or "UTC",
            "scheduledAt": stamp,
            "fireAt": stamp,
        },
    }


@workflow.defn(dynamic=True, sandboxed=False)
class FunctionRun:
    """Runs any function; the workflow type name is the function id."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._order: list[str] = []
        self._memo: dict[str, dict[str, Any]] = {}

    @workflow.query(name=STATE_QUERY)
    def state(self, since: int) -> dict[str, Any]:
        """Events and memo entries from index ``since``, for activities on other workers."""
        return {
            "events": self._events,
            "entries": [[sid, self._memo[sid]] for sid in self._order[since:]],
        }

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> Any:
        """Loop: call the handler, run the steps it plans, until it returns."""
        info = workflow.info()
        inp: dict[str, Any] = workflow.payload_converter().from_payload(args[0].payload, dict)
        self._events = inp.get("events") or [cron_event(inp["cron"], info)]
        self._opts: dict[str, Any] = inp["opts"]
        self._fn_id = info.workflow_type
        self._app_id = inp["app_id"]
        self._policy = retry_policy(self._opts)
        RUN_STATES.reset(info.run_id, self._events)
        try:
            return await self._loop()
        finally:
            RUN_STATES.drop(info.run_id)

    async def _loop(self) -> Any:
        plan: list[dict[str, Any]] | None = None
        while True:
            if plan is None:
                outcome = await self._call_handler()
                if outcome["done"]:
                    return outcome["result"]
                plan = outcome["plan"]
            before = len(self._order)
            outcomes = await asyncio.gather(*(self._run_step(p) for p in plan))
            plan = None
            if len(outcomes) == 1 and outcomes[0] is not None:
                only = outcomes[0]
                # The lookahead is valid only if it saw exactly the memo we now hold.
                if only["executed"] and len(self._order) == before + 1:
                    if only["done"]:
                        return only["result"]
                    if only["plan"]:
                        plan = only["plan"]

    def _activity_input(self, target: str | None) -> dict[str, Any]:
        info = workflow.info()
        return {
            "app_id": self._app_id,
            "function_id": self._fn_id,
            "workflow_id": info.workflow_id,
            "run_id": info.run_id,
            "memo_len": len(self._order),
            "target": target,
        }

    def _record(self, step_id: str, entry: dict[str, Any]) -> None:
        if step_id in self._memo:
            return
        self._order.append(step_id)
        self._memo[step_id] = entry
        RUN_STATES.record(workflow.info().run_id, step_id, entry)

    async def _call_handler(self) -> dict[str, Any]:
        # The local activity runs in this process and must find the state here: a
        # query from inside a local activity would wait for this very workflow task.
        RUN_STATES.ensure(workflow.info().run_id, self._events, self._order, self._memo)
        try:
            result: dict[str, Any] = await workflow.execute_local_activity(
                HANDLER_ACTIVITY,
                self._activity_input(None),
                start_to_close_timeout=timedelta(seconds=self._opts["step_timeout"]),
                retry_policy=self._policy,
                summary="handler",
            )
            return result
        except ActivityError as err:
            raise _run_failure(err) from None

    async def _run_step(self, planned: dict[str, Any]) -> dict[str, Any] | None:
        step_id = planned["id"]
        try:
            outcome: dict[str, Any] = await workflow.execute_activity(
                RUN_STEP_ACTIVITY,
                self._activity_input(step_id),
                activity_id=step_id,
                summary=step_id,
                start_to_close_timeout=timedelta(seconds=self._opts["step_timeout"]),
                heartbeat_timeout=timedelta(seconds=self._opts["heartbeat_timeout"]),
                retry_policy=self._policy,
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in FATAL_ERROR_TYPES:
                raise _run_failure(err) from None
            self._record(step_id, {"error": _error_entry(cause or err)})
            return None
        executed = outcome.get("executed")
        if executed:
            self._record(executed["id"], {"data": executed["data"]})
        return outcome


def _error_entry(error: BaseException) -> dict[str, Any]:
    if isinstance(error, ApplicationError):
        details = error.details[0] if error.details else {}
        stack = details.get("stack", "") if isinstance(details, dict) else ""
        return {"name": error.type or "Error", "message": error.message, "stack": stack}
    message = error.message if isinstance(error, FailureError) else str(error)
    return {"name": type(error).__name__, "message": message, "stack": ""}


def _run_failure(err: ActivityError) -> ApplicationError:
    """The error that fails the run, carrying the user's error type, message and stack."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return ApplicationError(
            cause.message, *cause.details, type=cause.type or "Error", non_retryable=True
        )
    message = cause.message if isinstance(cause, FailureError) else str(cause or err)
    return ApplicationError(message, type=type(cause or err).__name__, non_retryable=True)
