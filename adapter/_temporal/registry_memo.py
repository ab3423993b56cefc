"""A registration's memo, kept under temporalio's 2 KB memo warning (TMPRL1103).

A registration (:func:`adapter._define.routes.registration` plus the code version) grows
with the app's functions: a few hundred bytes each. Senders read every registration's
memo in one visibility listing, so the memo should carry it when it can:

* **Small enough** (its JSON at most ``MEMO_BYTES``): the memo is the entry itself, as
  before, so senders of every version read it.
* **Larger**: the memo is *packed*: ``{"packed": 1, "app_id", "version", "digest",
  "functions"}`` (the digest of the whole entry; how many functions) plus ``"z"``, the
  entry's JSON compressed (zlib, base64) when that still fits. Otherwise the entry is
  only in the registration workflow's input, which a sender reads once per registration
  run (one history call) and caches. A packed memo has no ``"v"``: a sender older than
  this format skips the registration rather than misread it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from typing import Any

MEMO_BYTES = 1536  # the entry's JSON; the payload adds its metadata, a codec may add more
PACKED = "packed"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def digest(entry: dict[str, Any]) -> str:
    """A registration's identity: the same entry, the same digest."""
    return hashlib.sha256(_json(entry).encode()).hexdigest()[:32]


def memo_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The memo value for ``entry`` (see the module doc)."""
    if len(_json(entry)) <= MEMO_BYTES:
        return entry
    packed: dict[str, Any] = {
        PACKED: 1,
        "app_id": entry["app_id"],
        "version": entry.get("version"),
        "digest": digest(entry),
        "functions": len(entry.get("functions") or ()),
    }
    z = base64.b64encode(zlib.compress(_json(entry).encode(), 9)).decode("ascii")
    if len(_json({**packed, "z": z})) <= MEMO_BYTES:
        packed["z"] = z
    return packed


def is_packed(memo: Any) -> bool:
    """Whether a memo value is packed (its entry compressed, or in the workflow's input)."""
    return isinstance(memo, dict) and memo.get(PACKED) == 1


def digest_of(memo: dict[str, Any]) -> str:
    """The digest of the entry a memo value stands for."""
    return str(memo["digest"]) if is_packed(memo) else digest(memo)


def unpack(memo: dict[str, Any]) -> dict[str, Any] | None:
    """The entry a memo value holds; None when it is only in the workflow's input."""
    if not is_packed(memo):
        return memo
    z = memo.get("z")
    if not isinstance(z, str):
        return None
    entry = json.loads(zlib.decompress(base64.b64decode(z)))
    return entry if isinstance(entry, dict) else None
