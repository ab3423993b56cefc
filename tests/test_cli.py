"""The adapter command, run as a user runs it (subprocess), against the test server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import textwrap
import uuid
from pathlib import Path

from temporalio.client import Client

from tests.helpers import run_adapter, spawn_adapter, wait_registered


def _functions_dir(tmp_path: Path, app_id: str, event: str = "user/created") -> Path:
    pkg = tmp_path / "functions"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        f"from adapter import Inngest\ninngest = Inngest(app_id={app_id!r})\n"
    )
    (pkg / "greet.py").write_text(
        textwrap.dedent(
            """
            from functions.client import inngest

            @inngest.create_function(id="greet", event=EVENT)
            async def greet(ctx):
                return await ctx.step.run("hello", lambda: "hi " + ctx.event.data["name"])

            @inngest.create_function({"id": "weekday"}, {"cron": "TZ=Europe/Berlin 0 9 * * 1-5"})
            async def weekday(ctx):
                return None
            """
        ).replace("EVENT", repr(event))
    )
    return pkg


def test_functions_lists_triggers_and_next_cron_runs(tmp_path: Path) -> None:
    _functions_dir(tmp_path, "cli-list")
    out = run_adapter("functions", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = {row["id"]: row for row in json.loads(out.stdout)}
    assert rows["greet"]["triggers"] == [{"event": "user/created", "if": None}]
    cron = rows["weekday"]["triggers"][0]
    assert cron["timezone"] == "Europe/Berlin"
    assert "Monday through Friday" in cron["description"]
    assert len(cron["next_runs"]) == 3
    assert all("T09:00:00+0" in t for t in cron["next_runs"])
    text = run_adapter("functions", cwd=tmp_path)
    assert "cli-list/weekday" in text.stdout
    assert "next:" in text.stdout


def test_send_starts_a_run_and_bad_data_is_a_clear_error(tmp_path: Path, client: Client) -> None:
    # Routing and event ids are namespace-wide: a name and an id no other test uses.
    name, event_id = f"cli-send/{uuid.uuid4().hex[:8]}", f"e-{uuid.uuid4().hex[:8]}"
    _functions_dir(tmp_path, "cli-send", event=name)
    out = run_adapter(
        "send", name, "--data", '{"name": "Jane"}', "--id", event_id, cwd=tmp_path, client=client
    )
    assert out.returncode == 0, out.stderr
    # No worker of cli-send has registered: the event is accepted, and routed to nothing.
    assert json.loads(out.stdout) == {"ids": [event_id], "functions": []}
    bad = run_adapter("send", "user/created", "--data", "{name: Jane}", cwd=tmp_path, client=client)
    assert bad.returncode == 1
    assert "--data is not valid JSON" in bad.stderr
    missing = run_adapter("functions", "--functions", "nowhere", cwd=tmp_path)
    assert missing.returncode == 2
    assert "functions folder 'nowhere' not found" in missing.stderr


async def test_worker_command_runs_sent_events_and_stops_on_sigterm(
    client: Client, tmp_path: Path
) -> None:
    _functions_dir(tmp_path, "cli-run")
    event_id = f"e-{uuid.uuid4().hex[:8]}"
    worker = spawn_adapter(
        "worker",
        cwd=tmp_path,
        client=client,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Senders route by registrations: the worker publishes its app before it runs.
        await wait_registered(client, "cli-run")
        out = run_adapter(
            "send",
            "user/created",
            "--data",
            '{"name": "Ann"}',
            "--id",
            event_id,
            cwd=tmp_path,
            client=client,
        )
        assert out.returncode == 0, out.stderr
        handle = client.get_workflow_handle(f"cli-run:greet:{event_id}")
        assert await asyncio.wait_for(handle.result(), 60) == "hi Ann"
        schedule = await client.get_schedule_handle("cli-run:weekday").describe()
        assert schedule.schedule.spec.time_zone_name == "Europe/Berlin"
    finally:
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert "schedule cli-run:weekday: created" in stdout


def test_test_run_prints_the_step_timeline(tmp_path: Path) -> None:
    _functions_dir(tmp_path, "cli-sandbox")
    out = run_adapter("test-run", "greet", "--data", '{"name": "Bo"}', "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["status"] == "completed"
    assert report["output"] == "hi Bo"
    assert [s["id"] for s in report["steps"]] == ["hello"]
    stubbed = run_adapter("test-run", "greet", "--stub", 'hello="stubbed"', cwd=tmp_path)
    assert stubbed.returncode == 0
    assert "stubbed" in stubbed.stdout
    bad = run_adapter("test-run", "nope", cwd=tmp_path)
    assert bad.returncode == 1
    assert "no function 'nope'" in bad.stderr


def test_worker_with_a_bad_address_fails_with_one_clear_line(tmp_path: Path) -> None:
    _functions_dir(tmp_path, "cli-bad")
    out = run_adapter("worker", "--address", "127.0.0.1:1", cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot connect to Temporal at 127.0.0.1:1" in lines[0]
    assert "Traceback" not in out.stderr
