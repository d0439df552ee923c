"""The shared safety factor (pooling.py) and the σ of a protection period with promotion days (position.py)."""
from datetime import UTC, date, datetime

import numpy as np
import pytest
from scipy import optimize

from services.policy.domain.formulas import gamma_fill_safety, normal_loss
from services.policy.domain.model import DemandView, PolicyParams, Stock
from services.policy.domain.pooling import SharedFactor, pool_of, shared_factors
from services.policy.domain.position import compute_position, promo_days, spread_over_protection
from services.policy.domain.promotions import Promotion, with_promotions
from services.policy.domain.targets import compute_targets

AS_OF = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
FILL = PolicyParams(lead_time_days=7, service_level=0.95, service_metric="fill")
FORECAST = DemandView(10.0, 3.0, source="forecast:ses_weekly", horizon_means=np.full(30, 10.0))


def test_shared_factor_meets_the_pools_total_shortage():
    members = [((0.95, False), 30.0, 70.0, -4.0), ((0.95, False), 120.0, 14.0, -4.0), ((0.95, False), 8.0, 210.0, -4.0)]
    k = shared_factors(members, 0.05)[0.95, False].k
    # Σσ·G(k) = (1 − β)·ΣQ, checked against a root found numerically
    oracle = optimize.brentq(lambda x: 158.0 * normal_loss(x) - 0.05 * 294.0, -3, 5)
    assert k == pytest.approx(oracle, abs=1e-6)


def test_a_key_its_floor_lifts_leaves_the_others_a_lower_shared_factor():
    plain = [((0.95, False), 30.0, 70.0, -4.0), ((0.95, False), 120.0, 14.0, -4.0)]
    lifted = [plain[0], ((0.95, False), 120.0, 14.0, 2.5)]  # the lumpy key is held at k 2.5 by its floor
    k = shared_factors(lifted, 0.05)[0.95, False].k
    oracle = optimize.brentq(lambda x: 30.0 * normal_loss(x) + 120.0 * normal_loss(max(x, 2.5)) - 0.05 * 84.0, -3, 5)
    assert k == pytest.approx(oracle, abs=1e-6)
    assert k < shared_factors(plain, 0.05)[0.95, False].k


def test_shared_factor_does_not_depend_on_the_order_of_the_keys():
    rng = np.random.default_rng(3)
    members = [((0.95, False), float(s), float(q), float(f)) for s, q, f in
               zip(*rng.gamma(2.0, 20.0, (2, 500)), rng.normal(0.5, 1.0, 500), strict=True)]
    forward = shared_factors(members, 0.05)
    backward = shared_factors(members[::-1], 0.05)
    assert forward == backward


def test_pools_are_separate_per_target_and_lost_sales():
    members = [((0.95, False), 10.0, 50.0, -4.0), ((0.90, False), 10.0, 50.0, -4.0), ((0.95, True), 10.0, 50.0, -4.0)]
    factors = shared_factors(members, 0.05)
    assert factors[0.90, False].k < factors[0.95, False].k
    assert factors[0.95, True].k < factors[0.95, False].k  # lost sales: β' = 2 − 1/β is lower


def test_a_key_never_goes_below_its_floor_and_shares_the_pools_k_above_it():
    # steady demand (CV of the protection period < 0.5): the floor is the normal formula at β − gap
    steady = compute_targets(10.0, 3.0, 7.0, fill_rate=True, service_level=0.95, shared_k=-1.0, floor_gap=0.05)
    alone = compute_targets(10.0, 3.0, 7.0, fill_rate=True, service_level=0.90)
    assert float(steady.safety_stock) == pytest.approx(float(alone.safety_stock))
    # lumpy (CV > 0.5): the gamma's right tail, which the normal under-protects
    lumpy = compute_targets(1.0, 20.0, 7.0, fill_rate=True, service_level=0.95, shared_k=0.5, floor_gap=0.05)
    gamma = gamma_fill_safety(0.90, 7.0, 7.0, 20.0 * np.sqrt(7), lost_sales=False)
    assert float(lumpy.safety_stock) == pytest.approx(float(gamma), rel=1e-6)
    assert float(lumpy.safety_stock) > float(compute_targets(1.0, 20.0, 7.0, fill_rate=True,
                                                             service_level=0.90).safety_stock)
    smooth = compute_targets(50.0, 5.0, 7.0, fill_rate=True, service_level=0.95, shared_k=1.2, floor_gap=0.05)
    assert float(smooth.k) == pytest.approx(1.2)  # above its own need: the pool's k


