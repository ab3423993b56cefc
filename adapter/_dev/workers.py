"""``adapter dev``'s workers: one per app of the folder, restarted when the folder changes.

:class:`DevWorkers` polls the folder (:func:`~adapter._dev.folder.snapshot`, every
``interval`` seconds); on a change it loads the folder afresh
(:func:`~adapter._dev.folder.load_folder`), shuts the app workers down gracefully (running
steps finish within the graceful shutdown; a run's next task goes to the new worker, the
run itself lives in Temporal), syncs the schedules, registers the new set and starts
its workers. The namespace's shared queue (hubs, event records) keeps running across the
restart, so waits and cancels keep matching. A module that fails to import is one line in
the terminal and stays in :meth:`DevWorkers.problems` (the console's banner) until it loads;
the other functions, and the last good version of its own, keep running.

Every registration and schedule is written with the wall clock as the deploy stamp: in
dev the newest start (or reload) is the deploy that counts, even when a file was
deleted and the newest source file is older than the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import PayloadCodec

from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._define.version import code_version
from adapter._dev.folder import FolderLoad, ModuleProblem, load_folder, publish, snapshot
from adapter._temporal.options import with_options
from adapter._temporal.registry import unregister
from adapter._temporal.schedules import SyncReport, sync_schedules
from adapter._temporal.search_attributes import prepare_namespace
from adapter.worker import Worker, WorkerSettings

__all__ = ["DevWorkers", "dev_stamp"]

log = logging.getLogger("adapter")


def dev_stamp(previous: int = 0) -> int:
    """The deploy stamp of a dev start or reload: the wall clock, never below ``previous``."""
    return max(int(time.time()), previous)


class DevWorkers:
    """Run the folder's apps' workers, and run them again on the new code when it changes."""

    def __init__(
        self,
        client: Client,
        load: FolderLoad,
        *,
        settings: WorkerSettings | None = None,
        interval: float = 1.0,
        out: Callable[[str], None] = print,
        stamp: int | None = None,
    ) -> None:
        """Prepare (not start) the workers of ``load`` (``FolderLoad.of(folder, discover(folder))``).

        ``stamp`` is the deploy stamp the first registration was written with (default now).
        """
        self.client = client
        self.folder = load.folder
        self._load = load
        self._settings = settings or WorkerSettings()
        self._interval = interval
        self._out = out
        self._stamp = stamp if stamp is not None else dev_stamp()
        self._snapshot = snapshot(self.folder)
        self._workers: contextlib.AsyncExitStack | None = None
        self._shared: contextlib.AsyncExitStack | None = None
        self._shared_codec: PayloadCodec | None = None
        self._apps: set[str] = set()
        self.reloads = 0
        """How many reloads started a new set of workers (tests await it)."""
        self.stopping = False
        """True while the app workers shut down (running steps finish meanwhile)."""

    @property
    def load(self) -> FolderLoad:
        """The load the workers run now."""
        return self._load

    def problems(self) -> list[ModuleProblem]:
        """The modules that failed to import in the last load (empty when all loaded)."""
        return list(self._load.problems)

    def functions(self) -> list[Function]:
        """The functions the workers serve now."""
        return list(self._load.functions)

    async def run(self, stop: asyncio.Event) -> None:
        """Run the workers until ``stop`` is set, reloading when the folder changes."""
        unpublish = publish(self.folder, lambda: self._load)
        try:
            await self._start(self._load)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._interval)
                if not stop.is_set():
                    await self.check()
        finally:
            unpublish()
            await self._stop()
            await self._release_shared()

    async def check(self) -> bool:
        """Reload when the folder changed since the last look; True when it had."""
        now = snapshot(self.folder)
        if now == self._snapshot:
            return False
        changed = {
            p for p in now.keys() | self._snapshot.keys() if now.get(p) != self._snapshot.get(p)
        }
        self._snapshot = now
        await self.reload(changed)
        return True

    async def reload(self, changed: set[str] | None = None) -> None:
        """Load the folder afresh and restart the workers on it (see the module docstring).

        ``changed``: the files that changed; when only files that now fail to import
        changed, the problem lines say it all (no summary line).
        """
        old = self._load
        new = load_folder(self.folder, old)
        known = {p.message for p in old.problems}
        for problem in new.problems:
            if problem.message not in known:
                self._out(f"reload: {problem.message} (the other functions keep running)")
        if new.functions == old.functions:
            self._load = new  # the same function objects: nothing new to run (only problems)
            return
        codecs = [self._codec(app) for app in new.apps]
        if any(not _same(codecs[0], c) for c in codecs[1:]):
            self._out(
                "reload: the apps of the folder have different payload codecs (they share the "
                "namespace's queue and need one); still running the previous functions"
            )
            self._load = replace(old, problems=new.problems)
            return
        await self._stop()
        if codecs and self._shared is not None and not _same(self._shared_codec, codecs[0]):
            # A fresh import makes a new codec object: one that is not equal to the old
            # one needs a new shared-queue worker (hubs and event records wait meanwhile).
            await self._release_shared()
        try:
            await self._start(new)
        except Exception as exc:
            self._out(
                f"reload: the new functions did not start ({type(exc).__name__}: {exc}); "
                "running the previous ones (restart adapter dev if this persists)"
            )
            log.debug("reload failed", exc_info=True)
            await self._stop()
            try:
                await self._start(old)
            except Exception as again:
                self._out(
                    f"reload: the previous functions did not start either "
                    f"({type(again).__name__}: {again}); restart adapter dev"
                )
            self._load = replace(old, problems=new.problems)
            return
        self._load = new
        self.reloads += 1
        broken = _files_of(new.problems)
        same_ids = {f.id for f in old.functions} == {f.id for f in new.functions}
        if not (same_ids and changed and changed <= broken):
            self._out(_summary(old, new))

    async def _start(self, load: FolderLoad) -> None:
        """Sync schedules, register and start the workers of ``load``'s apps."""
        self._stamp = dev_stamp(self._stamp)
        apps = load.apps
        await prepare_namespace(self.client, apps)
        settings = replace(self._settings, deploy_stamp=self._stamp)
        for app in apps:
            app.set_temporal_client(self.client)
            _print_sync(
                await sync_schedules(self.client, app, version=code_version(app, self._stamp)),
                self._out,
            )
        stack = contextlib.AsyncExitStack()
        try:
            for app in apps:
                worker = await stack.enter_async_context(Worker(self.client, app, settings))
                if self._shared is None:
                    # Hold the shared queue's worker for our whole run: restarts keep it up.
                    self._shared = contextlib.AsyncExitStack()
                    self._shared_codec = worker.client.data_converter.payload_codec
                    await self._shared.enter_async_context(worker.holding_shared_queue())
        except BaseException:
            await stack.aclose()
            raise
        self._workers = stack
        ids = {app.app_id for app in apps}
        for gone in sorted(self._apps - ids):
            # The app is no longer in the folder: stop routing to it, drop its schedules.
            await unregister(self.client, gone)
            _print_sync(await sync_schedules(self.client, Inngest(app_id=gone)), self._out)
            self._out(f"  app {gone}: unregistered (no longer in {self.folder.name}/)")
        self._apps = ids

    def _codec(self, app: Inngest) -> PayloadCodec | None:
        """The payload codec the app's worker runs with (its own and the settings')."""
        options = app.temporal_options.merged(self._settings.temporal_options)
        return with_options(self.client, options).data_converter.payload_codec

    async def _release_shared(self) -> None:
        """Let the shared queue's worker stop with its last user (the next start makes one)."""
        if self._shared is not None:
            shared, self._shared = self._shared, None
            await shared.aclose()

    async def _stop(self) -> None:
        """Shut the app workers down (running steps finish within the graceful shutdown)."""
        if self._workers is not None:
            stack, self._workers = self._workers, None
            self.stopping = True
            quiet = logging.getLogger("temporalio.worker._worker")
            level = quiet.level
            quiet.setLevel(max(level, logging.WARNING))  # no "Beginning worker shutdown" per reload
            try:
                await stack.aclose()
            finally:
                quiet.setLevel(level)
                self.stopping = False


def _files_of(problems: tuple[ModuleProblem, ...]) -> set[str]:
    """The absolute paths of the problems' files (as :func:`snapshot` names them)."""
    return {str(Path(p.file).resolve()) for p in problems}


def _same(held: PayloadCodec | None, other: PayloadCodec | None) -> bool:
    """Whether two codecs may share the namespace's queue (the shared worker's rule)."""
    return held is other or (held is not None and held == other)


def _summary(old: FolderLoad, new: FolderLoad) -> str:
    """One line: what the reload changed."""
    before = {(f.app_id, f.id) for f in old.functions}
    after = {(f.app_id, f.id) for f in new.functions}
    added = sorted(f"+{fid}" for _, fid in after - before)
    removed = sorted(f"-{fid}" for _, fid in before - after)
    changes = " ".join([*added, *removed]) or "code changed"
    broken = f", {len(new.problems)} module(s) failed to import" if new.problems else ""
    return f"reload: {new.folder.name}/ now serves {len(new.functions)} function(s) ({changes}{broken})"


def _print_sync(report: SyncReport, out: Callable[[str], None]) -> None:
    for verb in ("created", "updated", "deleted"):
        for sid in getattr(report, verb):
            out(f"  schedule {sid}: {verb}")
