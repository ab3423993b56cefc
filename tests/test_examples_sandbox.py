"""The examples in functions/, run in the sandbox (no Temporal server)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapter import NonRetriableError
from adapter.testing import run
from functions.sync_contacts import sync_contacts
from functions.ticket_summary import open_tickets_summary
from functions.welcome_email import send_welcome_email

ENV = (
    "CONTACTS_SOURCE_URL",
    "CONTACTS_DB",
    "TICKETS_DB",
    "SLACK_WEBHOOK_URL",
    "SMTP_HOST",
    "OUTBOX_DB",
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONTACTS_DB", str(tmp_path / "contacts.db"))
    monkeypatch.setenv("TICKETS_DB", str(tmp_path / "tickets.db"))
    monkeypatch.setenv("OUTBOX_DB", str(tmp_path / "outbox.db"))
    return tmp_path


async def test_sync_contacts_upserts_stubbed_contacts(isolated: Path) -> None:
    contacts = [{"id": "c1", "name": "Ann", "email": "ann@example.com"}]
    result = await run(sync_contacts, cron=True, stubs={"fetch-contacts": contacts})
    assert result.status == "completed"
    assert result.step_ids == ["fetch-contacts", "update-database"]
    assert result.output["created"] == 1
    with sqlite3.connect(isolated / "contacts.db") as db:
        assert db.execute("SELECT external_id, name FROM contacts").fetchall() == [("c1", "Ann")]


async def test_sync_contacts_from_the_bundled_file() -> None:
    result = await run(sync_contacts, cron=True)
    assert result.status == "completed"
    assert result.output["fetched"] == 3


async def test_ticket_summary_without_webhook_returns_the_text() -> None:
    tickets = [{"id": 1, "title": "Printer on fire", "priority": "high", "assignee": "ada"}]
    result = await run(open_tickets_summary, cron=True, stubs={"load-open-tickets": tickets})
    assert result.status == "completed"
    assert result.output["posted"] is False
    assert "Printer on fire" in result.output["text"]


async def test_welcome_email_goes_to_the_outbox(isolated: Path) -> None:
    event = {"name": "user/created", "data": {"email": "jane@example.com", "name": "Jane"}}
    result = await run(send_welcome_email, event=event)
    assert result.status == "completed"
    assert result.step_ids == ["send-email"]
    with sqlite3.connect(isolated / "outbox.db") as db:
        assert db.execute("SELECT recipient FROM outbox").fetchall() == [("jane@example.com",)]


async def test_welcome_email_without_address_fails_at_once() -> None:
    result = await run(send_welcome_email, event={"name": "user/created", "data": {"name": "Jane"}})
    assert result.status == "failed"
    assert isinstance(result.error, NonRetriableError)
    assert result.steps == []
    assert result.handler_attempts == 1
