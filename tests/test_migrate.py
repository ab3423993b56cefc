"""``adapter migrate``: inngest imports rewritten in place, comments kept, the rest reported."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from adapter._migrate.imports import migrate_source
from adapter.cli.main import build_parser
from tests.helpers import run_adapter

pytestmark = pytest.mark.unit

APP = '''"""Billing functions."""
import logging

import inngest  # the SDK
from inngest import Context, TriggerEvent


client = inngest.Inngest(app_id="billing", logger=logging.getLogger("billing"))


@client.create_function(fn_id="charge", trigger=TriggerEvent(event="billing/charge"))
async def charge(ctx: Context) -> str:
    # a comment that must survive
    return await ctx.step.run("charge", lambda: "ok")
'''


def test_imports_become_the_adapters_and_nothing_else_changes() -> None:
    result = migrate_source(APP)
    assert result.changed
    assert result.unmapped == []
    assert "import adapter as inngest  # the SDK\n" in result.source
    assert "from adapter import Context, TriggerEvent\n" in result.source
    rest_before = APP.split("TriggerEvent\n", 1)[1]
    assert result.source.endswith(rest_before)  # comments, blank lines, formatting kept


def test_aliases_and_submodules_keep_their_names() -> None:
    result = migrate_source("import inngest as ing\nimport inngest.testing\n")
    assert result.source.startswith("import adapter as ing\n")
    assert "import adapter.testing\n" in result.source
    assert "import adapter as inngest\n" in result.source  # so inngest.testing.x still works


def test_uses_without_a_counterpart_are_reported_with_their_line() -> None:
    source = (
        "import inngest\n"
        "from inngest._internal import server_lib\n"
        "from inngest import NoSuchName\n"
        "\n"
        "inngest.AlsoMissing()\n"
    )
    result = migrate_source(source)
    found = {(u.line, u.use) for u in result.unmapped}
    assert found == {
        (2, "from inngest._internal import ..."),
        (3, "from inngest import NoSuchName"),
        (5, "inngest.AlsoMissing"),
    }
    private = next(u for u in result.unmapped if u.line == 2)
    assert "private module" in private.fix
    assert "from inngest._internal import server_lib" in result.source  # left as is


def test_code_that_does_not_use_inngest_is_untouched() -> None:
    source = "import json  # inngest is mentioned only here\nx = json.dumps({})\n"
    result = migrate_source(source)
    assert not result.changed
    assert result.source == source


def _migrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``adapter migrate`` in this process (the CLI's own parser and handler), from ``cwd``."""
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            parsed = build_parser().parse_args(["migrate", *args])
            code = int(parsed.handler(parsed))
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(
        ["adapter", "migrate", *args], code, out.getvalue(), err.getvalue()
    )


def test_the_command_checks_then_rewrites_a_tree(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "functions.py").write_text(APP)
    (tmp_path / "app" / "plain.py").write_text("x = 1\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text("import inngest\n")
    checked = _migrate("app", "--check", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert "would change: app/functions.py" in checked.stdout
    assert (tmp_path / "app" / "functions.py").read_text() == APP
    done = _migrate(".", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["changed"] == ["app/functions.py"]
    assert report["unmapped"] == []
    assert "import adapter as inngest" in (tmp_path / "app" / "functions.py").read_text()
    assert (tmp_path / ".venv" / "lib.py").read_text() == "import inngest\n"
    again = _migrate(".", "--check", cwd=tmp_path)
    assert again.returncode == 0
    missing = run_adapter("migrate", "nowhere", cwd=tmp_path)  # the console script itself
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
