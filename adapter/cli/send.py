"""``adapter send``: send one event to Temporal, as ``inngest.send`` does."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapter._temporal.connect import connect
from adapter.cli.options import Subparsers, add_functions, add_temporal, load


def register(subparsers: Subparsers) -> None:
    """Add ``send`` to the ``adapter`` parser."""
    send = subparsers.add_parser("send", help="send an event")
    send.add_argument("name", help="event name, e.g. user/created")
    send.add_argument("--data", default="{}", help="event data as a JSON object")
    send.add_argument("--id", default="", help="event id (for deduplication); default: a new ULID")
    add_functions(send)
    add_temporal(send)
    send.set_defaults(handler=send_command)


async def send_command(args: argparse.Namespace) -> int:
    """Send the event through the apps whose functions it triggers; print the ids as JSON."""
    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'--data is not valid JSON ({exc}); e.g. --data \'{{"email": "a@b.c"}}\''
        ) from None
    _, apps = load(args.functions)
    client = await connect(args.address, args.namespace)
    event: dict[str, Any] = {"name": args.name, "data": data}
    if args.id:
        event["id"] = args.id
    ids: list[str] = []
    routed = [app for app in apps if app.functions_for(args.name)] or apps[:1]
    for app in routed:
        app.set_temporal_client(client)
        ids = await app.send(event)
        event["id"] = ids[0]
    targets = [fn.id for app in apps for fn in app.functions_for(args.name)]
    print(json.dumps({"ids": ids, "functions": targets}))
    return 0
