"""The examples in functions/, run end to end on a real Temporal dev server.

They are bound to the global ``functions.client.inngest`` app, so each test points
that app at the session's Temporal, at a task queue of its own and at databases
under ``tmp_path``. Cron functions are started the way Temporal starts them: their
schedule is created with ``sync_schedules`` and triggered by hand.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import socketserver
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecution, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from adapter import Inngest, TriggerCron, TriggerEvent, discover
from adapter._protocol import cron_run_prefix as cron_workflow_id
from adapter._protocol import run_id as run_workflow_id
from adapter._protocol import schedule_id
from adapter._temporal.schedules import sync_schedules
from tests.helpers import eventually, running

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
ENV_VARS = (
    "CONTACTS_SOURCE_URL",
    "CONTACTS_API_TOKEN",
    "CONTACTS_DB",
    "TICKETS_DB",
    "SLACK_WEBHOOK_URL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_FROM",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "OUTBOX_DB",
)


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def app(client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Inngest:
    """The examples' app, isolated: own task queue, databases in tmp_path, no SMTP/Slack."""
    discover(FUNCTIONS_DIR)
    from functions.client import inngest

    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, name in (
        ("CONTACTS_DB", "contacts"),
        ("TICKETS_DB", "tickets"),
        ("OUTBOX_DB", "outbox"),
    ):
        monkeypatch.setenv(var, str(tmp_path / f"{name}.db"))
    monkeypatch.setattr(inngest, "task_queue", f"examples-{uuid.uuid4().hex[:10]}")
    inngest.set_temporal_client(client)
    return inngest


