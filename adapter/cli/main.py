"""The ``adapter`` command: dev, worker, send, functions."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from adapter._define.client import Inngest
from adapter._define.config import TriggerCron, TriggerEvent
from adapter._define.discovery import apps_of, discover
from adapter._define.function import Function
from adapter._errors import AdapterError
from adapter._temporal.connect import connect
from adapter._temporal.devserver import DevServer
from adapter._temporal.schedules import SyncReport, sync_schedules
from adapter._temporal.search_attributes import prepare_namespace
from adapter.worker import WorkerSettings, run_workers, stop_on_signals

log = logging.getLogger("adapter")
# Further commands live in their own modules (see _command_modules).
COMMAND_MODULES = (
    "adapter.cli.observe",
    "adapter.cli.serve",
    "adapter.cli.author",
    "adapter.cli.testrun",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adapter", description="Inngest-style durable functions on Temporal."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add_functions(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--functions",
            default="functions",
            help="folder of function modules (default: functions)",
        )

    def add_temporal(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--address", help="Temporal host:port (default: TEMPORAL_ADDRESS or localhost:7233)"
        )
        p.add_argument(
            "--namespace", help="Temporal namespace (default: TEMPORAL_NAMESPACE or default)"
        )

    dev = sub.add_parser(
        "dev", help="start the Temporal dev server, sync schedules and run a worker"
    )
    add_functions(dev)
    dev.add_argument("--port", type=int, default=7233, help="Temporal gRPC port (default 7233)")
    dev.add_argument(
        "--ui-port", type=int, default=8233, help="Temporal Web UI port (default 8233)"
    )
    dev.add_argument(
        "--state-dir", default=".state", help="where the SQLite database lives (default .state)"
    )

    worker = sub.add_parser("worker", help="run a worker against an existing Temporal")
    add_functions(worker)
    add_temporal(worker)
    worker.add_argument("--no-schedules", action="store_true", help="do not sync cron schedules")
    worker.add_argument(
        "--max-concurrent-steps",
        type=int,
        default=WorkerSettings.max_concurrent_steps,
        help=f"step activities run at once (default {WorkerSettings.max_concurrent_steps})",
    )
    worker.add_argument(
        "--max-concurrent-workflow-tasks",
        type=int,
        default=WorkerSettings.max_concurrent_workflow_tasks,
        help=f"orchestrator tasks at once (default {WorkerSettings.max_concurrent_workflow_tasks})",
    )
    worker.add_argument(
        "--graceful-shutdown",
        type=float,
        default=WorkerSettings.graceful_shutdown.total_seconds(),
        help="seconds running steps get to finish on SIGTERM before they are handed back (default 10)",
    )

    send = sub.add_parser("send", help="send an event")
    send.add_argument("name", help="event name, e.g. user/created")
    send.add_argument("--data", default="{}", help="event data as a JSON object")
    send.add_argument("--id", default="", help="event id (for deduplication); default: a new ULID")
    add_functions(send)
    add_temporal(send)

    functions = sub.add_parser("functions", help="list functions, triggers and next cron runs")
    add_functions(functions)
    functions.add_argument("--json", action="store_true", help="machine-readable output")
    for module in _command_modules():
        module.add_commands(sub, add_functions, add_temporal)
    return parser


def _command_modules() -> list[Any]:
    """Modules that add commands: each has ``add_commands(sub, ...)`` and ``HANDLERS``."""
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``adapter`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("ADAPTER_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "functions":
            return _functions(args)
        code = asyncio.run(_async_main(args))
        # The Temporal client's native runtime can abort while the interpreter
        # finalizes (PyGILState_Release); everything is done, so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    except (AdapterError, ConnectionError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"adapter {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _async_main(args: argparse.Namespace) -> int:
    for module in _command_modules():
        handler = module.HANDLERS.get(args.command)
        if handler is not None:
            return int(await handler(args))
    if args.command == "dev":
        return await _dev(args)
    if args.command == "worker":
        return await _worker(args)
    if args.command == "send":
        return await _send(args)
    raise AssertionError(args.command)


def _load(path: str) -> tuple[list[Function], list[Inngest]]:
    functions = discover(path)
    return functions, apps_of(functions)


def _print_sync(report: SyncReport) -> None:
    for verb in ("created", "updated", "deleted"):
        for sid in getattr(report, verb):
            print(f"  schedule {sid}: {verb}")


async def _dev(args: argparse.Namespace) -> int:
    functions, apps = _load(args.functions)
    state = Path(args.state_dir)
    server = DevServer(
        db_file=state / "temporal.db",
        port=args.port,
        ui_port=args.ui_port,
        log_file=state / "temporal.log",
    )
    print(f"Starting the Temporal dev server ({server.address}, data in {server.db_file}) ...")
    await server.start()
    try:
        client = await connect(server.address)
        await prepare_namespace(client, apps)
        for app in apps:
            app.set_temporal_client(client)
            _print_sync(await sync_schedules(client, app))
        from adapter._http.app import serve_events

        # Inngest's Event API beside the worker (any key, as Inngest's dev server).
        events = serve_events(apps, port=args.events_port, dev=True) if apps else None
        if events is not None:
            await events.start()
            print(
                f"\nInngest Event API: {events.url}   (Inngest SDKs: INNGEST_DEV=1 "
                f"INNGEST_BASE_URL={events.url})"
            )
        try:
            _print_banner(server, functions)
            await run_workers(client, apps, stop=stop_on_signals())
        finally:
            if events is not None:
                await events.stop()
        print("\nStopped the worker.")
    finally:
        server.stop()
        print("Stopped the Temporal dev server. Runs are kept in", server.db_file)
    return 0


def _print_banner(server: DevServer, functions: list[Function]) -> None:
    print(f"\nTemporal Web UI (the Workflows tab): {server.ui_url}")
    print(f"Temporal address: {server.address}   (TEMPORAL_ADDRESS={server.address})")
    print(f"\n{len(functions)} function(s):")
    for fn in functions:
        print(f"  {fn.app_id}/{fn.id}: {_trigger_text(fn)}")
    event = next((t.event for fn in functions for t in fn.config.event_triggers), "user/created")
    print("\nSend an event from another terminal:")
    print(
        f"  TEMPORAL_ADDRESS={server.address} .venv/bin/adapter send {event} "
        '--data \'{"email": "jane@example.com", "name": "Jane"}\''
    )
    print("\nWorker running. Press Ctrl-C to stop.")


async def _worker(args: argparse.Namespace) -> int:
    functions, apps = _load(args.functions)
    client = await connect(args.address, args.namespace)
    await prepare_namespace(client, apps)
    if not args.no_schedules:
        for app in apps:
            _print_sync(await sync_schedules(client, app))
    print(f"Worker for {len(functions)} function(s) on {client.service_client.config.target_host}")
    settings = WorkerSettings(
        max_concurrent_steps=args.max_concurrent_steps,
        max_concurrent_workflow_tasks=args.max_concurrent_workflow_tasks,
        graceful_shutdown=timedelta(seconds=args.graceful_shutdown),
    )
    await run_workers(client, apps, settings=settings, stop=stop_on_signals())
    return 0


async def _send(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'--data is not valid JSON ({exc}); e.g. --data \'{{"email": "a@b.c"}}\''
        ) from None
    _, apps = _load(args.functions)
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


def _trigger_text(fn: Function) -> str:
    parts = []
    for t in fn.triggers:
        if isinstance(t, TriggerCron):
            parts.append(f"cron {t.cron!r} ({t.spec.describe()})")
        elif isinstance(t, TriggerEvent):
            parts.append(f"event {t.event!r}" + (f" if {t.expression}" if t.expression else ""))
    return "; ".join(parts)


def _functions(args: argparse.Namespace) -> int:
    functions, _ = _load(args.functions)
    rows: list[dict[str, Any]] = []
    for fn in functions:
        triggers: list[dict[str, Any]] = []
        for t in fn.triggers:
            if isinstance(t, TriggerCron):
                spec = t.spec
                nxt = spec.next_times(3)
                triggers.append(
                    {
                        "cron": t.cron,
                        "timezone": spec.timezone,
                        "description": spec.describe(),
                        "next_runs": [d.isoformat() for d in nxt],
                        "next_runs_utc": [d.astimezone(UTC).isoformat() for d in nxt],
                    }
                )
            else:
                triggers.append({"event": t.event, "if": t.expression})
        rows.append(
            {
                "app_id": fn.app_id,
                "id": fn.id,
                "name": fn.name,
                "retries": fn.config.retries,
                "triggers": triggers,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['app_id']}/{row['id']}  (retries: {row['retries']})")
        for trig in row["triggers"]:
            if "cron" in trig:
                print(f"  cron {trig['cron']!r}: {trig['description']}")
                for local, utc in zip(trig["next_runs"], trig["next_runs_utc"], strict=True):
                    print(f"    next: {local}" + ("" if local == utc else f"  ({utc})"))
            else:
                print(f"  event {trig['event']!r}" + (f" if {trig['if']}" if trig["if"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
