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


def receipt_day_race(fast: list[tuple], live: list[tuple], ledger: Path) -> list[str]:
    """Each series' first differing reorder, when every one is the known live race (see the xfail below): fast
    orders on a day a PO line of that series was received, live orders later. Empty when any other differs."""
    with ledger.open() as f:
        received = {(r["sku"], r["date"]) for r in csv.DictReader(f) if float(r["received"]) > 0}
    found = []
    for sku in sorted({r[1] for r in fast + live}):
        a, b = [r for r in fast if r[1] == sku], [r for r in live if r[1] == sku]
        diff = next(((x, y) for x, y in zip(a + [None] * len(b), b + [None] * len(a), strict=True) if x != y), None)
        if diff is None:
            continue
        x, y = diff
        if x is None or (sku, x[0]) not in received or (y is not None and y[0] <= x[0]):
            return []
        found.append(f"{sku}: fast {x[0]} {x[2]}, live {y[0] + ' ' + y[2] if y else 'none'}")
    return found


def test_fast_mode_makes_the_live_replays_decisions(tmp_path):
    """3 series × (60 + 14) days, lead 3 ± 1 (receipts, learned lead times and promotions inside the window)."""
    path = write_csv(tmp_path / "demand.csv", 3, 74, seed=11)
    settings = {"csv": path, "days": 14, "history": 60, "lead_time": 3.0, "lead_time_std": 1.0, "seed": 3}
    live = run_replay(Options(out=tmp_path / "live", **settings))
    fast = simulate(Options(out=tmp_path / "fast", **settings), workers=1)
    first = date.fromisoformat(live["first_day"])
    live_reorders = [(r["day"], r["sku"], r["quantity"]) for r in rows(tmp_path / "live", "reorder")
                     if date.fromisoformat(r["day"]) >= first]  # live also lists the history's (cancelled) ones
    fast_reorders = [(r["day"], r["sku"], r["quantity"]) for r in rows(tmp_path / "fast", "reorder")]
    assert fast_reorders
    if fast_reorders != live_reorders:
        race = receipt_day_race(fast_reorders, live_reorders, tmp_path / "fast" / "ledger.csv")
        if race:
            pytest.xfail("live policy decided a receipt day D before orders' PO snapshot with the received line "
                         "reached it, so it counted the line as on order as well as on hand (timing, docs/contract.md "
                         "§10); fast mode counts the receipt once: " + "; ".join(race))
    assert fast_reorders == live_reorders
    assert rows(tmp_path / "fast", "po") == rows(tmp_path / "live", "po")  # same POs, orders' own po_ids
    assert (tmp_path / "fast" / "ledger.csv").read_bytes() == (tmp_path / "live" / "ledger.csv").read_bytes()
    if live["reorders"] == len(live_reorders):  # no history reorder: the whole decisions.csv is the same
        assert fast["decisions_sha256"] == live["decisions_sha256"]
    body = json.loads((tmp_path / "fast" / "replay.json").read_text())
    assert body["mode"] == "fast" and live["mode"] == "live"
    for field in ("fill_rate", "mean_on_hand", "stockout_days", "purchase_orders", "baseline", "vs_baseline"):
        assert body[field] == live[field], field
