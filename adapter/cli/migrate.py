"""``adapter migrate PATH [--check]``: rewrite inngest-py imports to this package."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adapter._migrate.tree import migrate_tree
from adapter.cli.options import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``migrate`` to the ``adapter`` parser."""
    parser = subparsers.add_parser(
        "migrate",
        help="rewrite `import inngest` to this package in a tree of Python files",
    )
    parser.add_argument("path", metavar="PATH", help="a file or a folder (recursively)")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if anything would change"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=migrate_command)


def migrate_command(args: argparse.Namespace) -> int:
    """Rewrite (or, with --check, only list) and report what has no counterpart.

    Exit 0: done and nothing left to fix by hand; 1: uses to fix by hand (their
    file:line and fix are printed), or with ``--check`` files that would change;
    2: PATH does not exist.
    """
    root = Path(args.path)
    if not root.exists():
        print(f"adapter migrate: {root} does not exist", file=sys.stderr)
        return 2
    report = migrate_tree(root, write=not args.check)
    if args.json:
        print(
            json.dumps(
                {
                    "files": report.files,
                    "changed": [str(p) for p in report.changed],
                    "written": not args.check,
                    "unmapped": [
                        {"file": str(p), "line": u.line, "use": u.use, "fix": u.fix}
                        for p, u in report.unmapped
                    ],
                    "unparsable": [{"file": str(p), "error": e} for p, e in report.unparsable],
                },
                indent=2,
            )
        )
    else:
        verb = "would change" if args.check else "changed"
        for path in report.changed:
            print(f"{verb}: {path}")
        for path, u in report.unmapped:
            print(f"{path}:{u.line}: {u.use}: {u.fix}")
        for path, error in report.unparsable:
            print(f"{path}: not parsed ({error}); left as is")
        print(
            f"{len(report.changed)} of {report.files} file(s) {verb}; "
            f"{len(report.unmapped)} use(s) to fix by hand"
        )
    if report.unmapped or report.unparsable:
        return 1
    return 1 if args.check and report.changed else 0
