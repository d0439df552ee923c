import numpy as np

from services.forecast.domain.portfolio import ENSEMBLE_SIZE, Backtest, select


def test_selection_picks_the_model_with_the_lowest_backtest_error():
    actual = np.full((2, 3, 4), 5.0)  # origins, series, days
    fcs = np.stack([np.full((2, 3, 4), 7.0), np.full((2, 3, 4), 5.5), np.full((2, 3, 4), 9.0)], axis=1)
    sel = select(Backtest(fcs, actual), ["a", "b", "c"])
    assert list(sel.choice) == [1, 1, 1]
    assert np.allclose(sel.forecasts, 5.5)


def test_ensemble_wins_when_models_err_in_opposite_directions():
    actual = np.full((1, 1, 4), 5.0)
    fcs = np.stack([np.full((1, 1, 4), 3.0), np.full((1, 1, 4), 7.0), np.full((1, 1, 4), 5.0 + 2.5)],
                   axis=1)
    sel = select(Backtest(fcs, actual), ["low", "high", "higher"])
    assert ENSEMBLE_SIZE == 3
    # mean of 3, 7 and 7.5 is 5.83: error 0.83 + bias 0.83 beats each model's 2 + 2
    assert sel.choice[0] == 3
    assert np.allclose(sel.forecasts, (3.0 + 7.0 + 7.5) / 3)


def test_all_zero_forecast_loses_to_an_unbiased_rate_on_intermittent_demand():
    actual = np.array([[[0.0, 0.0, 0.0, 4.0]]])
    fcs = np.stack([np.zeros((1, 1, 4)), np.full((1, 1, 4), 1.0)], axis=1)
    sel = select(Backtest(fcs, actual), ["zero", "rate"])
    # zero: MAE 1 + |bias| 1 = 2; rate: MAE (1+1+1+3)/4 = 1.5 + bias 0 = 1.5
    assert sel.choice[0] == 1