@dataclass
class LocalHTTP:
    """A tiny HTTP server: GET returns ``get_body``; every request is recorded."""

    url: str
    get_body: bytes = b"[]"
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def http_server() -> Iterator[LocalHTTP]:
    state = LocalHTTP(url="")

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length),
                }
            )

        def do_GET(self) -> None:
            self._record()
            self._reply(state.get_body, "application/json")

        def do_POST(self) -> None:
            self._record()
            self._reply(b"ok", "text/plain")

        def _reply(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SMTPStub:
    """A socket-level SMTP server that accepts every message and keeps it."""

    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[SMTPStub]:
    stub = SMTPStub(port=0)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 stub ESMTP\r\n")
            envelope: dict[str, Any] = {"from": "", "to": []}
            while line := self.rfile.readline():
                command = line.decode().strip()
                verb = command[:4].upper()
                reply = b"250 OK\r\n"
                if verb == "MAIL":
                    envelope["from"] = command.partition(":")[2].strip(" <>")
                elif verb == "RCPT":
                    envelope["to"].append(command.partition(":")[2].strip(" <>"))
                elif verb == "DATA":
                    self.wfile.write(b"354 end with <CRLF>.<CRLF>\r\n")
                    lines = []
                    while (data := self.rfile.readline()) not in (b".\r\n", b""):
                        lines.append(data[1:] if data.startswith(b"..") else data)
                    message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                    stub.messages.append({**envelope, "message": message})
                    envelope = {"from": "", "to": []}
                elif verb == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                self.wfile.write(reply)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


# --- helpers --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def schedules(client: Client, app: Inngest) -> AsyncIterator[None]:
    """The app's cron schedules, paused (so only manual triggers start runs), then deleted."""
    report = await sync_schedules(client, app)
    ids = report.created + report.updated + report.unchanged
    try:
        for sid in ids:
            await client.get_schedule_handle(sid).pause(note="tests trigger runs by hand")
        yield
    finally:
        for sid in ids:
            await client.get_schedule_handle(sid).delete()


async def trigger_cron(
    client: Client, app: Inngest, fn_id: str, seen: set[str]
) -> WorkflowHandle[Any, Any]:
    """Trigger the function's schedule and return the handle of the new run it started."""
    await client.get_schedule_handle(schedule_id(app.app_id, fn_id)).trigger()
    query = f"WorkflowType = '{fn_id}' AND TaskQueue = '{app.task_queue}'"

    async def new_run() -> WorkflowExecution | None:
        async for wf in client.list_workflows(query):
            if wf.run_id not in seen:
                return wf
        return None

    wf = await eventually(
        new_run, timeout=10, message=f"no run of {fn_id!r} appeared after triggering its schedule"
    )
    assert wf is not None
    seen.add(wf.run_id)
    assert wf.id.startswith(cron_workflow_id(app.app_id, fn_id))
    return client.get_workflow_handle(wf.id, run_id=wf.run_id)


async def step_ids(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The activity ids (= step ids) the run scheduled, in order."""
    ids = []
    async for ev in handle.fetch_history_events():
        if ev.HasField("activity_task_scheduled_event_attributes"):
            ids.append(ev.activity_task_scheduled_event_attributes.activity_id)
    return ids


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


# --- discovery --------------------------------------------------------------------------


def test_discover_finds_the_three_examples() -> None:
    found = {fn.id: fn for fn in discover(FUNCTIONS_DIR)}
    assert sorted(found) == ["open-tickets-summary", "send-welcome-email", "sync-contacts"]
    assert {fn.app_id for fn in found.values()} == {"workflows-demo"}
    assert found["sync-contacts"].triggers == (TriggerCron(cron="0 * * * *"),)
    assert found["open-tickets-summary"].triggers == (TriggerCron(cron="0 9 * * 1-5"),)
    assert found["send-welcome-email"].triggers == (TriggerEvent(event="user/created"),)


# --- sync-contacts ----------------------------------------------------------------------


async def test_sync_contacts_reads_bundled_file_by_default(
    client: Client, app: Inngest, tmp_path: Path
) -> None:
    bundled = json.loads((FUNCTIONS_DIR / "data" / "contacts.json").read_text())
    async with running(client, app), schedules(client, app):
        handle = await trigger_cron(client, app, "sync-contacts", set())
        result = await handle.result()
        assert await step_ids(handle) == ["fetch-contacts", "update-database"]
    n = len(bundled)
    assert result == {"fetched": n, "created": n, "updated": 0, "unchanged": 0}
    assert rows(tmp_path / "contacts.db", "SELECT external_id, name, email FROM contacts") == [
        (c["id"], c["name"], c["email"]) for c in bundled
    ]


async def test_sync_contacts_upserts_by_external_id(
    client: Client,
    app: Inngest,
    tmp_path: Path,
    http_server: LocalHTTP,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "contacts.db"
    first = [
        {"id": "c1", "name": "Jane", "email": "jane@old.example"},
        {"id": "c2", "name": "Joe", "email": "joe@example.com"},
    ]
    second = [
        {"id": "c1", "name": "Jane", "email": "jane@new.example"},  # changed
        {"id": "c2", "name": "Joe", "email": "joe@example.com"},  # unchanged
        {"id": "c3", "name": "Kim", "email": "kim@example.com"},  # new
    ]
    seen: set[str] = set()
    async with running(client, app), schedules(client, app):
        # First run: over HTTP (httpx), with the bearer token.
        http_server.get_body = json.dumps(first).encode()
        monkeypatch.setenv("CONTACTS_SOURCE_URL", f"{http_server.url}/contacts")
        monkeypatch.setenv("CONTACTS_API_TOKEN", "s3cret")
        result = await (await trigger_cron(client, app, "sync-contacts", seen)).result()
        assert result == {"fetched": 2, "created": 2, "updated": 0, "unchanged": 0}
        [request] = http_server.requests
        assert (request["method"], request["path"]) == ("GET", "/contacts")
        assert request["headers"]["Authorization"] == "Bearer s3cret"

        # Second run: from a file:// URL, with one contact changed and one added.
        source = tmp_path / "contacts.json"
        source.write_text(json.dumps(second))
        monkeypatch.setenv("CONTACTS_SOURCE_URL", source.as_uri())
        result = await (await trigger_cron(client, app, "sync-contacts", seen)).result()
        assert result == {"fetched": 3, "created": 1, "updated": 1, "unchanged": 1}
    assert len(http_server.requests) == 1
    assert rows(db, "SELECT external_id, name, email FROM contacts ORDER BY external_id") == [
        ("c1", "Jane", "jane@new.example"),
        ("c2", "Joe", "joe@example.com"),
        ("c3", "Kim", "kim@example.com"),
    ]


# --- open-tickets-summary ---------------------------------------------------------------


async def test_ticket_summary_posts_to_webhook(
    client: Client,
    app: Inngest,
    tmp_path: Path,
    http_server: LocalHTTP,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "tickets.db"
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "CREATE TABLE tickets (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
            "status TEXT NOT NULL, priority TEXT NOT NULL, assignee TEXT)"
        )
        conn.executemany(
            "INSERT INTO tickets VALUES (?, ?, ?, ?, ?)",
            [
                (1, "Export is slow", "open", "low", None),
                (2, "Old bug", "closed", "high", "sam"),
                (3, "Login broken", "open", "high", "ann"),
            ],
        )
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"{http_server.url}/hooks/T000/B000")
    async with running(client, app), schedules(client, app):
        handle = await trigger_cron(client, app, "open-tickets-summary", set())
        result = await handle.result()
        assert await step_ids(handle) == ["load-open-tickets", "post-to-slack"]
    expected = (
        "*2 open tickets*\n• #3 [high] Login broken (ann)\n• #1 [low] Export is slow (unassigned)"
    )
    assert result == {"open": 2, "posted": True, "text": expected}
    [request] = http_server.requests
    assert (request["method"], request["path"]) == ("POST", "/hooks/T000/B000")
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"text": expected}


async def test_ticket_summary_without_webhook_logs_and_returns(
    client: Client, app: Inngest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from functions.ticket_summary import DEMO_TICKETS

    caplog.set_level(logging.INFO, logger="adapter.fn.open-tickets-summary")
    async with running(client, app), schedules(client, app):
        result = await (await trigger_cron(client, app, "open-tickets-summary", set())).result()
    open_titles = [t[0] for t in DEMO_TICKETS if t[1] == "open"]
    closed_titles = [t[0] for t in DEMO_TICKETS if t[1] != "open"]
    assert result["posted"] is False
    assert result["open"] == len(open_titles)
    assert all(title in result["text"] for title in open_titles)
    assert not any(title in result["text"] for title in closed_titles)
    # The empty database was seeded with the demo tickets.
    assert rows(tmp_path / "tickets.db", "SELECT COUNT(*) FROM tickets") == [(len(DEMO_TICKETS),)]
    logged = [r.getMessage() for r in caplog.records if r.name == "adapter.fn.open-tickets-summary"]
    assert any(result["text"] in message for message in logged)


# --- send-welcome-email -----------------------------------------------------------------


async def test_welcome_email_goes_to_outbox(client: Client, app: Inngest, tmp_path: Path) -> None:
    async with running(client, app):
        [event_id] = await app.send(
            {"name": "user/created", "data": {"email": "jane@example.com", "name": "Jane"}}
        )
        handle = client.get_workflow_handle(
            run_workflow_id(app.app_id, "send-welcome-email", event_id)
        )
        assert await handle.result() == {"via": "outbox", "to": "jane@example.com"}
        assert await step_ids(handle) == ["send-email"]
    [row] = rows(
        tmp_path / "outbox.db", "SELECT message_id, sender, recipient, subject, body FROM outbox"
    )
    assert row[:4] == (event_id, "welcome@example.com", "jane@example.com", "Welcome, Jane!")
    assert row[4].startswith("Hi Jane,")


async def test_welcome_email_via_smtp(
    client: Client,
    app: Inngest,
    tmp_path: Path,
    smtp_server: SMTPStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("SMTP_FROM", "hello@acme.test")
    async with running(client, app):
        [event_id] = await app.send(
            {"name": "user/created", "data": {"email": "kim@example.com", "name": "Kim"}}
        )
        handle = client.get_workflow_handle(
            run_workflow_id(app.app_id, "send-welcome-email", event_id)
        )
        assert await handle.result() == {"via": "smtp", "to": "kim@example.com"}
    [sent] = smtp_server.messages
    assert (sent["from"], sent["to"]) == ("hello@acme.test", ["kim@example.com"])
    message = sent["message"]
    assert (message["From"], message["To"], message["Subject"]) == (
        "hello@acme.test",
        "kim@example.com",
        "Welcome, Kim!",
    )
    assert message.get_content().startswith("Hi Kim,")
    assert not (tmp_path / "outbox.db").exists()


async def test_welcome_email_without_address_fails_at_once(
    client: Client, app: Inngest, tmp_path: Path
) -> None:
    async with running(client, app):
        [event_id] = await app.send({"name": "user/created", "data": {"name": "Jane"}})
        handle = client.get_workflow_handle(
            run_workflow_id(app.app_id, "send-welcome-email", event_id)
        )
        started = time.monotonic()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        # Not retried: the app's first retry would wait 15 s.
        assert time.monotonic() - started < 10
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "NonRetriableError"
    assert "user/created event has no data.email" in cause.message
    assert await step_ids(handle) == []
    assert not (tmp_path / "outbox.db").exists()
