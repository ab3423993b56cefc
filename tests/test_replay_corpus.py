"""Replay safety: every recorded history of every adapter version replays on today's workflows.

The corpus (``tests/replay/histories/<version>/``, recorded by ``python -m
tests.replay.record``) holds histories of real runs through every path of our
workflows. Each is replayed with the workflow classes the worker registers and as it
runs them: unsandboxed, the default data converter, no interceptors. A change that
would break a sleeping run of an older version (a non-determinism error) fails here,
naming the file. No server is needed: local activities' results come from the
history's markers, and activities, child workflows and signals are not run again.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from adapter._protocol import WorkflowName
from adapter.worker import SHARED_WORKFLOWS, WORKFLOWS

HISTORIES = Path(__file__).parent / "replay" / "histories"

WORKER_WORKFLOWS = list(dict.fromkeys([*WORKFLOWS, *SHARED_WORKFLOWS]))
"""Every workflow class a worker registers (its app's queue and the shared one)."""

TYPES: dict[str, str | None] = {
    "FunctionRun": None,  # dynamic: the workflow type is the function id
    "EventHub": WorkflowName.HUB,
    "Gate": WorkflowName.GATE,
    "Semaphore": WorkflowName.SEMAPHORE,
    "Registration": WorkflowName.REGISTRY,
    "EventRecord": WorkflowName.EVENT,
}
"""Our workflow classes and the type each is registered under."""

EXPECTED_CASES = (
    # orchestrator
    "run_steps",
    "run_wrong_hint",
    "run_retry",
    "run_step_error_caught",
    "run_failed",
    "run_on_failure",
    "run_non_retriable",
    "run_handler_retry",
    "run_sleep",
    "run_woken",
    "run_wait_matched",
    "run_wait_timeout",
    "run_invoke",
    "run_invoked",
    "run_parallel",
    "run_cancelled",
    "run_finish_timeout",
    "run_start_timeout",
    "run_concurrency",
    "run_singleton",
    "run_singleton_replaced",
    "run_idempotency",
    "run_cron",
    "run_batch",
    # gate: every kind, priority, start timeout, continue-as-new
    "gate_rate_limit",
    "gate_throttle",
    "gate_debounce",
    "gate_batch",
    "gate_priority",
    "gate_start_timeout",
    "gate_continue_as_new",
    "gate_continued",
    # semaphore
    "semaphore_priority",
    "semaphore_continue_as_new",
    "semaphore_continued",
    # event hub
    "hub_wait",
    "hub_wait_timeout",
    "hub_cancel",
    "hub_yield",
    "hub_continue_as_new",
    "hub_continued",
    "hub_relay",
    "hub_log_catchup",
    # registry, event record
    "registry_retracted",
    "event_record_routed",
    "event_record_unrouted",
    "event_record_held",
)
"""The paths the corpus must hold a history of (in some version's directory)."""


def indexes() -> dict[str, dict[str, Any]]:
    """Each version directory's index.json, by directory (version) name."""
    return {
        d.name: json.loads((d / "index.json").read_text())
        for d in sorted(HISTORIES.iterdir())
        if (d / "index.json").is_file()
    }


def corpus() -> list[tuple[str, str]]:
    """(version, case) for every recorded history."""
    return [(version, case) for version, index in indexes().items() for case in index["cases"]]


def covered_cases() -> set[str]:
    return {case for _, case in corpus()}


@pytest.mark.parametrize(("version", "case"), corpus(), ids=lambda v: str(v))
async def test_history_replays(version: str, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    index = indexes()[version]
    entry = index["cases"][case]
    retired = entry.get("retired_by") or index.get("retired_by")
    if retired:  # it took a branch that workflow.deprecate_patch(retired) removed
        pytest.skip(f"{version}/{entry['file']} retired by patch {retired!r}")
    # The recording lowered some continue-as-new thresholds (recorded in the index).
    for dotted, value in index.get("constants", {}).items():
        module_name, name = dotted.rsplit(".", 1)
        module = importlib.import_module(module_name)
        assert hasattr(module, name), (
            f"{version}/index.json lowers {dotted}, which no longer exists: "
            "update the index's constants to the setting's new name"
        )
        monkeypatch.setattr(module, name, value)
    path = HISTORIES / version / entry["file"]
    history = WorkflowHistory.from_json(entry["workflow_id"], path.read_text())
    replayer = Replayer(workflows=WORKER_WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is not None:
        pytest.fail(
            f"{path.relative_to(HISTORIES.parent.parent)} ({entry['workflow']} "
            f"{entry['workflow_type']!r}: {entry['path']}) no longer replays: "
            f"{type(result.replay_failure).__name__}: {result.replay_failure}",
            pytrace=False,
        )


def test_the_corpus_has_histories() -> None:
    assert corpus(), f"no recorded histories under {HISTORIES}"


def test_every_workflow_class_of_ours_has_a_history() -> None:
    registered = {cls.__name__ for cls in WORKER_WORKFLOWS}
    assert registered == set(TYPES), "a workflow class was added or removed: update TYPES"
    recorded = {
        entry["workflow"] for index in indexes().values() for entry in index["cases"].values()
    }
    assert registered - recorded == set(), "workflows without a recorded history"


def test_the_corpus_names_every_path() -> None:
    missing = sorted(set(EXPECTED_CASES) - covered_cases())
    assert missing == [], "paths without a history: record them (python -m tests.replay.record)"


def test_each_index_entry_names_its_file_and_workflow() -> None:
    for version, index in indexes().items():
        directory = HISTORIES / version
        files = {p.name for p in directory.glob("*.json")} - {"index.json"}
        listed = {entry["file"] for entry in index["cases"].values()}
        assert files == listed, f"{version}: files and index.json disagree"
        for case, entry in index["cases"].items():
            assert entry["workflow"] in TYPES, f"{version}/{case}: unknown class"
            history = json.loads((directory / entry["file"]).read_text())
            started = history["events"][0]["workflowExecutionStartedEventAttributes"]
            workflow_type = started["workflowType"]["name"]
            assert workflow_type == entry["workflow_type"], f"{version}/{case}"
            expected = TYPES[entry["workflow"]]
            if expected is None:  # the orchestrator takes every type that is not ours
                assert workflow_type not in TYPES.values(), f"{version}/{case}"
            else:
                assert workflow_type == expected, f"{version}/{case}"
