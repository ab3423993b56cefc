"""Tokens: a phrase cut into normalised words, numbers, times, names and punctuation."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<ampm>[ap]\.m\.?(?![a-z]))
    |(?P<offset>(?:utc|gmt)\s*[+-]\s*\d{1,2}(?::?\d{2})?)
    |(?P<slash>[a-z_][\w.+-]*(?:/[\w.+-]+)+)
    |(?P<minute>:\d{2}(?!\d))
    |(?P<clock>\d{1,2}[:.]\d{2}(?!\d))
    |(?P<ord>\d{1,2}(?:st|nd|rd|th)(?![a-z]))
    |(?P<num>\d+)
    |(?P<word>[a-z]+(?:['’][a-z]+)?(?:-[a-z]+)*)
    |(?P<punct>[,;.!?&@\-–—])
    """,
    re.IGNORECASE | re.VERBOSE,
)
_PUNCT = {"&": "and", "@": "at", "–": "-", "—": "-", "!": ".", "?": "."}

# Where a schedule may end, and where a clause ends for sure.
BOUNDARIES = frozenset({",", ".", ";", "then", "and"})
HARD_BOUNDARIES = frozenset({",", ".", ";", "then"})
CLAUSE_ENDS = frozenset({",", ".", ";"})


@dataclass(frozen=True)
class Tok:
    """One token: normalised ``text`` and its ``start``/``end`` in the original phrase."""

    text: str  # normalised: lowercase, "a.m." -> "am", "&" -> "and", "@" -> "at"
    start: int
    end: int


def tokenize(text: str) -> list[Tok]:
    """Cut ``text`` into tokens (lowercase, except event names such as "user/created")."""
    out: list[Tok] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        kind = m.lastgroup
        norm = raw.lower().replace("’", "'")
        if kind == "ampm":
            norm = norm[0] + "m"
        elif kind == "offset":
            norm = re.sub(r"\s+", "", norm)
        elif kind == "slash":
            norm = raw.rstrip(".")  # event names keep their case; zones are matched lowercase
        elif kind == "punct":
            norm = _PUNCT.get(norm, norm)
        out.append(Tok(norm, m.start(), m.end()))
    return out


def token_texts(text: str) -> list[str]:
    """Return the normalised text of each token of ``text``."""
    return [t.text for t in tokenize(text)]


def at(toks: list[str], i: int) -> str:
    """Return the token at ``i``, or "" past the end."""
    return toks[i] if i < len(toks) else ""


def words(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of ``text`` as a set (for word lists)."""
    return frozenset(text.split())
