"""Loading a functions folder again while ``adapter dev`` runs: fresh imports, problems, last good code.

:func:`load_folder` imports every module of the folder afresh (the package's modules are
dropped from ``sys.modules`` first, so a changed file is read again). A module that fails
to import does not stop the others: it becomes a :class:`ModuleProblem` (the one-line
error :mod:`adapter._define.discovery` gives), and the functions its last good version
defined stay in the load (``carried``), so that their runs go on. :func:`snapshot` is what
the dev worker polls to see that the folder changed. :func:`folder_load` gives the console
a folder's current load: the dev worker's when one runs in this process, else a load of
its own, made again when the folder changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from adapter._define.client import Inngest
from adapter._define.discovery import _check_unique, apps_of, load_error, shown
from adapter._define.function import Function
from adapter._errors import LoadError

__all__ = [
    "FolderLoad",
    "ModuleProblem",
    "Snapshot",
    "folder_load",
    "load_folder",
    "publish",
    "served",
    "snapshot",
]

Snapshot = dict[str, tuple[int, int]]
"""Every ``.py`` file of a folder (recursively) and its (mtime in ns, size)."""


@dataclass(frozen=True)
class ModuleProblem:
    """A module of the folder that could not be loaded: its file and the one-line error."""

    file: str
    message: str
    details: str = ""


@dataclass(frozen=True)
class FolderLoad:
    """What a load of the folder gave: the functions to run and the modules that failed.

    ``owners`` maps each module name to the functions it defined (for a module that
    failed: those its last good version defined, ``carried`` over).
    """

    folder: Path
    functions: tuple[Function, ...] = ()
    problems: tuple[ModuleProblem, ...] = ()
    owners: Mapping[str, tuple[Function, ...]] = field(default_factory=dict)
    carried: tuple[Function, ...] = ()
    files: Snapshot = field(default_factory=dict)
    """The files as this load read them (taken before the imports)."""

    def read(self, path: str | Path) -> bool:
        """Whether this load read the file at ``path`` as it is now (same mtime and size)."""
        key = Path(path).resolve()
        try:
            stat = key.stat()
        except OSError:
            return False
        return self.files.get(str(key)) == (stat.st_mtime_ns, stat.st_size)

    @property
    def apps(self) -> list[Inngest]:
        """The distinct clients (apps) the functions belong to."""
        return apps_of(list(self.functions))

    @classmethod
    def of(cls, folder: str | Path, functions: list[Function]) -> FolderLoad:
        """The load ``discover`` made of ``folder`` (each function owned by its handler's module)."""
        path = Path(folder).resolve()
        owners: dict[str, list[Function]] = {}
        for fn in functions:
            owners.setdefault(_owner(fn, path.name, path.name), []).append(fn)
        owned = {k: tuple(v) for k, v in owners.items()}
        return cls(path, tuple(functions), (), owned, files=snapshot(path))


def snapshot(folder: str | Path) -> Snapshot:
    """The folder's ``.py`` files and their modification times and sizes (empty: no folder)."""
    root = Path(folder)
    found: Snapshot = {}
    if not root.is_dir():
        return found
    for path in root.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        try:
            stat = path.stat()
        except OSError:
            continue  # removed while we looked
        found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


def load_folder(path: str | Path, previous: FolderLoad | None = None) -> FolderLoad:
    """Import the folder's package and each of its modules afresh; never raises for a module.

    A module that fails is a problem and keeps the functions of its version in
    ``previous``. When the package itself (its ``__init__.py``) fails, or the folder is
    gone, or a function id is defined twice, nothing of the new load is used: the
    previous functions stay, with the problem.
    """
    folder = Path(path).resolve()
    if not folder.is_dir():
        message = f"functions folder {shown(str(folder))!r} not found; create it with a client.py"
        return _keep(previous, folder, [ModuleProblem(shown(str(folder)), message)])
    package = folder.name
    files = snapshot(folder)
    _forget(package, folder)
    if str(folder.parent) not in sys.path:
        sys.path.insert(0, str(folder.parent))
    try:
        importlib.import_module(package)
    except Exception as exc:
        return _keep(previous, folder, [_problem(exc, folder, package)], files)
    loader = _Loader(folder, files)
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
        loader.load(f"{package}.{info.name}")
    return loader.result(previous)


class _Loader:
    """One fresh import of a folder's modules, keeping track of who defined what."""

    def __init__(self, folder: Path, files: Snapshot) -> None:
        self.folder = folder
        self.files = files
        self.package = folder.name
        self.owners: dict[str, list[Function]] = {}
        self.failed: list[str] = []
        self.problems: list[ModuleProblem] = []
        self.clients: dict[int, Inngest] = {}
        self.seen: set[int] = set()
        self._collect(self.package)

    def load(self, name: str) -> None:
        """Import one module; a failure is a problem, and what it half defined is dropped."""
        try:
            importlib.import_module(name)
        except Exception as exc:
            self.failed.append(name)
            problem = _problem(exc, self.folder, name)
            if all(p.message != problem.message for p in self.problems):
                self.problems.append(problem)  # a broken client.py fails every module once
        self._collect(name)
        for fn in self.owners.pop(name, []) if name in self.failed else []:
            _drop(fn)

    def _collect(self, importing: str) -> None:
        """Give every function that appeared during the import of ``importing`` an owner."""
        for module in self._modules():
            for value in list(vars(module).values()):
                if isinstance(value, Inngest):
                    self.clients.setdefault(id(value), value)
                elif isinstance(value, Function) and isinstance(value.client, Inngest):
                    self.clients.setdefault(id(value.client), value.client)
        for client in list(self.clients.values()):
            for fn in client.functions:
                if id(fn) not in self.seen:
                    self.seen.add(id(fn))
                    self.owners.setdefault(_owner(fn, self.package, importing), []).append(fn)

    def _modules(self) -> list[ModuleType]:
        prefix = self.package + "."
        return [
            module
            for name, module in list(sys.modules.items())
            if (name == self.package or name.startswith(prefix)) and module is not None
        ]

    def result(self, previous: FolderLoad | None) -> FolderLoad:
        """The load: the new functions, plus the last good ones of the modules that failed."""
        defined = {(fn.app_id, fn.id) for fns in self.owners.values() for fn in fns}
        carried: list[Function] = []
        for name in self.failed:
            for fn in previous.owners.get(name, ()) if previous else ():
                if (fn.app_id, fn.id) in defined:
                    continue  # defined again by a module that loaded
                defined.add((fn.app_id, fn.id))
                carried.append(fn)
                self.owners.setdefault(name, []).append(fn)
                _adopt(fn, self.clients.values())
        functions: dict[int, Function] = {}
        for fns in self.owners.values():
            for fn in fns:
                functions[id(fn)] = fn
        ordered = sorted(functions.values(), key=lambda f: (f.app_id, f.id))
        try:
            _check_unique(ordered)
        except LoadError as exc:
            problem = ModuleProblem(shown(str(self.folder)), str(exc), exc.details)
            return _keep(previous, self.folder, [problem], self.files)
        return FolderLoad(
            self.folder,
            tuple(ordered),
            tuple(self.problems),
            {k: tuple(v) for k, v in self.owners.items() if v or k in self.failed},
            tuple(carried),
            self.files,
        )


def _owner(fn: Function, package: str, importing: str) -> str:
    """The module that defines ``fn``: its handler's, when that is in the package."""
    module = getattr(fn.handler, "__module__", None)
    if isinstance(module, str) and (module == package or module.startswith(package + ".")):
        return module
    return importing


def _drop(fn: Function) -> None:
    """Take a function a failed import had defined off its client."""
    registered = getattr(fn.client, "_functions", None)
    if isinstance(registered, dict) and registered.get(fn.id) is fn:
        del registered[fn.id]


def _adopt(fn: Function, clients: Iterable[Inngest]) -> None:
    """Serve a carried function from the new client of its app, when there is one.

    Without one (the app's client.py failed too) it stays on its old client.
    """
    for client in clients:
        if client.app_id == fn.app_id:
            client._functions.setdefault(fn.id, fn)
            return


def _keep(
    previous: FolderLoad | None,
    folder: Path,
    problems: list[ModuleProblem],
    files: Snapshot | None = None,
) -> FolderLoad:
    """The previous load's functions with these problems, found in ``files``."""
    seen = files if files is not None else snapshot(folder)
    if previous is None:
        return FolderLoad(folder, problems=tuple(problems), files=seen)
    return FolderLoad(
        folder, previous.functions, tuple(problems), previous.owners, previous.functions, seen
    )


def _problem(exc: BaseException, folder: Path, module: str) -> ModuleProblem:
    error = load_error(exc, folder, module)
    spec_file = _file_of(folder, module)
    return ModuleProblem(spec_file, str(error), error.details)


def _file_of(folder: Path, module: str) -> str:
    """The file a module of the folder is read from (``functions/x.py`` or its package)."""
    parts = module.split(".")[1:]
    base = folder.joinpath(*parts) if parts else folder
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return shown(str(candidate))
    return shown(str(base))


def _forget(package: str, folder: Path) -> None:
    """Drop the package's modules and compiled files, so the next import reads the sources.

    A ``.pyc`` is trusted when the source's mtime (in seconds) and size match: a file
    rewritten within the same second at the same size would be read stale.
    """
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    for source in folder.rglob("*.py"):
        if "__pycache__" not in source.parts:
            Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
    importlib.invalidate_caches()


# --- the current load of a folder, for the console -------------------------------------------

_LIVE: dict[Path, Callable[[], FolderLoad]] = {}
_OWN: dict[Path, tuple[Snapshot, FolderLoad]] = {}


def publish(folder: str | Path, current: Callable[[], FolderLoad]) -> Callable[[], None]:
    """Say that ``current`` gives the folder's load (the dev worker's); returns the undo."""
    key = Path(folder).resolve()
    _LIVE[key] = current

    def unpublish() -> None:
        if _LIVE.get(key) is current:
            del _LIVE[key]

    return unpublish


def served(folder: str | Path) -> FolderLoad | None:
    """The load the dev worker of this process serves for the folder; None without one."""
    live = _LIVE.get(Path(folder).resolve())
    return live() if live is not None else None


def folder_load(folder: str | Path) -> FolderLoad:
    """The folder's current functions and problems: the dev worker's, else a load of our own."""
    key = Path(folder).resolve()
    live = _LIVE.get(key)
    if live is not None:
        return live()
    now = snapshot(key)
    cached = _OWN.get(key)
    if cached is not None and cached[0] == now:
        return cached[1]
    load = load_folder(key, cached[1] if cached else None)
    _OWN[key] = (now, load)
    return load
