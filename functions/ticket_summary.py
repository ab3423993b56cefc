"""Post a summary of open tickets to Slack at 9 AM (UTC) every weekday.

The seed's daily Slack job, in inngest-py's decorator style. Configuration:

* ``TICKETS_DB``: the SQLite file with a ``tickets`` table (default
  ``.state/tickets.db``); created and seeded with demo tickets when empty.
* ``SLACK_WEBHOOK_URL``: a Slack (or compatible) incoming webhook; unset, the
  summary is logged and returned instead of posted.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import httpx

from adapter import Context, TriggerCron

from ._sqlite import connect
from .client import inngest

Ticket = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id       INTEGER PRIMARY KEY,
    title    TEXT NOT NULL,
    status   TEXT NOT NULL DEFAULT 'open',
    priority TEXT NOT NULL DEFAULT 'normal',
    assignee TEXT
)
"""

DEMO_TICKETS = [
    ("Checkout fails on Safari", "open", "high", "ada"),
    ("Invoice PDF shows the wrong VAT rate", "open", "normal", "grace"),
    ("Dark mode toggle resets on reload", "open", "low", None),
    ("Password reset email lands in spam", "closed", "high", "alan"),
]

PRIORITY_ORDER = (
    "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
)


def load_open_tickets() -> list[Ticket]:
    """The open tickets, most urgent first (seeding demo tickets into an empty table)."""
    with contextlib.closing(connect("TICKETS_DB", ".state/tickets.db")) as db, db:
        db.execute(SCHEMA)
        if db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0:
            db.executemany(
                "INSERT INTO tickets (title, status, priority, assignee) VALUES (?, ?, ?, ?)",
                DEMO_TICKETS,
            )
        rows = db.execute(
            "SELECT id, title, priority, assignee FROM tickets WHERE status = 'open' "
            f"ORDER BY {PRIORITY_ORDER}, id"
        ).fetchall()
    return [dict(row) for row in rows]


def summary_text(tickets: list[Ticket]) -> str:
    """Slack mrkdwn: a header line, then one bullet per ticket."""
    if not tickets:
        return "No open tickets today. :tada:"
    noun = "ticket" if len(tickets) == 1 else "tickets"
    lines = [f"*{len(tickets)} open {noun}*"]
    for t in tickets:
        owner = f" ({t['assignee']})" if t["assignee"] else " (unassigned)"
        lines.append(f"• #{t['id']} [{t['priority']}] {t['title']}{owner}")
    return "\n".join(lines)


def post_to_slack(text: str) -> bool:
    """Post ``text`` to ``SLACK_WEBHOOK_URL``; False when no webhook is configured."""
    url = os.environ.get("SLACK_WEBHOOK_URL")
    if not url:
        return False
    response = httpx.post(url, json={"text": text}, timeout=30)
    response.raise_for_status()  # a failed post is retried with backoff
    return True


@inngest.create_function(fn_id="open-tickets-summary", trigger=TriggerCron(cron="0 9 * * 1-5"))
async def open_tickets_summary(ctx: Context) -> dict[str, Any]:
    """Load the open tickets, then post their summary (or log it without a webhook)."""
    tickets = await ctx.step.run("load-open-tickets", load_open_tickets)
    text = summary_text(tickets)
    posted = await ctx.step.run("post-to-slack", post_to_slack, text)
    if not posted:
        ctx.logger.info("SLACK_WEBHOOK_URL is not set; open tickets summary:\n%s", text)
    return {"open": len(tickets), "posted": posted, "text": text}
