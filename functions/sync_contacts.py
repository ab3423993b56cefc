"""Sync contacts every hour: fetch them from a source, upsert them into SQLite.

The seed's scheduled workflow, in the seed's three-part style. Configuration:

* ``CONTACTS_SOURCE_URL``: an ``http(s)://`` URL returning a JSON list of contacts
  (``{"id", "name", "email"}``), or a ``file://`` URL; unset, the bundled
  ``functions/data/contacts.json`` is used, so the demo needs no network.
* ``CONTACTS_API_TOKEN``: sent as ``Authorization: Bearer ...`` when set.
* ``CONTACTS_DB``: the SQLite file (default ``.state/contacts.db``).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import httpx

from adapter import Context, NonRetriableError

from ._sqlite import connect
from .client import inngest

BUNDLED_CONTACTS = Path(__file__).parent / "data" / "contacts.json"

Contact = dict[str, str]


def fetch_contacts() -> list[Contact]:
    """Read the contacts from ``CONTACTS_SOURCE_URL`` (or the bundled file)."""
    source = os.environ.get("CONTACTS_SOURCE_URL", "")
    if not source:
        raw = json.loads(BUNDLED_CONTACTS.read_text())
    elif source.startswith("file://"):
        raw = json.loads(Path(url2pathname(urlparse(source).path)).read_text())
    else:
        token = os.environ.get("CONTACTS_API_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(source, headers=headers, timeout=30)
        response.raise_for_status()  # a failed request is retried with backoff
        raw = response.json()
    return _contacts(raw)


def _contacts(raw: Any) -> list[Contact]:
    if isinstance(raw, dict):  # {"contacts": [...]} or Salesforce's {"records": [...]}
        raw = raw.get("contacts", raw.get("records"))
    if not isinstance(raw, list) or not all(isinstance(c, dict) and c.get("id") for c in raw):
        raise NonRetriableError(
            "the contacts source must return a JSON list of objects with an 'id' "
            '(e.g. [{"id": "1", "name": "Jane", "email": "jane@example.com"}])'
        )
    return [
        {"id": str(c["id"]), "name": str(c.get("name") or ""), "email": str(c.get("email") or "")}
        for c in raw
    ]


SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    external_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
)
"""

UPSERT = """
INSERT INTO contacts (external_id, name, email, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT(external_id) DO UPDATE SET
    name = excluded.name, email = excluded.email, updated_at = excluded.updated_at
WHERE contacts.name IS NOT excluded.name OR contacts.email IS NOT excluded.email
"""


def upsert_contacts(contacts: list[Contact]) -> dict[str, int]:
    """Insert new contacts and update changed ones, by external id; return the counts."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    counts = {"fetched": len(contacts), "created": 0, "updated": 0, "unchanged": 0}
    with contextlib.closing(connect("CONTACTS_DB", ".state/contacts.db")) as db, db:
        db.execute(SCHEMA)
        for c in contacts:
            existed = db.execute(
                "SELECT 1 FROM contacts WHERE external_id = ?", (c["id"],)
            ).fetchone()
            changed = db.execute(UPSERT, (c["id"], c["name"], c["email"], now)).rowcount
            kind = "updated" if existed and changed else "unchanged" if existed else "created"
            counts[kind] += 1
    return counts


async def sync_contacts_handler(ctx: Context) -> dict[str, int]:
    """Fetch, then upsert: two steps, so a failed upsert does not fetch again."""
    contacts = await ctx.step.run("fetch-contacts", fetch_contacts)
    counts: dict[str, int] = await ctx.step.run("update-database", upsert_contacts, contacts)
    ctx.logger.info("synced contacts: %s", counts)
    return counts


sync_contacts = inngest.create_function(
    {"id": "sync-contacts"},
    {"cron": "0 * * * *"},  # every hour, UTC
    sync_contacts_handler,
)
