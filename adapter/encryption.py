"""Encrypting what Temporal stores: an AES-256-GCM :class:`~temporalio.converter.PayloadCodec`.

The counterpart of inngest-py's encryption middleware (``inngest_encryption``). On
Temporal, encryption is a payload codec on the client's data converter: every payload
the client or the worker hands to the server (event data, step results, handler
results, memos, summaries, signal and query arguments) is encrypted before it leaves
the process and decrypted when it comes back, so the server and its history hold
ciphertext only::

    from adapter.encryption import EncryptionCodec

    inngest = Inngest(app_id="shop", payload_codec=EncryptionCodec())  # keys from the env

Keys are 32 random bytes, given as 64 hex digits or base64 (``secrets.token_hex(32)``):

* ``ADAPTER_ENCRYPTION_KEY``: the current key; every new payload is encrypted with it;
* ``ADAPTER_ENCRYPTION_OLD_KEYS``: earlier keys, comma-separated; payloads encrypted
  with any of them still decrypt (rotation: make the old key an old key, set a new one).

An encrypted payload is marked in its metadata (``encoding: binary/encrypted``, the
cipher and the key's id: the first 16 hex digits of its SHA-256), so payloads written
before encryption was turned on still decode as they are. ``decrypt_only=True`` reads
encrypted payloads but writes plain ones (turning encryption off).

What is not encrypted: search attributes (app, function, event name and id, which the
listings and ``adapter cancel`` query), workflow ids (they contain function and event
ids), failure messages and stack traces, and timestamps.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from adapter._errors import ConfigError

__all__ = [
    "ENCRYPTED_ENCODING",
    "ENCRYPTION_KEY_ENV",
    "ENCRYPTION_OLD_KEYS_ENV",
    "DecryptionError",
    "EncryptionCodec",
    "key_id",
    "parse_key",
]

ENCRYPTION_KEY_ENV = "ADAPTER_ENCRYPTION_KEY"
"""The environment variable holding the current key (64 hex digits or base64 of 32 bytes)."""
ENCRYPTION_OLD_KEYS_ENV = "ADAPTER_ENCRYPTION_OLD_KEYS"
"""The environment variable holding earlier keys, comma-separated: decrypted, never used to encrypt."""
ENCRYPTED_ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload (Temporal's convention for codecs)."""
CIPHER = b"AES-256-GCM"
"""The ``encryption-cipher`` metadata of an encrypted payload."""
CIPHER_KEY = "encryption-cipher"
KEY_ID_KEY = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(ValueError):
    """An encrypted payload that none of the keys decrypts (or that was tampered with)."""


def parse_key(value: str | bytes, *, source: str = "key") -> bytes:
    """32 key bytes from raw bytes, 64 hex digits or base64 (standard or URL-safe).

    Anything else raises :class:`~adapter.ConfigError` naming ``source``: a passphrase
    is not a key (generate one with ``python -c "import secrets; print(secrets.token_hex(32))"``).
    """
    if isinstance(value, bytes):
        if len(value) == KEY_BYTES:
            return value
        raise ConfigError(f"{source}: an AES-256 key is {KEY_BYTES} bytes, not {len(value)}")
    text = value.strip()
    candidates: list[bytes] = []
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(text))
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(decode(text + "=" * (-len(text) % 4)))
    for raw in candidates:
        if len(raw) == KEY_BYTES:
            return raw
    raise ConfigError(
        f"{source} is not a {KEY_BYTES}-byte key in hex (64 digits) or base64; generate one "
        'with: python -c "import secrets; print(secrets.token_hex(32))"'
    )


