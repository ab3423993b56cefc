"""Observability commands: runs, run, schedules, replay, setup.

Everything is read from Temporal (visibility, history, describe, schedules); the
adapter keeps no database of its own. Every command takes ``--address`` /
``--namespace`` (default: the ``TEMPORAL_*`` settings) and ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.cron import parse_cron
from adapter._define.ulid import new_ulid
from adapter._errors import AdapterError
from adapter._observe.history import STATUS_QUERY_VALUES, iso, list_runs, load_run, start_info
from adapter._observe.render import render_run, render_runs, render_schedules, to_json, use_color
from adapter._temporal.connect import connect
from adapter._temporal.schedules import MEMO_KEY, schedule_memo
from adapter._temporal.search_attributes import (
    ALL_KEYS,
    FUNCTION_ID,
    register_search_attributes,
    run_search_attributes,
)
from adapter.cli.options import Subparsers, register_handlers

Handler = Callable[[argparse.Namespace], Awaitable[int]]

DEFAULT_UI_URL = "http://127.0.0.1:8233"
DEFAULT_LIMIT = 20


# --- shared helpers ------------------------------------------------------------------


def ui_base(option: str | None = None) -> str:
    """The Temporal Web UI address: ``--ui``, else ``TEMPORAL_UI_URL``, else the dev default."""
    base = (option or os.environ.get("TEMPORAL_UI_URL") or DEFAULT_UI_URL).strip().rstrip("/")
    return base if "://" in base else f"http://{base}"


def run_url(base: str, namespace: str, workflow_id: str) -> str:
    """The run's page in the Temporal Web UI."""
    return (
        f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe=':@')}"
    )


class ObserveError(AdapterError):
    """A user-facing error of an observability command (printed as one line)."""


def _one_line(error: BaseException) -> str:
    if isinstance(error, RPCError):
        text = error.message or str(error)
        return f"{error.status.name}: {text.splitlines()[0] if text else ''}"
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def _friendly(command: str) -> Callable[[Handler], Handler]:
    """Turn expected failures into ``adapter <command>: <reason>`` on stderr and exit 1."""

    def wrap(func: Handler) -> Handler:
        @functools.wraps(func)
        async def run(args: argparse.Namespace) -> int:
            try:
                return await func(args)
            except (ObserveError, RPCError, ValueError, LookupError, ConnectionError) as exc:
                print(f"adapter {command}: {_one_line(exc)}", file=sys.stderr)
                return 1

        return run

    return wrap


async def _client(args: argparse.Namespace) -> Client:
    return await connect(getattr(args, "address", None), getattr(args, "namespace", None))


def _print(text: str) -> None:
    print(text, flush=True)


def _color() -> bool:
    return use_color(sys.stdout)


# --- runs / run --------------------------------------------------------------------------


@_friendly("runs")
async def runs_command(args: argparse.Namespace) -> int:
    """``adapter runs``: recent runs (``runs show RUN_ID``: one run's timeline)."""
    if getattr(args, "runs_action", None) == "show":
        return await run_command(args)
    if args.limit < 1:
        raise ObserveError("--limit must be at least 1")
    client = await _client(args)
    runs = await list_runs(
        client, function=args.function, status=args.status, app=args.app, limit=args.limit
    )
    now = datetime.now(UTC)
    if args.json:
        base = ui_base(args.ui)
        rows = []
        for r in runs:
            row = r.to_json(now)
            row["ui_url"] = run_url(base, client.namespace, r.workflow_id)
            rows.append(row)
        _print(to_json(rows))
    else:
        _print(render_runs(runs, color=_color(), now=now))
    return 0


@contextlib.contextmanager
def _unknown_run(client: Client, run_id: str) -> Iterator[None]:
    """Turn Temporal's NOT_FOUND for a run into a one-line error naming it."""
    try:
        yield
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ObserveError(
                f"no run with workflow id {run_id!r} in namespace {client.namespace!r}"
            ) from None
        raise


