"""Event ids: ULIDs, as Inngest uses (time-ordered, 26 Crockford base32 chars)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_ulid(ms: int | None = None, randomness: bytes | None = None) -> str:
    """A ULID for time ``ms`` (now by default) and 10 bytes of ``randomness``."""
    stamp = int(time.time() * 1000) if ms is None else ms
    rand = os.urandom(10) if randomness is None else randomness
    return _encode(stamp, 10) + _encode(int.from_bytes(rand[:10].ljust(10, b"\0"), "big"), 16)
