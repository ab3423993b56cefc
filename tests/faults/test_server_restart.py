"""Stop the dev server (SQLite persistence) mid-run and start it again: nothing is lost."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from adapter._temporal.connect import connect
from adapter._temporal.devserver import DevServer, free_port
from tests.faults.test_kill_worker import _functions, _log_has, _worker
from tests.helpers import eventually, port_open, run_adapter, timer_started


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
    env = {"TEMPORAL_ADDRESS": server.address, "STEP_LOG": str(log)}
    worker = _worker(tmp_path, env)
    try:
        ids = [f"r{i}" for i in range(5)]
        for event_id in ids:
            sent = run_adapter("send", "nap/go", "--id", event_id, cwd=tmp_path, env=env)
            assert sent.returncode == 0, sent.stderr
        await eventually(lambda: _log_has(log, "before", 5), message="all five runs sleep")
        assert log.read_text().count("before") == 5
        # Every run sleeps: its step before the nap is recorded, the nap's timer started.
        first = await connect(server.address)
        for event_id in ids:
            run = first.get_workflow_handle(f"faults-restart:napper:{event_id}")
            await eventually(lambda run=run: timer_started(run, "nap"), message=f"{run.id} naps")
        server.stop()
        # Down for real: both ports closed (start() refuses a busy port).
        await eventually(
            lambda: (
                not port_open(server.ip, server.port) and not port_open(server.ip, server.ui_port)
            ),
            message="the dev server's ports are closed",
        )
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
    assert lines.count("before") == 5
    assert lines.count("after") == 5