@_friendly("run")
async def run_command(args: argparse.Namespace) -> int:
    """``adapter run RUN_ID``: the run's event, step timeline, what it waits on, its outcome."""
    client = await _client(args)
    with _unknown_run(client, args.run_id):
        view = await load_run(client, args.run_id)
    url = run_url(ui_base(args.ui), client.namespace, view.workflow_id)
    if args.json:
        _print(to_json(view.to_json(url)))
    else:
        _print(render_run(view, ui_url=url, color=_color()))
    return 0


# --- schedules ---------------------------------------------------------------------------


async def adapter_schedules(client: Client, app: str | None = None) -> list[dict[str, str]]:
    """The adapter's schedules (``id``, ``app_id``, ``function_id``), from their memo."""
    out: list[dict[str, str]] = []
    async for listed in await client.list_schedules():
        memo = await listed.memo()
        record = memo.get(MEMO_KEY)
        if not isinstance(record, dict) or "function_id" not in record:
            continue
        app_id = str(record.get("app_id", listed.id.split(":", 1)[0]))
        if app is not None and app_id != app:
            continue
        out.append({"id": listed.id, "app_id": app_id, "function_id": str(record["function_id"])})
    out.sort(key=lambda s: s["id"])
    return out


async def resolve_schedule(client: Client, ident: str, app: str | None = None) -> str:
    """A schedule id from ``<app>:<fn>`` or a function id that names one schedule."""
    try:
        await client.get_schedule_handle(ident).describe()
        return ident
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    found = [s["id"] for s in await adapter_schedules(client, app) if s["function_id"] == ident]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ObserveError(
            f"no schedule {ident!r}: give a schedule id (`adapter schedules` lists them) "
            "or the id of a cron function"
        )
    raise ObserveError(
        f"{ident!r} matches several schedules ({', '.join(found)}); give the schedule id"
    )


async def schedule_info(client: Client, schedule_id: str) -> dict[str, Any]:
    """One schedule as ``adapter schedules`` shows it: cron, meaning, next runs, state."""
    desc = await client.get_schedule_handle(schedule_id).describe()
    record = schedule_memo(client, desc.schedule)
    cron = record.get("cron")
    zone_name = record.get("timezone") or desc.schedule.spec.time_zone_name or "UTC"
    description = None
    if cron:
        try:
            description = parse_cron(cron, zone_name).describe()
        except ValueError:
            description = None
    try:
        zone: Any = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    upcoming = list(desc.info.next_action_times)[:3]
    action = desc.schedule.action
    function_id = getattr(action, "workflow", None)
    recent = [
        {
            "scheduled_at": iso(a.scheduled_at),
            "started_at": iso(a.started_at),
            "workflow_id": a.action.workflow_id
            if isinstance(a.action, ScheduleActionExecutionStartWorkflow)
            else None,
        }
        for a in desc.info.recent_actions
    ]
    overlap = desc.schedule.policy.overlap
    return {
        "id": schedule_id,
        "app_id": schedule_id.split(":", 1)[0],
        "function_id": function_id if isinstance(function_id, str) else None,
        "cron": cron,
        "timezone": zone_name,
        "description": description,
        "paused": desc.schedule.state.paused,
        "note": desc.schedule.state.note or None,
        "next_utc": [iso(t) for t in upcoming],
        "next_local": [t.astimezone(zone).isoformat() for t in upcoming],
        "num_actions": desc.info.num_actions,
        "recent_actions": recent,
        "running": [
            r.workflow_id
            for r in desc.info.running_actions
            if isinstance(r, ScheduleActionExecutionStartWorkflow)
        ],
        "overlap": overlap.name if overlap is not None else None,
    }


