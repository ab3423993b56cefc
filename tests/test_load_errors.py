"""A functions folder that cannot be loaded: one line naming the file, the line and the fix.

Every command that loads a folder says so the same way and exits with 2; ``--debug``
adds the traceback. Nothing here needs a Temporal server: loading comes first.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import run_adapter

CLIENT = "from adapter import Inngest\ninngest = Inngest(app_id='load-errors')\n"
GOOD = """
from functions.client import inngest

@inngest.create_function(id="greet", event="user/created")
async def greet(ctx):
    return None
"""


def _folder(tmp_path: Path, **modules: str) -> Path:
    pkg = tmp_path / "functions"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(CLIENT)
    for name, body in modules.items():
        (pkg / f"{name}.py").write_text(textwrap.dedent(body).lstrip("\n"))
    return tmp_path


CASES = {
    "import": (
        {"broken": "import os\nimport not_installed_anywhere\n"},
        "functions/broken.py:2:",
        ["No module named 'not_installed_anywhere'", "install"],
    ),
    "syntax": (
        {"broken": "def handler(ctx)\n    return None\n"},
        "functions/broken.py:1:",
        ["SyntaxError", "fix the syntax"],
    ),
    "raises": (
        {"broken": "X = 1\nY = undefined_name + X\n"},
        "functions/broken.py:2:",
        ["NameError", "undefined_name"],
    ),
    "duplicate": (
        {
            "a_greet": GOOD,
            "b_greet": "\n# the same id again\n" + GOOD,
        },
        "functions/b_greet.py:5:",
        ["'greet'", "functions/a_greet.py:3", "give one of them another id"],
    ),
    "not callable": (
        {
            "broken": """
            from functions.client import inngest

            inngest.create_function({"id": "oops"}, {"event": "a/b"}, "not a function")
            """
        },
        "functions/broken.py:3:",
        ["the handler must be a function taking ctx"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_adapter_functions_names_the_file_the_line_and_the_fix(tmp_path: Path, case: str) -> None:
    modules, where, words = CASES[case]
    cwd = _folder(tmp_path, **modules)
    out = run_adapter("functions", cwd=cwd)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"adapter functions: {where}"), lines[0]
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--address", "127.0.0.1:1"],
        ["dev"],
        ["serve", "--dev", "--functions", "functions"],
        ["check-deploy", "--address", "127.0.0.1:1"],
        ["test-run", "greet"],
    ],
    ids=lambda argv: argv[0],
)
def test_every_command_that_loads_a_folder_says_it_in_one_line(
    tmp_path: Path, argv: list[str]
) -> None:
    cwd = _folder(tmp_path, greet=GOOD, broken="import not_installed_anywhere\n")
    out = run_adapter(*argv, cwd=cwd)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"adapter {argv[0]}: functions/broken.py:1:"), lines[0]


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    cwd = _folder(tmp_path, broken="import not_installed_anywhere\n")
    out = run_adapter("functions", "--debug", cwd=cwd)
    assert out.returncode == 2
    assert "Traceback (most recent call last)" in out.stderr
    assert (
        out.stderr.strip().splitlines()[-1].startswith("adapter functions: functions/broken.py:1:")
    )


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    out = run_adapter("functions", "--functions", "nowhere", cwd=tmp_path)
    assert out.returncode == 2
    assert "functions folder 'nowhere' not found" in out.stderr


def test_two_clients_with_one_app_id_defining_one_function_id(tmp_path: Path) -> None:
    other = """
    from adapter import Inngest

    again = Inngest(app_id="load-errors")

    @again.create_function(id="greet", event="user/created")
    async def greet(ctx):
        return None
    """
    cwd = _folder(tmp_path, a_greet=GOOD, b_other=other)
    out = run_adapter("functions", cwd=cwd)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "'greet'" in line
    assert "functions/a_greet.py:3" in line
    assert "functions/b_other.py:5" in line
