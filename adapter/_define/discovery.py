"""Finding the user's functions: every module in a functions/ package.

A folder that cannot be loaded — a module that fails to import, a function id defined
twice, a handler that is not callable — raises :class:`~adapter._errors.LoadError`:
one line naming the file, the line and the fix (the traceback in ``details``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Any

from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._errors import ConfigError, DuplicateFunctionError, LoadError


def discover(path: str | Path = "functions") -> list[Function]:
    """Import every module of the package at ``path``; return the functions they define.

    The package's parent folder is put on ``sys.path`` so that modules can import
    each other as ``functions.client`` and so on. Raises :class:`LoadError` when the
    folder is missing or a module cannot be loaded.
    """
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise LoadError(
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
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise load_error(exc, folder, name) from exc
        for value in vars(module).values():
            if isinstance(value, Function):
                found[id(value)] = value
    # Functions registered on a client but not bound to a module name count too.
    for fn in list(found.values()):
        for other in fn.client.functions:
            found[id(other)] = other
    _check_unique(list(found.values()))
    return sorted(found.values(), key=lambda f: (f.app_id, f.id))


def apps_of(functions: list[Function]) -> list[Inngest]:
    """The distinct clients (apps) the functions belong to."""
    seen: dict[int, Inngest] = {}
    for fn in functions:
        if isinstance(fn.client, Inngest):
            seen.setdefault(id(fn.client), fn.client)
    return list(seen.values())


# --- load errors ---------------------------------------------------------------------------


def load_error(exc: BaseException, folder: Path, module: str) -> LoadError:
    """The one-line error for ``exc``, raised while importing ``module`` of ``folder``."""
    details = "".join(traceback.format_exception(exc))
    where = _where(exc, folder)
    if where is None:
        where = _module_file(module)
    text = " ".join(_problem(exc, folder.name).split())  # one line, whatever the message
    return LoadError(f"{where}: {text}" if where else text, details)


def _problem(exc: BaseException, package: str) -> str:
    """What went wrong and how to fix it."""
    if isinstance(exc, DuplicateFunctionError):
        app = getattr(exc.existing, "app_id", "?")
        return (
            f"function id {exc.fn_id!r} is defined twice in app {app!r}, also at "
            f"{definition(exc.existing)}; give one of them another id"
        )
    if isinstance(exc, ConfigError):
        return str(exc)  # config errors name the field and what it takes
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg}; fix the syntax at this line"
    if isinstance(exc, ModuleNotFoundError):
        missing = exc.name or str(exc)
        if missing == package or missing.startswith(package + "."):
            return (
                f"ModuleNotFoundError: No module named {missing!r}; there is no such module in "
                "the functions folder: fix the import"
            )
        top = missing.split(".")[0]
        return (
            f"ModuleNotFoundError: No module named {missing!r}; install the package that "
            f"provides {top!r} where the worker runs (e.g. pip install {top}), or fix the import"
        )
    if isinstance(exc, ImportError):
        return f"ImportError: {exc}; import a name the module defines"
    return (
        f"{type(exc).__name__}: {exc}; this line raised while the module was imported "
        "(--debug shows the traceback)"
    )


def _where(exc: BaseException, folder: Path) -> str | None:
    """``file:line`` of the innermost place in ``folder`` where ``exc`` was raised."""
    if isinstance(exc, SyntaxError) and exc.filename and _inside(exc.filename, folder):
        return f"{shown(exc.filename)}:{exc.lineno or 1}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if _inside(frame.filename, folder):
            return f"{shown(frame.filename)}:{frame.lineno or 1}"
    return None


def _inside(filename: str, folder: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def _module_file(module: str) -> str | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return shown(spec.origin) if spec is not None and spec.origin else None


def shown(filename: str) -> str:
    """A file's path as the user knows it: relative to the current folder when inside it."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return os.fspath(path)


def definition(fn: object) -> str:
    """``file:line`` where a function's handler is defined (its first decorator)."""
    handler: Any = getattr(fn, "handler", fn)
    try:
        filename = inspect.getsourcefile(handler)
        _, line = inspect.getsourcelines(handler)
    except (OSError, TypeError):
        return "an unknown place"
    return f"{shown(filename)}:{line}" if filename else "an unknown place"


def _check_unique(functions: list[Function]) -> None:
    """No function id twice in an app, also across clients that share an app id."""
    seen: dict[tuple[str, str], Function] = {}
    for fn in functions:
        key = (fn.app_id, fn.id)
        first = seen.setdefault(key, fn)
        if first is not fn and first.client is not fn.client:
            raise LoadError(
                f"{definition(fn)}: function id {fn.id!r} is defined twice in app "
                f"{fn.app_id!r}, also at {definition(first)} (two Inngest clients with this "
                "app_id); give one of them another id, or define both on one client"
            )
