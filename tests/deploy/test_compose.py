"""docker-compose.yml: a real compose parser accepts it, and it wires Kafka, PostgreSQL and the services."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.deploy.conftest import REPO, SERVICE_PORTS


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_docker_compose_config_validates_the_file():
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose not installed (apt-get install -y docker-compose); structure tested only")
    result = subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config", "-q"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_kafka_is_apache_kafka_in_kraft_mode_with_a_volume_and_health_check(compose):
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "zookeeper" not in compose["services"]
    assert "healthcheck" in kafka
    assert any(v.split(":")[0] in compose["volumes"] for v in kafka["volumes"])


def test_postgres_has_a_volume_and_health_check(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.split(":")[0] in compose["volumes"] for v in postgres["volumes"])


def test_migrate_runs_once_after_kafka_and_postgres_are_healthy(compose):
    migrate = compose["services"]["migrate"]
    script = " ".join(migrate["entrypoint"] + migrate["command"])
    assert "replenish migrate" in script and "replenish topics" in script
    assert script.index("replenish migrate") < script.index("replenish topics")
    assert migrate["restart"] == "no"
    assert {name: d["condition"] for name, d in migrate["depends_on"].items()} == {
        "kafka": "service_healthy", "postgres": "service_healthy"}


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_each_service_serves_on_its_port_after_migrations(compose, service):
    spec = compose["services"][service]
    assert spec["command"] == ["serve", service]
    env = spec["environment"]
    assert env["REPLENISH_PORT"] == str(SERVICE_PORTS[service])
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    url = env["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
    assert env["REPLENISH_AUTO_MIGRATE"] == "false"
    assert {"REPLENISH_CONFIG", "REPLENISH_ADMIN_TOKEN", "REPLENISH_LOG_LEVEL"} <= set(env)
    assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert spec["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "/readyz" in spec["healthcheck"]["test"]
    assert f"{SERVICE_PORTS[service]}:{SERVICE_PORTS[service]}" in spec["ports"]


def test_mounted_config_file_exists_and_has_a_notify_route(compose):
    mount = compose["services"]["notify"]["volumes"][0]
    source, target = mount.split(":")[:2]
    assert target == compose["services"]["notify"]["environment"]["REPLENISH_CONFIG"]
    config = yaml.safe_load((REPO / source).read_text())
    receivers = {r["name"] for r in config["notify"]["receivers"]}
    assert config["notify"]["route"]["receiver"] in receivers
