"""Connecting to Temporal with the standard TEMPORAL_* variables and profiles."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import temporalio.client
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig

from adapter._temporal.options import TemporalOptions, options_from_env

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


async def connect(
    address: str | None = None,
    namespace: str | None = None,
    options: TemporalOptions | None = None,
    *,
    environ_plugins: bool = True,
) -> Client:
    """Connect to Temporal; on failure one line names the address and the cause.

    ``options`` (a payload codec, interceptors, plugins, a runtime) and those that
    ``ADAPTER_PLUGINS`` names (comma-separated ``module:attr``; not with
    ``environ_plugins=False``, for a caller that read them already) apply to the
    client, and so to the workers made with it.
    """
    config = connect_config(address, namespace)
    options = (options_from_env() if environ_plugins else TemporalOptions()).merged(options)
    if options.payload_codec is not None:
        config["data_converter"] = dataclasses.replace(
            config.get("data_converter", DataConverter.default), payload_codec=options.payload_codec
        )
    if options.interceptors:
        config["interceptors"] = [
            i for i in options.interceptors if isinstance(i, temporalio.client.Interceptor)
        ]
    if options.plugins:
        config["plugins"] = [p for p in options.plugins if isinstance(p, temporalio.client.Plugin)]
    if options.runtime is not None:
        config["runtime"] = options.runtime
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
