"""``adapter apps`` and ``adapter unregister``: the registrations senders route by."""

from __future__ import annotations

import argparse
import json

from adapter._define.routes import RouteTable
from adapter._temporal.connect import connect
from adapter._temporal.registry import list_registrations, unregister
from adapter.cli.options import Subparsers, add_temporal


def register(subparsers: Subparsers) -> None:
    """Add ``apps`` and ``unregister`` to the ``adapter`` parser."""
    apps = subparsers.add_parser(
        "apps", help="the apps registered in the namespace and their functions"
    )
    add_temporal(apps)
    apps.add_argument("--json", action="store_true", help="print JSON")
    apps.set_defaults(handler=apps_command)
    retract = subparsers.add_parser(
        "unregister", help="retract an app's registration: its functions stop being routed"
    )
    retract.add_argument("app_id", help="the app id")
    add_temporal(retract)
    retract.set_defaults(handler=unregister_command)


async def apps_command(args: argparse.Namespace) -> int:
    """Print every Running registration: app, task queue, functions and their events."""
    client = await connect(args.address, args.namespace)
    entries = sorted(await list_registrations(client), key=lambda e: str(e.get("app_id")))
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    table = RouteTable.of(entries)
    for app_id in table.apps:
        routes = [r for r in table.routes if r.app_id == app_id]
        print(f"{app_id}: {len(routes)} function(s)")
        for route in routes:
            events = ", ".join(e + (f" if {x}" if x else "") for e, x in route.triggers)
            print(f"  {route.function_id}: {events or 'cron only'}")
    if not table.apps:
        print("no app has registered in this namespace (start a worker)")
    return 0


async def unregister_command(args: argparse.Namespace) -> int:
    """Retract one app's registration."""
    client = await connect(args.address, args.namespace)
    if not await unregister(client, args.app_id):
        print(f"app {args.app_id!r} is not registered")
        return 1
    print(f"app {args.app_id!r}: registration retracted; its functions are no longer routed")
    return 0
