"""A rolling deploy: an older worker started after a newer one leaves the newer schedules alone.

Each schedule carries the code version that wrote it (a content hash and a deploy stamp);
a worker whose stamp is lower than the newest stamp on the app's schedules creates,
updates and deletes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import textwrap
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from adapter._define.version import DEPLOY_STAMP_ENV, CodeVersion, code_version
from adapter._errors import ConfigError
from adapter._observe.schedules import schedule_info
from adapter._protocol import schedule_id
from adapter._temporal.schedules import schedule_memo, sync_schedules
from tests.helpers import make_app, read_until, spawn_adapter_async


async def noop(ctx: Any) -> None:
    return None


async def _cron(client: Client, sid: str) -> str | None:
    desc = await client.get_schedule_handle(sid).describe()
    cron = schedule_memo(client, desc.schedule).get("cron")
    return str(cron) if cron is not None else None


async def _stamp(client: Client, sid: str) -> int:
    desc = await client.get_schedule_handle(sid).describe()
    version = CodeVersion.from_json(schedule_memo(client, desc.schedule).get("version"))
    assert version is not None
    return version.stamp


async def _exists(client: Client, sid: str) -> bool:
    try:
        await client.get_schedule_handle(sid).describe()
    except Exception:
        return False
    return True


async def test_an_older_worker_leaves_a_newer_versions_schedules_alone(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Version B (newer): "report" every 15 minutes, and a new cron function "cleanup".
    b = make_app(client)
    b.create_function(id="report", cron="*/15 * * * *")(noop)
    b.create_function(id="cleanup", cron="0 3 * * *")(noop)
    # Version A (older): "report" hourly, no "cleanup".
    a = make_app(client)
    a.app_id, a.task_queue = b.app_id, b.task_queue
    a.create_function(id="report", cron="0 * * * *")(noop)
    report_id, cleanup_id = schedule_id(b.app_id, "report"), schedule_id(b.app_id, "cleanup")

    new = await sync_schedules(client, b, version=code_version(b, stamp=2))
    assert sorted(new.created) == sorted([report_id, cleanup_id])

    with caplog.at_level(logging.INFO, logger="adapter"):
        old = await sync_schedules(client, a, version=code_version(a, stamp=1))
    assert (old.created, old.updated, old.deleted) == ([], [], [])
    assert sorted(old.left_alone) == sorted([report_id, cleanup_id])
    assert await _cron(client, report_id) == "*/15 * * * *"
    assert await _cron(client, cleanup_id) == "0 3 * * *"
    assert await _stamp(client, report_id) == 2
    assert (await schedule_info(client, cleanup_id))["version"]["stamp"] == 2
    lines = [r.getMessage() for r in caplog.records if "left them alone" in r.getMessage()]
    assert len(lines) == 1, lines
    assert b.app_id in lines[0]
    assert "stamp 2" in lines[0]
    assert "stamp 1" in lines[0]

    # The same version again changes nothing; a newer one (C) takes over as before.
    again = await sync_schedules(client, b, version=code_version(b, stamp=2))
    assert sorted(again.unchanged) == sorted([report_id, cleanup_id])
    assert again.left_alone == []
    c = make_app(client)
    c.app_id, c.task_queue = b.app_id, b.task_queue
    c.create_function(id="report", cron="0 9 * * *")(noop)
    newer = await sync_schedules(client, c, version=code_version(c, stamp=3))
    assert newer.updated == [report_id]
    assert newer.deleted == [cleanup_id]
    assert await _cron(client, report_id) == "0 9 * * *"
    assert await _stamp(client, report_id) == 3
    assert not await _exists(client, cleanup_id)


async def test_a_newer_version_with_the_same_crons_restamps_them(client: Client) -> None:
    """A's crons kept as they are by C must not fall to B, older than C but newer than A."""
    a = make_app(client)
    a.create_function(id="report", cron="0 8 * * *")(noop)
    b = make_app(client)
    b.app_id, b.task_queue = a.app_id, a.task_queue
    b.create_function(id="report", cron="0 9 * * *")(noop)
    c = make_app(client)
    c.app_id, c.task_queue = a.app_id, a.task_queue
    c.create_function(id="report", cron="0 8 * * *")(noop)
    sid = schedule_id(a.app_id, "report")

    await sync_schedules(client, a, version=code_version(a, stamp=1))
    kept = await sync_schedules(client, c, version=code_version(c, stamp=3))
    assert kept.updated == []
    assert kept.restamped == [sid]
    assert await _stamp(client, sid) == 3
    late = await sync_schedules(client, b, version=code_version(b, stamp=2))
    assert late.left_alone == [sid]
    assert await _cron(client, sid) == "0 8 * * *"


