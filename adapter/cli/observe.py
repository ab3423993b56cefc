"""Observability commands: runs (and runs cancel), run, schedules, replay, setup.

Everything is read from Temporal (visibility, history, describe, schedules); the
adapter keeps no database of its own. Every command takes ``--address`` /
``--namespace`` (default: the ``TEMPORAL_*`` settings) and ``--json``. The
handlers here parse and print; what they ask Temporal lives in ``adapter._observe``.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapter._observe import schedules as sched
from adapter._observe.decode import iso
from adapter._observe.errors import ObserveError, one_line, unknown_run
from adapter._observe.links import DEFAULT_UI_URL, run_url, ui_base
from adapter._observe.listing import STATUS_QUERY_VALUES, list_runs
from adapter._observe.queued import cancel_target, list_queued, silent_note
from adapter._observe.render import (
    console_for,
    is_tty,
    progress_bar,
    render_queued,
    render_run,
    render_runs,
    render_schedules,
    to_json,
)
from adapter._observe.replay import replay_run
from adapter._observe.timeline import load_run
from adapter._temporal.connect import connect
from adapter._temporal.search_attributes import ALL_KEYS, register_search_attributes
from adapter.cli.options import Subparsers, register_handlers

__all__ = ["HANDLERS", "ObserveError", "add_commands", "register", "run_url", "ui_base"]

Handler = Callable[[argparse.Namespace], Awaitable[int]]
T = TypeVar("T")

DEFAULT_LIMIT = 20
QUEUED = "queued"  # runs --status queued: not a Temporal status (see adapter/_observe/queued.py)
LONG_BACKFILL = 20  # runs: a backfill at least this long shows a progress bar (on a TTY)


# --- shared helpers ------------------------------------------------------------------


def _friendly(command: str) -> Callable[[Handler], Handler]:
    """Turn expected failures into ``adapter <command>: <reason>`` on stderr and exit 1."""

    def wrap(func: Handler) -> Handler:
        @functools.wraps(func)
        async def run(args: argparse.Namespace) -> int:
            try:
                return await func(args)
            except (ObserveError, RPCError, ValueError, LookupError, ConnectionError) as exc:
                print(f"adapter {command}: {one_line(exc)}", file=sys.stderr)
                return 1

        return run

    return wrap


async def _client(args: argparse.Namespace) -> Client:
    return await connect(getattr(args, "address", None), getattr(args, "namespace", None))


def _print(text: str) -> None:
    print(text, flush=True)


async def _about_run(
    args: argparse.Namespace, fetch: Callable[[Client, str], Awaitable[T]]
) -> tuple[Client, T]:
    """``fetch(client, RUN_ID)``, a run Temporal does not know being a one-line error."""
    client = await _client(args)
    with unknown_run(client.namespace, args.run_id):
        return client, await fetch(client, args.run_id)


def _link(args: argparse.Namespace, client: Client, workflow_id: str) -> str:
    """The run's page in the Temporal Web UI (``--ui``)."""
    return run_url(ui_base(args.ui), client.namespace, workflow_id)


# --- runs / run --------------------------------------------------------------------------


@_friendly("runs")
async def runs_command(args: argparse.Namespace) -> int:
    """``adapter runs``: recent runs (``runs show RUN_ID``: one run's timeline)."""
    if getattr(args, "runs_action", None) == "show":
        return await run_command(args)
    if getattr(args, "runs_action", None) == "cancel":
        return await cancel_command(args)
    if args.limit < 1:
        raise ObserveError("--limit must be at least 1")
    client = await _client(args)
    if args.status == QUEUED:
        return await _queued(args, client)
    runs = await list_runs(
        client, function=args.function, status=args.status, app=args.app, limit=args.limit
    )
    now = datetime.now(UTC)
    if args.json:
        base = ui_base(args.ui)
        rows = [
            {**r.to_json(now), "ui_url": run_url(base, client.namespace, r.workflow_id)}
            for r in runs
        ]
        _print(to_json(rows))
    else:
        render_runs(console_for(sys.stdout), runs, now=now)
    return 0


