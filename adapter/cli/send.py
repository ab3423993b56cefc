"""``adapter send``: send one event to Temporal, as ``inngest.send`` does."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapter._temporal.connect import connect
from adapter._temporal.registry import REGISTRY
from adapter.cli.options import Subparsers, add_functions, add_temporal, optional_apps


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
    """Send the event (routed by the namespace's registrations); print ids and functions as JSON."""
    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'--data is not valid JSON ({exc}); e.g. --data \'{{"email": "a@b.c"}}\''
        ) from None
    apps = optional_apps(args.functions)
    client = await connect(args.address, args.namespace)
    event: dict[str, Any] = {"name": args.name, "data": data}
    if args.id:
        event["id"] = args.id
    sender = apps[0]  # routing is in Temporal: any client reaches every function
    sender.set_temporal_client(client)
    ids = await sender.send(event)
    table = await REGISTRY.table(client)
    routed = table.for_event(args.name, {**event, "id": ids[0]})
    print(json.dumps({"ids": ids, "functions": [f"{r.app_id}/{r.function_id}" for r in routed]}))
    return 0
