"""SIGKILL a worker while it holds suspended handlers: another worker finishes by replay.

Three runs park their handlers at a ``wait_for_event`` (suspended after their first
step's lookahead) and a fourth and a fifth (with middleware, whose calls are kept
suspended too) are inside a step body of a resumed handler when the worker is killed. A second worker finishes every run by replaying the memo: finished
steps ran once, the interrupted one at most twice (README, "How it runs on Temporal").
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import textwrap
import uuid
from pathlib import Path

from temporalio.client import Client

from adapter._protocol import registry_id
from tests.helpers import eventually, run_adapter, spawn_adapter


def _functions(tmp_path: Path, app_id: str, go: str) -> None:
    pkg = tmp_path / "functions"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        "from datetime import timedelta\n"
        "from adapter import Backoff, Inngest\n"
        f"inngest = Inngest(app_id={app_id!r}, heartbeat_timeout=timedelta(seconds=3),\n"
        "                  backoff=Backoff(initial='1s'))\n"
    )
    (pkg / "steps.py").write_text(
        textwrap.dedent(
            f"""
            import asyncio, os
            from pathlib import Path
            from adapter import MiddlewareSync
            from functions.client import inngest

            LOG = Path(os.environ["STEP_LOG"])

            def mark(name):
                with LOG.open("a") as f:
                    f.write(f"{{name}} {{os.getpid()}}\\n")
                return name

            async def slow():
                mark("slow-start")
                if os.environ.get("HANG_SLOW") == "1":
                    await asyncio.sleep(600)  # this worker is killed here
                return mark("slow-end")

            @inngest.create_function(id="parked", event="park/go")
            async def parked(ctx):
                n = ctx.event.data["n"]
                mark(f"call{{n}}")  # outside steps: once per call of the handler
                await ctx.step.run("before", mark, f"before{{n}}")
                await ctx.step.wait_for_event("go", event={go!r}, timeout="5m")
                await ctx.step.run("after", mark, f"after{{n}}")
                return n

            async def hooked_slow():
                mark("hslow-start")
                if os.environ.get("HANG_SLOW") == "1":
                    await asyncio.sleep(600)  # this worker is killed here
                return mark("hslow-end")

            class Hooks(MiddlewareSync):
                def transform_input(self, ctx, function, steps):
                    mark("hook-open")

                def before_response(self):
                    mark("hook-close")

            @inngest.create_function(id="hooked", event="hooked/go", middleware=[Hooks])
            async def hooked(ctx):
                a = await ctx.step.run("first", mark, "hfirst")
                b = await ctx.step.run("slow", hooked_slow)
                c = await ctx.step.run("last", mark, "hlast")
                return [a, b, c]

            @inngest.create_function(id="hanger", event="hang/go")
            async def hanger(ctx):
                a = await ctx.step.run("first", mark, "first")
                b = await ctx.step.run("slow", slow)
                c = await ctx.step.run("last", mark, "last")
                return [a, b, c]
            """
        )
    )


def _worker(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return spawn_adapter(
        "worker",
        "--no-schedules",
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _lines(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(w[0], int(w[1])) for w in (line.split() for line in log.read_text().splitlines())]


async def test_sigkill_with_suspended_handlers_another_worker_replays(
    client: Client, tmp_path: Path
) -> None:
    app_id = f"faults-susp-{uuid.uuid4().hex[:8]}"
    go = f"go/{uuid.uuid4().hex[:8]}"
    _functions(tmp_path, app_id, go)
    log = tmp_path / "steps.log"
    env = {"TEMPORAL_ADDRESS": client.service_client.config.target_host, "STEP_LOG": str(log)}
    doomed = _worker(tmp_path, {**env, "HANG_SLOW": "1"})
    rescuer = None
    try:
        await eventually(
            lambda: client.get_workflow_handle(registry_id(app_id)).describe(),
            message="the worker registered",
        )
        for n in range(3):
            data = f'{{"n": {n}}}'
            sent = run_adapter(
                "send", "park/go", "--id", f"p{n}", "--data", data, cwd=tmp_path, env=env
            )
            assert sent.returncode == 0, sent.stderr
        for name in ("hang/go", "hooked/go"):
            sent = run_adapter("send", name, "--id", "h", cwd=tmp_path, env=env)
            assert sent.returncode == 0, sent.stderr
        names = lambda: {name for name, _ in _lines(log)}  # noqa: E731
        await eventually(
            lambda: {"before0", "before1", "before2", "slow-start", "hslow-start"} <= names(),
            message="three runs at their wait, two inside their slow step",
        )
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        rescuer = _worker(tmp_path, env)
        sent = run_adapter("send", go, cwd=tmp_path, env=env)
        assert sent.returncode == 0, sent.stderr
        results = [
            await asyncio.wait_for(client.get_workflow_handle(f"{app_id}:parked:p{n}").result(), 90)
            for n in range(3)
        ]
        hanger = client.get_workflow_handle(f"{app_id}:hanger:h")
        assert await asyncio.wait_for(hanger.result(), 90) == ["first", "slow-end", "last"]
        hooked = client.get_workflow_handle(f"{app_id}:hooked:h")
        assert await asyncio.wait_for(hooked.result(), 90) == ["hfirst", "hslow-end", "hlast"]
    finally:
        for proc in (doomed, rescuer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    assert results == [0, 1, 2]
    assert rescuer is not None
    lines = _lines(log)
    counts = {name: sum(1 for n, _ in lines if n == name) for name, _ in lines}
    for n in range(3):
        assert counts[f"before{n}"] == 1
        assert counts[f"after{n}"] == 1
        # one call on the killed worker (suspended at its wait), one replay on the rescuer
        calls = [pid for name, pid in lines if name == f"call{n}"]
        assert calls.count(doomed.pid) == 1
        assert calls.count(rescuer.pid) == 1
    assert counts["first"] == 1
    assert counts["slow-start"] == 2  # interrupted once, retried once elsewhere
    assert counts["slow-end"] == 1
    assert counts["last"] == 1
    # with middleware (its calls kept suspended too): the same, and on the rescuer every
    # call it began it ended (the killed worker's open call is gone with it)
    assert (counts["hfirst"], counts["hslow-end"], counts["hlast"]) == (1, 1, 1)
    assert counts["hslow-start"] == 2
    opened = sum(1 for name, pid in lines if name == "hook-open" and pid == rescuer.pid)
    closed = sum(1 for name, pid in lines if name == "hook-close" and pid == rescuer.pid)
    assert opened == closed > 0
