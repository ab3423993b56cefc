"""``adapter serve``: Inngest's Event API in front of Temporal, so Inngest SDKs can send here."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from adapter._console.app import mount_console
from adapter._console.auth import TOKEN_ENV, configured_tokens
from adapter._console.context import Console, fixed_client
from adapter._http.app import create_app
from adapter._http.server import DEFAULT_PORT, EventServer
from adapter._http.wire import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_EVENT_BYTES,
    EVENT_KEY_ENV,
    SIGNING_KEY_ENV,
    EventApiSettings,
    configured_event_keys,
    configured_signing_keys,
)
from adapter._observe.links import ui_base
from adapter._temporal.connect import connect
from adapter.cli.options import (
    Subparsers,
    add_functions,
    add_plugins,
    add_temporal,
    optional_apps,
    stop_on_signals,
    temporal_options,
)


def register(subparsers: Subparsers) -> None:
    """Add ``serve`` to the ``adapter`` parser."""
    serve = subparsers.add_parser(
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
        "--signing-key",
        action="append",
        metavar="KEY",
        help="signing key the REST API (GET /v1/events, /v1/runs/...) accepts as "
        f"'Authorization: Bearer KEY'; repeatable; also read from {SIGNING_KEY_ENV} "
        "(comma-separated)",
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        help="accept any event key and any REST request, as Inngest's dev server",
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
    serve.add_argument(
        "--console",
        action="store_true",
        help="also serve the dev console (functions, runs, events) on the same port; outside "
        "--dev it needs a token",
    )
    serve.add_argument(
        "--console-token",
        action="append",
        metavar="TOKEN",
        help=f"token that opens the console (login form or 'Authorization: Bearer TOKEN'); "
        f"repeatable; also read from {TOKEN_ENV} (comma-separated); default: the event keys",
    )
    serve.add_argument(
        "--ui",
        metavar="URL",
        help="Temporal Web UI base URL for the console's run links (default: TEMPORAL_UI_URL, "
        "else http://127.0.0.1:8233)",
    )
    add_plugins(serve)
    serve.set_defaults(handler=serve_command)


async def serve_command(args: argparse.Namespace) -> int:
    """Serve the Event API for the apps in ``--functions`` until SIGINT/SIGTERM."""
    # Checked first: a server that would refuse to start needs no Temporal.
    settings = EventApiSettings(
        event_keys=configured_event_keys(args.event_key, os.environ),
        dev=args.dev,
        max_body_bytes=args.max_body_bytes,
        max_event_bytes=args.max_event_bytes,
        signing_keys=configured_signing_keys(args.signing_key, os.environ),
    )
    tokens = configured_tokens(args.console_token, os.environ, settings.event_keys)
    if args.console and not args.dev and not tokens:
        raise ValueError(
            "--console needs a token outside --dev: pass --console-token TOKEN, set "
            f"{TOKEN_ENV}, or give an event key (--event-key / INNGEST_EVENT_KEY)"
        )
    # Routing lives in Temporal: a functions folder is optional (its apps' settings,
    # such as the payload limit, apply when it is there).
    apps = optional_apps(args.functions)
    functions = [fn for app in apps for fn in app.functions]
    options = temporal_options(args)
    client = await connect(args.address, args.namespace, options, environ_plugins=False)
    for app in apps:
        app.set_temporal_client(client)
    stop = stop_on_signals()
    web = create_app(apps, settings)
    if args.console:
        console = Console(
            client=fixed_client(client),
            functions_dir=_folder(args.functions),
            dev=args.dev,
            temporal_ui=ui_base(args.ui),
            sender=apps[0],
            tokens=tokens,
        )
        mount_console(web, console)
    async with EventServer(web, host=args.host, port=args.port) as server:
        keys = len(settings.event_keys)
        signing = len(settings.signing_keys)
        mode = (
            "dev mode: any event key"
            if args.dev
            else f"{keys} event key(s), {signing} signing key(s) for /v1"
        )
        print(
            f"Inngest Event API on {server.url} ({mode}; Temporal "
            f"{client.service_client.config.target_host}, {len(functions)} function(s) in "
            f"{len(apps)} app(s))"
        )
        print(f"  SDKs: INNGEST_EVENT_API_BASE_URL={server.url} (or INNGEST_BASE_URL)")
        if args.console:
            door = "open (dev mode)" if args.dev else f"{len(tokens)} token(s)"
            print(f"  Console: {server.url}/ ({door})")
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped the Event API.")
    return 0


def _folder(path: str) -> Path | None:
    """The functions folder the console shows (Code tab), when there is one."""
    return Path(path) if os.path.isdir(path) else None
