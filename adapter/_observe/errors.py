"""The one error the observability commands show their users, and where it comes from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio.service import RPCError, RPCStatusCode

from adapter._errors import AdapterError


class ObserveError(AdapterError):
    """A user-facing error of an observability command (printed as one line)."""


def one_line(error: BaseException) -> str:
    """The first line of an error's message (Temporal's status name first for RPC errors)."""
    if isinstance(error, RPCError):
        text = error.message or str(error)
        return f"{error.status.name}: {text.splitlines()[0] if text else ''}"
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def unknown_run(namespace: str, workflow_id: str) -> Iterator[None]:
    """Turn Temporal's NOT_FOUND for a run into an :class:`ObserveError` naming it."""
    try:
        yield
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ObserveError(
                f"no run with workflow id {workflow_id!r} in namespace {namespace!r}"
            ) from None
        raise
