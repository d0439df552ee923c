"""Builders for replay tests: small synthetic demand histories written as CSV in tmp_path (no pasta file)."""
from datetime import date, timedelta

import numpy as np

from replenish.replay.dataset import Dataset, Series

START = date(2024, 1, 1)


def write_long(path, rows, header="date,sku,location,quantity"):
    path.write_text(header + "\n" + "".join(",".join(str(c) for c in r) + "\n" for r in rows))
    return path


def synthetic(n_series=6, n_days=120, seed=1, zero=()):
    """A Dataset of Poisson series S0..S{n-1} at L1 (those in `zero` never sell) over n_days calendar days."""
    rng = np.random.default_rng(seed)
    days = [START + timedelta(days=i) for i in range(n_days)]
    series = [Series(f"S{i}", "L1", np.zeros(n_days) if i in zero else rng.poisson(rng.uniform(0.3, 9), n_days)
                     .astype(float)) for i in range(n_series)]
    return Dataset(days, series)
