"""inngest-py's ``inngest.experimental``: ``mocked``, middleware, ``get_step_context``, ``step``...

After ``import adapter as inngest``, ``inngest.experimental.mocked`` is this package's
``mocked``; an import statement names the package: ``from adapter.experimental import
mocked``. ``get_step_context()`` returns the running handler's ``ctx.step``;
``@step("id")`` makes a function a step when a handler calls it (a plain call elsewhere).
``sentry_middleware`` is imported by name only (it needs ``sentry-sdk``).
"""

from adapter._execution.step_context import get_step_context as get_step_context
from adapter._execution.step_context import set_step_context as set_step_context
from adapter._execution.step_context import step as step
from adapter.experimental import mocked as mocked
from adapter.experimental import remote_state_middleware as remote_state_middleware

__all__ = [
    "get_step_context",
    "mocked",
    "remote_state_middleware",
    "set_step_context",
    "step",
]