def test_the_floor_protects_the_ordinary_days_and_pools_a_promotions_risk():
    # σ 20 a day in this period (a promotion in it), 2 on days without one: the floor is set from the 2
    promoted = compute_targets(10.0, 20.0, 7.0, fill_rate=True, service_level=0.95, shared_k=0.0, floor_gap=0.05,
                               floor_std=2.0)
    ordinary = compute_targets(10.0, 2.0, 7.0, fill_rate=True, service_level=0.90)
    assert float(promoted.safety_stock) == pytest.approx(float(ordinary.safety_stock))


def test_nan_shared_k_keeps_the_keys_own_formula():
    alone = compute_targets(np.array([5.0, 5.0]), 4.0, 7.0, fill_rate=True, service_level=0.95)
    mixed = compute_targets(np.array([5.0, 5.0]), 4.0, 7.0, fill_rate=True, service_level=0.95,
                            shared_k=np.array([np.nan, 2.0]), floor_gap=0.05)
    assert mixed.k[0] == pytest.approx(alone.k[0])
    assert mixed.k[1] == pytest.approx(2.0)


@pytest.mark.parametrize("params, demand", [
    (PolicyParams(lead_time_days=7, service_level=0.95), FORECAST),  # cycle service level
    (FILL, DemandView(10.0, 3.0)),  # no forecast yet
    (PolicyParams(lead_time_days=7, service_level=0.95, service_metric="fill", min_level=5.0), FORECAST),
    (PolicyParams(lead_time_days=7, service_level=0.95, service_metric="fill", safety_days=2.0), FORECAST),
    (PolicyParams(lead_time_days=7, service_level=0.95, service_metric="fill", distribution="gamma"), FORECAST),
    (PolicyParams(lead_time_days=7, service_level=0.95, service_metric="fill", fixed_order_cost=50.0,
                  holding_rate=0.2, unit_cost=3.0), FORECAST),
])
def test_keys_set_another_way_join_no_pool(params, demand):
    assert pool_of(params, demand) is None


def test_a_pooled_position_explains_its_k_and_what_it_adds():
    factors = {(0.95, False): SharedFactor(1.7, 0.05)}
    position = compute_position("A", "s1", Stock(100.0), FORECAST, FILL, AS_OF, factors)
    assert position.explanation["pool"]["target"] == 0.95
    assert position.explanation["pool"]["sigma"] == pytest.approx(3.0 * np.sqrt(7))
    assert "shared k 1.7" in position.explanation["formulas"]["k"]
    assert position.safety_stock == pytest.approx(1.7 * 3.0 * np.sqrt(7))


def test_promotion_days_carry_their_own_spread():
    flags = np.zeros(30, dtype=bool)
    flags[3:6] = True  # three promotion days among the seven protected
    demand = DemandView(10.0, 9.0, source="forecast:x", horizon_means=np.full(30, 10.0), horizon_promo=flags,
                        regular_std=2.0, promo_std=12.0)
    spread = spread_over_protection(demand, FILL)
    assert promo_days(demand, 7.0) == 3.0
    assert spread.daily_std == pytest.approx(np.sqrt((4 * 2.0**2 + 3 * 12.0**2) / 7))
    quiet = spread_over_protection(DemandView(10.0, 9.0, source="forecast:x", horizon_means=np.full(30, 10.0),
                                              regular_std=2.0, promo_std=12.0), FILL)
    assert quiet.daily_std == pytest.approx(2.0)


def test_a_promotion_day_is_never_calmer_than_a_regular_one():
    demand = DemandView(10.0, 9.0, source="forecast:x", horizon_means=np.full(30, 10.0),
                        horizon_promo=np.ones(30, dtype=bool), regular_std=5.0, promo_std=1.0)
    assert spread_over_protection(demand, FILL).daily_std == pytest.approx(5.0)


def test_days_policy_lifts_are_flagged_and_lifted_once():
    base = DemandView(10.0, 3.0, source="forecast:x", horizon_means=np.full(30, 10.0))
    promos = [Promotion(date(2026, 3, 4), date(2026, 3, 6)), Promotion(date(2026, 3, 5), date(2026, 3, 8))]
    lifted = with_promotions(base, promos, date(2026, 3, 2), 8)
    assert list(lifted.horizon_promo) == [False, True, True, True, True, True, False, False]  # from Mar 3
    assert lifted.horizon_means[2] == pytest.approx(15.0)  # two promotions on the day: one uplift