def _parse_time(text: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ObserveError(
            f"{option} {text!r} is not an ISO 8601 time, e.g. 2026-01-31T09:00:00Z"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@_friendly("schedules")
async def schedules_command(args: argparse.Namespace) -> int:
    """``adapter schedules``: list cron schedules, or pause/unpause/trigger/backfill one."""
    client = await _client(args)
    action = getattr(args, "schedule_action", None)
    if action is None:
        infos = [
            await schedule_info(client, s["id"]) for s in await adapter_schedules(client, args.app)
        ]
        _print(to_json(infos) if args.json else render_schedules(infos, color=_color()))
        return 0
    sid = await resolve_schedule(client, args.schedule_id, args.app)
    handle = client.get_schedule_handle(sid)
    report: dict[str, Any] = {"schedule_id": sid, "action": action}
    if action == "pause":
        note = args.note or "paused with `adapter schedules pause`"
        await handle.pause(note=note)
        message = f"paused {sid}"
    elif action == "unpause":
        await handle.unpause(note=args.note or "unpaused with `adapter schedules unpause`")
        message = f"unpaused {sid}"
    elif action == "trigger":
        await handle.trigger()
        message = f"triggered {sid}: a run starts now (see `adapter runs --function ...`)"
    elif action == "backfill":
        start = _parse_time(args.start, "--from")
        end = _parse_time(args.end, "--to")
        if end <= start:
            raise ObserveError("--to must be later than --from")
        await handle.backfill(
            ScheduleBackfill(start_at=start, end_at=end, overlap=ScheduleOverlapPolicy.ALLOW_ALL)
        )
        report.update({"from": iso(start), "to": iso(end)})
        message = (
            f"backfilling {sid} from {iso(start)} to {iso(end)}: "
            "one run per cron time in the window"
        )
    else:  # pragma: no cover - argparse only offers the actions above
        raise ObserveError(f"unknown action {action!r}")
    info = await schedule_info(client, sid)
    report.update(
        {"paused": info["paused"], "note": info["note"], "num_actions": info["num_actions"]}
    )
    _print(to_json(report) if args.json else message)
    return 0


# --- replay ----------------------------------------------------------------------------


async def replay_run(client: Client, workflow_id: str) -> dict[str, Any]:
    """Start a new run of the same function with the original run's input.

    The new workflow id is ``<original>:replay-<ULID>``, on the original's task queue,
    with memo ``replay_of`` / ``replay_of_run``. A cron run's event (which the
    orchestrator builds from the tick's time) is put into the input, so the replay
    sees the same event as the original.
    """
    original = await start_info(client, workflow_id)
    inp = {**original.input, "events": original.events}
    new_id = f"{workflow_id}:replay-{new_ulid()}"
    tagged = original.search_attributes.get(FUNCTION_ID) is not None
    event = original.events[0] if original.events else None
    name = event.get("name") if isinstance(event, dict) else None
    handle = await client.start_workflow(
        original.function,
        inp,
        id=new_id,
        task_queue=original.task_queue,
        memo={"replay_of": workflow_id, "replay_of_run": original.run_id},
        static_summary=f"{original.function} ← {name or 'event'} (replay of {workflow_id})",
        search_attributes=run_search_attributes(str(inp["app_id"]), original.function, event)
        if tagged
        else None,
    )
    return {
        "workflow_id": new_id,
        "run_id": handle.first_execution_run_id or handle.result_run_id,
        "function": original.function,
        "replay_of": workflow_id,
        "replay_of_run": original.run_id,
        "task_queue": original.task_queue,
    }


@_friendly("replay")
async def replay_command(args: argparse.Namespace) -> int:
    """``adapter replay RUN_ID``: run the function again with the same event(s)."""
    client = await _client(args)
    with _unknown_run(client, args.run_id):
        started = await replay_run(client, args.run_id)
    started["ui_url"] = run_url(ui_base(args.ui), client.namespace, started["workflow_id"])
    if args.json:
        _print(to_json(started))
    else:
        _print(started["workflow_id"])
        print(f"replay of {args.run_id}: {started['ui_url']}", file=sys.stderr)
    return 0


# --- setup -------------------------------------------------------------------------------


async def setup_command(args: argparse.Namespace) -> int:
    """``adapter setup``: register the Inngest* search attributes on the namespace."""
    try:
        client = await _client(args)
        added = await register_search_attributes(client)
    except ConnectionError as exc:
        print(f"adapter setup: {_one_line(exc)}", file=sys.stderr)
        return 1
    except RPCError as exc:
        namespace = getattr(args, "namespace", None) or os.environ.get("TEMPORAL_NAMESPACE")
        where = f"namespace {namespace!r}" if namespace else "the namespace"
        hint = (
            "; ask a namespace admin to run `adapter setup`, or on Temporal Cloud add them "
            "(Keyword) in the Cloud UI or with tcld"
            if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED)
            else ""
        )
        names = ", ".join(k.name for k in ALL_KEYS)
        print(
            f"adapter setup: cannot register search attributes {names} on {where} "
            f"({_one_line(exc)}){hint}",
            file=sys.stderr,
        )
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
    """The shared options again on a sub-subcommand, without defaults that would
    overwrite values given before the sub-subcommand."""
    p.add_argument("--address", default=argparse.SUPPRESS, help="Temporal host:port")
    p.add_argument("--namespace", default=argparse.SUPPRESS, help="Temporal namespace")
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    if ui:
        p.add_argument("--ui", default=argparse.SUPPRESS, help="Temporal Web UI address")


def _ui_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ui",
        default=None,
        help=f"Temporal Web UI address for links (default: TEMPORAL_UI_URL or {DEFAULT_UI_URL})",
    )


