"""The code version an app's deploy writes into Temporal: a content hash and a deploy stamp.

A rolling deploy has old and new workers starting in any order. Whatever a worker
writes for its app (the cron schedules) carries its :class:`CodeVersion`, and a worker
whose stamp is lower than the stamp it finds there leaves it alone.

* ``hash``: what the functions are — the registration's digest (routes, options,
  waited events) and every cron trigger. Two workers with one hash serve the same code.
* ``stamp``: which deploy is newer, a number that only grows from deploy to deploy. The
  deployer gives it (``--deploy-stamp`` or ``ADAPTER_DEPLOY_STAMP``, e.g. a CI build
  number or ``git log -1 --format=%ct``); without one it is the newest modification
  time (epoch seconds) of the functions' source files. A worker's start time would not
  do: an old worker restarted in the middle of a rollout starts last.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapter._define.function import App
from adapter._define.routes import registration
from adapter._errors import ConfigError

DEPLOY_STAMP_ENV = "ADAPTER_DEPLOY_STAMP"


@dataclass(frozen=True)
class CodeVersion:
    """One deploy of an app's code: what it is (``hash``) and how new it is (``stamp``)."""

    stamp: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The form stored in Temporal (a schedule's memo)."""
        return {"stamp": self.stamp, "hash": self.hash}

    @classmethod
    def from_json(cls, value: object) -> CodeVersion | None:
        """Read a stored version; None for anything else (written before versions existed)."""
        if not isinstance(value, Mapping):
            return None
        stamp, digest = value.get("stamp"), value.get("hash")
        if isinstance(stamp, bool) or not isinstance(stamp, int) or not isinstance(digest, str):
            return None
        return cls(stamp, digest)

    def __str__(self) -> str:
        return f"stamp {self.stamp}, code {self.hash}"


def content_hash(app: App) -> str:
    """A hash of the app's function definitions (as registered, plus their crons)."""
    crons = [
        [fn.id, t.spec.fields, t.spec.timezone]
        for fn in app.functions
        for t in fn.config.cron_triggers
    ]
    body = [registration(app)["digest"], crons]
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def source_stamp(app: App) -> int:
    """The newest modification time (epoch seconds) of the source files of the app's handlers."""
    newest = 0
    for fn in app.functions:
        with suppress(OSError, TypeError):
            filename = inspect.getsourcefile(fn.handler)
            if filename:
                newest = max(newest, int(Path(filename).stat().st_mtime))
    return newest


def deploy_stamp(env: Mapping[str, str] | None = None) -> int | None:
    """The stamp ``ADAPTER_DEPLOY_STAMP`` gives, if set."""
    text = (os.environ if env is None else env).get(DEPLOY_STAMP_ENV, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(
            f"{DEPLOY_STAMP_ENV}={text!r} is not a whole number; give a number that grows with "
            "every deploy, e.g. a CI build number or `git log -1 --format=%ct`"
        ) from None


def code_version(app: App, stamp: int | None = None) -> CodeVersion:
    """The app's code version: ``stamp``, else ``ADAPTER_DEPLOY_STAMP``, else the sources' mtime."""
    if stamp is None:
        stamp = deploy_stamp()
    if stamp is None:
        stamp = source_stamp(app)
    return CodeVersion(stamp, content_hash(app))
