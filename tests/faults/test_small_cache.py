"""A worker whose run cache holds two runs: every run still finishes, each step once.

With ``WorkerSettings(max_cached_runs=2)`` and eight runs in flight, temporalio evicts a
run at nearly every workflow task of another, and the evicted run replays its history on
its next task. The runs sleep, hold a concurrency slot around a step (a semaphore, on
the same worker and cache) and wait for an event (the hub, on the shared worker's cache),
so each of the orchestrator's paths is evicted and replayed mid-run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from temporalio.client import Client

from adapter import Context
from adapter._errors import ConfigError
from adapter._workflows.orchestrator import FunctionRun
from adapter.cli.main import build_parser
from adapter.worker import WorkerSettings
from tests.helpers import eventually, make_app, running, timer_started

RUNS = 8


async def test_runs_finish_and_steps_run_once_with_a_cache_of_two_runs(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(client)
    go, paid = f"{app.app_id}/go", f"{app.app_id}/paid"
    bodies: Counter[tuple[int, str]] = Counter()
    instances = Counter[str]()
    original = FunctionRun.__init__

    def counted(self: FunctionRun) -> None:
        instances["created"] += 1
        original(self)

    monkeypatch.setattr(FunctionRun, "__init__", counted)

    def body(n: int, name: str) -> int:
        bodies[(n, name)] += 1
        return n

    @app.create_function(id="cached", event=go, concurrency={"limit": 2, "key": "event.data.group"})
    async def cached(ctx: Context) -> Any:
        n = ctx.event.data["n"]
        first = await ctx.step.run("first", body, n, "first")
        await ctx.step.sleep("nap", "1s")
        second = await ctx.step.run("second", body, n, "second")
        got = await ctx.step.wait_for_event(
            "paid", event=paid, timeout="2m", if_exp="async.data.n == event.data.n"
        )
        third = await ctx.step.run("third", body, n, "third")
        return [first, second, third, got.data["n"] if got is not None else None]

    settings: dict[str, object] = {"max_cached_runs": 2, "max_concurrent_workflow_tasks": 2}
    async with running(client, app, **settings):
        ids = await app.send([{"name": go, "data": {"n": n, "group": n % 2}} for n in range(RUNS)])
        handles = [client.get_workflow_handle(f"{app.app_id}:cached:{i}") for i in ids]
        for handle in handles:
            await eventually(lambda h=handle: timer_started(h, "paid"), timeout=60)
        await app.send([{"name": paid, "data": {"n": n}} for n in range(RUNS)])
        results = [await handle.result() for handle in handles]

    assert results == [[n, n, n, n] for n in range(RUNS)]
    assert bodies == Counter({(n, s): 1 for n in range(RUNS) for s in ("first", "second", "third")})
    # Evictions happened: runs were built again (replayed) well beyond one per run.
    assert instances["created"] > 2 * RUNS, instances


@pytest.mark.unit
def test_the_cache_size_is_a_setting_and_a_flag_with_one_line_errors() -> None:
    assert WorkerSettings().max_cached_runs == 1000
    assert WorkerSettings(max_cached_runs=2).max_cached_runs == 2
    for name in ("max_cached_runs", "max_concurrent_workflow_tasks"):
        for bad in (0, 1, -1, 2.5, "10", True):
            with pytest.raises(ConfigError, match=rf"WorkerSettings\.{name} must be .* ≥ 2") as err:
                WorkerSettings(**{name: bad})  # type: ignore[arg-type]
            assert "\n" not in str(err.value)
    parser = build_parser()
    args = parser.parse_args(["worker", "--max-cached-runs", "50"])
    assert args.max_cached_runs == 50
    for flag in ("--max-cached-runs", "--max-concurrent-workflow-tasks"):
        with pytest.raises(SystemExit):
            parser.parse_args(["worker", flag, "1"])
