"""Forecast settings (REPLENISH_FORECAST_*)."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ForecastSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPLENISH_FORECAST_", extra="ignore")

    horizon_days: int = 90
    workers: int = 1
    batch_size: int = 500
    poll_s: float = 1.0
    quiet_s: float = 1.0        # wait until a series has had no new event for this long
    use_prophet: str = "auto"   # auto | never | always

    @property
    def prophet_flag(self) -> bool | str:
        return {"never": False, "always": True}.get(self.use_prophet, "auto")
