"""Connecting to Temporal with the standard TEMPORAL_* variables and profiles."""

from __future__ import annotations

import os
import re
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfig

DEFAULT_ADDRESS = "localhost:7233"


def connect_config(address: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect`` from env vars / the TOML profile.

    ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS settings
    and ``TEMPORAL_PROFILE`` are honoured (temporalio.envconfig); explicit
    arguments win; the address defaults to localhost:7233.
    """
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    return config


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    """Connect to Temporal; on failure one line names the address and the cause."""
    config = connect_config(address, namespace)
    try:
        return await Client.connect(**config)
    except Exception as exc:
        target = config["target_host"]
        source = (
            "--address"
            if address
            else ("TEMPORAL_ADDRESS" if os.environ.get("TEMPORAL_ADDRESS") else "the default")
        )
        raise ConnectionError(
            f"cannot connect to Temporal at {target} (from {source}): {_cause(exc)}; is the server "
            "running, and are TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TLS right?"
        ) from None


def _cause(exc: Exception) -> str:
    """The readable part of a connection error from the Rust core."""
    text = str(exc)
    found = re.search(r'message: "([^"]+)"', text)
    if found:
        return found.group(1)
    return text.splitlines()[0][:200] if text else type(exc).__name__
