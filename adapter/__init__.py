"""Inngest-style durable functions running on Temporal.

Define functions with :meth:`Inngest.create_function`, send events with
:meth:`Inngest.send`, and run them with ``adapter dev`` or ``adapter worker``.
"""

from adapter._define.client import Inngest
from adapter._define.config import Backoff, FunctionConfig, TriggerCron, TriggerEvent
from adapter._define.discovery import discover
from adapter._define.event import Event
from adapter._define.function import Function
from adapter._errors import (
    AdapterError,
    ConfigError,
    EventValidationError,
    NonRetriableError,
    PayloadTooLargeError,
    RetryAfterError,
    StepError,
    StepOutputError,
)
from adapter._execution.context import Context, ContextSync
from adapter._execution.step import Step, StepSync
from adapter.worker import WorkerSettings, build_worker, run_workers

__all__ = [
    "AdapterError",
    "Backoff",
    "ConfigError",
    "Context",
    "ContextSync",
    "Event",
    "EventValidationError",
    "Function",
    "FunctionConfig",
    "Inngest",
    "NonRetriableError",
    "PayloadTooLargeError",
    "RetryAfterError",
    "Step",
    "StepError",
    "StepOutputError",
    "StepSync",
    "TriggerCron",
    "TriggerEvent",
    "WorkerSettings",
    "build_worker",
    "discover",
    "run_workers",
]
