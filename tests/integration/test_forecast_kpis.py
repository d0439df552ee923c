"""Forecast's KPI and demand-history reads over the real PostgreSQL: a day is scored against the latest forecast
made before it, stockout days are not scored, classes are reported apart."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert

from services.forecast import kpi_routes, models, routes
from shared.db.engine import make_engine, make_sessionmaker
from tests.integration.api_client import AUTH, api_client

pytestmark = pytest.mark.integration
D0 = date(2026, 3, 1)


async def _series(session, location: str, sku: str, cls: str, demand: list[float], stockout: set[int],
                  means: dict[int, list[float]]) -> None:
    """`demand[i]` on D0 + i; `means[i]`: the forecast made as of D0 + i for the days after it."""
    last = D0 + timedelta(days=len(demand) - 1)
    now = datetime(2026, 4, 1, tzinfo=UTC)
    await session.execute(insert(models.series).values(location=location, sku=sku, first_day=D0, last_day=last,
                                                       last_arrival_at=now))
    await session.execute(insert(models.forecasts).values(location=location, sku=sku, as_of=last, generated_at=now,
                                                          payload={"demand_class": cls, "location": location,
                                                                   "sku": sku}))
    await session.execute(insert(models.daily_demand), [
        {"location": location, "sku": sku, "day": D0 + timedelta(days=i), "quantity": q, "stockout": i in stockout}
        for i, q in enumerate(demand) if q or i in stockout])
    await session.execute(insert(models.forecast_log), [
        {"location": location, "sku": sku, "as_of": D0 + timedelta(days=i), "means": m} for i, m in means.items()])


@pytest.fixture
async def client(database_url):
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    location = f"store-{uuid.uuid4().hex[:8]}"
    async with sessionmaker() as session, session.begin():
        # smooth: forecasts 10/day; actuals 8, 12, 0 (a stockout, not scored), 10 — the day-2 forecast is the
        # day-1 log's second mean (no log as of day 1), the others the day before's first mean
        await _series(session, location, "SMOOTH", "smooth", [9, 8, 12, 0, 10], {3},
                      {0: [10, 10], 2: [10], 3: [10]})
        # intermittent: one sale of 4 against 1/day on three days, |error| 1 + 3 + 1
        await _series(session, location, "LUMPY", "intermittent", [0, 0, 4, 0], set(), {0: [1, 1, 1]})
    async with api_client(kpi_routes.router, routes.router, sessionmaker=sessionmaker) as c:
        yield c, location
    await engine.dispose()


async def test_wape_and_bias_by_class_skip_censored_days(client):
    c, location = client
    body = (await c.get(f"/v1/kpis?location={location}&end=2026-03-05&days=5", headers=AUTH)).json()
    assert body["window"] == {"start": "2026-03-01", "end": "2026-03-05", "days": 5}
    smooth = body["by_class"]["smooth"]
    # days 1, 2, 4: actual 8 + 12 + 10 = 30, forecast 30, |error| 2 + 2 + 0
    assert (smooth["days"], smooth["actual"], smooth["forecast"]) == (3, 30, 30)
    assert smooth["wape"] == pytest.approx(4 / 30) and smooth["bias"] == 0
    lumpy = body["by_class"]["intermittent"]
    assert (lumpy["days"], lumpy["wape"], lumpy["bias"]) == (3, pytest.approx(5 / 4), pytest.approx(-1 / 4))
    assert body["days"] == 6 and body["wape"] == pytest.approx(9 / 34)


async def test_a_window_before_any_forecast_scores_nothing(client):
    c, location = client
    body = (await c.get(f"/v1/kpis?location={location}&end=2026-03-01&days=1", headers=AUTH)).json()
    assert body["days"] == 0 and body["wape"] is None and body["by_class"] == {}


async def test_demand_history_lists_days_with_the_forecast_made_for_them(client):
    c, location = client
    body = (await c.get(f"/v1/forecasts/{location}/SMOOTH/history?days=3", headers=AUTH)).json()
    assert body["window"]["end"] == "2026-03-05"
    assert [(d["date"], d["quantity"], d["stockout"], d["forecast_mean"]) for d in body["items"]] == [
        ("2026-03-03", 12, False, 10), ("2026-03-04", 0, True, 10), ("2026-03-05", 10, False, 10)]
    missing = await c.get(f"/v1/forecasts/{location}/NOPE/history", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await c.get(f"/v1/forecasts/{location}/SMOOTH/history?days=0", headers=AUTH)).status_code == 422


async def test_forecasts_page_by_cursor_like_every_list(client):
    c, location = client
    first = (await c.get(f"/v1/forecasts?location={location}&limit=1", headers=AUTH)).json()
    second = (await c.get(f"/v1/forecasts?location={location}&limit=1&cursor={first['next_cursor']}",
                          headers=AUTH)).json()
    assert [p["sku"] for p in first["items"] + second["items"]] == ["LUMPY", "SMOOTH"]
    last = (await c.get(f"/v1/forecasts?location={location}&limit=1&cursor={second['next_cursor']}",
                        headers=AUTH)).json()
    assert last == {"items": [], "next_cursor": None}
    assert (await c.get("/v1/forecasts?cursor=nope", headers=AUTH)).status_code == 422
