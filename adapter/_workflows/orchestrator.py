"""The orchestrator: one generic, deterministic workflow that runs every function.

It never runs user code. It asks an activity to call the handler, performs each
step the handler plans — an activity per ``step.run`` (activity id and summary =
step id), a timer per sleep, a child workflow per invoke, a subscription at the
event hub per ``wait_for_event`` — records results in the memo, and repeats until
the handler returns. See DESIGN.md, "The execution model".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
)

from adapter._errors import FATAL_ERROR_NAMES
from adapter._execution.state import RUN_STATES
from adapter._protocol import (
    HUB_SHARDS,
    ActivityName,
    LifecycleEvent,
    Query,
    RunInput,
    Signal,
    has_own_activity_options,
    lifecycle_event_id,
)
from adapter._workflows.alarms import Alarms
from adapter._workflows.calls import LOCAL_TIMEOUT
from adapter._workflows.clock import now_ms
from adapter._workflows.closing import closing, suppress_unless_closed
from adapter._workflows.cron_event import cron_event
from adapter._workflows.failures import (
    FunctionTimeout,
    error_entry,
    retry_policy,
    run_failure,
    step_options,
)
from adapter._workflows.invoke_step import invoke_child
from adapter._workflows.lanes import first_to_finish, is_lane, is_race, run_lanes
from adapter._workflows.limits import check_room, steps_that_fit
from adapter._workflows.priority import run_priority
from adapter._workflows.progress import Progress, plan_stands
from adapter._workflows.slots import ConcurrencySlots
from adapter._workflows.state_pages import run_state_page
from adapter._workflows.step_wire import expand_outcome, step_input
from adapter._workflows.subscriptions import HubSubscriptions


@workflow.defn(dynamic=True, sandboxed=False)
class FunctionRun:
    """Runs any function; the workflow type name is the function id."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._order: list[str] = []
        self._memo: dict[str, dict[str, Any]] = {}
        self._waited: dict[str, dict[str, Any]] = {}
        self._cancelled_by: dict[str, Any] | None = None
        self._hubs: set[str] = set()
        self._window_ms = 0
        self._started = False
        self._asked_slot = False  # a step asked for its concurrency slots (queued until granted)
        self._permits: set[str] = set()  # concurrency slots granted (by signal)
        self._claimed: set[str] = set()  # concurrency slots asked for, not yet released
        self._race_entries: dict[str, dict[str, Any]] = {}
        self._alarms = Alarms()
        self._progress = Progress()  # steps met in a changing order (progress.py)

    @workflow.query(name=Query.RUN_STATE)
    def state(self, since: int) -> dict[str, Any]:
        """Events and memo entries from index ``since``, for activities on other workers.

        One page at a time (state_pages.py): ``more`` says whether entries follow.
        """
        return run_state_page(self._events, self._order, self._memo, since)

    @workflow.query(name=Query.RUN_QUEUED)
    def queued(self) -> bool:
        """Whether the run waits for its first concurrency slot (``adapter runs --status queued``)."""
        return self._asked_slot and not self._started and bool(self._opts.get("concurrency"))

    @workflow.query(name=Query.RUN_SLOTS)
    def slots(self) -> list[str]:
        """The concurrency tokens the run holds or waits for (a semaphore that was reset asks)."""
        return sorted(self._claimed)

    @workflow.signal(name=Signal.PERMIT)
    def permit(self, token: str) -> None:
        """A concurrency slot was granted."""
        self._permits.add(token)

    @workflow.signal(name=Signal.WAITED)
    def waited(self, payload: dict[str, Any]) -> None:
        """The hub matched an event to a ``wait_for_event`` step."""
        self._waited.setdefault(payload["step_id"], payload["event"])

    @workflow.signal(name=Signal.WAKE)
    def wake(self, payload: dict[str, Any]) -> None:
        """An operator ends a sleep early (``adapter wake``)."""
        self._alarms.wake(payload.get("step_id"))

    @workflow.signal(name=Signal.CANCELLED)
    def cancelled_by(self, payload: dict[str, Any]) -> None:
        """The hub matched a cancel event; the cancellation request follows."""
        self._cancelled_by = payload["event"]

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> Any:
        """Loop: call the handler, perform the steps it plans, until it returns."""
        info = workflow.info()
        inp = cast(RunInput, workflow.payload_converter().from_payload(args[0].payload, dict))
        cron = inp.get("cron") or {}
        self._events = inp.get("events") or [cron_event(cron, info)]
        self._opts: dict[str, Any] = inp["opts"]
        self._fn_id = info.workflow_type
        self._app_id: str = inp["app_id"]
        self._task_queue = info.task_queue
        self._policy = retry_policy(self._opts)
        # The window opens when the run started, not at its first workflow task: an
        # event sent between the two still counts.
        self._window_ms = int(info.workflow_start_time.timestamp() * 1000)
        self._subscriptions = HubSubscriptions(
            info.workflow_id,
            shards=int(self._opts.get("hub_shards") or HUB_SHARDS),
            waited=self._waited,
        )
        self._slots = ConcurrencySlots(
            app_id=self._app_id,
            function_id=self._fn_id,
            task_queue=self._task_queue,
            rules=self._opts.get("concurrency") or [],
            lease_s=self._opts["step_timeout"] + 60,
            permits=self._permits,
            claimed=self._claimed,
        )
        RUN_STATES.reset(info.run_id, self._events)
        try:
            return await self._run_to_end()
        finally:
            # A dropped run closed by the collector may end after this worker rebuilt the
            # run: the copy under its run id is the new instance's then (closing.py).
            if not closing():
                RUN_STATES.drop(info.run_id)

    async def _run_to_end(self) -> Any:
        finish = (self._opts.get("timeouts") or {}).get("finish")
        try:
            main = asyncio.ensure_future(self._main())
            if finish is None:
                return await main
            try:
                await workflow.wait_condition(
                    main.done, timeout=finish, timeout_summary="finish timeout"
                )
            except TimeoutError:
                main.cancel()
                with suppress_unless_closed():
                    await main
                raise FunctionTimeout(
                    f"the run did not finish within {finish:g}s (timeouts.finish)"
                ) from None
            return main.result()
        except asyncio.CancelledError:
            by = self._cancelled_by or self._progress.cancelled_by  # the signal, or a step's end
            await self._emit(LifecycleEvent.CANCELLED, {"reason": "cancelled", "cancelled_by": by})
            await self._unsubscribe()
            raise
        except FunctionTimeout as timeout:
            error = ApplicationError(str(timeout), type="FunctionTimeout", non_retryable=True)
            await self._fail(error)
            raise error from None
        except ApplicationError as error:
            await self._fail(error)
            raise
        finally:
            if self._hubs and not closing():  # closing: no workflow calls (closing.py)
                await self._unsubscribe()

    async def _fail(self, error: ApplicationError) -> None:
        details = error.details[0] if error.details else {}
        stack = details.get("stack", "") if isinstance(details, dict) else ""
        await self._emit(
            LifecycleEvent.FAILED,
            {"error": {"name": error.type or "Error", "message": error.message, "stack": stack}},
        )

    async def _emit(self, name: str, data: dict[str, Any]) -> None:
        """Send a lifecycle event (function.failed / function.cancelled) once per run."""
        info = workflow.info()
        event = {
            "name": name,
            "id": lifecycle_event_id(info.workflow_id, name, info.run_id),
            "ts": now_ms(),
            "data": {
                "function_id": self._fn_id,
                "app_id": self._app_id,
                "run_id": info.workflow_id,
                "event": self._events[0],
                "events": self._events,
                **data,
            },
        }
        try:
            await workflow.execute_local_activity(
                ActivityName.SEND,
                {"app_id": self._app_id, "events": [event]},
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        except ActivityError:
            workflow.logger.warning("could not send %s for %s", name, info.workflow_id)

    async def _unsubscribe(self) -> None:
        self._hubs = set()
        with contextlib.suppress(Exception):  # e.g. the worker is evicting this run
            await self._subscriptions.close()

    async def _main(self) -> Any:
        await self._subscriptions.subscribe_cancels(
            self._opts.get("cancel") or [],
            opened_ms=self._window_ms,
            accepted_ms=self._opts.get("accepted_ms"),
            trigger=self._events[0],
            done=lambda: self._hubs.update(self._subscriptions.hubs),
        )
        # A handler whose first statement is a step with a literal id: schedule that
        # step at once instead of calling the handler to find it (adapter/_define/first_step.py).
        hint = self._opts.get("first_step")
        plan: list[dict[str, Any]] | None = (
            [{"kind": "run", "id": hint, "opts": {"hint": True}}]
            if hint and not self._order
            else None
        )
        while True:
            check_room(self._fn_id, plan, len(self._order))  # limits.py: fail before Temporal
            outcome: dict[str, Any] | None
            if plan is None:
                outcome = await self._call_handler()
            else:
                plan = steps_that_fit(plan)  # a wide fan-out starts in waves (limits.py)
                outcome = await self._perform_all(plan)
            if outcome is not None and outcome.get("done"):
                return outcome.get("result")
            self._progress.after(self._fn_id, plan, self._order)
            plan = outcome.get("plan") if outcome is not None else None

    async def _perform_all(self, plan: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Perform the planned steps; returns the lookahead outcome when it is valid."""
        before = len(self._order)
        racing = is_race(plan)
        alone = self._progress.alone = len(plan) == 1 and not racing
        if any(map(is_lane, plan)):  # ParallelMode.RACE: each group goes on by itself
            return await run_lanes(plan, self._perform, self._call_handler, self._memo)
        if racing:  # first_to_finish
            await first_to_finish(plan, self._perform, self._race_entries, self._record)
            return None
        outcomes = await asyncio.gather(*(self._perform(p) for p in plan))
        only = outcomes[0] if alone else None
        # The lookahead is valid only if it saw exactly the memo we now hold.
        if only is not None and only.get("executed") and len(self._order) == before + 1:
            return only
        return only if plan_stands(only, grew=len(self._order) > before) else None

    def _activity_input(self, target: str | None, hint: bool = False, own: bool = False) -> Any:
        # Function, workflow and run ids reach the activity through activity.info().
        # It may run a new step met first, under its own options: the function's, unless
        # the target has options of its own (``own``).
        run_new = self._progress.alone and not hint and not own
        wire = self._opts.get("wire")  # compact: step_wire.py
        return step_input(len(self._order), target, run_new, hint, wire)

    def _record(self, step_id: str, entry: dict[str, Any], completed_ms: int | None = None) -> None:
        if step_id in self._memo:
            return
        self._order.append(step_id)
        self._memo[step_id] = entry
        self._window_ms = max(self._window_ms, completed_ms or now_ms())
        RUN_STATES.record(workflow.info().run_id, step_id, entry)

    async def _call_handler(self) -> dict[str, Any]:
        # The local activity runs in this process and must find the state here: a
        # query from inside a local activity would wait for this very workflow task.
        RUN_STATES.ensure(workflow.info().run_id, self._events, self._order, self._memo)
        try:
            result: dict[str, Any] = await workflow.execute_local_activity(
                ActivityName.HANDLER,
                self._activity_input(None),
                start_to_close_timeout=timedelta(seconds=self._opts["step_timeout"]),
                retry_policy=self._policy,
                summary="handler",
            )
            result = expand_outcome(result, None)
            await self._progress.seen(result)
            return result
        except ActivityError as err:
            # The run was cancelled (a cancel event) while the handler ran outside any step:
            # the run is cancelled, as inngest-py's is, not failed with "Activity cancelled".
            if isinstance(err.cause, CancelledError) and workflow.patched("handler-call-cancelled"):
                raise asyncio.CancelledError() from None
            raise run_failure(err) from None

    async def _perform(self, planned: dict[str, Any], record: bool = True) -> dict[str, Any] | None:
        """Perform one planned step and record its entry; returns the activity outcome."""
        kind, step_id, ran = planned["kind"], planned["id"], planned["id"]  # ran: see _run_step
        outcome: dict[str, Any] | None = None
        completed_ms: int | None = None
        if kind == "run":
            start_timeout = (
                None if self._started else (self._opts.get("timeouts") or {}).get("start")
            )
            self._asked_slot = True
            async with self._slots.hold(
                step_id,
                event=self._events[0],
                memo_len=len(self._order),
                priority=self._priority(),
                start_timeout=start_timeout,
            ):
                self._started = True
                ran, entry, outcome = await self._run_step(
                    step_id, bool(planned.get("opts", {}).get("hint")), planned.get("opts") or {}
                )
            if outcome is not None and outcome.get("executed"):
                completed_ms = outcome["executed"].get("completed_ms")
        elif kind == "sleep":
            entry = await self._sleep(step_id, planned.get("opts", {}))
        elif kind == "wait":
            entry = await self._wait(step_id, planned.get("opts", {}))
        elif kind == "invoke":
            entry = await invoke_child(self._opts, step_id, planned.get("opts", {}))
        else:
            raise ApplicationError(
                f"unknown step kind {kind!r}", type="ConfigError", non_retryable=True
            )
        if entry is not None and record:
            self._record(ran, entry, completed_ms)
        elif entry is not None:
            self._race_entries[step_id] = entry
        await self._progress.seen(outcome)
        return outcome

    async def _run_step(
        self, step_id: str, hint: bool = False, step_opts: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
        inp = self._activity_input(step_id, hint, has_own_activity_options(step_opts or {}))
        compact = isinstance(inp, list)  # adapter/_workflows/step_wire.py
        try:
            outcome: dict[str, Any] = await workflow.execute_activity(
                ActivityName.RUN_STEP,
                inp,
                activity_id=step_id,
                summary=step_id,
                heartbeat_timeout=timedelta(seconds=self._opts["heartbeat_timeout"]),
                **step_options(self._opts, self._policy, step_opts or {}, compact=compact),
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in FATAL_ERROR_NAMES:
                raise run_failure(err) from None
            return self._progress.ran(cause, step_id), {"error": error_entry(cause or err)}, None
        outcome = expand_outcome(outcome, step_id)
        executed = outcome.get("executed")
        if executed:  # with run_new, maybe another new step its call met first
            return executed["id"], {"data": executed["data"]}, outcome
        return step_id, None, outcome  # the handler took another path: plan again

    async def _sleep(self, step_id: str, opts: dict[str, Any]) -> dict[str, Any]:
        if "until" in opts:
            until = datetime.fromisoformat(opts["until"])
            delay = max((until - workflow.now()).total_seconds(), 0.0)
        else:
            delay = float(opts["seconds"])
        if delay > 0:
            await self._alarms.sleep(step_id, delay)
        return {"data": None}

    async def _wait(self, step_id: str, opts: dict[str, Any]) -> dict[str, Any]:
        key = await self._subscribe(
            opts["event"],
            kind="wait",
            step_id=step_id,
            expires_ms=now_ms() + int(opts["timeout"] * 1000),
            condition=opts.get("if"),
        )
        try:
            await workflow.wait_condition(
                lambda: step_id in self._waited, timeout=opts["timeout"], timeout_summary=step_id
            )
        except TimeoutError:
            return {"data": None}
        finally:
            if not closing():  # closing: start no task (closing.py)
                self._subscriptions.done(key)  # the first shard's match wins; leave the others
        return {"data": self._waited[step_id]}

    async def _subscribe(
        self,
        event_name: str,
        *,
        kind: str,
        step_id: str,
        expires_ms: int | None,
        condition: str | None,
    ) -> str:
        """Subscribe at every shard of the event's hub (adapter/_workflows/subscriptions.py)."""
        key = await self._subscriptions.subscribe(
            event_name,
            kind=kind,
            step_id=step_id,
            window_ms=self._window_ms,
            expires_ms=expires_ms,
            condition=condition,
            trigger=self._events[0],
        )
        self._hubs |= self._subscriptions.hubs
        return key

    def _priority(self) -> int:
        return run_priority(self._opts.get("priority"), self._events[0])
