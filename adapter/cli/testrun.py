"""``adapter test-run``: the sandbox from the command line (or ``--live`` on Temporal)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapter._define.client import Inngest
from adapter._define.discovery import discover
from adapter._define.function import Function
from adapter._protocol import run_id
from adapter._temporal.connect import connect
from adapter.cli.options import Subparsers, add_functions, add_temporal
from adapter.testing import RunResult, Timeout, run


def register(subparsers: Subparsers) -> None:
    """Add ``test-run`` to the ``adapter`` parser."""
    cmd = subparsers.add_parser(
        "test-run", help="run one function in the sandbox (or --live on Temporal)"
    )
    cmd.add_argument("function_id", help="the function's id")
    cmd.add_argument("--data", default="{}", help="event data as a JSON object")
    cmd.add_argument("--event", help="event name (default: the function's first event trigger)")
    cmd.add_argument(
        "--stub",
        action="append",
        default=[],
        metavar="STEP=JSON",
        help="stub a step's result (repeatable); STEP=timeout makes a wait_for_event time out",
    )
    cmd.add_argument(
        "--live", action="store_true", help="run on the configured Temporal and follow it"
    )
    cmd.add_argument("--json", action="store_true", help="machine-readable output")
    add_functions(cmd)
    add_temporal(cmd)
    cmd.set_defaults(handler=testrun_command)


def _find(path: str, function_id: str) -> Function:
    functions = discover(path)
    for fn in functions:
        if fn.id == function_id:
            return fn
    known = ", ".join(sorted(fn.id for fn in functions)) or "none"
    raise ValueError(f"no function {function_id!r} in {path} (known: {known})")


def _json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON ({exc}): {text!r}") from None


def _stubs(items: list[str]) -> dict[str, Any]:
    stubs: dict[str, Any] = {}
    for item in items:
        step, sep, value = item.partition("=")
        if not sep or not step:
            raise ValueError(
                f"--stub takes STEP=JSON, e.g. --stub fetch-contacts='[]'; got {item!r}"
            )
        stubs[step] = (
            Timeout if value.strip().lower() == "timeout" else _json_arg(value, f"--stub {step}")
        )
    return stubs


def _event(fn: Function, args: argparse.Namespace) -> dict[str, Any] | None:
    data = _json_arg(args.data, "--data")
    name = args.event or next((t.event for t in fn.config.event_triggers), None)
    if name is None:
        return None  # a cron function: the sandbox gives it a scheduled.timer event
    return {"name": name, "data": data}


def _print(result: RunResult, as_json: bool) -> None:
    rows = [
        {
            "id": s.id,
            "kind": s.kind,
            "status": "failed" if s.error else ("stubbed" if s.stubbed else "completed"),
            "attempts": s.attempts,
            "output": s.output,
            "error": s.error and f"{s.error.get('name')}: {s.error.get('message')}",
        }
        for s in result.steps
    ]
    if as_json:
        print(
            json.dumps(
                {
                    "status": result.status,
                    "output": result.output,
                    "error": _error(result),
                    "steps": rows,
                    "sent": result.sent,
                },
                indent=2,
                default=str,
            )
        )
        return
    print(f"status: {result.status}")
    for row in rows:
        detail = row["error"] or json.dumps(row["output"], default=str)[:80]
        print(
            f"  {row['kind']:<6} {row['id']:<30} {row['status']:<9} attempts={row['attempts']}  {detail}"
        )
    if result.sent:
        print(f"  sent: {', '.join(e['name'] for e in result.sent)}")
    print(
        "output:" if result.status == "completed" else "error:",
        json.dumps(result.output, default=str) if result.status == "completed" else _error(result),
    )


def _error(result: RunResult) -> str | None:
    return None if result.error is None else f"{type(result.error).__name__}: {result.error}"


async def testrun_command(args: argparse.Namespace) -> int:
    """Run the function in the sandbox (stubs applied) or, with ``--live``, on Temporal."""
    fn = _find(args.functions, args.function_id)
    event = _event(fn, args)
    if args.live:
        return await _live(fn, event, args)
    result = await run(fn, event=event, cron=event is None, stubs=_stubs(args.stub))
    _print(result, args.json)
    return 0 if result.status == "completed" else 1


async def _live(fn: Function, event: dict[str, Any] | None, args: argparse.Namespace) -> int:
    if event is None:
        raise ValueError("--live runs event functions; trigger a cron function's schedule instead")
    if args.stub:
        raise ValueError("--stub works in the sandbox only; leave out --live")
    client = await connect(args.address, args.namespace)
    app = fn.client
    if not isinstance(app, Inngest):
        raise ValueError(f"{fn.id} belongs to no Inngest client; --live sends through one")
    app.set_temporal_client(client)
    [event_id] = await app.send(event)
    workflow_id = run_id(fn.app_id, fn.id, event_id)
    print(f"started {workflow_id} on {client.service_client.config.target_host}; following it...")
    handle = client.get_workflow_handle(workflow_id)
    try:
        output = await handle.result()
    except Exception as exc:
        print(f"failed: {getattr(exc, 'cause', None) or exc}")
        return 1
    print("completed:", json.dumps(output, default=str))
    return 0
