"""Forecast's Prometheus metrics: labels are demand class and model only (never SKU or location)."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

_ERROR_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)

FORECASTS = Counter("replenish_forecast_published_total", "Forecasts published by chosen model and demand class",
                    ["model", "demand_class"])
LIVE_WAPE = Histogram("replenish_forecast_live_wape", "Live WAPE per series at each re-forecast",
                      ["demand_class"], buckets=_ERROR_BUCKETS)
LIVE_MASE = Histogram("replenish_forecast_live_mase", "Live MASE per series at each re-forecast",
                      ["demand_class"], buckets=_ERROR_BUCKETS)
LIVE_BIAS = Histogram("replenish_forecast_live_bias", "Live bias ((Σf−Σa)/Σa) per series at each re-forecast",
                      ["demand_class"], buckets=(-1.0, -0.5, -0.25, -0.1, -0.05, 0.0, 0.05, 0.1, 0.25, 0.5, 1.0))
BACKTEST_WAPE = Histogram("replenish_forecast_backtest_wape", "Backtest WAPE of the chosen model per series",
                          ["demand_class"], buckets=_ERROR_BUCKETS)
FIT_SECONDS = Histogram("replenish_forecast_fit_seconds", "Wall time of one claimed round's fit (all workers)",
                        buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120))
ROUND_SERIES = Histogram("replenish_forecast_round_series", "Series claimed per round",
                         buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000))


def observe(payload: dict) -> None:
    """Record one published forecast's accuracy by its demand class."""
    cls = payload.get("demand_class") or "unknown"
    FORECASTS.labels(payload["model"], cls).inc()
    live, backtest = payload.get("live_accuracy") or {}, payload.get("backtest_accuracy") or {}
    for metric, value in ((LIVE_WAPE, live.get("wape")), (LIVE_MASE, live.get("mase")),
                          (LIVE_BIAS, live.get("bias")), (BACKTEST_WAPE, backtest.get("wape"))):
        if value is not None:
            metric.labels(cls).observe(value)
