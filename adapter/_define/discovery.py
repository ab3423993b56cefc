"""Finding the user's functions: every module in a functions/ package."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from adapter._define.client import Inngest
from adapter._define.function import Function


def discover(path: str | Path = "functions") -> list[Function]:
    """Import every module of the package at ``path``; return the functions they define.

    The package's parent folder is put on ``sys.path`` so that modules can import
    each other as ``functions.client`` and so on.
    """
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"functions folder {str(path)!r} not found; create it with a client.py, or pass "
            "--functions PATH"
        )
    parent, package = str(folder.parent), folder.name
    if parent not in sys.path:
        sys.path.insert(0, parent)
    found: dict[int, Function] = {}
    names = [package] + [
        f"{package}.{info.name}"
        for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name)
    ]
    for name in names:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, Function):
                found[id(value)] = value
    # Functions registered on a client but not bound to a module name count too.
    for fn in list(found.values()):
        for other in fn.client.functions:
            found[id(other)] = other
    return sorted(found.values(), key=lambda f: (f.app_id, f.id))


def apps_of(functions: list[Function]) -> list[Inngest]:
    """The distinct clients (apps) the functions belong to."""
    seen: dict[int, Inngest] = {}
    for fn in functions:
        if isinstance(fn.client, Inngest):
            seen.setdefault(id(fn.client), fn.client)
    return list(seen.values())
