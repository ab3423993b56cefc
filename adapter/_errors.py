"""Exceptions raised by the adapter.

Hierarchy::

    Exception
    ├── AdapterError                 base of everything below
    │   ├── ConfigError              bad function config or trigger (definition time)
    │   │   └── DuplicateFunctionError   a function id defined twice in one app
    │   ├── LoadError                a functions folder cannot be loaded (CLI exit 2)
    │   ├── EventValidationError     bad event given to send()
    │   ├── StepOutputError          a step returned a non-JSON or oversized value
    │   ├── SendError                Temporal did not take every event of a send
    │   ├── StepsChangedError        each call of the handler met other new steps
    │   └── PayloadTooLargeError     a payload exceeds Temporal's limit
    ├── NonRetriableError            raise to fail the run at once
    ├── RetryAfterError              raise to retry after a given delay
    └── StepError                    a step failed for good; raised at the call site
        └── InvokeTimeoutError       a step.invoke timed out (InngestInvokeTimeoutError)

BaseException
    ├── _Interrupt (private)         stops a handler at a new step; never caught by
    │                                a user's ``except Exception``
    └── _NestedStep (private)        a step inside a step body: fails the run

Which errors fail a run at once (no further attempts, not memoized as a step
error the handler could catch) is decided here, once: :data:`FATAL_ERRORS`. The
worker's retry policies, the orchestrator and the sandbox all read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any


class AdapterError(Exception):
    """Base class of the adapter's own errors."""


class ConfigError(AdapterError, ValueError):
    """A function's config or trigger is invalid; the message names the field."""


class DuplicateFunctionError(ConfigError):
    """An app already has a function with this id; ``existing`` is that function."""

    def __init__(self, message: str, fn_id: str, existing: Any) -> None:
        super().__init__(message)
        self.fn_id = fn_id
        self.existing = existing


class LoadError(AdapterError):
    """A functions folder cannot be loaded: one line naming the file, the line and the fix.

    ``details`` is the traceback of what went wrong (``--debug`` prints it).
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class EventValidationError(AdapterError, ValueError):
    """An event given to ``send`` is invalid; the message names the field."""


class StepOutputError(AdapterError, TypeError):
    """A step or handler returned a value that cannot be recorded."""


class PayloadTooLargeError(AdapterError):
    """A step result, event or handler result exceeds Temporal's payload limit."""


class SendError(AdapterError):
    """Temporal did not take every event of a ``send``, even after retrying.

    Some of the events may have been accepted (and their runs started): sending the
    same events again with the same ids is safe, Temporal starts nothing twice.
    ``event_ids`` are the ids of the events that were being sent.
    """

    def __init__(self, message: str, event_ids: list[str]) -> None:
        super().__init__(message)
        self.event_ids = event_ids

    @classmethod
    def of(cls, client: Any, events: Sequence[Any], error: BaseException) -> SendError:
        """The error for ``events`` whose send to ``client``'s server failed with ``error``."""
        host = getattr(getattr(client, "service_client", None), "config", None)
        address = getattr(host, "target_host", "?")
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        ids = [e.id for e in events]
        return cls(
            f"could not hand {len(ids)} event(s) to Temporal at {address}: {first}; some may "
            "have been accepted already: sending them again with the same ids is safe",
            ids,
        )


class NonRetriableError(Exception):
    """Fails the run at once, in a step or outside one; no further attempts."""

    def __init__(self, message: str | None = None, quiet: bool = False) -> None:
        super().__init__(message or "non-retriable error")
        self.message = message or "non-retriable error"
        self.quiet = quiet


