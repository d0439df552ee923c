"""Console settings: where the five services answer, how long a session lives, and its own address."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import CONSOLE_PORT

UPSTREAMS = ("ingest", "forecast", "policy", "orders", "notify")


class ConsoleSettings(BaseSettings):
    """REPLENISH_* like every service; the upstreams' addresses are REPLENISH_<SERVICE>_URL."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", alias="REPLENISH_HOST")
    port: int = Field(CONSOLE_PORT, alias="REPLENISH_PORT")
    instance: str | None = Field(None, alias="REPLENISH_INSTANCE")
    log_level: str = Field("INFO", alias="REPLENISH_LOG_LEVEL")
    public_url: str | None = Field(None, alias="REPLENISH_PUBLIC_URL")
    ingest_url: str = Field("http://127.0.0.1:8001", alias="REPLENISH_INGEST_URL")
    forecast_url: str = Field("http://127.0.0.1:8002", alias="REPLENISH_FORECAST_URL")
    policy_url: str = Field("http://127.0.0.1:8003", alias="REPLENISH_POLICY_URL")
    orders_url: str = Field("http://127.0.0.1:8004", alias="REPLENISH_ORDERS_URL")
    notify_url: str = Field("http://127.0.0.1:8005", alias="REPLENISH_NOTIFY_URL")
    # §11: a session ends after 12 h idle and within 60 s of its token's revocation; services cache a token
    # lookup for up to 10 s, so asking every 30 s keeps the sum under a minute.
    session_idle_s: float = Field(12 * 3600, alias="REPLENISH_CONSOLE_SESSION_IDLE_S")
    recheck_s: float = Field(30.0, alias="REPLENISH_CONSOLE_RECHECK_S")
    upstream_timeout_s: float = Field(10.0, alias="REPLENISH_CONSOLE_UPSTREAM_TIMEOUT_S")
    # Requests per minute and client address: acknowledge links (the one door without a token) and sign-ins.
    link_rate_per_min: int = Field(30, alias="REPLENISH_CONSOLE_LINK_RATE_PER_MIN")
    login_rate_per_min: int = Field(20, alias="REPLENISH_CONSOLE_LOGIN_RATE_PER_MIN")
    page_size: int = Field(50, alias="REPLENISH_CONSOLE_PAGE_SIZE")

    def upstream(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")
