"""A worker without a run's memo copy fetches it from the orchestrator, page by page.

A step activity on a worker that does not hold the run's state (another worker ran the
steps before) asks the orchestrator by query. A query's answer travels in one gRPC
message (4 MiB), while a memo may hold many results of up to 2 MiB each: the answer is
paged, so a run's memo of any size reaches the worker.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from temporalio.client import Client

from adapter import Context
from adapter._execution.state import RUN_STATES, RunStateCache
from adapter._execution.state_fetch import fetch_run_state
from adapter._protocol import Query
from adapter._workflows.state_pages import PAGE_BYTES, run_state_page
from tests.helpers import eventually, make_app, running, step_scheduled

MB = 1_000_000


async def test_a_memo_over_a_query_message_reaches_a_worker_without_it(client: Client) -> None:
    app = make_app(client)
    release = asyncio.Event()

    async def hold() -> str:
        await release.wait()
        return "held"

    @app.create_function(id="big-memo", event=f"{app.app_id}/go")
    async def big_memo(ctx: Context) -> Any:
        for i in range(6):
            await ctx.step.run(f"s{i}", lambda i=i: str(i) * MB)
        return await ctx.step.run("hold", hold)

    async with running(client, app):
        [event_id] = await app.send({"name": f"{app.app_id}/go", "data": {}})
        handle = client.get_workflow_handle(f"{app.app_id}:big-memo:{event_id}")
        await eventually(lambda: step_scheduled(handle, "hold"), message="the sixth step done")
        run_id = (await handle.describe()).run_id
        assert run_id is not None
        RUN_STATES.drop(run_id)  # as on a worker that ran none of the steps
        pages: list[int] = []
        events, memo = await fetch_run_state(handle, run_id, 6, on_page=pages.append)
        release.set()
        assert await handle.result() == "held"
    assert [memo[f"s{i}"]["data"] for i in range(6)] == [str(i) * MB for i in range(6)]
    assert events[0]["name"] == f"{app.app_id}/go"
    assert len(pages) >= 4, pages  # at most one 1 MB entry per page past the budget
    assert sum(pages) == 6


async def test_the_orchestrator_answers_any_page_of_its_memo(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="small-memo", event=f"{app.app_id}/go")
    async def small_memo(ctx: Context) -> Any:
        for i in range(3):
            await ctx.step.run(f"s{i}", lambda i=i: i)
        return await ctx.step.wait_for_event("w", event=f"{app.app_id}/never", timeout="1h")

    async with running(client, app):
        [event_id] = await app.send({"name": f"{app.app_id}/go", "data": {}})
        handle = client.get_workflow_handle(f"{app.app_id}:small-memo:{event_id}")
        await eventually(lambda: step_scheduled(handle, "s2"), message="the third step")

        async def all_three() -> bool:
            return len((await handle.query(Query.RUN_STATE, 0))["entries"]) == 3

        await eventually(all_three, message="three entries recorded")
        page = await handle.query(Query.RUN_STATE, 1)
        await handle.terminate()
    assert [sid for sid, _ in page["entries"]] == ["s1", "s2"]
    assert page["more"] is False


@pytest.mark.unit
def test_a_page_holds_at_least_one_entry_and_stays_in_the_budget() -> None:
    events = [{"name": "e", "data": {}}]
    order = [f"s{i}" for i in range(5)]
    memo = {sid: {"data": "x" * (PAGE_BYTES // 2)} for sid in order}
    first = run_state_page(events, order, memo, 0)
    assert [sid for sid, _ in first["entries"]] == ["s0"]  # a second would pass the budget
    assert first["events"] == events
    assert first["more"] is True
    assert first["bytes"] == len(json.dumps(first["entries"][0], separators=(",", ":")))
    later = run_state_page(events, order, memo, 4)
    assert [sid for sid, _ in later["entries"]] == ["s4"]
    assert later["more"] is False
    huge = {sid: {"data": "x" * (2 * PAGE_BYTES)} for sid in order}
    assert len(run_state_page(events, order, huge, 2)["entries"]) == 1  # never an empty page
    small = {sid: {"data": 1} for sid in order}
    assert run_state_page(events, order, small, 0)["more"] is False


@pytest.mark.unit
def test_fetched_copies_are_bounded_in_bytes_and_recorded_ones_are_not() -> None:
    cache = RunStateCache(max_runs=100, max_fetched_bytes=1000)
    events: list[dict[str, Any]] = [{"name": "e"}]
    cache.reset("local", events)  # a run whose orchestrator is here: shares its entries
    cache.record("local", "s0", {"data": "x" * 5000})
    cache.extend("a", events, -1, [["s0", {"data": 1}]], 600)
    cache.extend("b", events, -1, [["s0", {"data": 2}]], 600)  # over: "a" goes, least used
    assert (cache.length("a"), cache.length("b"), cache.length("local")) == (-1, 1, 1)
    assert cache.fetched_bytes == 600
    cache.extend("b", events, 1, [["s1", {"data": 3}]], 900)  # the run being fetched stays
    assert cache.length("b") == 2
    assert cache.fetched_bytes == 1500
    cache.reset("b", events)  # its orchestrator came here: no longer a fetched copy
    assert cache.fetched_bytes == 0
    cache.extend("c", events, -1, [["s0", {"data": 4}]], 300)
    cache.drop("c")
    assert cache.fetched_bytes == 0
