"""Settings shared by every service, read from the environment (pydantic-settings)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"ingest": 8001, "forecast": 8002, "policy": 8003, "orders": 8004, "notify": 8005}
SERVICES = tuple(DEFAULT_PORTS)
# The console (§11) is no service of its own data: it reads the five services' APIs, so it is kept apart
# from SERVICES (no schema, no topics, no watermark) and only `replenish up` and the deploy files add it.
CONSOLE_PORT = 8006


class ServiceSettings(BaseSettings):
    """What every service needs to reach the broker, the database and its callers.

    Unprefixed names are the contract's (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REPLENISH_CONFIG);
    everything else is REPLENISH_*.
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service: str = Field("ingest", alias="REPLENISH_SERVICE")
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", alias="KAFKA_BOOTSTRAP_SERVERS")
    database_url: str = Field("postgresql+asyncpg://postgres@127.0.0.1:5432/replenish", alias="DATABASE_URL")
    config_path: Path | None = Field(None, alias="REPLENISH_CONFIG")
    host: str = Field("127.0.0.1", alias="REPLENISH_HOST")
    port: int | None = Field(None, alias="REPLENISH_PORT")
    log_level: str = Field("INFO", alias="REPLENISH_LOG_LEVEL")
    auto_migrate: bool = Field(False, alias="REPLENISH_AUTO_MIGRATE")
    admin_token: str | None = Field(None, alias="REPLENISH_ADMIN_TOKEN")
    public_url: str | None = Field(None, alias="REPLENISH_PUBLIC_URL")
    # Set by `replenish up` so its readiness probe can tell its own services from someone else's on a port.
    instance: str | None = Field(None, alias="REPLENISH_INSTANCE")
    # Consumer tuning: a short session makes the first group join fast (docs/broker.md: join ≈ session/2).
    kafka_session_timeout_ms: int = Field(10_000, alias="REPLENISH_KAFKA_SESSION_TIMEOUT_MS")
    kafka_heartbeat_ms: int = Field(3_000, alias="REPLENISH_KAFKA_HEARTBEAT_MS")
    # A fetch waits this long for data; Apache Kafka answers as soon as data arrives, the bundled broker only
    # when the wait is over (docs/broker.md), so there the wait is a hop's latency and its inverse the idle polls/s.
    kafka_fetch_max_wait_ms: int = Field(10, alias="REPLENISH_KAFKA_FETCH_MAX_WAIT_MS")  # urgent consumers
    kafka_fetch_max_wait_background_ms: int = Field(250, alias="REPLENISH_KAFKA_FETCH_MAX_WAIT_BACKGROUND_MS")
    kafka_linger_ms: int = Field(5, alias="REPLENISH_KAFKA_LINGER_MS")
    consumer_max_retries: int = Field(3, alias="REPLENISH_CONSUMER_MAX_RETRIES")
    db_pool_size: int = Field(5, alias="REPLENISH_DB_POOL_SIZE")
    partitions: int = Field(6, alias="REPLENISH_PARTITIONS")
    token_cache_seconds: float = Field(10.0, alias="REPLENISH_TOKEN_CACHE_SECONDS")

    @property
    def http_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.service, 8000)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.http_port}"


def load_settings(service: str, **overrides) -> ServiceSettings:
    """Settings for one service; explicit overrides win over the environment."""
    settings = ServiceSettings(REPLENISH_SERVICE=service)
    return settings.model_copy(update={"service": service, **overrides})
