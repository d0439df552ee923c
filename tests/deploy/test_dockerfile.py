"""Dockerfile and .dockerignore, linted structurally (no container engine here), and the health probe."""
from __future__ import annotations

import fnmatch
import importlib.util
import json

import pytest

from tests.deploy.conftest import REPO, SERVICE_PORTS


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    lines, pending = [], ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_image_is_multi_stage_and_runtime_copies_from_the_build_stage():
    built = stages()
    assert len(built) >= 2
    build_name = built[0][0][1].split()[-1]
    runtime = built[-1]
    assert any(op == "COPY" and f"--from={build_name}" in args for op, args in runtime)
    assert not any(op == "RUN" and "build-essential" in args for op, args in runtime)


def test_build_stage_installs_the_package_from_pyproject():
    build = " ".join(args for op, args in stages()[0] if op in {"RUN", "COPY"})
    assert "pyproject.toml" in build
    assert "pip install --no-deps ." in build


def test_build_stage_installs_the_locked_versions():
    build = " ".join(args for op, args in stages()[0] if op in {"RUN", "COPY"})
    assert "-c constraints.txt" in build


def test_runtime_runs_as_a_non_root_user():
    users = [args for op, args in stages()[-1] if op == "USER"]
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_entrypoint_runs_replenish_serve():
    runtime = dict(stages()[-1])
    assert json.loads(runtime["ENTRYPOINT"]) == ["replenish"]
    command = json.loads(runtime["CMD"])
    assert command[0] == "serve" and command[1] in SERVICE_PORTS


def test_runtime_listens_beyond_loopback_and_never_migrates_on_start():
    env = " ".join(args for op, args in stages()[-1] if op == "ENV")
    assert "REPLENISH_HOST=0.0.0.0" in env
    assert "REPLENISH_AUTO_MIGRATE=false" in env


def test_runtime_declares_a_healthcheck_on_healthz():
    checks = [args for op, args in stages()[-1] if op == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0]


def docker_ignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(candidate, glob) for candidate in candidates):
            ignored = not negated
    return ignored


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "LICENSE", "constraints.txt", "replenish/cli.py",
                                  "shared/settings.py", "services/forecast/app.py", "deploy/docker/healthcheck.py"])
def test_build_context_keeps_what_the_image_needs(path):
    assert not docker_ignored(path)


@pytest.mark.parametrize("path", [".venv/bin/python", ".git/HEAD", "tests/deploy/conftest.py",
                                  ".replenish/endpoints.json", "shared/__pycache__/settings.cpython-311.pyc"])
def test_build_context_leaves_out_local_state(path):
    assert docker_ignored(path)


@pytest.fixture(scope="module")
def healthcheck():
    path = REPO / "deploy" / "docker" / "healthcheck.py"
    spec = importlib.util.spec_from_file_location("healthcheck", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_knows_the_contract_default_ports(healthcheck):
    assert healthcheck.DEFAULT_PORTS == {"ingest": 8001, "forecast": 8002, "policy": 8003, "orders": 8004,
                                         "notify": 8005}


def test_healthcheck_prefers_replenish_port(healthcheck, monkeypatch):
    monkeypatch.setenv("REPLENISH_PORT", "9100")
    monkeypatch.setattr(healthcheck, "service_of_pid1", lambda: "notify")
    assert healthcheck.port() == 9100


def test_healthcheck_falls_back_to_the_served_service_default_port(healthcheck, monkeypatch):
    monkeypatch.delenv("REPLENISH_PORT", raising=False)
    monkeypatch.setattr(healthcheck, "service_of_pid1", lambda: "policy")
    assert healthcheck.port() == 8003
