"""The event log: ``adapter events`` (recent events and their runs) and ``adapter event ID``.

Read from Temporal alone (records, runs, gates' histories); see
:mod:`adapter._observe.events`. Both take ``--address`` / ``--namespace`` and ``--json``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from temporalio.service import RPCError

from adapter._observe.decode import parse_iso
from adapter._observe.errors import ObserveError, one_line
from adapter._observe.event_render import render_event, render_events
from adapter._observe.events import list_events, load_event
from adapter._observe.render import console_for, to_json
from adapter._temporal.connect import connect
from adapter.cli.options import Subparsers, add_temporal

DEFAULT_LIMIT = 20


def register(subparsers: Subparsers) -> None:
    """Add ``events`` and ``event`` to the ``adapter`` parser."""
    events = subparsers.add_parser(
        "events", help="recent events (newest first) and the runs each started"
    )
    add_temporal(events)
    events.add_argument("--name", help="only events of this name")
    events.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"events to show (default {DEFAULT_LIMIT})"
    )
    events.add_argument("--before", help="only events received at or before this ISO time")
    events.add_argument("--after", help="only events received at or after this ISO time")
    events.add_argument("--json", action="store_true", help="print JSON")
    events.set_defaults(handler=events_command)

    event = subparsers.add_parser(
        "event", help="one event: its data, its runs, and why each function ran or did not"
    )
    add_temporal(event)
    event.add_argument("event_id", metavar="ID", help="the event id")
    event.add_argument("--json", action="store_true", help="print JSON")
    event.set_defaults(handler=event_command)


def _when(text: str | None) -> datetime | None:
    """An ``--before`` / ``--after`` time; one without a zone is UTC."""
    if text is None:
        return None
    when = parse_iso(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _fail(command: str, error: BaseException) -> int:
    print(f"adapter {command}: {one_line(error)}", file=sys.stderr)
    return 1


async def events_command(args: argparse.Namespace) -> int:
    """``adapter events``: recent events, newest first, with their runs."""
    try:
        if args.limit < 1:
            raise ObserveError("--limit must be at least 1")
        before, after = _when(args.before), _when(args.after)
        client = await connect(args.address, args.namespace)
        items = await list_events(
            client, name=args.name, limit=args.limit, before=before, after=after
        )
    except (ObserveError, RPCError, ValueError, LookupError, ConnectionError) as exc:
        return _fail("events", exc)
    if args.json:
        print(to_json([i.to_json() for i in items]), flush=True)
    else:
        render_events(console_for(sys.stdout), items)
    return 0


async def event_command(args: argparse.Namespace) -> int:
    """``adapter event ID``: the event, what happened per function, and its runs."""
    try:
        client = await connect(args.address, args.namespace)
        report = await load_event(client, args.event_id)
        if report is None:
            raise ObserveError(
                f"no event {args.event_id!r} in namespace {client.namespace!r} (never sent, "
                "or past the namespace's retention)"
            )
    except (ObserveError, RPCError, ValueError, LookupError, ConnectionError) as exc:
        return _fail("event", exc)
    if args.json:
        print(to_json(report.to_json()), flush=True)
    else:
        render_event(console_for(sys.stdout), report)
    return 0
