"""inngest-py's ``inngest.experimental.remote_state_middleware``: step outputs kept elsewhere.

``RemoteStateMiddleware.factory(driver)`` stores each ``step.run`` output with the
driver (``InMemoryDriver``, ``S3Driver`` over a boto3 S3 client, or any ``StateDriver``)
and lets Temporal record only a small placeholder; every call of the handler loads the
outputs back before the handler sees them. On Temporal this also lifts the payload
limit (2 MiB) for step outputs: only the placeholder has to fit.
"""

from adapter.experimental.remote_state_middleware.drivers import InMemoryDriver, S3Driver
from adapter.experimental.remote_state_middleware.middleware import (
    RemoteStateMiddleware,
    StateDriver,
)

__all__ = ["InMemoryDriver", "RemoteStateMiddleware", "S3Driver", "StateDriver"]
