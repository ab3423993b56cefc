"""``adapter functions``: the functions in a folder, their triggers and next cron runs."""

from __future__ import annotations

import argparse
import json
from datetime import UTC
from typing import Any

from adapter._define.config import TriggerCron, TriggerEvent
from adapter._define.function import Function
from adapter.cli.options import Subparsers, add_functions, load


def register(subparsers: Subparsers) -> None:
    """Add ``functions`` to the ``adapter`` parser."""
    functions = subparsers.add_parser(
        "functions", help="list functions, triggers and next cron runs"
    )
    add_functions(functions)
    functions.add_argument("--json", action="store_true", help="machine-readable output")
    functions.set_defaults(handler=functions_command)


def functions_command(args: argparse.Namespace) -> int:
    """Print each function with its triggers (and the next three runs of a cron)."""
    functions, _ = load(args.functions)
    rows = [_row(fn) for fn in functions]
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


def trigger_text(fn: Function) -> str:
    """The function's triggers on one line, e.g. ``event 'user/created'; cron '0 9 * * *' (...)``."""
    parts = []
    for t in fn.triggers:
        if isinstance(t, TriggerCron):
            parts.append(f"cron {t.cron!r} ({t.spec.describe()})")
        elif isinstance(t, TriggerEvent):
            parts.append(f"event {t.event!r}" + (f" if {t.expression}" if t.expression else ""))
    return "; ".join(parts)


def _row(fn: Function) -> dict[str, Any]:
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
    return {
        "app_id": fn.app_id,
        "id": fn.id,
        "name": fn.name,
        "retries": fn.config.retries,
        "triggers": triggers,
    }
