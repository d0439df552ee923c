"""The acid test of "one policy": `replenish simulate` (fast, in process) and `replenish replay` (the live
platform on the event clock) make the same decisions on the same input."""
import csv
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from replenish.replay.fast import simulate
from replenish.replay.run import Options, run_replay

pytestmark = pytest.mark.integration


def write_csv(path: Path, n_series: int, n_days: int, seed: int) -> Path:
    """Poisson series with 4-day promotions (demand × 1.8), so forecasts and positions see promotions."""
    rng = np.random.default_rng(seed)
    start = date(2024, 1, 1)
    with path.open("w") as f:
        f.write("date,sku,location,quantity,promo\n")
        for i in range(n_series):
            lam, flags = rng.uniform(0.5, 12), np.zeros(n_days, dtype=int)
            for s in rng.choice(n_days - 5, size=max(1, n_days // 30), replace=False):
                flags[s:s + 4] = 1
            for t in range(n_days):
                q = rng.poisson(lam * (1.8 if flags[t] else 1.0))
                if q or flags[t]:
                    f.write(f"{start + timedelta(days=t)},S{i:02d},store-1,{q},{flags[t]}\n")
    return path


def rows(out: Path, record: str) -> list[dict]:
    with (out / "decisions.csv").open() as f:
        return [r for r in csv.DictReader(f) if r["record"] == record]


def test_fast_mode_makes_the_live_replays_decisions_even_with_policy_killed_mid_way(tmp_path):
    """3 series × (60 + 14) days, lead 3 ± 1 (receipts, learned lead times and promotions inside the window); the
    live platform's policy is SIGKILLed after 7 test days and restarted by its supervisor."""
    path = write_csv(tmp_path / "demand.csv", 3, 74, seed=11)
    settings = {"csv": path, "days": 14, "history": 60, "lead_time": 3.0, "lead_time_std": 1.0, "seed": 3}
    live = run_replay(Options(out=tmp_path / "live", kill_policy_on_day=7, **settings))
    fast = simulate(Options(out=tmp_path / "fast", **settings), workers=1)
    first = date.fromisoformat(live["first_day"])
    live_reorders = [(r["day"], r["sku"], r["quantity"]) for r in rows(tmp_path / "live", "reorder")
                     if date.fromisoformat(r["day"]) >= first]  # live also lists the history's (cancelled) ones
    fast_reorders = [(r["day"], r["sku"], r["quantity"]) for r in rows(tmp_path / "fast", "reorder")]
    assert fast_reorders
    # a receipt counts once in both, whether policy reads the warehouse's receipt or orders' PO snapshot first
    assert fast_reorders == live_reorders
    assert rows(tmp_path / "fast", "po") == rows(tmp_path / "live", "po")  # same POs, orders' own po_ids
    assert (tmp_path / "fast" / "ledger.csv").read_bytes() == (tmp_path / "live" / "ledger.csv").read_bytes()
    if live["reorders"] == len(live_reorders):  # no history reorder: the whole decisions.csv is the same
        assert fast["decisions_sha256"] == live["decisions_sha256"]
    body = json.loads((tmp_path / "fast" / "replay.json").read_text())
    assert body["mode"] == "fast" and live["mode"] == "live"
    for field in ("fill_rate", "mean_on_hand", "stockout_days", "purchase_orders", "baseline", "vs_baseline"):
        assert body[field] == live[field], field
