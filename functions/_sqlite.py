"""A small helper shared by the examples: open a SQLite file named by an env var."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def connect(env_var: str, default: str) -> sqlite3.Connection:
    """Open the database at ``$env_var`` (else ``default``), creating its folder.

    Use it as ``with contextlib.closing(connect(...)) as db, db:`` so that the
    transaction commits and the connection closes.
    """
    path = Path(os.environ.get(env_var) or default)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    return db
