"""The ``adapter`` command line."""

from adapter.cli.main import main

__all__ = ["main"]
