"""``adapter codec-server``: decode encrypted payloads for the Temporal Web UI."""

from __future__ import annotations

import argparse

from adapter._errors import ConfigError
from adapter._http.codec import DEFAULT_CODEC_PORT, DEFAULT_UI_ORIGINS, codec_app
from adapter._http.server import EventServer
from adapter.cli.options import Subparsers, add_plugins, stop_on_signals, temporal_options


def register(subparsers: Subparsers) -> None:
    """Add ``codec-server`` to the ``adapter`` parser."""
    parser = subparsers.add_parser(
        "codec-server",
        help="serve /encode and /decode with the payload codec, for the Temporal Web UI",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_CODEC_PORT, help=f"default {DEFAULT_CODEC_PORT}"
    )
    parser.add_argument(
        "--ui-origin",
        action="append",
        default=[],
        metavar="URL",
        help="an origin of the Temporal Web UI allowed to call it (repeatable; default "
        + ", ".join(DEFAULT_UI_ORIGINS)
        + ")",
    )
    add_plugins(parser)
    parser.set_defaults(handler=codec_server_command)


async def codec_server_command(args: argparse.Namespace) -> int:
    """Serve the codec that ``--plugin`` / ``ADAPTER_PLUGINS`` name until SIGINT or SIGTERM."""
    codec = temporal_options(args).payload_codec
    if codec is None:
        raise ConfigError(
            "no payload codec; pass --plugin adapter.encryption:EncryptionCodec "
            "(or set ADAPTER_PLUGINS) with the keys in ADAPTER_ENCRYPTION_KEY / _OLD_KEYS"
        )
    origins = args.ui_origin or list(DEFAULT_UI_ORIGINS)
    stop = stop_on_signals()
    async with EventServer(
        codec_app(codec, ui_origins=origins), host=args.host, port=args.port
    ) as server:
        print(
            f"Codec server on {server.url} ({type(codec).__name__}; UI origins: {', '.join(origins)})"
            f"; set the UI's codec endpoint to {server.url}",
            flush=True,
        )
        await stop.wait()
    return 0