async def _queued(args: argparse.Namespace, client: Client) -> int:
    """``adapter runs --status queued``: events in gates, runs waiting for a first slot."""
    silent: list[str] = []
    queued = await list_queued(
        client, app=args.app, function=args.function, limit=args.limit, silent=silent
    )
    if silent:
        print(f"adapter runs: note: {silent_note(silent)}", file=sys.stderr)
    now = datetime.now(UTC)
    if args.json:
        _print(to_json([q.to_json(now) for q in queued]))
    else:
        render_queued(console_for(sys.stdout), queued, now=now)
    return 0


@_friendly("runs cancel")
async def cancel_command(args: argparse.Namespace) -> int:
    """``adapter runs cancel ID``: cancel one run, queued (in a gate) or running."""
    client = await _client(args)
    done = await cancel_target(client, args.target, event=args.event, reason=args.reason or "")
    if args.json:
        _print(to_json(done))
        return 0
    for item in done:
        if item["cancelled"] == "running":
            _print(f"cancelled run {item['workflow_id']} (running: it stops at its next step)")
        else:
            _print(
                f"cancelled queued event {item['event_id']} of {item['function']} "
                f"(it would have run as {item['workflow_id']}; gate {item['gate']})"
            )
    return 0


@_friendly("run")
async def run_command(args: argparse.Namespace) -> int:
    """``adapter run RUN_ID``: the run's event, step timeline, what it waits on, its outcome."""
    client, view = await _about_run(args, load_run)
    url = _link(args, client, view.workflow_id)
    if args.json:
        _print(to_json(view.to_json(url)))
    else:
        render_run(console_for(sys.stdout), view, ui_url=url)
    return 0


# --- schedules ---------------------------------------------------------------------------


async def _backfill(
    client: Client, sid: str, args: argparse.Namespace
) -> tuple[dict[str, Any], str]:
    """Start a backfill; on a terminal, show its progress on stderr when it is long."""
    start = sched.window_time(args.start, "--from")
    end = sched.window_time(args.end, "--to")
    job = await sched.backfill(client, sid, start, end)
    total = sched.expected_runs(job) if is_tty(sys.stderr) else 0
    if total is None or total >= LONG_BACKFILL:
        handle = client.get_schedule_handle(sid)
        with progress_bar(console_for(sys.stderr), f"backfilling {sid}", total) as update:
            async for started in sched.backfill_progress(handle, job, total):
                update(started)
    message = (
        f"backfilling {sid} from {iso(start)} to {iso(end)}: one run per cron time in the window"
    )
    return {"from": iso(start), "to": iso(end)}, message


async def _schedule_action(
    client: Client, action: str, sid: str, args: argparse.Namespace
) -> tuple[dict[str, Any], str]:
    """Perform a ``schedules`` action on one schedule: (report fields, message)."""
    handle = client.get_schedule_handle(sid)
    if action == "pause":
        await sched.pause(handle, args.note)
        return {}, f"paused {sid}"
    if action == "unpause":
        await sched.unpause(handle, args.note)
        return {}, f"unpaused {sid}"
    if action == "trigger":
        await handle.trigger()
        return {}, f"triggered {sid}: a run starts now (see `adapter runs --function ...`)"
    if action == "backfill":
        return await _backfill(client, sid, args)
    raise ObserveError(f"unknown action {action!r}")  # pragma: no cover - argparse offers these


@_friendly("schedules")
async def schedules_command(args: argparse.Namespace) -> int:
    """``adapter schedules``: list cron schedules, or pause/unpause/trigger/backfill one."""
    client = await _client(args)
    action = getattr(args, "schedule_action", None)
    if action is None:
        infos = await sched.list_schedule_infos(client, args.app)
        if args.json:
            _print(to_json(infos))
        else:
            render_schedules(console_for(sys.stdout), infos)
        return 0
    sid = await sched.resolve_schedule(client, args.schedule_id, args.app)
    fields, message = await _schedule_action(client, action, sid, args)
    report: dict[str, Any] = {"schedule_id": sid, "action": action, **fields}
    report.update(await sched.schedule_state(client, sid))
    _print(to_json(report) if args.json else message)
    return 0


