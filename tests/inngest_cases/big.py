"""inngest-py's "needs API" cases: a memo and a batch too large for one request."""

from __future__ import annotations

import datetime
import functools
from collections import Counter
from typing import Any

import adapter as inngest
from tests.inngest_cases.base import RESULT_TIMEOUT, Check, Env, case

MIB = 1024 * 1024


def _big_steps(app: inngest.Inngest, name: str, *, sync: bool) -> Check:
    """Ten steps returning 1 MiB each (10 MiB of memo): every step body runs once."""
    fn_id = f"steps_that_needs_api{'_sync' if sync else ''}"
    ran: Counter[str] = Counter()

    def body(step_id: str) -> str:
        ran[step_id] += 1
        return "a" * MIB

    if sync:

        @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
        def fn_sync(ctx: inngest.ContextSync) -> int:
            sizes = [
                len(ctx.step.run(f"step_{i}", functools.partial(body, f"step_{i}")))
                for i in range(10)
            ]
            return sum(sizes)

    else:

        @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
        async def fn(ctx: inngest.Context) -> int:
            sizes = []
            for i in range(10):
                step_id = f"step_{i}"
                sizes.append(len(await ctx.step.run(step_id, functools.partial(body, step_id))))
            return sum(sizes)

    async def check(env: Env) -> None:
        event_id = await env.send(name)
        result = await env.handle(fn_id, event_id).result(
            rpc_timeout=datetime.timedelta(seconds=RESULT_TIMEOUT)
        )
        assert result == 10 * MIB
        assert ran == {f"step_{i}": 1 for i in range(10)}

    return check


@case
def case_steps_that_needs_api(app: inngest.Inngest, name: str) -> Check:
    """Step outputs summing to 10 MiB, over Temporal's 4 MB message: each step runs once."""
    return _big_steps(app, name, sync=False)


@case
def case_steps_that_needs_api_sync(app: inngest.Inngest, name: str) -> Check:
    """The same with a plain ``def`` handler."""
    return _big_steps(app, name, sync=True)


@case
def case_batch_that_needs_api(app: inngest.Inngest, name: str) -> Check:
    """Eight events of 1 MiB each sent at once to a function batching 8: each runs once.

    Adapted: Inngest closes a batch at 10 MiB of events and its SDK fetches a large batch
    from its API; here a batch's events travel in its run's input, one Temporal payload
    (2 MiB by default), so a batch closes before its events would pass that and the next
    event opens a new one. Two 1 MiB events do not fit: eight runs of one event each, no
    run stuck on a payload Temporal refuses.
    """
    seen: list[list[str]] = []

    @app.create_function(
        fn_id="batch_that_needs_api",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
        batch_events=inngest.Batch(max_size=8, timeout=datetime.timedelta(seconds=10)),
    )
    async def fn(ctx: inngest.Context) -> int:
        assert all(len(e.data["msg"]) == MIB for e in ctx.events)
        seen.append([str(e.id) for e in ctx.events])
        return len(ctx.events)

    async def check(env: Env) -> None:
        events = [inngest.Event(name=name, data={"msg": "a" * MIB}) for _ in range(8)]
        ids = await env.app.send(events)
        assert len(ids) == 8
        runs = await env.runs("batch_that_needs_api", 8)
        results: list[Any] = [await env.client.get_workflow_handle(run.id).result() for run in runs]
        assert sum(results) == 8
        assert sorted(i for batch in seen for i in batch) == sorted(ids)  # each event once
        assert len(await env.all_runs("batch_that_needs_api")) == 8

    return check


@case
def case_batch_of_large_events_that_fits(app: inngest.Inngest, name: str) -> Check:
    """Eight events of 200 KiB (1.6 MiB in all, inside the payload limit): one run of 8."""
    seen: list[int] = []

    @app.create_function(
        fn_id="batch_of_large_events_that_fits",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
        batch_events=inngest.Batch(max_size=8, timeout=datetime.timedelta(seconds=10)),
    )
    async def fn(ctx: inngest.Context) -> int:
        seen.append(len(ctx.events))
        return len(ctx.events)

    async def check(env: Env) -> None:
        events = [inngest.Event(name=name, data={"msg": "a" * 200 * 1024}) for _ in range(8)]
        await env.app.send(events)
        [run] = await env.runs("batch_of_large_events_that_fits", 1)
        assert await env.client.get_workflow_handle(run.id).result() == 8
        assert seen == [8]

    return check
