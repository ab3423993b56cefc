"""The Event API server command: serve (and ``adapter dev --events-port``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from typing import Any

from adapter._define.discovery import apps_of, discover
from adapter._errors import ConfigError
from adapter._http.app import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_PORT,
    EVENT_KEY_ENV,
    configured_event_keys,
    serve_events,
)
from adapter._temporal.connect import connect
from adapter.worker import stop_on_signals


async def _serve(args: argparse.Namespace) -> int:
    """``adapter serve``: the Event API in front of Temporal until SIGINT/SIGTERM."""
    keys = configured_event_keys(args.event_key, os.environ)
    if not args.dev and not keys:
        raise ConfigError(
            f"no event keys: set {EVENT_KEY_ENV} (comma-separated for several) or pass "
            "--event-key KEY, and give the same key to your apps' Inngest clients; or pass "
            "--dev to accept any key (local development only)"
        )
    functions = discover(args.functions)
    apps = apps_of(functions)
    if not apps:
        raise ConfigError(
            f"no functions found in {args.functions!r}; the Event API sends events to the apps "
            "whose functions it finds there (--functions PATH)"
        )
    client = await connect(args.address, args.namespace)
    for app in apps:
        app.set_temporal_client(client)
    stop = stop_on_signals()
    server = serve_events(
        apps,
        host=args.host,
        port=args.port,
        event_keys=keys,
        dev=args.dev,
        max_body_bytes=args.max_body_bytes,
        max_event_bytes=args.max_event_bytes,
    )
    async with server:
        mode = "dev mode: any event key" if args.dev else f"{len(keys)} event key(s)"
        print(
            f"Inngest Event API on {server.url} ({mode}; Temporal "
            f"{client.service_client.config.target_host}, {len(functions)} function(s) in "
            f"{len(apps)} app(s))"
        )
        print(f"  SDKs: INNGEST_EVENT_API_BASE_URL={server.url} (or INNGEST_BASE_URL)")
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped the Event API.")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {"serve": _serve}


def add_commands(
    sub: Any, add_functions: Callable[..., None], add_temporal: Callable[..., None]
) -> None:
    """Add this module's subcommands to the ``adapter`` parser."""
    serve = sub.add_parser(
        "serve",
        help="serve Inngest's Event API (POST /e/<key>) so Inngest SDKs can send events here",
    )
    add_functions(serve)
    add_temporal(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--event-key",
        action="append",
        metavar="KEY",
        help=f"accepted event key; repeatable; also read from {EVENT_KEY_ENV} (comma-separated)",
    )
    serve.add_argument(
        "--dev", action="store_true", help="accept any event key, as Inngest's dev server"
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body (413 above; default {DEFAULT_MAX_BODY_BYTES:,})",
    )
    serve.add_argument(
        "--max-event-bytes",
        type=int,
        default=DEFAULT_MAX_EVENT_BYTES,
        help=f"largest event (default {DEFAULT_MAX_EVENT_BYTES:,}, capped by the Temporal "
        "payload limit)",
    )
    dev = sub.choices.get("dev")
    if dev is not None:
        dev.add_argument(
            "--events-port",
            type=int,
            default=DEFAULT_PORT,
            help=f"port of the Inngest Event API for SDKs (default {DEFAULT_PORT})",
        )
