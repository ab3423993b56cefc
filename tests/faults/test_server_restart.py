"""Stop the dev server (SQLite persistence) mid-run and start it again: nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

from adapter._temporal.connect import connect
from adapter._temporal.devserver import DevServer, free_port
from tests.faults.test_kill_worker import ADAPTER, _functions


async def test_dev_server_restart_mid_run_loses_nothing(tmp_path: Path) -> None:
    _functions(tmp_path, "faults-restart")
    log = tmp_path / "steps.log"
    server = DevServer(
        db_file=tmp_path / "temporal.db",
        port=free_port(),
        ui_port=free_port(),
        log_file=tmp_path / "server.log",
    )
    await server.start()
    env = {**os.environ, "TEMPORAL_ADDRESS": server.address, "STEP_LOG": str(log)}
    worker = subprocess.Popen(
        [ADAPTER, "worker", "--no-schedules"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ids = [f"r{i}" for i in range(5)]
        for event_id in ids:
            sent = subprocess.run(
                [ADAPTER, "send", "nap/go", "--id", event_id],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert sent.returncode == 0, sent.stderr
        for _ in range(300):  # wait until every run sleeps
            if log.exists() and log.read_text().count("before") == 5:
                break
            await asyncio.sleep(0.05)
        assert log.read_text().count("before") == 5
        server.stop()
        await asyncio.sleep(2)
        await server.start()
        client = await connect(server.address)
        results = await asyncio.wait_for(
            asyncio.gather(
                *(client.get_workflow_handle(f"faults-restart:napper:{i}").result() for i in ids)
            ),
            120,
        )
        assert results == ["rested"] * 5
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        server.stop()
    lines = [line.split()[0] for line in log.read_text().splitlines()]
    # The steps finished before the stop were in SQLite: none ran again.
    assert lines.count("before") == 5 and lines.count("after") == 5
