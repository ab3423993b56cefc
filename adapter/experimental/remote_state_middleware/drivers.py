"""inngest-py's two state drivers: in memory (a reference) and S3 (a boto3 client given)."""

from __future__ import annotations

import json
import secrets
from typing import Any, Final

from adapter._define.middleware import StepMemos

MARKER: Final = "__REMOTE_STATE__"  # the placeholder's keys, as inngest-py writes them
STRATEGY: Final = "__STRATEGY__"


def _new_key() -> str:
    return secrets.token_hex(16)


def _placeholder_of(data: object, strategy: str) -> dict[str, Any] | None:
    """``data`` when it is a placeholder this strategy wrote, else None."""
    if isinstance(data, dict) and MARKER in data and data.get(STRATEGY) == strategy:
        return data
    return None


class InMemoryDriver:
    """Outputs in this process's memory: for tests and as a reference (inngest-py's)."""

    _marker: Final = MARKER
    _strategy_identifier: Final = "inngest/memory"

    def __init__(self) -> None:
        """An empty store."""
        self._data: dict[str, object] = {}

    def load_steps(self, steps: StepMemos) -> None:
        """Replace this driver's placeholders with the outputs it stored."""
        for step in steps.values():
            held = _placeholder_of(step.data, self._strategy_identifier)
            if held is not None:
                step.data = self._data[str(held["key"])]

    def save_step(self, run_id: str, value: object) -> dict[str, object]:
        """Keep ``value``; returns its placeholder."""
        key = _new_key()
        self._data[key] = value
        return {MARKER: True, STRATEGY: self._strategy_identifier, "key": key}


class S3Driver:
    """Outputs as S3 objects (``inngest/remote_state/<run id>/<key>``) through a boto3 client."""

    _marker: Final = MARKER
    _strategy_identifier: Final = "inngest/s3"

    def __init__(self, *, bucket: str, client: Any) -> None:
        """``client``: a boto3 S3 client (``boto3.client("s3")``); ``bucket``: where objects go."""
        self._bucket = bucket
        self._client = client

    def load_steps(self, steps: StepMemos) -> None:
        """Replace this driver's placeholders with the objects they name."""
        for step in steps.values():
            held = _placeholder_of(step.data, self._strategy_identifier)
            if held is not None:
                body = self._client.get_object(Bucket=held["bucket"], Key=held["key"])["Body"]
                step.data = json.loads(body.read().decode())

    def save_step(self, run_id: str, value: object) -> dict[str, object]:
        """Put ``value`` as a JSON object; returns its placeholder (bucket and key)."""
        key = f"inngest/remote_state/{run_id}/{_new_key()}"
        self._client.put_object(Body=json.dumps(value), Bucket=self._bucket, Key=key)
        return {
            MARKER: True,
            STRATEGY: self._strategy_identifier,
            "bucket": self._bucket,
            "key": key,
        }
