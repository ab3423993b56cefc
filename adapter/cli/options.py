"""What the ``adapter`` commands share: the command-group interface, options, logging, stopping.

Every command group is a module of this package with one function,
``register(subparsers: Subparsers) -> None``, that adds its subcommands and
gives each ``set_defaults(handler=...)``: a :data:`Handler` taking the parsed
arguments and returning the exit code (a coroutine function when it does I/O).
:mod:`adapter.cli.main` builds the parser from the list of groups and calls
the chosen command's handler.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeAlias

from adapter._define.client import Inngest
from adapter._define.discovery import apps_of, discover
from adapter._define.function import Function
from adapter._temporal.options import (
    PLUGINS_ENV,
    TemporalOptions,
    options_from_env,
    options_from_specs,
    prometheus_runtime,
)

__all__ = [
    "CommandGroup",
    "Handler",
    "Subparsers",
    "add_functions",
    "add_plugins",
    "add_temporal",
    "configure_logging",
    "load",
    "register_handlers",
    "stop_on_signals",
    "temporal_options",
]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``register`` gets: the ``adapter`` parser's subcommands."""
Handler: TypeAlias = Callable[[argparse.Namespace], int | Awaitable[int]]
"""A command: the parsed arguments in, the exit code out (or a coroutine giving it)."""


class CommandGroup(Protocol):
    """A module of ``adapter`` commands (e.g. :mod:`adapter.cli.send`)."""

    def register(self, subparsers: Subparsers) -> None:
        """Add the group's commands, each with ``set_defaults(handler=...)``."""


def add_functions(parser: argparse.ArgumentParser) -> None:
    """Add ``--functions`` (the folder of function modules) and ``--debug``."""
    parser.add_argument(
        "--functions",
        default="functions",
        help="folder of function modules (default: functions)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="with an error loading the folder, print the traceback too",
    )


def add_temporal(parser: argparse.ArgumentParser) -> None:
    """Add ``--address`` and ``--namespace``: which Temporal to connect to."""
    parser.add_argument(
        "--address", help="Temporal host:port (default: TEMPORAL_ADDRESS or localhost:7233)"
    )
    parser.add_argument(
        "--namespace", help="Temporal namespace (default: TEMPORAL_NAMESPACE or default)"
    )


def add_plugins(parser: argparse.ArgumentParser, *, metrics: bool = False) -> None:
    """Add ``--plugin MODULE:ATTR`` (repeatable) and, with ``metrics``, ``--prometheus HOST:PORT``."""
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a payload codec, temporalio plugin or interceptor (or a class or function "
        "making one) for the Temporal client and worker, e.g. "
        f"adapter.encryption:EncryptionCodec; repeatable; also read from {PLUGINS_ENV} "
        "(comma-separated)",
    )
    if metrics:
        parser.add_argument(
            "--prometheus",
            metavar="HOST:PORT",
            help="serve Temporal's SDK metrics (workers, polls, activities) for Prometheus "
            "at http://HOST:PORT/metrics",
        )


def temporal_options(args: argparse.Namespace) -> TemporalOptions:
    """The options ``--plugin``, ``ADAPTER_PLUGINS`` and ``--prometheus`` give (see :func:`add_plugins`)."""
    options = options_from_env().merged(options_from_specs(getattr(args, "plugin", None) or []))
    bind = getattr(args, "prometheus", None)
    if bind:
        options = options.merged(TemporalOptions(runtime=prometheus_runtime(bind)))
    return options


def register_handlers(
    subparsers: Subparsers,
    add_commands: Callable[[Any, Callable[..., None], Callable[..., None]], None],
    handlers: Mapping[str, Handler],
) -> None:
    """Register a group given as ``add_commands(sub, add_functions, add_temporal)`` and handlers.

    ``handlers`` (a group's ``HANDLERS``) maps each command ``add_commands`` adds to
    its handler; a group written so has ``register`` call this.
    """
    add_commands(subparsers, add_functions, add_temporal)
    for name, handler in handlers.items():
        subparsers.choices[name].set_defaults(handler=handler)


def configure_logging() -> None:
    """Log to stderr at ``ADAPTER_LOG_LEVEL`` (default INFO)."""
    logging.basicConfig(
        level=os.environ.get("ADAPTER_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def load(path: str) -> tuple[list[Function], list[Inngest]]:
    """The functions in the folder ``path`` and the apps (Inngest clients) they belong to."""
    functions = discover(path)
    return functions, apps_of(functions)


def optional_apps(path: str) -> list[Inngest]:
    """The apps of a functions folder, or one plain sender when there is no such folder.

    Senders need no functions: routing comes from what workers registered in Temporal.
    """
    apps = load(path)[1] if os.path.isdir(path) else []
    return apps or [Inngest(app_id=CLI_SENDER_APP_ID)]


CLI_SENDER_APP_ID = "adapter-cli"


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (for the CLI's long-running commands)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
