"""Running functions: ``adapter dev`` (a local Temporal, the Event API and a worker) and ``adapter worker``."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from adapter._console.app import mount_console
from adapter._console.context import Console, LoadProblem, fixed_client
from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._define.version import DEPLOY_STAMP_ENV, CodeVersion, code_version
from adapter._dev.folder import FolderLoad
from adapter._dev.workers import DevWorkers, dev_stamp
from adapter._http.app import create_app
from adapter._http.server import DEFAULT_PORT, EventServer
from adapter._http.wire import EventApiSettings
from adapter._temporal.connect import connect
from adapter._temporal.devserver import DevServer
from adapter._temporal.registry import register as register_app
from adapter._temporal.schedules import SyncReport, sync_schedules
from adapter._temporal.search_attributes import prepare_namespace
from adapter.cli.functions import trigger_text
from adapter.cli.options import (
    CLI_SENDER_APP_ID,
    Subparsers,
    add_functions,
    add_plugins,
    add_temporal,
    load,
    stop_on_signals,
    temporal_options,
)
from adapter.worker import WorkerSettings, run_workers


def register(subparsers: Subparsers) -> None:
    """Add ``dev`` and ``worker`` to the ``adapter`` parser."""
    dev = subparsers.add_parser(
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
    dev.add_argument(
        "--events-port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port of the Inngest Event API for SDKs (default {DEFAULT_PORT})",
    )
    add_plugins(dev, metrics=True)
    dev.set_defaults(handler=dev_command)

    worker = subparsers.add_parser("worker", help="run a worker against an existing Temporal")
    add_functions(worker)
    add_temporal(worker)
    worker.add_argument("--no-schedules", action="store_true", help="do not sync cron schedules")
    worker.add_argument(
        "--deploy-stamp",
        type=int,
        metavar="N",
        help=f"this deploy's number, growing with every deploy (default: {DEPLOY_STAMP_ENV}, else "
        "the newest mtime of the functions' files); a worker with a lower stamp than the "
        "app's schedules leaves them alone",
    )
    worker.add_argument(
        "--max-concurrent-steps",
        type=int,
        default=WorkerSettings.max_concurrent_steps,
        help=f"step activities run at once (default {WorkerSettings.max_concurrent_steps})",
    )
    worker.add_argument(
        "--max-concurrent-workflow-tasks",
        type=_at_least_two,
        default=WorkerSettings.max_concurrent_workflow_tasks,
        help=f"orchestrator tasks at once (default {WorkerSettings.max_concurrent_workflow_tasks})",
    )
    worker.add_argument(
        "--max-cached-runs",
        type=_at_least_two,
        default=WorkerSettings.max_cached_runs,
        help="runs kept in memory between their tasks; the least recently used replay their "
        f"history on their next task (default {WorkerSettings.max_cached_runs}; at least 2)",
    )
    worker.add_argument(
        "--graceful-shutdown",
        type=float,
        default=WorkerSettings.graceful_shutdown.total_seconds(),
        help="seconds running steps get to finish on SIGTERM before they are handed back (default 10)",
    )
    add_plugins(worker, metrics=True)
    worker.set_defaults(handler=worker_command)


async def dev_command(args: argparse.Namespace) -> int:
    """``adapter dev``: the Temporal dev server, schedules, Event API and worker until Ctrl-C."""
    functions, apps = load(args.functions)
    options = temporal_options(args)  # a plugin that does not load stops here
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
        client = await connect(server.address, options=options, environ_plugins=False)
        await prepare_namespace(client, apps)
        stamp = dev_stamp()  # in dev the newest start (or reload) is the deploy that counts
        for app in apps:
            app.set_temporal_client(client)
            _print_sync(await sync_schedules(client, app, version=code_version(app, stamp)))
            await _register(client, app, code_version(app, stamp))
        # The worker reloads the folder when it changes (adapter/_dev).
        workers = DevWorkers(client, FolderLoad.of(args.functions, functions), stamp=stamp)
        # Inngest's Event API beside the worker (any key, as Inngest's dev server), and
        # the dev console on the same port (open: dev mode).
        # With no app in the folder yet, a plain sender serves the Event API (routing is
        # in Temporal): events sent now reach functions the reload brings later.
        senders = apps or [Inngest(app_id=CLI_SENDER_APP_ID)]
        for sender in senders:
            sender.set_temporal_client(client)
        console = Console(
            client=fixed_client(client),
            functions_dir=Path(args.functions),
            dev=True,
            temporal_ui=server.ui_url,
            sender=senders[0],
            reload_status=lambda: [
                LoadProblem(p.file, p.message, p.details) for p in workers.problems()
            ],
        )
        web = create_app(senders, EventApiSettings(dev=True))
        mount_console(web, console)
        events = EventServer(web, port=args.events_port)
        await events.start()
        try:
            print(
                f"\nInngest Event API: {events.url}   (Inngest SDKs: INNGEST_DEV=1 "
                f"INNGEST_BASE_URL={events.url})"
            )
            print(f"Dev console: {events.url}/   (functions, chat, code, sandbox, runs, events)")
            _print_banner(server, functions)
            await workers.run(stop_on_signals())
        finally:
            await events.stop()
        print("\nStopped the worker.")
    finally:
        server.stop()
        print("Stopped the Temporal dev server. Runs are kept in", server.db_file)
    return 0


def _at_least_two(value: str) -> int:
    """An argparse type: a whole number ≥ 2 (a worker's run cache, its workflow task slots)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 2:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 2, got {value!r}")
    return number


async def worker_command(args: argparse.Namespace) -> int:
    """``adapter worker``: sync schedules and run a worker on the given Temporal until SIGTERM."""
    functions, apps = load(args.functions)
    versions = [code_version(app, args.deploy_stamp) for app in apps]  # a bad stamp stops here
    options = temporal_options(args)
    client = await connect(args.address, args.namespace, options, environ_plugins=False)
    await prepare_namespace(client, apps)
    if not args.no_schedules:
        for app, version in zip(apps, versions, strict=True):
            _print_sync(await sync_schedules(client, app, version=version))
    for app, version in zip(apps, versions, strict=True):
        await _register(client, app, version)
    stop = stop_on_signals()  # before saying it runs: a SIGTERM from then on stops it cleanly
    print(f"Worker for {len(functions)} function(s) on {client.service_client.config.target_host}")
    settings = WorkerSettings(
        max_concurrent_steps=args.max_concurrent_steps,
        max_concurrent_workflow_tasks=args.max_concurrent_workflow_tasks,
        max_cached_runs=args.max_cached_runs,
        graceful_shutdown=timedelta(seconds=args.graceful_shutdown),
        deploy_stamp=args.deploy_stamp,
        interceptors=options.interceptors,  # the worker-only ones are not on the client
        plugins=options.plugins,
    )
    await run_workers(client, apps, settings=settings, stop=stop)
    return 0


async def _register(client: Client, app: Inngest, version: CodeVersion | None = None) -> None:
    """Publish what the app serves before saying the worker runs (senders route by it)."""
    entry = await register_app(client, app, version)
    print(f"  app {app.app_id}: registered {len(entry['functions'])} function(s)")


def _print_sync(report: SyncReport) -> None:
    for verb in ("created", "updated", "deleted"):
        for sid in getattr(report, verb):
            print(f"  schedule {sid}: {verb}")


def _print_banner(server: DevServer, functions: list[Function]) -> None:
    print(f"\nTemporal Web UI (the Workflows tab): {server.ui_url}")
    print(f"Temporal address: {server.address}   (TEMPORAL_ADDRESS={server.address})")
    print(f"\n{len(functions)} function(s):")
    for fn in functions:
        print(f"  {fn.app_id}/{fn.id}: {trigger_text(fn)}")
    event = next((t.event for fn in functions for t in fn.config.event_triggers), "user/created")
    print("\nSend an event from another terminal:")
    print(
        f"  TEMPORAL_ADDRESS={server.address} .venv/bin/adapter send {event} "
        '--data \'{"email": "jane@example.com", "name": "Jane"}\''
    )
    print(
        "\nWorker running; it reloads the functions folder when a file changes. "
        "Press Ctrl-C to stop."
    )
