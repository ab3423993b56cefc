"""The ``adapter new DESCRIPTION`` command: its arguments and its handler."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from adapter._authoring.write import new_function


def add_new_parser(sub: Any, add_functions: Callable[..., None]) -> None:
    """Add ``adapter new DESCRIPTION`` to the subcommands."""
    parser = sub.add_parser(
        "new",
        help="write a function module from a plain-language description",
        description=(
            'Write functions/<id>.py from a description such as "Send a Slack summary of '
            'open tickets every weekday at 9 AM Berlin time" or "Send a welcome email when '
            'a new user is added". With ADAPTER_LLM_BASE_URL and ADAPTER_LLM_MODEL set, a '
            "model writes the step bodies (checked before writing)."
        ),
    )
    parser.add_argument("description", help="what the function does, and when")
    add_functions(parser)
    parser.add_argument("--id", help="function id (default: a slug of the action)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--dry-run", action="store_true", help="print the module, write nothing")
    parser.add_argument(
        "--no-model", action="store_true", help="write the skeleton even if a model is configured"
    )


async def new_command(args: argparse.Namespace) -> int:
    """Handle ``adapter new``: plan, generate and write the module."""
    await asyncio.to_thread(
        new_function,
        args.description,
        functions=args.functions,
        function_id=args.id,
        force=args.force,
        dry_run=args.dry_run,
        use_model=not getattr(args, "no_model", False),
    )
    return 0
