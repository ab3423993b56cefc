"""inngest-py's ``inngest.experimental.mocked.errors``: the sandbox's own error."""

from adapter.testing._sandbox import UnstubbedStepError

__all__ = ["UnstubbedStepError"]
