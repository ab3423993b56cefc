"""The two activities that call user code: a step (``step.run``) and the handler alone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.common import QueryRejectCondition
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.client import Inngest
from adapter._define.event import Event
from adapter._errors import (
    NonRetriableError,
    PayloadTooLargeError,
    RetryAfterError,
    StepError,
    StepOutputError,
    is_fatal,
)
from adapter._execution.call import HandlerFailed, Outcome, RunInfo, StepFailed, error_entry
from adapter._execution.executor import execute, resume
from adapter._execution.payloads import check_size
from adapter._execution.state import RUN_STATES
from adapter._execution.state_fetch import State, fetch_run_state
from adapter._execution.suspended import Parked, SuspendedHandlers
from adapter._protocol import (
    ActivityName,
    Query,
    SendRequest,
    SignalWithStart,
    StepTask,
    hub_shard_ids,
)
from adapter._protocol_ids import public_run_id
from adapter._workflows.step_wire import compact_outcome, read_step_input

_PROBE_TIMEOUT = timedelta(seconds=5)
_CANCEL_CHECK_FOR = 0.5  # seconds a step's end waits for hubs still matching events
_CANCEL_CHECK_EVERY = 0.02


def to_application_error(error: BaseException, step_id: str | None = None) -> ApplicationError:
    """Translate a user error into what Temporal records and retries (or not)."""
    # BENIGN failures are logged at DEBUG by the SDK: Inngest's quiet errors.
    quiet = getattr(error, "quiet", False)
    category = ApplicationErrorCategory.BENIGN if quiet else ApplicationErrorCategory.UNSPECIFIED
    return _translate(error, step_id, category)


def _translate(
    error: BaseException, step_id: str | None, category: ApplicationErrorCategory
) -> ApplicationError:
    entry = error_entry(error)
    details: dict[str, Any] = {"stack": entry["stack"]}
    if step_id is not None:
        details["step_id"] = step_id
    if isinstance(error, NonRetriableError):
        return ApplicationError(
            error.message,
            details,
            type="NonRetriableError",
            non_retryable=True,
            category=category,
        )
    if isinstance(error, RetryAfterError):
        return ApplicationError(
            error.message,
            details,
            type="RetryAfterError",
            next_retry_delay=error.retry_after,
            category=category,
        )
    if isinstance(error, StepError):
        details.update(step_id=error.step_id, error=error.name, stack=error.stack or entry["stack"])
        return ApplicationError(
            error.summary, details, type="StepError", non_retryable=True, category=category
        )
    if isinstance(error, StepOutputError | PayloadTooLargeError):
        return ApplicationError(
            str(error), details, type=type(error).__name__, non_retryable=True, category=category
        )
    return ApplicationError(
        str(error) or type(error).__name__,
        details,
        type=type(error).__name__,
        non_retryable=is_fatal(error),  # e.g. ConfigError: compact steps list no error types
        category=category,
    )


class FunctionActivities:
    """Activities bound to one app's functions, by id."""

    def __init__(
        self,
        app: Inngest,
        *,
        threads: Executor | None = None,
        suspended: SuspendedHandlers | None = None,
    ) -> None:
        self._app = app
        # Handlers kept alive between their run's steps (None: every call replays the memo).
        self.suspended = suspended
        self._functions = {fn.id: fn for fn in app.functions}
        self._payload_limit = app.payload_limit
        self._threads = threads

    @activity.defn(name=ActivityName.RUN_STEP)
    async def run_step(self, inp: Any) -> dict[str, Any]:
        """Call the handler and run the step ``inp["target"]`` when it reaches it."""
        async with _heartbeating():
            return await self._call(inp)

    @activity.defn(name=ActivityName.HANDLER)
    async def run_handler(self, inp: Any) -> dict[str, Any]:
        """Call the handler to find its next steps, or its return value."""
        return await self._call(inp)

    @activity.defn(name=ActivityName.SEND)
    async def send(self, inp: SendRequest) -> list[str]:
        """Send events (lifecycle events such as inngest/function.failed) within an app."""
        if inp["app_id"] != self._app.app_id:
            return []
        return await self._app._send_as(activity.client(), inp["events"], internal=True)

    @activity.defn(name=ActivityName.SIGNAL_WITH_START)
    async def signal_with_start(self, inp: SignalWithStart) -> list[str]:
        """Signal coordinating workflows (hubs, semaphores), starting them if needed.

        Workflows cannot signal-with-start; this local activity does it for them. With
        ``ids`` it signals all of them concurrently (a subscription to every hub shard);
        ``unless`` skips a running workflow whose query says it holds the argument already
        (a waiting run's periodic check); ``only_running`` never starts one (unsubscribe).
        Returns the ids it signalled.
        """
        client = activity.client()
        ids = inp.get("ids") or [inp["id"]]

        async def one(workflow_id: str) -> bool:
            handle = client.get_workflow_handle(workflow_id)
            probe = inp.get("unless")
            if probe is not None:
                with contextlib.suppress(Exception):  # not running, not answering: signal
                    held = await handle.query(
                        probe["query"],
                        probe["arg"],
                        reject_condition=QueryRejectCondition.NOT_OPEN,
                        rpc_timeout=_PROBE_TIMEOUT,
                    )
                    if held is True:
                        return False
            if inp.get("only_running"):
                try:
                    await handle.signal(inp["signal"], inp["arg"])
                except RPCError as err:
                    if err.status == RPCStatusCode.NOT_FOUND:
                        return False  # not running: nothing to tell it
                    raise
                return True
            await client.start_workflow(
                inp["workflow"],
                inp["start"],
                id=workflow_id,
                task_queue=inp["task_queue"],
                start_signal=inp["signal"],
                start_signal_args=[inp["arg"]],
            )
            return True

        done = await asyncio.gather(*(one(w) for w in ids))
        return [w for w, signalled in zip(ids, done, strict=True) if signalled]

    async def _call(self, raw: Any) -> dict[str, Any]:
        ainfo = activity.info()
        run = _RunIds.of(ainfo)
        inp, compact = read_step_input(raw, ainfo.activity_id, ainfo.is_local)
        fn = self._functions.get(run.function_id)
        if fn is None:
            raise ApplicationError(
                f"function {run.function_id!r} is not defined on this worker "
                f"(known: {', '.join(sorted(self._functions)) or 'none'})",
                type="FunctionNotFound",
            )
        events, memo = await _run_state(run, inp["memo_len"])
        try:
            outcome = await self._resumed(run, memo, inp, ainfo.attempt - 1)
            if outcome is None:  # a fresh call (its context built only now: events validated)
                info = RunInfo(
                    function_id=fn.id,
                    run_id=public_run_id(run.workflow_id, run.workflow_run_id),
                    attempt=ainfo.attempt - 1,
                    events=[Event.model_validate(e) for e in events],
                    logger=fn.logger,
                )
                outcome = await execute(
                    fn.handler,
                    info,
                    memo,
                    target=inp.get("target"),
                    payload_limit=self._payload_limit,
                    threads=self._threads,
                    app=self._app,
                    encode=fn.encode_result,
                    run_new=bool(inp.get("run_new")),
                    suspend=self._parker(run, inp["memo_len"]),
                    first_call=bool(inp.get("hint")),
                )
        except StepFailed as failed:
            raise to_application_error(failed.error, failed.step_id) from failed.error
        except HandlerFailed as failed:
            if inp.get("hint"):
                # The hinted first step was not reached: the orchestrator calls the
                # handler the usual way, with the handler's own retries.
                return {}
            raise to_application_error(failed.error) from failed.error
        cancel: dict[str, Any] | None = None
        if fn.config.cancel:
            # A step boundary: a cancel event sent meanwhile stops the run here, before
            # its next step, even when the hub's cancellation request is still on its way.
            cancel = await _matched_cancel(run.workflow_id, [c.event for c in fn.config.cancel])
        target = inp.get("target")
        wire = _report(outcome, cancel, compact, target)
        # Step results are checked one by one; this catches large step options (e.g.
        # invoke data) so that Temporal never sees an oversized payload.
        where = f" (at step '{target}')" if target else ""
        what = f"the handler's report{where}"
        try:
            try:
                check_size(wire, what=what, limit=self._payload_limit, measured=outcome.measured)
            except PayloadTooLargeError:
                # Each part fits alone, as in a raw workflow: report the step's result
                # by itself, and the orchestrator asks the handler for the rest.
                alone = outcome.step_alone()
                if alone is None:
                    raise
                wire = _report(alone, cancel, compact, target)
                check_size(wire, what=what, limit=self._payload_limit, measured=alone.measured)
        except PayloadTooLargeError as exc:
            raise to_application_error(exc) from None
        return wire

    async def _resumed(
        self, run: _RunIds, memo: Mapping[str, dict[str, Any]], inp: StepTask, attempt: int
    ) -> Outcome | None:
        """Continue the run's suspended handler when it fits this activity (else None)."""
        cache = self.suspended
        parked = cache.take(run.workflow_run_id) if cache is not None else None
        if parked is None or cache is None:
            if cache is not None:  # a call stopped meanwhile ends its hooks before ours begin
                await cache.settled(run.workflow_run_id)
            return None
        target = inp.get("target")
        how = parked.fits(run.workflow_id, memo, target) if attempt == 0 else None
        if how and parked.ex.middleware is not None:
            how = None  # a recorded result reaches a call with middleware through transform_input
        if how is None:  # another memo, a retry: the handler is called again instead
            cache.discard(parked)
            await cache.settled(run.workflow_run_id)
            return None
        cache.resumed += 1
        return await resume(
            parked.task,
            parked.ex,
            parked.step,
            how,
            memo,
            target=target,
            run_new=bool(inp.get("run_new")),
            suspend=self._parker(run, inp["memo_len"]),
            handoff=parked.handoff,
        )

    def _parker(self, run: _RunIds, memo_len: int) -> Any:
        """What keeps a handler that stopped at one new step for the run's next activity."""
        cache = self.suspended
        if cache is None or cache.max_handlers == 0:
            return None

        def park(task: asyncio.Future[Any], ex: Any, step: Any, handoff: Any) -> None:
            executed = ex.executed["id"] if ex.executed is not None else None
            length = memo_len + (1 if executed is not None else 0)
            parked = Parked(
                run.workflow_id, run.workflow_run_id, length, executed, step, task, ex, handoff
            )
            cache.park(parked)

        return park