class RetryAfterError(Exception):
    """Retries the failing step (or handler) after ``retry_after``.

    ``retry_after`` is milliseconds (int), a ``timedelta`` or a ``datetime`` (a naive
    one is local time).
    """

    def __init__(
        self,
        message: str | None,
        retry_after: int | timedelta | datetime,
        quiet: bool = False,
    ) -> None:
        super().__init__(message or "retry after error")
        self.message = message or "retry after error"
        self.quiet = quiet
        if isinstance(retry_after, datetime):
            # A naive datetime is local time, as inngest-py reads it (datetime.now() + ...).
            when = retry_after if retry_after.tzinfo else retry_after.astimezone()
            delay = when - datetime.now(UTC)
        elif isinstance(retry_after, timedelta):
            delay = retry_after
        else:
            delay = timedelta(milliseconds=retry_after)
        # Inngest clamps the delay to [1 s, 24 h].
        self.retry_after = min(max(delay, timedelta(seconds=1)), timedelta(hours=24))


class StepError(Exception):
    """A step failed after its last attempt.

    Raised at the ``step.run`` call site when the handler is called again, so the
    handler may catch it and fall back. Uncaught, it fails the run.
    """

    def __init__(
        self, message: str, name: str, stack: str | None = None, step_id: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.stack = stack
        self.step_id = step_id

    def __str__(self) -> str:
        """The step's own error message, as inngest-py's ``str(StepError)``."""
        return self.message

    @property
    def summary(self) -> str:
        """One line naming the step and its error: the failed run's message."""
        return f"step '{self.step_id}' failed: {self.name}: {self.message}"


INVOKE_TIMEOUT_NAME = "InngestInvokeTimeoutError"
INVOKE_TIMEOUT_MESSAGE = "Timed out waiting for invoked function to complete"


class InvokeTimeoutError(StepError):
    """A ``step.invoke`` whose function did not finish within its ``timeout``.

    As inngest-py's: a :class:`StepError` named ``InngestInvokeTimeoutError``, raised
    at the ``step.invoke`` call site (the handler may catch it).
    """

    def __init__(
        self,
        message: str = INVOKE_TIMEOUT_MESSAGE,
        name: str = INVOKE_TIMEOUT_NAME,
        stack: str | None = None,
        step_id: str = "",
    ) -> None:
        super().__init__(message, name, stack, step_id)


class StepsChangedError(AdapterError):
    """A run made no progress: each call of the handler met other new steps.

    Step ids (and the order of steps up to the first new one) must be the same on
    every call; ids made from the time, random numbers or state outside the run
    change from call to call. ``steps`` are the new step ids the calls met.
    """

    def __init__(self, message: str, steps: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.steps = list(steps)

    @classmethod
    def of(cls, function_id: str, calls: int, steps: Sequence[str]) -> StepsChangedError:
        """The error for ``function_id`` after ``calls`` calls without progress."""
        unique = list(dict.fromkeys(steps))
        shown = ", ".join(f"'{s}'" for s in unique[:8]) + (", ..." if len(unique) > 8 else "")
        return cls(
            f"function '{function_id}' made no progress in {calls} calls of its handler: each "
            f"call met other new steps ({shown or 'none'}); step ids and their order must be "
            "the same on every call: make them from the event and earlier step results, not "
            "from the time, random numbers or state outside the run",
            unique,
        )


MAX_CALLS_WITHOUT_PROGRESS = 20
"""Calls of a handler in a row (step calls included, retries not) that record nothing,
before the run fails with StepsChangedError. A run that makes progress needs two at most."""

NESTED_STEP_MESSAGE = "Nested steps are not supported"


class _NestedStep(BaseException):
    """A step called inside a step body; the body's step then fails the run.

    A BaseException, so that the body's own ``except Exception`` cannot swallow it.
    """


class _Interrupt(BaseException):
    """Stops a sync handler at its first new step. Private: users never see it."""


FATAL_ERRORS: tuple[type[BaseException], ...] = (
    NonRetriableError,
    StepError,
    StepOutputError,
    PayloadTooLargeError,
    ConfigError,
)
"""Errors that end a run at once, raised in a step body or in the handler."""

FATAL_ERROR_NAMES = frozenset(cls.__name__ for cls in FATAL_ERRORS)
"""The same, as Temporal records them (``ApplicationError.type``)."""


def is_fatal(error: BaseException) -> bool:
    """True when ``error`` fails the run at once instead of being retried."""
    return isinstance(error, FATAL_ERRORS)
