"""The ``adapter`` command line: one module per command group, dispatched by ``main``."""

from adapter.cli.main import build_parser, main

# The observability tests build the parser as ``cli._parser()``.
_parser = build_parser

__all__ = ["build_parser", "main"]
