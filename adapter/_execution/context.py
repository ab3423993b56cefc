"""What a handler receives: ``ctx.event``, ``ctx.events``, ``ctx.step``, ``ctx.run_id``..."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from adapter._define.event import Event
from adapter._execution.step import Group, GroupSync, Step, StepSync


class ReplayAwareLogger:
    """A logger that stays silent while the handler replays memoized steps.

    Each call of the handler replays every finished step from the memo before it
    reaches new work; without this, a line logged before step 5 would print five
    times. ``logger`` is a ``logging.Logger`` or ``LoggerAdapter`` (the client's
    ``logger=``), or any object with ``debug``/``info``/... methods, such as a
    structlog logger.
    """

    def __init__(self, logger: Any, is_live: Any) -> None:
        self._logger = logger
        self._is_live = is_live
        self._stdlib = isinstance(logger, logging.Logger | logging.LoggerAdapter)

    def _log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self._is_live():
            return
        if self._stdlib:
            kwargs.setdefault("stacklevel", 3)
        # By the level's method (``info``...), not ``log``: a Logger subclass that
        # overrides ``info`` sees the call, as with inngest-py's logger.
        getattr(self._logger, logging.getLevelName(level).lower())(msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at DEBUG when not replaying."""
        self._log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at INFO when not replaying."""
        self._log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at WARNING when not replaying."""
        self._log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ERROR when not replaying."""
        self._log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ERROR with the current exception when not replaying."""
        kwargs.setdefault("exc_info", True)
        self._log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at CRITICAL when not replaying."""
        self._log(logging.CRITICAL, msg, *args, **kwargs)


@dataclass
class Context:
    """The argument of an ``async def`` handler."""

    event: Event
    events: list[Event]
    step: Step
    run_id: str
    attempt: int
    logger: ReplayAwareLogger
    function_id: str
    group: Group


@dataclass
class ContextSync:
    """The argument of a plain ``def`` handler (``ctx.step.run`` is synchronous)."""

    event: Event
    events: list[Event]
    step: StepSync
    run_id: str
    attempt: int
    logger: ReplayAwareLogger
    function_id: str
    group: GroupSync
