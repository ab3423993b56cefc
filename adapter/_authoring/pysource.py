"""Python source fragments shared by the skeleton, the model's prompt and the module check."""

from __future__ import annotations

import json
import keyword
import re

MAX_LINE = 100


def quote(text: str) -> str:
    """Return a double-quoted Python string literal (the style ruff format keeps)."""
    return json.dumps(text, ensure_ascii=False)


def prose(text: str) -> str:
    """Text safe inside a docstring or comment."""
    return re.sub(r"\s+", " ", text.replace("\\", "/").replace('"', "'")).strip()


def sentence(text: str) -> str:
    """Prose with a capital first letter and a final full stop."""
    text = prose(text)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def call_lines(indent: str, head: str, args: list[str], tail: str = ")") -> list[str]:
    """Return a call laid out as ruff format lays it out at 100 columns."""
    one = f"{indent}{head}{', '.join(args)}{tail}"
    if len(one) <= MAX_LINE:
        return [one]
    inner = indent + "    "
    joined = inner + ", ".join(args)
    if len(joined) <= MAX_LINE:
        return [f"{indent}{head}", joined, f"{indent}{tail}"]
    return [f"{indent}{head}", *(f"{inner}{a}," for a in args), f"{indent}{tail}"]


def client_import(package: str) -> str:
    """Return the line that imports the app's client from ``package`` (else from ``adapter``)."""
    if package.isidentifier() and not keyword.iskeyword(package):
        return f"from {package}.client import inngest"
    return "from adapter.client import inngest"
