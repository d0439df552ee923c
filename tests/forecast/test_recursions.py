"""The smoothing recursions' fast form (selects left out where they cannot change a value) gives the general
form's result to the bit, so a replay's decisions never depend on which one ran."""
import numpy as np
import pytest

from services.forecast.domain.recursions import _croston_general, _ses_general, _tsb_general, croston, ses, tsb_state


def matrices(seed: int, count: int = 300):
    """Random (series × days) demand: scales from fractions to huge, unknown days from none to all, late starts,
    an infinity or a near-overflow value now and then (the general form must then run)."""
    rng = np.random.default_rng(seed)
    for trial in range(count):
        n, t_len = int(rng.integers(1, 12)), int(rng.integers(0, 80))
        y = rng.poisson(rng.uniform(0.05, 20), (n, t_len)) * rng.choice([1.0, 0.37, 1e5, -1.0, 1e160], size=(n, 1))
        y[rng.random((n, t_len)) < rng.choice([0.0, 0.05, 0.5, 1.0])] = np.nan
        if trial % 5 == 0:
            y[:, :rng.integers(0, t_len + 1)] = np.nan
        if trial % 20 == 0 and y.size:
            y.flat[rng.integers(0, y.size)] = rng.choice([np.inf, -np.inf, 1e308])
        yield y


def same(a, b) -> bool:
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the general form's arithmetic on infinities
def test_fast_recursions_equal_the_general_ones_to_the_bit():
    alphas = np.array([0.02, 0.1, 0.6])
    for y in matrices(seed=5):
        assert same(ses(y, alphas), _ses_general(y, alphas))
        assert np.array_equal(ses(y, alphas[1:2], with_sse=False)[0], _ses_general(y, alphas[1:2])[0], equal_nan=True)
        assert same(croston(y, 0.1), _croston_general(y, 0.1))
        assert same(tsb_state(y, 0.1), _tsb_general(y, 0.1))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_level_restarts_after_an_infinity_as_the_general_form_says():
    level, _ = ses(np.array([[1.0, np.inf, 2.0, 3.0]]), np.array([0.5]))
    assert level[0, 0] == 3.0  # inf on day 2, inf − inf = NaN on day 3: day 4 starts the level again at its value
