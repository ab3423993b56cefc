"""docker-compose.yml, the Dockerfile and deploy/: checked without a Docker engine.

The compose file is read with PyYAML and its services, pinned images, commands, start
order, health checks and environment are asserted; ``docker compose config -q`` (or
``docker-compose config -q``) validates it when such a binary is installed. The
one-shot setup script that creates the namespace and the search attributes runs here
for real, with the temporal CLI, against the test session's Temporal dev server.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from adapter._temporal.devserver import temporal_cli
from adapter._temporal.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETUP_SCRIPT = ROOT / "deploy" / "setup-temporal.sh"

SERVICES = {"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui"}
ADAPTER_SERVICES = {"worker", "events"}
# A tag with a version number: no "latest", no bare major for the Temporal images.
_PINNED = re.compile(r"^[\w./-]+:\d+(\.\d+)+[\w.-]*$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _env(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever of the two compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _depends(service: Mapping[str, Any]) -> dict[str, str]:
    """``depends_on`` as {service: condition}."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


# --- the compose file ---------------------------------------------------------------------


def test_services_and_pinned_images(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES | ADAPTER_SERVICES
    images = {name: s.get("image", "") for name, s in compose["services"].items()}
    for name in SERVICES:
        assert _PINNED.match(images[name]), f"{name}: image {images[name]!r} is not pinned"
    assert images["postgresql"].startswith("postgres:")
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    # Schema tool and server must be the same release; both one-shots use admin-tools.
    server_version = images["temporal"].split(":")[1]
    for one_shot in ("temporal-schema", "temporal-setup"):
        assert images[one_shot] == f"temporalio/admin-tools:{server_version}"
    # The worker and the Event API are built from this repository, as one image.
    for name in ADAPTER_SERVICES:
        service = _service(compose, name)
        assert service["build"] in (".", {"context": "."}), service["build"]
        assert "latest" not in images[name]
    assert images["worker"] == images["events"]
    # Scaling (`--scale worker=3`) needs containers without fixed names.
    assert all("container_name" not in s for s in compose["services"].values())


def test_worker_and_event_api_commands_and_env(compose: dict[str, Any]) -> None:
    worker, events = _service(compose, "worker"), _service(compose, "events")
    assert worker["command"][:2] == ["adapter", "worker"]
    for service in (worker, events):
        env = _env(service)
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["TEMPORAL_NAMESPACE"].startswith("${TEMPORAL_NAMESPACE:-")
        assert service["restart"] == "unless-stopped"
        assert service.get("init") is True  # signals reach adapter; SIGTERM stops it cleanly
    command = events["command"]
    assert command[:2] == ["adapter", "serve"]
    # Reachable from other containers and the host, not only on the container's loopback.
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert f"{port}:{port}" in events["ports"]
    assert "--dev" not in command  # keys required, never "any key"
    # The event keys come from the environment, and compose refuses to start without them.
    key = _env(events)["INNGEST_EVENT_KEY"]
    assert key.startswith("${INNGEST_EVENT_KEY:?"), key
    assert "INNGEST_EVENT_KEY" not in _env(worker)


def test_event_api_healthcheck_calls_health(compose: dict[str, Any]) -> None:
    events = _service(compose, "events")
    port = events["command"][events["command"].index("--port") + 1]
    check = events["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD"
    # python:3.11-slim has no curl: the check is Python's urllib, failing on non-200.
    assert test[1] == "python"
    assert f"http://127.0.0.1:{port}/health" in test[-1]
    assert "status != 200" in test[-1]
    for field in ("interval", "timeout", "retries", "start_period"):
        assert field in check


def test_start_order_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {
        "temporal-schema": {"postgresql": "service_healthy"},
        "temporal": {"temporal-schema": "service_completed_successfully"},
        "temporal-setup": {"temporal": "service_healthy"},
        "temporal-ui": {"temporal": "service_healthy"},
        "worker": {"temporal-setup": "service_completed_successfully"},
        "events": {"temporal-setup": "service_completed_successfully"},
    }
    for name, deps in expected.items():
        assert _depends(services[name]) == deps, name
    # Whatever is waited for as healthy has a health check.
    for service in services.values():
        for dep, condition in _depends(service).items():
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], dep
    assert services["postgresql"]["healthcheck"]["test"][-1].startswith("pg_isready")
    # One-shots retry a few times, then fail (and hold back what depends on them).
    for one_shot in ("temporal-schema", "temporal-setup"):
        assert services[one_shot]["restart"].startswith("on-failure")


def test_persistence_and_mounted_files(compose: dict[str, Any]) -> None:
    services = compose["services"]
    server_env = _env(services["temporal"])
    assert server_env["DB"] == "postgres12"
    assert server_env["POSTGRES_SEEDS"] == "postgresql"
    assert server_env["BIND_ON_IP"] == "0.0.0.0"
    assert _env(services["temporal-schema"])["POSTGRES_SEEDS"] == "postgresql"
    # The PostgreSQL data survives `docker compose down` (a named volume).
    assert "postgres-data:/var/lib/postgresql/data" in services["postgresql"]["volumes"]
    assert "postgres-data" in compose["volumes"]
    # Every file the compose file mounts from ./deploy exists, and the commands name them.
    for name in ("temporal-schema", "temporal-setup", "temporal"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            assert (ROOT / source).exists(), f"{name}: {source} is missing"
    for name, script in (
        ("temporal-schema", "setup-postgres.sh"),
        ("temporal-setup", "setup-temporal.sh"),
    ):
        assert services[name]["command"] == [f"/deploy/{script}"]
        assert (ROOT / "deploy" / script).is_file()
    config = server_env["DYNAMIC_CONFIG_FILE_PATH"]
    assert (ROOT / "deploy" / "dynamicconfig" / Path(config).name).is_file()
    dynamic = yaml.safe_load((ROOT / "deploy" / "dynamicconfig" / Path(config).name).read_text())
    # The same fast-dispatch settings as the dev server of `make dev` and the tests.
    assert dynamic["history.transferProcessorMaxPollRPS"][0]["value"] >= 1000
    setup_env = _env(services["temporal-setup"])
    assert setup_env["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_dockerfile_and_dockerignore() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    base = next(line for line in instructions if line.startswith("FROM "))
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim(-\w+)?", base), base
    assert "COPY functions ./functions" in instructions
    assert any(line.startswith("RUN pip install .") for line in instructions)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    assert instructions[-1] == 'CMD ["adapter", "worker"]'
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".venv", ".git", ".state", "tests"):
        assert entry in ignored


def test_setup_script_names_the_adapters_search_attributes() -> None:
    match = re.search(
        r'ATTRIBUTES=\$\{INNGEST_SEARCH_ATTRIBUTES:-"([^"]+)"\}', SETUP_SCRIPT.read_text()
    )
    assert match is not None
    assert set(match.group(1).split()) == {key.name for key in ALL_KEYS}


# --- the setup script, for real ---------------------------------------------------------------


async def _run_setup(address: str, namespace: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "PATH": f"{Path(temporal_cli()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": namespace,
        "SETUP_PAUSE_SECONDS": "0.5",
        "SETUP_SETTLE_SECONDS": "0",
    }
    proc = await asyncio.create_subprocess_exec(
        "sh",
        str(SETUP_SCRIPT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return proc.returncode or 0, out.decode()


async def test_setup_script_creates_namespace_and_search_attributes_once(
    client: Client,
) -> None:
    address = client.service_client.config.target_host
    namespace = f"compose-{uuid.uuid4().hex[:8]}"
    code, out = await _run_setup(address, namespace)
    assert code == 0, out
    assert f"Temporal is ready: namespace {namespace}" in out
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {key.name for key in ALL_KEYS} <= set(listed.custom_attributes)
    # Idempotent: a second `docker compose up` creates nothing and succeeds.
    code, again = await _run_setup(address, namespace)
    assert code == 0, again
    assert "registered" not in again
    assert "have been added" not in again


# --- `docker compose config` ----------------------------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


def test_compose_config_validates() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip(
            "neither `docker compose` (the compose plugin) nor `docker-compose` is installed; "
            "the YAML checks above still ran (Debian: apt-get install docker-compose)"
        )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "COMPOSE_"))}
    ok = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT,
        env={**base, "INNGEST_EVENT_KEY": "test-key"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    # Without event keys compose refuses, naming the variable (no open Event API).
    refused = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "INNGEST_EVENT_KEY" in refused.stderr + refused.stdout
