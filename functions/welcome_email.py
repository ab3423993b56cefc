"""Send a welcome email when a user is created (event ``user/created``).

The seed's event-driven workflow, in the short keyword style. The event's data
holds ``email`` (required) and ``name``. Configuration:

* ``SMTP_HOST``: send through this SMTP server (``SMTP_PORT``, default 587; 465
  means TLS from the start, otherwise STARTTLS when the server offers it),
  from ``SMTP_FROM`` (default ``welcome@example.com``), logging in when
  ``SMTP_USER`` / ``SMTP_PASSWORD`` are set.
* Without ``SMTP_HOST`` the email goes to an ``outbox`` table in the SQLite file
  ``OUTBOX_DB`` (default ``.state/outbox.db``), one row per event.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
from email.message import EmailMessage
from typing import Any

from adapter import Context, NonRetriableError

from ._sqlite import connect
from .client import inngest

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    message_id TEXT PRIMARY KEY,
    sender     TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def compose(email: str, name: str) -> EmailMessage:
    """The welcome email for ``name`` at ``email``."""
    msg = EmailMessage()
    msg["From"] = os.environ.get("SMTP_FROM") or "welcome@example.com"
    msg["To"] = email
    msg["Subject"] = f"Welcome, {name}!" if name else "Welcome!"
    msg.set_content(
        f"Hi {name or 'there'},\n\nThanks for signing up. We are glad to have you.\n\n— The team\n"
    )
    return msg


def send_email(email: str, name: str, message_id: str) -> dict[str, str]:
    """Send by SMTP when ``SMTP_HOST`` is set, else write to the outbox table."""
    msg = compose(email, name)
    host = os.environ.get("SMTP_HOST")
    if host:
        port = int(os.environ.get("SMTP_PORT") or 587)
        smtp_class = smtplib.SMTP_SSL if port == 465 else smtplib.SMTP
        with smtp_class(host, port, timeout=30) as smtp:
            smtp.ehlo()
            if port != 465 and smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            if os.environ.get("SMTP_USER"):
                smtp.login(os.environ["SMTP_USER"], os.environ.get("SMTP_PASSWORD", ""))
            smtp.send_message(msg)
        return {"via": "smtp", "to": email}
    with contextlib.closing(connect("OUTBOX_DB", ".state/outbox.db")) as db, db:
        db.execute(SCHEMA)
        # Keyed by event id: a retried step does not queue the email twice.
        db.execute(
            "INSERT OR IGNORE INTO outbox (message_id, sender, recipient, subject, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (message_id, msg["From"], email, msg["Subject"], msg.get_content()),
        )
    return {"via": "outbox", "to": email}


@inngest.create_function(id="send-welcome-email", event="user/created")
async def send_welcome_email(ctx: Context) -> dict[str, Any]:
    """One step: send the email (a missing address fails the run at once)."""
    email = str(ctx.event.data.get("email") or "").strip()
    name = str(ctx.event.data.get("name") or "").strip()
    if not email:
        raise NonRetriableError(
            "user/created event has no data.email; send e.g. "
            '{"name": "user/created", "data": {"email": "jane@example.com", "name": "Jane"}}'
        )
    sent: dict[str, str] = await ctx.step.run("send-email", send_email, email, name, ctx.event.id)
    return sent
