"""Authoring commands: new (a function from a description) and test-run (the sandbox)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from adapter._authoring.command import add_new_parser, new_command
from adapter.cli.options import Subparsers, register_handlers

HANDLERS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {"new": new_command}


def add_commands(
    sub: Any, add_functions: Callable[..., None], add_temporal: Callable[..., None]
) -> None:
    """Add this module's subcommands to the ``adapter`` parser."""
    add_new_parser(sub, add_functions)


def register(subparsers: Subparsers) -> None:
    """Add this module's commands to the ``adapter`` parser, dispatching to ``HANDLERS``."""
    register_handlers(subparsers, add_commands, HANDLERS)
