"""The console's door: open in dev, otherwise a token (login form or bearer header).

Outside dev the console needs a token: the event keys, or ``--console-token`` /
``ADAPTER_CONSOLE_TOKEN``. A browser signs in once at ``/login`` (a cookie holding
an HMAC of the token, never the token itself); scripts send
``Authorization: Bearer <token>``. A wrong or missing token gets 401 and the login
form. With no token configured the console refuses to be built outside dev.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from adapter._errors import ConfigError

__all__ = [
    "TOKEN_ENV",
    "COOKIE",
    "PASS_THROUGH",
    "OPEN_PATHS",
    "ConsoleAuth",
    "require_token",
    "cookie_value",
    "configured_tokens",
]

TOKEN_ENV = "ADAPTER_CONSOLE_TOKEN"
COOKIE = "adapter_console"
PASS_THROUGH = ("/static/", "/e/", "/v1/")
"""Path prefixes the console never guards: its assets, and the Event API's own."""
OPEN_PATHS = frozenset({"/login", "/e", "/health"})
"""Exact paths the console never guards."""


def configured_tokens(
    options: Sequence[str] | None, environ: Mapping[str, str], event_keys: Iterable[str] = ()
) -> list[str]:
    """The accepted tokens: ``--console-token``, else the env var, else the event keys."""
    tokens = [t.strip() for t in options or [] if t.strip()]
    tokens += [t.strip() for t in environ.get(TOKEN_ENV, "").split(",") if t.strip()]
    return tokens or sorted(k for k in event_keys if k)


def cookie_value(token: str) -> str:
    """What the sign-in cookie holds for ``token``: an HMAC, so the cookie is not the token."""
    return hmac.new(token.encode(), b"adapter-console-session", hashlib.sha256).hexdigest()


def _matches(candidate: str, tokens: Sequence[str], *, hashed: bool) -> bool:
    found = False
    for token in tokens:
        expected = cookie_value(token) if hashed else token
        found |= hmac.compare_digest(candidate.encode(), expected.encode())
    return found


def authorized(request: Request, tokens: Sequence[str]) -> bool:
    """Whether the request carries an accepted token (bearer header or sign-in cookie)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return _matches(header[7:].strip(), tokens, hashed=False)
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and _matches(cookie, tokens, hashed=True)


def check_token(token: str, tokens: Sequence[str]) -> bool:
    """Whether ``token`` (typed into the login form) is accepted."""
    return bool(token) and _matches(token, tokens, hashed=False)


def login_target(request: Request) -> str:
    """The login page's address that comes back to ``request``'s page after signing in."""
    return "/login?next=" + quote(request.url.path, safe="/")


def safe_next(target: str) -> str:
    """A same-site path to go to after signing in (anything else goes to the start page)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def require_token(dev: bool, tokens: Sequence[str]) -> None:
    """ConfigError when a console outside dev has no token (it is never served open)."""
    if not dev and not tokens:
        raise ConfigError(
            "the console needs a token outside dev: pass --console-token TOKEN, set "
            f"{TOKEN_ENV}, or give an event key (--event-key / INNGEST_EVENT_KEY)"
        )


class ConsoleAuth:
    """ASGI middleware: pass the request on when dev or authorized, else ``on_refused``."""

    def __init__(self, app: ASGIApp, *, dev: bool, tokens: Sequence[str], refused: ASGIApp) -> None:
        """Guard ``app``; ``refused`` answers an unauthenticated request (the 401 login page)."""
        require_token(dev, tokens)
        self.app = app
        self.dev = dev
        self.tokens = list(tokens)
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let dev, assets, login and authorized requests through; answer the rest 401."""
        if scope["type"] != "http" or self.dev:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if (
            path in OPEN_PATHS
            or path.startswith(PASS_THROUGH)
            or authorized(Request(scope), self.tokens)
        ):
            await self.app(scope, receive, send)
            return
        await self.refused(scope, receive, send)
