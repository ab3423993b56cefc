"""The operator's commands: ``wake``, ``rerun``, ``cancel`` (and ``pause`` / ``resume``).

Each acts through Temporal (see :mod:`adapter._operate`), takes ``--address`` /
``--namespace`` and ``--json``, and exits 1 with one line when the run or step is
not what the command needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from temporalio.service import RPCError

from adapter._observe.errors import ObserveError, one_line, unknown_run
from adapter._operate.bulk_cancel import Selection, cancel_runs, parse_when
from adapter._operate.pause import list_paused, pause, resolve_function, resume
from adapter._operate.rerun import rerun_from
from adapter._operate.wake import wake
from adapter._temporal.connect import connect
from adapter.cli.options import Subparsers, add_temporal

SHOWN = 10  # run ids a dry run prints


def register(subparsers: Subparsers) -> None:
    """Add ``wake``, ``rerun``, ``cancel``, ``pause``, ``resume``, ``paused`` to the parser."""
    woken = subparsers.add_parser("wake", help="end a run's step.sleep now")
    woken.add_argument("run_id", metavar="RUN_ID", help="the run's workflow id")
    woken.add_argument("--step", help="the sleeping step (default: the one sleeping now)")
    rerun = subparsers.add_parser(
        "rerun", help="run a run again from one of its steps (earlier steps keep their results)"
    )
    rerun.add_argument("run_id", metavar="RUN_ID", help="the run's workflow id")
    rerun.add_argument("--from", dest="step", required=True, help="the step id to run again from")
    rerun.add_argument("--reason", default="adapter rerun", help="why (shown in the Temporal UI)")
    cancel = subparsers.add_parser(
        "cancel", help="cancel running runs of a function (a dry run unless --yes)"
    )
    cancel.add_argument("--function", required=True, help="the function id")
    cancel.add_argument("--app", help="only runs of this app id")
    cancel.add_argument(
        "--if",
        dest="condition",
        help="CEL over the run's event, e.g. 'event.data.user_id == \"u1\"'",
    )
    cancel.add_argument("--from", dest="since", help="runs started at or after (ISO time or 2h)")
    cancel.add_argument("--to", dest="until", help="runs started at or before (ISO time or 30m)")
    cancel.add_argument("--yes", action="store_true", help="cancel them (default: only count)")
    paused = subparsers.add_parser(
        "pause", help="hold a function's new events (kept, run on resume) and pause its crons"
    )
    resumed = subparsers.add_parser(
        "resume", help="end a pause: the held events run, oldest first, and crons resume"
    )
    for parser in (paused, resumed):
        parser.add_argument("function", metavar="FUNCTION", help="the function id")
        parser.add_argument("--app", help="its app id (needed when several apps have it)")
    paused.add_argument("--note", default="", help="why (shown in adapter paused and the UI)")
    listing = subparsers.add_parser("paused", help="the paused functions")
    commands = (
        (woken, wake_command),
        (rerun, rerun_command),
        (cancel, cancel_command),
        (paused, pause_command),
        (resumed, resume_command),
        (listing, paused_command),
    )
    for parser, handler in commands:
        add_temporal(parser)
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.set_defaults(handler=handler)


def _print(args: argparse.Namespace, text: str, data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2) if args.json else text, flush=True)


def _fail(command: str, exc: BaseException) -> int:
    print(f"adapter {command}: {one_line(exc)}", file=sys.stderr)
    return 1


async def wake_command(args: argparse.Namespace) -> int:
    """``adapter wake RUN_ID [--step S]``."""
    client = await connect(args.address, args.namespace)
    try:
        with unknown_run(client.namespace, args.run_id):
            woken = await wake(client, args.run_id, args.step)
    except (ObserveError, RPCError) as exc:
        return _fail("wake", exc)
    _print(
        args,
        f"run {woken.workflow_id}: woke step {woken.step!r}; the run goes on now",
        {"workflow_id": woken.workflow_id, "step": woken.step},
    )
    return 0


async def rerun_command(args: argparse.Namespace) -> int:
    """``adapter rerun RUN_ID --from STEP``."""
    client = await connect(args.address, args.namespace)
    try:
        with unknown_run(client.namespace, args.run_id):
            done = await rerun_from(client, args.run_id, args.step, args.reason)
    except (ObserveError, RPCError) as exc:
        return _fail("rerun", exc)
    _print(
        args,
        f"run {done.workflow_id}: running again from step {done.step!r} "
        f"(new execution {done.new_run_id}; the steps before it keep their results)",
        {
            "workflow_id": done.workflow_id,
            "step": done.step,
            "old_run_id": done.old_run_id,
            "new_run_id": done.new_run_id,
            "reset_event_id": done.reset_event_id,
        },
    )
    return 0


async def cancel_command(args: argparse.Namespace) -> int:
    """``adapter cancel --function F [--app A] [--if CEL] [--from T] [--to T] [--yes]``."""
    try:
        selection = Selection(
            function=args.function,
            app=args.app,
            condition=args.condition,
            since=None if args.since is None else parse_when(args.since, field_name="--from"),
            until=None if args.until is None else parse_when(args.until, field_name="--to"),
        )
    except ValueError as exc:
        print(f"adapter cancel: {exc}", file=sys.stderr)
        return 2
    client = await connect(args.address, args.namespace)
    try:
        report = await cancel_runs(client, selection, yes=args.yes)
    except (ValueError, RPCError) as exc:
        return _fail("cancel", exc)
    data = {
        "dry_run": report.dry_run,
        "query": report.query,
        "examined": report.examined,
        "matched": len(report.matched),
        "queued": report.queued,
        "cancelled": report.cancelled,
        "failed": report.failed,
        "seconds": round(report.seconds, 2),
        "runs": report.matched,
    }
    if report.dry_run:
        shown = "\n".join(f"  {i}" for i in report.matched[:SHOWN])
        more = len(report.matched) - SHOWN
        text = (
            f"would cancel {len(report.matched)} running run(s) of {args.function} "
            f"(of {report.examined} examined) and drop {len(report.queued)} queued event(s); "
            "run again with --yes to cancel them"
            + (f"\n{shown}" if shown else "")
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    else:
        text = (
            f"cancelled {report.cancelled} of {len(report.matched) + len(report.queued)} "
            f"run(s) of {args.function} (running and queued) in {report.seconds:.1f} s"
            + "".join(f"\n  failed: {i}: {why}" for i, why in report.failed.items())
        )
    _print(args, text, data)
    return 1 if report.failed else 0


async def pause_command(args: argparse.Namespace) -> int:
    """``adapter pause FUNCTION [--app A] [--note N]``."""
    client = await connect(args.address, args.namespace)
    try:
        app_id = await resolve_function(client, args.function, args.app)
        done = await pause(client, app_id, args.function, args.note)
    except (ObserveError, RPCError) as exc:
        return _fail("pause", exc)
    state = "paused" if done.changed else "was paused already"
    _print(
        args,
        f"{app_id}:{args.function} {state}: its new events are kept and run on resume "
        f"(senders see it within 5 s); {len(done.schedules)} schedule(s) paused",
        {
            "app_id": app_id,
            "function": args.function,
            "changed": done.changed,
            "schedules": done.schedules,
        },
    )
    return 0


async def resume_command(args: argparse.Namespace) -> int:
    """``adapter resume FUNCTION [--app A]``."""
    client = await connect(args.address, args.namespace)
    try:
        app_id = await resolve_function(client, args.function, args.app)
        done = await resume(client, app_id, args.function)
    except (ObserveError, RPCError) as exc:
        return _fail("resume", exc)
    state = "resumed" if done.changed else "was not paused"
    _print(
        args,
        f"{app_id}:{args.function} {state}: {done.released} held event(s) released, "
        f"{len(done.schedules)} schedule(s) unpaused",
        {
            "app_id": app_id,
            "function": args.function,
            "changed": done.changed,
            "released": done.released,
            "schedules": done.schedules,
        },
    )
    return 0


async def paused_command(args: argparse.Namespace) -> int:
    """``adapter paused``: every paused function."""
    client = await connect(args.address, args.namespace)
    entries = await list_paused(client)
    lines = [
        f"{p['app_id']}:{p['function_id']} since {p['since']}"
        + (f" ({p['note']})" if p.get("note") else "")
        for p in entries
    ]
    _print(args, "\n".join(lines) or "no function is paused", {"paused": entries})
    return 0
