"""Forecast benchmarks: speed on generated series and accuracy on the pasta sales data (not tests)."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.util import find_spec

import numpy as np

from services.forecast.domain import SeriesHistory, forecast_batch
from services.forecast.domain.batch import PROPHET_BUDGET
from services.forecast.domain.demand import mase_scale
from services.forecast.domain.prophet_model import prophet_forecast

PASTA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "pasta",
                     "hierarchical_sales_data.csv")
START = datetime.date(2023, 1, 2)


def generate(n_series: int, n_days: int, seed: int = 0) -> list[SeriesHistory]:
    """Daily series: a quarter each smooth, erratic, intermittent and lumpy, weekly shape, 5 % stockouts."""
    rng = np.random.default_rng(seed)
    week = 1 + 0.4 * np.sin(2 * np.pi * np.arange(n_days) / 7)
    out = []
    for i in range(n_series):
        level = rng.uniform(0.5, 50)
        kind = i % 4
        if kind == 0:
            y = rng.poisson(level * week)
        elif kind == 1:
            y = rng.negative_binomial(1.5, 1.5 / (1.5 + level * week))
        elif kind == 2:
            y = (rng.random(n_days) < 0.25) * rng.poisson(3, n_days)
        else:
            y = (rng.random(n_days) < 0.1) * rng.negative_binomial(1, 0.1, n_days)
        demand = y.astype(float)
        demand[rng.random(n_days) < 0.05] = np.nan  # censored stockout days
        out.append(SeriesHistory(f"store-{i % 50}:SKU-{i}", START, demand, country="US"))
    return out


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _portfolio(chunk: list[SeriesHistory]) -> int:
    return len(forecast_batch(chunk, horizon=90, use_prophet="auto"))


def _prophet_one(series: SeriesHistory) -> float:
    prophet_forecast(series.demand, series.start, 90, country=series.country)
    return 1.0


def speed(args: argparse.Namespace) -> int:
    series = generate(args.series, args.days)
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(_portfolio, _chunks(series[: args.workers * 50], 50)))  # warm the workers
        t0 = time.perf_counter()
        done = sum(pool.map(_portfolio, _chunks(series, args.chunk)))
        portfolio_s = time.perf_counter() - t0
        sample = series[: args.prophet_series]
        t0 = time.perf_counter()
        list(pool.map(_prophet_one, sample, chunksize=4))
        prophet_sample_s = time.perf_counter() - t0
    prophet_s = prophet_sample_s * args.series / len(sample)
    print(f"portfolio: {done} series x {args.days} days -> 90-day quantile forecasts in {portfolio_s:.1f} s "
          f"({args.workers} processes, chunks of {args.chunk})")
    print(f"prophet: {len(sample)} series in {prophet_sample_s:.1f} s "
          f"({prophet_sample_s / len(sample) * args.workers:.3f} s per series per process); "
          f"extrapolated to {args.series}: {prophet_s:.0f} s")
    print(f"ratio prophet / portfolio: {prophet_s / portfolio_s:.0f}x")
    return 0


def load_pasta(path: str):
    """(dates, quantities (sku, day), promotions (sku, day), sku names); closed days are zero demand."""
    import pandas as pd

    frame = pd.read_csv(path, parse_dates=["DATE"]).set_index("DATE")
    frame = frame.reindex(pd.date_range(frame.index.min(), frame.index.max(), freq="D"), fill_value=0)
    qty = [c for c in frame.columns if c.startswith("QTY_")]
    promo = ["PROMO_" + c[4:] for c in qty]
    return (frame.index.date, frame[qty].to_numpy(float).T, frame[promo].to_numpy(float).T,
            [c[4:] for c in qty])


def _autoets(y: np.ndarray, h: int) -> np.ndarray:
    from statsforecast.models import AutoETS

    return np.maximum(AutoETS(season_length=7).forecast(y=y, h=h)["mean"], 0.0)


def _methods(histories: list[SeriesHistory], qty: np.ndarray, origin: int, h: int, methods: list[str],
             budget: int):
    out, timings, quantiles = {}, {}, {}
    for name in methods:
        t0 = time.perf_counter()
        if name.startswith("portfolio"):
            result = forecast_batch(histories, horizon=h, use_prophet="auto" if name == "portfolio" else False,
                                    prophet_budget=budget)
            fc = np.stack([f.mean for f in result])
            quantiles[name] = (np.stack([f.quantiles[0.1] for f in result]),
                               np.stack([f.quantiles[0.9] for f in result]), [f.model for f in result])
        elif name == "prophet":
            fc = np.stack([f.mean for f in forecast_batch(histories, horizon=h, use_prophet=True)])
        elif name == "autoets":
            fc = np.stack([_autoets(q[:origin], h) for q in qty])
        else:  # seasonal naive: the last observed week repeated
            fc = np.stack([np.resize(q[origin - 7:origin], h) for q in qty])
        out[name] = fc
        timings[name] = time.perf_counter() - t0
    return out, timings, quantiles


def accuracy_bench(args: argparse.Namespace) -> int:
    dates, qty, promo, skus = load_pasta(args.path)
    h, n_days = args.horizon, qty.shape[1]
    methods = args.methods.split(",")
    abs_err = {m: 0.0 for m in methods}
    mase = {m: [] for m in methods}
    seconds = {m: 0.0 for m in methods}
    total = 0.0
    below, above, prophet_chosen = {}, {}, 0
    for k in range(args.origins, 0, -1):
        origin = n_days - k * h
        histories = [SeriesHistory(f"pasta:{s}", dates[0], qty[i, :origin], promo=promo[i, :origin + h],
                                   country="IT") for i, s in enumerate(skus)]
        actual = qty[:, origin:origin + h]
        total += actual.sum()
        forecasts, timings, quantiles = _methods(histories, qty, origin, h, methods, args.prophet_budget)
        for m, (p10, p90, models) in quantiles.items():
            below.setdefault(m, []).append((actual < p10).mean())
            above.setdefault(m, []).append((actual > p90).mean())
            prophet_chosen += models.count("prophet") if m == "portfolio" else 0
        for m, fc in forecasts.items():
            abs_err[m] += np.abs(actual - fc).sum()
            seconds[m] += timings[m]
            for i in range(len(skus)):
                scale = mase_scale(qty[i, :origin], 7)
                if scale:
                    mase[m].append(np.abs(actual[i] - fc[i]).mean() / scale)
        print(f"origin {dates[origin]} done", flush=True)
    print(f"{len(skus)} SKUs, {args.origins} origins x {h} days, last day {dates[-1]}")
    print("| method | WAPE | MASE (mean, m=7) | fit+forecast seconds |")
    print("|---|---|---|---|")
    for m in methods:
        print(f"| {m} | {abs_err[m] / total:.3f} | {np.mean(mase[m]):.3f} | {seconds[m]:.1f} |")
    for m in below:
        print(f"{m}: actual below p10 on {np.mean(below[m]):.1%} of SKU-days, above p90 on {np.mean(above[m]):.1%}")
    print(f"portfolio chose Prophet for {prophet_chosen} of {len(skus) * args.origins} SKU-origins")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.forecast.bench")
    sub = parser.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("speed", help="portfolio vs Prophet on generated series")
    sp.add_argument("--series", type=int, default=10_000)
    sp.add_argument("--days", type=int, default=730)
    sp.add_argument("--workers", type=int, default=2)
    sp.add_argument("--chunk", type=int, default=5000)
    sp.add_argument("--prophet-series", type=int, default=200)
    ac = sub.add_parser("accuracy", help="rolling-origin accuracy on the pasta data")
    ac.add_argument("--path", default=os.path.normpath(PASTA))
    ac.add_argument("--origins", type=int, default=3)
    ac.add_argument("--horizon", type=int, default=28)
    ac.add_argument("--prophet-budget", type=int, default=PROPHET_BUDGET)
    ac.add_argument("--methods", default="portfolio,portfolio-no-prophet,prophet,autoets,seasonal-naive")
    args = parser.parse_args(argv)
    # statsforecast is the `bench` extra, not a runtime dependency: say so before hours of fitting, not after.
    if args.command == "accuracy" and "autoets" in args.methods.split(",") and not find_spec("statsforecast"):
        # a return code, not parser.error(): `replenish bench all` goes on with the other suites
        print("forecast accuracy: the autoets baseline needs statsforecast: pip install -e '.[bench]' "
              "(or leave it out with --methods)", file=sys.stderr)
        return 2
    return speed(args) if args.command == "speed" else accuracy_bench(args)


if __name__ == "__main__":
    raise SystemExit(main())