def test_the_code_version_hashes_the_definitions_and_reads_the_stamp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = make_app(None)  # type: ignore[arg-type]
    one.create_function(id="report", cron="0 8 * * *")(noop)
    two = make_app(None)  # type: ignore[arg-type]
    two.app_id, two.task_queue = one.app_id, one.task_queue
    two.create_function(id="report", cron="0 9 * * *")(noop)
    monkeypatch.delenv(DEPLOY_STAMP_ENV, raising=False)
    assert code_version(one).hash != code_version(two).hash
    assert code_version(one).hash == code_version(one, stamp=5).hash
    # Without a stamp: the newest modification time of the functions' source files.
    assert code_version(one).stamp == int(Path(__file__).stat().st_mtime)
    monkeypatch.setenv(DEPLOY_STAMP_ENV, "1700000000")
    assert code_version(one).stamp == 1700000000
    assert code_version(one, stamp=7).stamp == 7  # the option wins over the variable
    monkeypatch.setenv(DEPLOY_STAMP_ENV, "yesterday")
    with pytest.raises(ConfigError, match=f"{DEPLOY_STAMP_ENV}='yesterday'"):
        code_version(one)


def _version_folder(root: Path, app_id: str, body: str) -> Path:
    pkg = root / "functions"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        f"from adapter import Inngest\ninngest = Inngest(app_id={app_id!r})\n"
    )
    (pkg / "crons.py").write_text(
        "from functions.client import inngest\n\n" + textwrap.dedent(body)
    )
    return root


async def _start_worker(
    client: Client, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, list[str], list[str]]:
    """Start ``adapter worker`` and wait until it says it runs; return it and its output."""
    proc = await spawn_adapter_async(
        "worker",
        *args,
        cwd=cwd,
        client=client,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out: list[str] = []
    assert proc.stdout is not None
    await read_until(proc.stdout, "Worker for", out)
    return proc, out, []


async def _stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    return stderr.decode()


async def test_rolling_deploy_of_two_worker_processes(client: Client, tmp_path: Path) -> None:
    app_id = f"rolling-{tmp_path.name[-8:]}".replace("_", "-")
    newer = _version_folder(
        tmp_path / "b",
        app_id,
        """
        @inngest.create_function(id="report", cron="*/15 * * * *")
        async def report(ctx):
            return None

        @inngest.create_function(id="cleanup", cron="0 3 * * *")
        async def cleanup(ctx):
            return None
        """,
    )
    older = _version_folder(
        tmp_path / "a",
        app_id,
        """
        @inngest.create_function(id="report", cron="0 * * * *")
        async def report(ctx):
            return None
        """,
    )
    report_id, cleanup_id = schedule_id(app_id, "report"), schedule_id(app_id, "cleanup")

    b, b_out, _ = await _start_worker(client, newer, env={DEPLOY_STAMP_ENV: "20"})
    try:
        assert f"  schedule {cleanup_id}: created\n" in b_out
        a, a_out, _ = await _start_worker(client, older, "--deploy-stamp", "10")
        a_err = await _stop(a)
    finally:
        await _stop(b)
    assert not any("schedule " in line for line in a_out), a_out
    assert "left them alone" in a_err
    assert await _cron(client, report_id) == "*/15 * * * *"
    assert await _cron(client, cleanup_id) == "0 3 * * *"
    assert await _stamp(client, report_id) == 20
