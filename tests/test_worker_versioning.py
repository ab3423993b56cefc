"""Temporal worker versioning: ``WorkerSettings(deployment_config=...)`` on the app's task queue."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from tests.helpers import eventually, make_app, running


async def _make_current(client: Client, version: WorkerDeploymentVersion) -> bool:
    """Set the deployment's current version (refused until a worker of it has polled)."""
    await client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace,
            deployment_name=version.deployment_name,
            build_id=version.build_id,
        )
    )
    return True


async def test_a_versioned_worker_runs_the_apps_functions_on_its_build(client: Client) -> None:
    app = make_app(client)
    tag = f"versioned-{uuid.uuid4().hex[:8]}"

    @app.create_function(id="hello", event=f"{tag}/go")
    async def hello(ctx: Any) -> Any:
        first = await ctx.step.run("say", lambda: "hi")
        await ctx.step.sleep("pause", "1s")
        return first

    version = WorkerDeploymentVersion(deployment_name=app.app_id, build_id="build-1")
    config = WorkerDeploymentConfig(
        version=version,
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )
    async with running(client, app, deployment_config=config):
        await eventually(lambda: _make_current(client, version), message="version made current")
        [event_id] = await app.send({"name": f"{tag}/go", "data": {}})
        handle = client.get_workflow_handle(f"{app.app_id}:hello:{event_id}")
        assert await asyncio.wait_for(handle.result(), 30) == "hi"
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    assert info.deployment_version.build_id == "build-1"
    assert info.deployment_version.deployment_name == app.app_id
    assert info.behavior == VersioningBehavior.AUTO_UPGRADE.value
