"""SIGKILL a worker process mid-step: another worker finishes the run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import textwrap
from pathlib import Path

from temporalio.client import Client

from adapter._protocol import registry_id
from tests.helpers import eventually, run_adapter, spawn_adapter


def _functions(tmp_path: Path, app_id: str) -> Path:
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
            """
            import os, time
            from pathlib import Path
            from functions.client import inngest

            LOG = Path(os.environ["STEP_LOG"])

            def mark(name):
                with LOG.open("a") as f:
                    f.write(f"{name} {os.getpid()}\\n")

            def slow():
                mark("slow-start")
                if os.environ.get("HANG_SLOW") == "1":
                    time.sleep(600)  # this worker is killed here
                mark("slow-end")
                return "slow"

            @inngest.create_function(id="killme", event="kill/go")
            def killme(ctx):
                a = ctx.step.run("first", lambda: mark("first") or "a")
                b = ctx.step.run("slow", slow)
                c = ctx.step.run("last", lambda: mark("last") or "c")
                return [a, b, c]

            @inngest.create_function(id="napper", event="nap/go")
            def napper(ctx):
                ctx.step.run("before", lambda: mark("before"))
                ctx.step.sleep("nap", "4s")
                ctx.step.run("after", lambda: mark("after"))
                return "rested"
            """
        )
    )
    return pkg


def _worker(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``adapter worker`` in the background, output discarded (``env`` on top of ours)."""
    return spawn_adapter(
        "worker",
        "--no-schedules",
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _log_has(log: Path, text: str, count: int = 1) -> bool:
    """Whether the step log has at least ``count`` lines starting with ``text`` yet."""
    return log.exists() and log.read_text().count(text) >= count


async def test_sigkill_mid_step_another_worker_finishes(client: Client, tmp_path: Path) -> None:
    _functions(tmp_path, "faults-kill")
    log = tmp_path / "steps.log"
    env = {"TEMPORAL_ADDRESS": client.service_client.config.target_host, "STEP_LOG": str(log)}
    doomed = _worker(tmp_path, {**env, "HANG_SLOW": "1"})
    rescuer = None
    try:
        # Senders route by registrations: wait until the worker has published its app.
        await eventually(
            lambda: client.get_workflow_handle(registry_id("faults-kill")).describe(),
            message="the worker registered faults-kill",
        )
        send = run_adapter("send", "kill/go", "--id", "k1", cwd=tmp_path, env=env)
        assert send.returncode == 0, send.stderr
        await eventually(lambda: _log_has(log, "slow-start"), message="the slow step started")
        assert "slow-start" in log.read_text()
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        rescuer = _worker(tmp_path, env)
        handle = client.get_workflow_handle("faults-kill:killme:k1")
        assert await asyncio.wait_for(handle.result(), 90) == ["a", "slow", "c"]
    finally:
        for proc in (doomed, rescuer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    lines = [line.split()[0] for line in log.read_text().splitlines()]
    assert lines.count("first") == 1
    assert lines.count("slow-start") == 2  # interrupted once, retried once elsewhere
    assert lines.count("slow-end") == 1
    assert lines.count("last") == 1
