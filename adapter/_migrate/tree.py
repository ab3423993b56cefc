"""Migrating a tree of files: which files, what changed, what to report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from adapter._migrate.imports import Unmapped, migrate_source

SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".state"})


@dataclass
class TreeReport:
    """What ``adapter migrate`` found in a tree."""

    changed: list[Path] = field(default_factory=list)
    unmapped: list[tuple[Path, Unmapped]] = field(default_factory=list)
    unparsable: list[tuple[Path, str]] = field(default_factory=list)
    files: int = 0


def python_files(root: Path) -> Iterator[Path]:
    """The .py files under ``root`` (or ``root`` itself), virtualenvs and caches left out."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*.py")):
        if not SKIPPED_DIRS.intersection(path.relative_to(root).parts):
            yield path


def migrate_tree(root: Path, *, write: bool) -> TreeReport:
    """Rewrite every file's inngest imports (only when ``write``); report what is left."""
    report = TreeReport()
    for path in python_files(root):
        report.files += 1
        text = path.read_text(encoding="utf-8")
        if "inngest" not in text:
            continue
        try:
            result = migrate_source(text)
        except cst.ParserSyntaxError as exc:
            report.unparsable.append((path, str(exc).splitlines()[0]))
            continue
        report.unmapped += [(path, u) for u in result.unmapped]
        if result.changed:
            report.changed.append(path)
            if write:
                path.write_text(result.source, encoding="utf-8")
    return report
