"""The ``adapter`` command: builds the parser from the command groups and runs the chosen command.

Each group is a module with ``register(subparsers)`` (see :mod:`adapter.cli.options`);
to add a command, add its module to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys

from adapter._errors import AdapterError, LoadError
from adapter.cli import (
    author,
    codec,
    deploy,
    events,
    functions,
    migrate,
    observe,
    operate,
    registrations,
    run,
    send,
    serve,
    testrun,
)
from adapter.cli.options import CommandGroup, configure_logging

COMMANDS: tuple[CommandGroup, ...] = (
    run,
    send,
    functions,
    registrations,
    observe,
    operate,
    events,
    serve,
    author,
    testrun,
    deploy,
    migrate,
    codec,
)
"""The command groups, in the order ``adapter --help`` lists their commands."""


def build_parser() -> argparse.ArgumentParser:
    """The ``adapter`` parser: every group's commands, each with its ``handler`` default."""
    parser = argparse.ArgumentParser(
        prog="adapter", description="Inngest-style durable functions on Temporal."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``adapter`` console script."""
    args = build_parser().parse_args(argv)
    configure_logging()
    asynchronous = inspect.iscoroutinefunction(args.handler)
    code = _run(args, asynchronous)
    if asynchronous:
        # The Temporal client's native runtime can abort while the interpreter finalizes
        # (PyGILState_Release, exit code 134), on success and on error alike; everything
        # is done and printed, so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _run(args: argparse.Namespace, asynchronous: bool) -> int:
    try:
        if asynchronous:
            return int(asyncio.run(args.handler(args)))
        return int(args.handler(args))
    except LoadError as exc:
        # A functions folder that cannot be loaded: one line (the traceback with --debug).
        if getattr(args, "debug", False) and exc.details:
            print(exc.details, file=sys.stderr, end="")
        print(f"adapter {args.command}: {exc}", file=sys.stderr)
        return 2
    except (AdapterError, ConnectionError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"adapter {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