def key_id(key: bytes) -> str:
    """The id written beside each payload: the first 16 hex digits of the key's SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM encryption of every payload, with key rotation.

    ``key`` encrypts (default: ``ADAPTER_ENCRYPTION_KEY``); ``old_keys`` only decrypt
    (default: ``ADAPTER_ENCRYPTION_OLD_KEYS``, comma-separated). With ``decrypt_only``
    nothing new is encrypted, and ``key`` may be absent when ``old_keys`` are given.
    Payloads without the encrypted marker pass through both ways unchanged on decode.
    Each payload gets a fresh 96-bit nonce; the key id is bound to the ciphertext as
    associated data, so a payload cannot be relabelled to another key.
    """

    def __init__(
        self,
        key: str | bytes | None = None,
        *,
        old_keys: Iterable[str | bytes] | None = None,
        decrypt_only: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """Read the keys (arguments first, else the environment); ConfigError when unusable."""
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:  # pragma: no cover - the extra is part of dev
            raise ConfigError(
                "adapter.encryption needs the cryptography package: "
                "pip install 'inngest-temporal-adapter[encryption]'"
            ) from None
        env = os.environ if environ is None else environ
        given = key if key is not None else env.get(ENCRYPTION_KEY_ENV) or None
        if old_keys is None:
            old_keys = [k for k in env.get(ENCRYPTION_OLD_KEYS_ENV, "").split(",") if k.strip()]
            old_source = ENCRYPTION_OLD_KEYS_ENV
        else:
            old_source = "old_keys"
        current = (
            parse_key(given, source=ENCRYPTION_KEY_ENV if key is None else "key")
            if given is not None
            else None
        )
        olds = [parse_key(k, source=f"{old_source}[{i}]") for i, k in enumerate(old_keys)]
        if current is None and not (decrypt_only and olds):
            raise ConfigError(
                f"EncryptionCodec: no key: set {ENCRYPTION_KEY_ENV} (64 hex digits; generate one "
                'with: python -c "import secrets; print(secrets.token_hex(32))") or pass key='
            )
        self.decrypt_only = decrypt_only
        self._current = current
        self._ciphers = {key_id(k): AESGCM(k) for k in ([current] if current else []) + olds}
        self.key_id = key_id(current) if current is not None else None
        """The id of the key new payloads are encrypted with (None with decrypt_only and no key)."""

    @property
    def key_ids(self) -> list[str]:
        """The ids of every key this codec decrypts with, the current one first."""
        return list(self._ciphers)

    def __eq__(self, other: object) -> bool:
        """Codecs are equal when they encrypt with the same key and decrypt with the same keys."""
        if not isinstance(other, EncryptionCodec):
            return NotImplemented
        return (self.key_id, self.decrypt_only, sorted(self._ciphers)) == (
            other.key_id,
            other.decrypt_only,
            sorted(other._ciphers),
        )

    def __hash__(self) -> int:
        """Hash of the key ids (see :meth:`__eq__`)."""
        return hash((self.key_id, self.decrypt_only, tuple(sorted(self._ciphers))))

    def __repr__(self) -> str:
        """Names the key ids, never the keys."""
        olds = [k for k in self._ciphers if k != self.key_id]
        return f"EncryptionCodec(key_id={self.key_id!r}, old_key_ids={olds!r}, decrypt_only={self.decrypt_only})"

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, encrypted with the current key (as :meth:`encode` does)."""
        if self.decrypt_only or self.key_id is None or _is_encrypted(payload):
            return payload
        nonce = secrets.token_bytes(NONCE_BYTES)
        kid = self.key_id.encode()
        sealed = self._ciphers[self.key_id].encrypt(nonce, payload.SerializeToString(), kid)
        return Payload(
            metadata={"encoding": ENCRYPTED_ENCODING, CIPHER_KEY: CIPHER, KEY_ID_KEY: kid},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One payload back in the clear; an unmarked payload is returned as it is."""
        if not _is_encrypted(payload):
            return payload
        cipher = payload.metadata.get(CIPHER_KEY, b"")
        if cipher != CIPHER:
            raise DecryptionError(
                f"payload encrypted with {cipher.decode(errors='replace')!r}, not AES-256-GCM"
            )
        kid = payload.metadata.get(KEY_ID_KEY, b"").decode(errors="replace")
        aes = self._ciphers.get(kid)
        if aes is None:
            raise DecryptionError(
                f"payload encrypted with key {kid}, which is neither {ENCRYPTION_KEY_ENV} nor in "
                f"{ENCRYPTION_OLD_KEYS_ENV} (this process has keys {', '.join(self._ciphers)})"
            )
        from cryptography.exceptions import InvalidTag

        try:
            clear = aes.decrypt(
                payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], kid.encode()
            )
        except InvalidTag:
            raise DecryptionError(
                f"payload encrypted with key {kid} does not authenticate (altered or truncated)"
            ) from None
        return Payload.FromString(clear)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload (see :meth:`encrypt`)."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt each encrypted payload, pass the others through (see :meth:`decrypt`)."""
        return [self.decrypt(p) for p in payloads]


def _is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCRYPTED_ENCODING