# --- replay ----------------------------------------------------------------------------


@_friendly("replay")
async def replay_command(args: argparse.Namespace) -> int:
    """``adapter replay RUN_ID``: run the function again with the same event(s)."""
    client, started = await _about_run(args, replay_run)
    started["ui_url"] = _link(args, client, started["workflow_id"])
    if args.json:
        _print(to_json(started))
    else:
        _print(started["workflow_id"])
        print(f"replay of {args.run_id}: {started['ui_url']}", file=sys.stderr)
    return 0


# --- setup -------------------------------------------------------------------------------


def _setup_refused(args: argparse.Namespace, exc: RPCError) -> str:
    """Why ``adapter setup`` could not register the search attributes, and what to do."""
    namespace = getattr(args, "namespace", None) or os.environ.get("TEMPORAL_NAMESPACE")
    where = f"namespace {namespace!r}" if namespace else "the namespace"
    hint = (
        "; ask a namespace admin to run `adapter setup`, or on Temporal Cloud add them "
        "(Keyword) in the Cloud UI or with tcld"
        if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED)
        else ""
    )
    names = ", ".join(k.name for k in ALL_KEYS)
    return (
        f"adapter setup: cannot register search attributes {names} on {where} "
        f"({one_line(exc)}){hint}"
    )


async def setup_command(args: argparse.Namespace) -> int:
    """``adapter setup``: register the Inngest* search attributes on the namespace."""
    try:
        client = await _client(args)
        added = await register_search_attributes(client)
    except ConnectionError as exc:
        print(f"adapter setup: {one_line(exc)}", file=sys.stderr)
        return 1
    except RPCError as exc:
        print(_setup_refused(args, exc), file=sys.stderr)
        return 1
    present = [k.name for k in ALL_KEYS if k.name not in added]
    if args.json:
        _print(to_json({"namespace": client.namespace, "added": added, "present": present}))
    else:
        if added:
            _print(f"added search attributes to {client.namespace}: {', '.join(added)}")
        if present:
            _print(f"already present in {client.namespace}: {', '.join(present)}")
    return 0


# --- the parser ----------------------------------------------------------------------------


def _nested_options(p: argparse.ArgumentParser, *, ui: bool = False) -> None:
    """The shared options again on a sub-subcommand.

    Without defaults: they would overwrite values given before the sub-subcommand.
    """
    p.add_argument("--address", default=argparse.SUPPRESS, help="Temporal host:port")
    p.add_argument("--namespace", default=argparse.SUPPRESS, help="Temporal namespace")
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    if ui:
        p.add_argument("--ui", default=argparse.SUPPRESS, help="Temporal Web UI address")


