"""Pure forecasting core of the forecast service: daily demand histories in, quantile forecasts out.

API (all inputs and outputs are picklable; call ``forecast_batch`` from a worker process)::

    SeriesHistory(key, start, demand, promo=None, country=None, subdivision=None, like_profile=None)
    SeriesForecast(key, model, demand_class, start, mean, quantiles, residual_std, accuracy,
                   low_confidence, regular_std, promo_std)
    censor_stockouts(demand, in_stock) -> demand with out-of-stock days set to NaN
    classify(demand) -> "smooth" | "erratic" | "intermittent" | "lumpy"
    forecast_batch(batch, horizon=90, quantiles=(0.1, 0.5, 0.9), use_prophet="auto",
                   models=None, prophet_budget=PROPHET_BUDGET) -> list[SeriesForecast], same order
    accuracy(actual, forecast, insample) -> {"wape", "mase", "bias"}

Inputs. ``demand[i]`` is the demand of ``start + i`` days, NaN when unknown. ``promo`` is 0/1 per day
and covers history and horizon (``len(demand) + horizon``) when the future promotions are known; a
promo array covering only the history is used to learn the uplift, with no promotion assumed ahead.
``country``/``subdivision`` select public holidays from the ``holidays`` package. ``like_profile`` is
the expected daily demand of a new SKU from its first forecast day, borrowed from a like SKU or the
category and already scaled to this SKU by the caller (tiled when shorter than the horizon).

Censoring rule. A day on which the SKU was out of stock at any time is censored: its sales are only
a lower bound of demand, so the service passes ``in_stock=False`` for it and ``censor_stockouts``
turns it into NaN. NaN days are never treated as zero: smoothing recursions skip them (the state
carries over), averages and demand classes ignore them, and the backtest does not score them.
Returns are not negative demand: the service nets nothing against sales when building demand.

Classes (Syntetos-Boylan): ADI = observed days / days with demand, CV² of the non-zero sizes;
smooth ADI < 1.32 and CV² < 0.49, erratic ADI < 1.32, intermittent CV² < 0.49, else lumpy.
A series with no demand at all is intermittent.

Portfolio. Series are grouped by backtest plan and forecast as one (series × days) matrix:
SES on weekday-adjusted demand (alpha per series), mean of the last 4 same weekdays, seasonal naive,
28-day moving average, Croston-SBA, TSB, ADIDA and IMAPA, each multiplied by a promotion uplift and
one factor per named holiday (estimated per series over the last two years and shrunk: promotions
towards the group's median uplift, holidays towards 1; no sale on every past occurrence = closed).
A rolling-origin backtest (3 origins × 28 days when the history allows, fewer or 7-day steps for
short histories) scores each model per series by MAE + |mean error| (MAE is what WAPE and MASE
measure; the bias term keeps all-zero forecasts of intermittent demand from winning), divided by the
series' mean demand and blended half-half with the group's mean score of that model. The lowest
blended score wins among the models and the mean of the series' 3 best models (ensemble).
``use_prophet="auto"`` then tries Prophet (holidays, promotion regressor, clamped at 0) on at most
``prophet_budget`` long, frequent series with drivers (country or promotions) whose backtest WAPE
exceeds 20 %, largest volume first, and keeps it only where it beats the chosen model on the last
backtest origin. ``use_prophet=True`` is Prophet-only (for comparisons), ``False`` never fits it.
``models`` restricts the portfolio to the named cheap models (see ``DEFAULT_MODELS``).

Quantiles (at least 0.1, 0.5, 0.9 plus the requested levels): smooth and erratic series add the
empirical quantiles of their backtest errors to the mean (split-conformal); intermittent and lumpy
series, and series without out-of-sample errors, use a negative binomial with the forecast mean and
the backtest variance-to-mean ratio. All quantiles are clamped at 0 and made monotone in the level.

Short histories (fewer than 15 observed days) and cold starts (a like_profile with fewer than 28
observed days) get the observed mean (or the like profile, blended towards the observed mean as days
accrue) with wide negative-binomial quantiles and ``low_confidence=True``. ``low_confidence`` is also
set for fewer than 56 observed days or a backtest WAPE above 1. ``accuracy`` holds the backtest
WAPE, MASE (scaled by the in-sample seasonal-naive error, m = 7) and bias ((Σf − Σa)/Σa) of the
chosen model; values are None when not computable.
"""

from .batch import DEFAULT_MODELS, forecast_batch
from .demand import accuracy, censor_stockouts, classify, classify_matrix
from .types import SeriesForecast, SeriesHistory

__all__ = [
    "DEFAULT_MODELS",
    "SeriesForecast",
    "SeriesHistory",
    "accuracy",
    "censor_stockouts",
    "classify",
    "classify_matrix",
    "forecast_batch",
]
