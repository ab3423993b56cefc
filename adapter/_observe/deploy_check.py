"""``adapter check-deploy``: the runs in flight a new functions folder would break.

A run resumes on whatever code the workers run next: every step it recorded (its
history's steps, as ``adapter run`` shows them) is found again only if the new handler
still calls a step with that id (:mod:`adapter._define.step_ids`). For each Running run
of the folder's apps this reports

* ``function removed``: the folder has no function with the run's id any more;
* ``step removed or renamed``: the run recorded a step id the new code never names
  (a completed step would run again under its new id; a sleeping one would restart);
* ``reordered``: two recorded steps that the new handler calls in the other order.

Functions whose step ids are not all literals (or f-strings) cannot be checked: they
are listed as not checked, never as affected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text
from temporalio.client import Client

from adapter._define.client import Inngest
from adapter._define.step_ids import StepNames, handler_step_names
from adapter._observe.listing import list_query
from adapter._observe.render import _table, show
from adapter._observe.steps import StepStatus
from adapter._observe.timeline import load_run

FUNCTION_REMOVED = "function removed"
STEP_REMOVED = "step removed or renamed"
_LOADERS = 8  # run histories read at once


@dataclass
class Affected:
    """One problem of one run: a step (or the whole function) the new code does not reach."""

    workflow_id: str
    run_id: str
    app_id: str
    function: str
    step: str | None
    step_kind: str | None
    step_status: str | None
    problem: str

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "app_id": self.app_id,
            "function": self.function,
            "step": self.step,
            "step_kind": self.step_kind,
            "step_status": self.step_status,
            "problem": self.problem,
        }


@dataclass
class DeployCheck:
    """What ``check-deploy`` found for the apps of a functions folder."""

    apps: list[str]
    checked_runs: int = 0
    affected: list[Affected] = field(default_factory=list)
    unchecked: list[dict[str, str]] = field(default_factory=list)

    @property
    def affected_runs(self) -> int:
        """How many runs have at least one problem."""
        return len({(a.workflow_id, a.run_id) for a in self.affected})

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "apps": self.apps,
            "checked_runs": self.checked_runs,
            "affected_runs": self.affected_runs,
            "affected": [a.to_json() for a in self.affected],
            "unchecked": self.unchecked,
        }


def run_problems(recorded: Sequence[str], names: StepNames) -> list[tuple[str, str]]:
    """(step id, problem) for each recorded step the new code would not reach as it was."""
    if not names.complete:
        return []
    problems = [(sid, STEP_REMOVED) for sid in recorded if not names.reaches(sid)]
    position = {sid: i for i, sid in enumerate(names.order)}
    met = [sid for sid in dict.fromkeys(recorded) if sid in position]
    for i, sid in enumerate(met):
        first = next((t for t in met[i + 1 :] if position[t] < position[sid]), None)
        if first is not None:
            problems.append((sid, f"reordered: the new code reaches {first!r} before {sid!r}"))
    return problems


async def check_deploy(client: Client, apps: Sequence[Inngest]) -> DeployCheck:
    """Compare every Running run of ``apps`` with the step ids the apps' code names now."""
    report = DeployCheck(apps=sorted(app.app_id for app in apps))
    functions = {(app.app_id, fn.id): fn for app in apps for fn in app.functions}
    names: dict[tuple[str, str], StepNames] = {}
    limiter = asyncio.Semaphore(_LOADERS)
    found: list[tuple[str, str]] = []
    for app in apps:
        async for wf in client.list_workflows(list_query(status="running", app=app.app_id)):
            found.append((wf.id, wf.run_id))

    async def check(workflow_id: str, run_id: str) -> list[Affected]:
        async with limiter:
            view = await load_run(client, workflow_id, run_id)
        app_id = view.app_id or workflow_id.split(":", 1)[0]
        key = (app_id, view.function)
        if app_id not in report.apps:
            return []  # an invoked run of an app this folder does not deploy
        fn = functions.get(key)
        if fn is None:
            return [
                Affected(
                    workflow_id,
                    view.run_id,
                    app_id,
                    view.function,
                    None,
                    None,
                    None,
                    FUNCTION_REMOVED,
                )
            ]
        if key not in names:
            names[key] = handler_step_names(fn.handler)
        if not names[key].complete:
            report.unchecked.append(
                {"workflow_id": workflow_id, "function": fn.id, "reason": names[key].reason}
            )
            return []
        steps = {s.id: s for s in view.steps if s.status != StepStatus.NOT_STARTED}
        return [
            Affected(
                workflow_id,
                view.run_id,
                app_id,
                view.function,
                sid,
                str(steps[sid].kind),
                steps[sid].status.value,
                problem,
            )
            for sid, problem in run_problems(list(steps), names[key])
        ]

    results = await asyncio.gather(*(check(wid, rid) for wid, rid in found))
    report.checked_runs = len(found)
    report.affected = sorted(
        (a for result in results for a in result), key=lambda a: (a.function, a.workflow_id)
    )
    return report


def render_deploy_check(console: Console, report: DeployCheck) -> None:
    """The ``check-deploy`` table and its one-line verdict."""
    apps = ", ".join(report.apps) or "no app"
    lines: list[Any] = []
    if report.affected:
        rows = [
            [a.workflow_id, a.function, a.step or "-", a.step_status or "-", a.problem]
            for a in report.affected
        ]
        headers = ["WORKFLOW ID", "FUNCTION", "STEP", "STATUS", "PROBLEM"]
        lines.append(_table(console, headers, rows, status_col=3, flexible=4))
        lines.append(Text(""))
        lines.append(
            Text(
                f"{report.affected_runs} of {report.checked_runs} running run(s) of {apps} "
                "would not find recorded steps in the new code (see PROBLEM): let them finish, "
                "or keep the old step ids",
                style="bold",
            )
        )
    else:
        lines.append(
            Text(
                f"No running run of {apps} is affected ({report.checked_runs} checked).",
                style="green",
            )
        )
    for item in report.unchecked:
        lines.append(
            Text(f"not checked: {item['workflow_id']} ({item['function']}): {item['reason']}")
        )
    show(console, *lines)
