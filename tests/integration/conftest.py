"""Session fixtures: the real bundled broker and a real embedded PostgreSQL, started once for the run."""
from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.bus.admin import ensure_topics
from shared.db.migrate import available_components, upgrade
from shared.runtime.broker import BundledBroker
from shared.runtime.postgres import EmbeddedPostgres
from shared.settings import ServiceSettings, load_settings

INFRA_ROOT = Path(os.environ.get("REPLENISH_TEST_DIR") or tempfile.mkdtemp(prefix="replenish-test-"))


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """A Kafka-protocol broker; KAFKA_BOOTSTRAP_SERVERS points the suite at an existing one instead."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        asyncio.run(ensure_topics(bootstrap, 4))
        yield bootstrap
        return
    broker = BundledBroker(INFRA_ROOT / "broker.log")
    bootstrap = broker.start()
    try:
        asyncio.run(ensure_topics(bootstrap, 4))
        yield bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated PostgreSQL; DATABASE_URL points the suite at an existing one instead."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        upgrade(url, available_components())
        yield url
        return
    pg = EmbeddedPostgres(INFRA_ROOT / "pg")
    url = pg.start()
    try:  # a failed migration must not leave the server running after the session
        upgrade(url, available_components())
        yield url
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def settings_for(kafka: str, database_url: str):
    """Settings of one service pointed at the test infrastructure, with fast consumer-group joins."""

    def make(service: str, **overrides) -> ServiceSettings:
        return load_settings(service, kafka_bootstrap_servers=kafka, database_url=database_url,
                             kafka_session_timeout_ms=6000, kafka_heartbeat_ms=1000, kafka_fetch_max_wait_ms=10,
                             kafka_fetch_max_wait_background_ms=20,
                             admin_token="test-admin-token", **overrides)

    return make