def _json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def add_commands(
    sub: Any, add_functions: Callable[..., None], add_temporal: Callable[..., None]
) -> None:
    """Add this module's subcommands to the ``adapter`` parser."""
    del add_functions  # these commands read Temporal only; no functions are imported
    runs = sub.add_parser(
        "runs", help="recent runs, newest first (`runs show RUN_ID`: one run's timeline)"
    )
    runs.add_argument("--function", help="only runs of this function id")
    runs.add_argument(
        "--status", choices=sorted(STATUS_QUERY_VALUES), help="only runs in this state"
    )
    runs.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"at most N runs (default {DEFAULT_LIMIT})"
    )
    runs.add_argument("--app", help="only runs of this app id")
    add_temporal(runs)
    _json_option(runs)
    _ui_option(runs)
    runs_sub = runs.add_subparsers(dest="runs_action", metavar="{show}")
    show = runs_sub.add_parser("show", help="one run's event, steps and outcome (= adapter run)")
    show.add_argument("run_id", metavar="RUN_ID", help="the run's workflow id")
    _nested_options(show, ui=True)

    run = sub.add_parser("run", help="one run: its event, step timeline, what it waits on, outcome")
    run.add_argument("run_id", metavar="RUN_ID", help="the run's workflow id (ctx.run_id)")
    add_temporal(run)
    _json_option(run)
    _ui_option(run)

    schedules = sub.add_parser(
        "schedules", help="cron schedules with next run times; pause, unpause, trigger, backfill"
    )
    schedules.add_argument("--app", help="only this app's schedules")
    add_temporal(schedules)
    _json_option(schedules)
    actions = schedules.add_subparsers(
        dest="schedule_action", metavar="{pause,unpause,trigger,backfill}"
    )
    ident_help = "schedule id (<app>:<function>) or a cron function's id"
    pause = actions.add_parser("pause", help="pause a schedule")
    pause.add_argument("schedule_id", metavar="ID", help=ident_help)
    pause.add_argument("--note", help="why (shown in the Temporal UI)")
    unpause = actions.add_parser("unpause", help="resume a paused schedule")
    unpause.add_argument("schedule_id", metavar="ID", help=ident_help)
    unpause.add_argument("--note", help="why (shown in the Temporal UI)")
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

    replay = sub.add_parser("replay", help="run a function again with a past run's event(s)")
    replay.add_argument("run_id", metavar="RUN_ID", help="workflow id of the run to replay")
    add_temporal(replay)
    _json_option(replay)
    _ui_option(replay)

    setup = sub.add_parser("setup", help="register the Inngest* search attributes on the namespace")
    add_temporal(setup)
    _json_option(setup)


HANDLERS: dict[str, Handler] = {
    "runs": runs_command,
    "run": run_command,
    "schedules": schedules_command,
    "replay": replay_command,
    "setup": setup_command,
}


def register(subparsers: Subparsers) -> None:
    """Add this module's commands to the ``adapter`` parser, dispatching to ``HANDLERS``."""
    register_handlers(subparsers, add_commands, HANDLERS)