def _report(
    outcome: Outcome, cancel: dict[str, Any] | None, compact: bool, target: str | None
) -> dict[str, Any]:
    """What the activity returns: the outcome's wire form, one-letter keys when compact."""
    wire = outcome.to_wire()
    if cancel is not None:
        wire["cancelled"] = cancel
    if compact:  # one-letter keys (adapter/_workflows/step_wire.py)
        wire = compact_outcome(wire, target)
    return wire


async def _matched_cancel(workflow_id: str, event_names: list[str]) -> dict[str, Any] | None:
    """The event whose cancel rule matched this run at a hub, if one did.

    Every shard of each cancel event's hub is asked (an event goes to one of them). A
    query sees every signal its workflow got before it, so an event sent while the step
    ran is seen; a hub with events still to match says so, and is asked again, for a
    moment. A hub that cannot answer (none yet, an older worker) counts as no match.
    """
    try:
        client = activity.client()
    except RuntimeError:  # no client to ask (an activity run outside a worker)
        return None
    handles = [
        client.get_workflow_handle(shard)
        for name in sorted(set(event_names))
        for shard in hub_shard_ids(name)
    ]

    async def ask(handle: Any) -> Any:
        with contextlib.suppress(Exception):
            return await handle.query(
                Query.HUB_CANCELLED,
                workflow_id,
                reject_condition=QueryRejectCondition.NOT_OPEN,
                rpc_timeout=_PROBE_TIMEOUT,
            )
        return None

    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CANCEL_CHECK_FOR
    while True:
        answers = [a for a in await asyncio.gather(*(ask(h) for h in handles)) if a]
        for answer in answers:
            event = answer.get("event") if isinstance(answer, dict) else None
            if isinstance(event, dict):
                return event
        pending = any(isinstance(a, dict) and a.get("pending") for a in answers)
        if not pending or loop.time() >= deadline:
            return None
        await asyncio.sleep(_CANCEL_CHECK_EVERY)


