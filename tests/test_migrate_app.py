"""A realistic inngest-py app (tests/inngest_app/) moves over with ``adapter migrate``.

The fixture is a FastAPI app with three functions, a middleware and a test suite that
uses ``inngest.experimental.mocked``, written against inngest-py (its suite passes with
the real ``inngest`` package). Here a copy is migrated by the ``adapter`` command and
its own tests run unchanged, in a subprocess, against this adapter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import run_adapter

FIXTURE = Path(__file__).parent / "inngest_app"


def test_adapter_migrate_turns_the_inngest_py_app_into_one_whose_tests_pass(
    tmp_path: Path,
) -> None:
    app = tmp_path / "shop-app"
    shutil.copytree(FIXTURE, app)
    before = (app / "shop" / "functions.py").read_text()

    migrated = run_adapter("migrate", ".", cwd=app)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "0 use(s) to fix by hand" in migrated.stdout, migrated.stdout
    after = (app / "shop" / "functions.py").read_text()
    assert after == before.replace("import inngest\n", "import adapter as inngest\n", 1)
    assert "import adapter.fast_api" in (app / "shop" / "main.py").read_text()
    assert (
        "from adapter.experimental import mocked" in (app / "tests" / "test_orders.py").read_text()
    )

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "6 passed" in tests.stdout, tests.stdout[-2000:]
