"""Links into the Temporal Web UI."""

from __future__ import annotations

import os
from urllib.parse import quote

DEFAULT_UI_URL = "http://127.0.0.1:8233"


def ui_base(option: str | None = None) -> str:
    """The Temporal Web UI address: ``--ui``, else ``TEMPORAL_UI_URL``, else the dev default."""
    base = (option or os.environ.get("TEMPORAL_UI_URL") or DEFAULT_UI_URL).strip().rstrip("/")
    return base if "://" in base else f"http://{base}"


def run_url(base: str, namespace: str, workflow_id: str) -> str:
    """The run's page in the Temporal Web UI."""
    return (
        f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe=':@')}"
    )