@dataclass(frozen=True)
class _RunIds:
    function_id: str
    workflow_id: str
    workflow_run_id: str
    is_local: bool

    @classmethod
    def of(cls, info: activity.Info) -> _RunIds:
        if info.workflow_type is None or info.workflow_id is None or info.workflow_run_id is None:
            raise ApplicationError(
                "step activities run only inside a function's workflow", non_retryable=True
            )
        return cls(info.workflow_type, info.workflow_id, info.workflow_run_id, info.is_local)


async def _run_state(run: _RunIds, memo_len: int) -> State:
    cached = RUN_STATES.get(run.workflow_run_id, memo_len)
    if cached is not None:
        return cached
    if run.is_local:
        raise ApplicationError("run state missing for a local activity", type="RunStateMissing")
    handle = activity.client().get_workflow_handle(run.workflow_id, run_id=run.workflow_run_id)
    return await fetch_run_state(handle, run.workflow_run_id, memo_len)


class _Heartbeat:
    """Heartbeats every ``interval`` seconds from a loop timer, in the activity's context.

    A timer rather than a task: a step that ends within the first interval (most do)
    costs one timer handle. Cancelling the timer drops its callback, so nothing of the
    activity (its context, its info) is left in a reference cycle for the garbage
    collector, as a self-rescheduling closure would leave it.
    """

    __slots__ = ("_interval", "_loop", "_timer")

    def __init__(self, interval: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._interval = interval
        self._timer = self._loop.call_later(interval, self._beat)

    def _beat(self) -> None:
        activity.heartbeat()
        self._timer = self._loop.call_later(self._interval, self._beat)

    def cancel(self) -> None:
        """Stop heartbeating."""
        self._timer.cancel()


@contextlib.asynccontextmanager
async def _heartbeating(interval: float = 1.0) -> AsyncIterator[None]:
    """Heartbeat while the body runs, so a lost worker's step is retried within seconds."""
    beats = _Heartbeat(interval)
    try:
        yield
    finally:
        beats.cancel()
