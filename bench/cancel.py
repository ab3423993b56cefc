"""How long ``adapter cancel`` takes for many runs: 1,000 sleeping runs, counted, then cancelled.

One dev server; one worker in this process; the runs sleep an hour after one step.
Printed: time to count them (the dry run), to cancel them all with a CEL filter that
reads every run's event, and until Temporal shows every one *Canceled*.

    .venv/bin/python -m bench.cancel            # 1,000 runs
    .venv/bin/python -m bench.cancel --runs 200
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from adapter import Context, Inngest
from adapter._operate.bulk_cancel import Selection, cancel_runs
from adapter._temporal.search_attributes import ALL_KEYS
from adapter.worker import Worker, WorkerSettings
from bench.common import dev_server, exit_now, load_average, log


async def _count(client: Any, query: str) -> int:
    return int((await client.count_workflows(query)).count)


async def _until(client: Any, query: str, n: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while await _count(client, query) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} runs match {query}")
        await asyncio.sleep(0.2)


async def bench(runs: int) -> None:
    """Start ``runs`` sleeping runs, then dry-run and cancel them; print the figures."""
    log(f"load average before: {load_average()}")
    async with dev_server(ALL_KEYS) as env:
        client = env.client
        app = Inngest(app_id=f"bench-cancel-{uuid.uuid4().hex[:6]}", temporal_client=client)

        @app.create_function(id="sleeper", event="bench/sleep")
        async def sleeper(ctx: Context) -> None:
            await ctx.step.run("before", lambda: None)
            await ctx.step.sleep("nap", "1h")

        base = f"WorkflowType = 'sleeper' AND TaskQueue = '{app.task_queue}'"
        async with Worker(client, app, WorkerSettings()):
            events = [{"name": "bench/sleep", "data": {"user": f"u{i % 2}"}} for i in range(runs)]
            await asyncio.gather(*(app.send(events[i : i + 100]) for i in range(0, runs, 100)))
            await _until(client, f"{base} AND ExecutionStatus = 'Running'", runs)
            selection = Selection(function="sleeper", app=app.app_id)
            started = time.perf_counter()
            dry = await cancel_runs(client, selection, yes=False)
            dry_s = time.perf_counter() - started
            filtered = Selection(
                function="sleeper", app=app.app_id, condition='event.data.user != "nobody"'
            )
            started = time.perf_counter()
            done = await cancel_runs(client, filtered, yes=True)
            cancel_s = time.perf_counter() - started
            await _until(client, f"{base} AND ExecutionStatus = 'Canceled'", runs)
            all_s = time.perf_counter() - started
    log(f"load average after: {load_average()}")
    print(
        "| bulk cancel | runs | dry run (count) s | cancel with `--if` s | until all Canceled s |"
    )
    print("|---|---:|---:|---:|---:|")
    print(
        f"| `adapter cancel` | {len(done.matched):,} (dry run {len(dry.matched):,}) "
        f"| {dry_s:.1f} | {cancel_s:.1f} | {all_s:.1f} |"
    )
    if done.failed:
        print(f"failed: {len(done.failed)}")


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000)
    asyncio.run(bench(parser.parse_args().runs))


if __name__ == "__main__":
    main()
    exit_now()