def _top_options(
    p: argparse.ArgumentParser, add_temporal: Callable[..., None], *, ui: bool
) -> None:
    """``--address``/``--namespace``, ``--json`` and (with ``ui``) ``--ui`` on a command."""
    add_temporal(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if ui:
        p.add_argument(
            "--ui",
            default=None,
            help=f"Temporal Web UI address for links (default: TEMPORAL_UI_URL or {DEFAULT_UI_URL})",
        )


def _add_runs(sub: Any, add_temporal: Callable[..., None]) -> None:
    runs = sub.add_parser(
        "runs", help="recent runs, newest first (`runs show RUN_ID`: one run's timeline)"
    )
    runs.add_argument("--function", help="only runs of this function id")
    runs.add_argument(
        "--status",
        choices=sorted([*STATUS_QUERY_VALUES, QUEUED]),
        help="only runs in this state (queued: events held by a gate, runs waiting for "
        "their first concurrency slot)",
    )
    runs.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"at most N runs (default {DEFAULT_LIMIT})"
    )
    runs.add_argument("--app", help="only runs of this app id")
    _top_options(runs, add_temporal, ui=True)
    runs_sub = runs.add_subparsers(dest="runs_action", metavar="{show,cancel}")
    show = runs_sub.add_parser("show", help="one run's event, steps and outcome (= adapter run)")
    show.add_argument("run_id", metavar="RUN_ID", help="the run's workflow id")
    _nested_options(show, ui=True)
    cancel = runs_sub.add_parser(
        "cancel", help="cancel one run: queued in a gate (it never starts) or running"
    )
    cancel.add_argument(
        "target",
        metavar="ID",
        help="the run's workflow id (for a queued event: the id `runs --status queued` shows)",
    )
    cancel.add_argument(
        "--event", action="store_true", help="ID is an event id: drop it from the gate holding it"
    )
    cancel.add_argument("--reason", help="why (recorded in the gate's history)")
    _nested_options(cancel)

    run = sub.add_parser("run", help="one run: its event, step timeline, what it waits on, outcome")
    run.add_argument("run_id", metavar="RUN_ID", help="the run's workflow id (ctx.run_id)")
    _top_options(run, add_temporal, ui=True)


def _add_schedules(sub: Any, add_temporal: Callable[..., None]) -> None:
    schedules = sub.add_parser(
        "schedules", help="cron schedules with next run times; pause, unpause, trigger, backfill"
    )
    schedules.add_argument("--app", help="only this app's schedules")
    _top_options(schedules, add_temporal, ui=False)
    actions = schedules.add_subparsers(
        dest="schedule_action", metavar="{pause,unpause,trigger,backfill}"
    )
    ident_help = "schedule id (<app>:<function>) or a cron function's id"
    pause = actions.add_parser("pause", help="pause a schedule")
    unpause = actions.add_parser("unpause", help="resume a paused schedule")
    for p in (pause, unpause):
        p.add_argument("schedule_id", metavar="ID", help=ident_help)
        p.add_argument("--note", help="why (shown in the Temporal UI)")
    trigger = actions.add_parser("trigger", help="start a run now")
    trigger.add_argument("schedule_id", metavar="ID", help=ident_help)
    backfill = actions.add_parser("backfill", help="start the runs a past window would have had")
    backfill.add_argument("schedule_id", metavar="ID", help=ident_help)
    backfill.add_argument(
        "--from",
        dest="start",
        metavar="ISO",
        required=True,
        help="ISO time, e.g. 2026-01-01T00:00:00Z",
    )
    backfill.add_argument(
        "--to", dest="end", metavar="ISO", required=True, help="ISO time (inclusive)"
    )
    for p in (pause, unpause, trigger, backfill):
        _nested_options(p)
        p.add_argument("--app", default=argparse.SUPPRESS, help="app of the function id")


def add_commands(
    sub: Any, add_functions: Callable[..., None], add_temporal: Callable[..., None]
) -> None:
    """Add this module's subcommands to the ``adapter`` parser."""
    del add_functions  # these commands read Temporal only; no functions are imported
    _add_runs(sub, add_temporal)
    _add_schedules(sub, add_temporal)
    replay = sub.add_parser("replay", help="run a function again with a past run's event(s)")
    replay.add_argument("run_id", metavar="RUN_ID", help="workflow id of the run to replay")
    _top_options(replay, add_temporal, ui=True)
    setup = sub.add_parser("setup", help="register the Inngest* search attributes on the namespace")
    _top_options(setup, add_temporal, ui=False)


HANDLERS: dict[str, Handler] = {
    "runs": runs_command,
    "run": run_command,
    "schedules": schedules_command,
    "replay": replay_command,
    "setup": setup_command,
}


def register(subparsers: Subparsers) -> None:
    """Add the observability commands to the ``adapter`` parser, each with its handler."""
    register_handlers(subparsers, add_commands, HANDLERS)
