"""A location's keys with a fill-rate target share one safety factor (domain/pooling.py), on the real database:
each stored position says what it adds to the pool, and the next decisions use the factor solved from them."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.policy.domain.pooling import shared_factors
from services.policy.settings import policy_settings
from tests.integration.test_policy_flow import T0, PolicyWorld

pytestmark = pytest.mark.integration


def forecast(world: PolicyWorld, sku: str, mean: float, std: float) -> dict:
    last = T0 + timedelta(days=30)
    return {"sku": sku, "location": world.location, "model": "ets", "as_of": last.date().isoformat(),
            "generated_at": last.isoformat(), "residual_std": std,
            "horizon": [{"date": (last + timedelta(days=d)).date().isoformat(), "mean": mean, "p10": 0.0,
                         "p50": mean, "p90": 2 * mean} for d in range(1, 40)]}


@pytest.fixture
async def world(database_url, monkeypatch):
    monkeypatch.setenv("REPLENISH_POLICY_FACTORS_CACHE_S", "0")  # every pass re-reads the stored positions
    policy_settings.cache_clear()
    w = PolicyWorld(database_url)
    yield w
    await w.close()
    policy_settings.cache_clear()


async def test_keys_with_a_fill_target_share_the_factor_solved_from_their_positions(world):
    smooth, lumpy = world.sku, f"SKU-{uuid.uuid4().hex[:8]}"
    await world.skeleton_master()
    await world.skeleton_master(sku=lumpy)
    await world.master("policy", {"fill_rate": 0.95, "review_days": 7})
    at = T0 + timedelta(days=30)
    await world.send("replenish.forecast.demand", forecast(world, smooth, 40.0, 30.0), at)
    await world.send("replenish.forecast.demand", forecast(world, lumpy, 2.0, 9.0), at)
    # each count decides its key with the factor solved from the positions stored before it; by the third round
    # every stored position carries its floor and the factor no longer moves
    for hour in range(3):
        for sku in (smooth, lumpy):
            world.sku = sku
            await world.count(1000 - hour, at + timedelta(hours=hour))
    positions = {}
    for sku in (smooth, lumpy):
        world.sku = sku
        positions[sku] = await world.position()
    members = [((p["explanation"]["pool"]["target"], p["explanation"]["pool"]["lost_sales"]),
                p["explanation"]["pool"]["sigma"], p["explanation"]["pool"]["cycle"], p["explanation"]["pool"]["floor"])
               for p in positions.values()]
    shared = shared_factors(members, 0.05)[0.95, False].k
    assert positions[smooth]["explanation"]["formulas"]["k"].startswith(f"k = max(location's shared k {shared:.4g}")
    # the smooth key sits above its own 95 % need at the shared k; the lumpy one is held at its own 90 % floor
    smooth_sigma = positions[smooth]["explanation"]["pool"]["sigma"]
    assert positions[smooth]["safety_stock"] == pytest.approx(shared * smooth_sigma, rel=1e-6)
    assert positions[lumpy]["safety_stock"] > shared * positions[lumpy]["explanation"]["pool"]["sigma"]
