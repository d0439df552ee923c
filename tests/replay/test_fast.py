"""`replenish simulate` (replay's fast mode) on tiny synthetic histories: no platform, the services' pure code."""
import csv
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from replenish.replay import fast
from replenish.replay.dataset import load, select
from replenish.replay.fast import Simulation, rules_for, simulate
from replenish.replay.fast_forecast import Plan, Settings
from replenish.replay.fast_policy import Book, static_rules
from replenish.replay.fast_screen import screen_knows_params
from replenish.replay.report import DECISION_COLUMNS
from replenish.replay.run import Options, supplies
from replenish.replay.simulate_cli import simulate as simulate_command
from services.forecast.settings import ForecastSettings
from services.policy.domain.rules import parse_rules
from services.policy.settings import PolicySettings

START = date(2024, 1, 1)


def write_csv(path: Path, n_series=3, n_days=74, seed=1, promos=True) -> Path:
    """Poisson series S0..S{n-1} at store-1, some with 4-day promotions (demand × 1.8)."""
    rng = np.random.default_rng(seed)
    with path.open("w") as f:
        f.write("date,sku,location,quantity,promo\n")
        for i in range(n_series):
            lam, flags = rng.uniform(0.5, 12), np.zeros(n_days, dtype=int)
            if promos:
                for s in rng.choice(n_days - 5, size=max(1, n_days // 30), replace=False):
                    flags[s:s + 4] = 1
            for t in range(n_days):
                q = rng.poisson(lam * (1.8 if flags[t] else 1.0))
                f.write(f"{START + timedelta(days=t)},S{i},store-1,{q},{flags[t]}\n")
    return path


def options(tmp_path, csv_path, **kw) -> Options:
    base = {"days": 14, "history": 60, "lead_time": 3.0, "lead_time_std": 1.0, "seed": 3}
    return Options(csv=csv_path, out=tmp_path / kw.pop("name", "out"), **{**base, **kw})


def decisions(out: Path) -> list[dict]:
    with (out / "decisions.csv").open() as f:
        return list(csv.DictReader(f))


def play(opts: Options, **kw):
    sel = select(load(opts.csv, location=opts.location), days=opts.days, history=opts.history,
                 series=opts.series, seed=opts.seed)
    sim = Simulation(sel, supplies(sel, opts), opts, workers=1, **kw)
    return sim, sim.run(lambda what, n: None)


def test_simulate_writes_what_a_replay_writes(tmp_path):
    opts = options(tmp_path, write_csv(tmp_path / "d.csv"))
    body = simulate(opts, workers=1)
    files = {p.name for p in opts.out.iterdir()}
    assert files == {"replay.json", "ledger.csv", "baseline_ledger.csv", "decisions.csv", "replay.html"}
    saved = json.loads((opts.out / "replay.json").read_text())
    assert saved["mode"] == "fast" and saved["decisions_sha256"] == body["decisions_sha256"]
    for field in ("series", "excluded_series", "days", "target_fill", "fill_rate", "cycle_service_level",
                  "mean_on_hand", "stockout_days", "purchase_orders", "history_purchase_orders", "alerts",
                  "per_class", "baseline", "vs_baseline", "series_keys", "opening_on_hand", "wall_s"):
        assert field in saved
    rows = decisions(opts.out)
    assert list(rows[0]) == list(DECISION_COLUMNS)
    reorders = [r for r in rows if r["record"] == "reorder"]
    pos = [r for r in rows if r["record"] == "po"]
    assert reorders and len(pos) == saved["purchase_orders"]
    assert all(r["po_id"].startswith("PO-SUP-") for r in pos)  # orders' own ids (po_id_for of the day's window)
    ordered = sum(float(r["ordered"]) for r in csv.DictReader((opts.out / "ledger.csv").open()))
    assert ordered == pytest.approx(sum(float(r["quantity"]) for r in pos))


def test_same_inputs_same_decisions_with_any_number_of_fit_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(fast, "POOL_MIN", 0)  # worker processes even for this tiny plan
    path = write_csv(tmp_path / "d.csv")
    one = simulate(options(tmp_path, path, name="a"), workers=1)
    again = simulate(options(tmp_path, path, name="b"), workers=1)
    two = simulate(options(tmp_path, path, name="c"), workers=2)
    assert one["decisions_sha256"] == again["decisions_sha256"] == two["decisions_sha256"]
    assert one["fill_rate"] == two["fill_rate"]


@pytest.mark.parametrize("cfg", [PolicySettings(), PolicySettings(demand_distribution="auto", lost_sales=True)],
                         ids=["normal", "auto-lost-sales"])
def test_screen_never_skips_a_key_that_orders(tmp_path, cfg):
    """The vectorized screen only rules out keys decide_core would not order: deciding every key on every day
    gives the same reorders (with promotions, a lead-time spread, a cycle-service and a min/max rule)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n- id: cycle-s1\n  when: {field: sku, op: eq, value: S1}\n"
                     "  then: [{action: set_service_level, value: 0.8}]\n"
                     "- id: minmax-s2\n  when: {field: sku, op: eq, value: S2}\n"
                     "  then: [{action: set_min, value: 5}, {action: set_max, value: 40}]\n")
    opts = options(tmp_path, write_csv(tmp_path / "d.csv", n_series=5, seed=4), days=28, rules=rules)
    screened, a = play(opts, cfg=cfg)
    exhaustive, b = play(opts, cfg=cfg, screen_keys=False)
    assert screened.screen_keys and screened.decided < exhaustive.decided
    assert a.reorders and a.reorders == b.reorders
    assert [p["lines"] for p in a.pos] == [p["lines"] for p in b.pos]


def test_the_screen_knows_every_policy_parameter():
    """A new PolicyParams field turns the screen off (every key decided: slow, never wrong) until it is taught."""
    assert screen_knows_params()


def test_a_rule_on_stock_turns_the_screen_off():
    assert static_rules(parse_rules([{"id": "a", "when": {"field": "sku", "op": "eq", "value": "X"},
                                      "then": [{"action": "set_service_level", "value": 0.9}]}]))
    assert not static_rules(parse_rules([{"id": "a", "when": {"field": "on_hand", "op": "lt", "value": 3},
                                          "then": [{"action": "set_service_level", "value": 0.9}]}]))
    assert not static_rules(parse_rules([{"id": "a", "valid_from": "2024-01-01",
                                          "then": [{"action": "set_service_level", "value": 0.9}]}]))


def test_rules_are_the_policy_events_then_the_rule_file(tmp_path):
    opts = options(tmp_path, tmp_path / "none.csv", target_fill=0.9, review_days=5)
    only = rules_for(opts)
    assert [r["id"] for r in only.rules] == ["policy:*:*:*"]
    assert {a["action"]: a["value"] for a in only.rules[0]["then"]} == {"set_fill_rate": 0.9, "set_review_days": 5}
    path = tmp_path / "rules.yaml"
    path.write_text("- {id: late, priority: 200, then: [{action: set_safety_days, value: 3}]}\n"
                    "- {id: early, priority: 1, then: [{action: set_safety_days, value: 2}]}\n")
    both = rules_for(options(tmp_path, tmp_path / "none.csv", rules=path))
    assert [r["id"] for r in both.rules] == ["early", "policy:*:*:*", "late"]  # by priority, as policy sorts


def test_an_empty_shelf_censors_its_days_until_the_refill_as_the_forecast_fold_does(tmp_path):
    """Demand far above the opening stock: the day the shelf empties, the days it stays empty and the day the
    receipt refills it are censored; days with stock all day are not."""
    path = tmp_path / "d.csv"
    demand = [2] * 60 + [30] * 3 + [0] * 11
    rows = ["date,sku,location,quantity"] + [f"{START + timedelta(days=t)},A,store-1,{q}" for t, q in enumerate(demand)]
    path.write_text("\n".join(rows) + "\n")
    sim, played = play(options(tmp_path, path, lead_time=4.0, lead_time_std=0.0))
    ledger = played.shelf.ledger()
    censored = sim.history.censored[0, sim.h:]
    start = [sim.sel.opening[("A", "store-1")]] + [r["on_hand_end"] for r in ledger[:-1]]
    expected = [s <= 0 or r["on_hand_end"] <= 0 for s, r in zip(start, ledger, strict=True)]
    assert any(expected) and not all(expected)
    assert censored.tolist() == expected
    assert not sim.history.censored[0, :sim.h].any()  # the history's count keeps every history day uncensored


def test_history_fits_only_the_chunks_policy_reads(tmp_path):
    days = [START + timedelta(days=i) for i in range(40)]
    s = Settings.of(ForecastSettings(refit_days=7, day_chunk=2))
    keys = [("A", "L"), ("B", "L"), ("C", "L")]
    plan = Plan(keys, days, days[30], {("B", "L"): [days[10]]}, s)
    # A and C refit on 0, 7, …, 28; B also on its promotion's announcement day 10 (then 17, 24)
    assert plan.due[("L", days[10])] == [["B"]]
    history = plan.history_jobs(days[30])
    assert history == [("L", days[24], ["B"]), ("L", days[28], ["A", "C"])]
    assert plan.jobs_on(days[35]) == [("L", ["A", "C"])]  # every test day's chunks…
    assert plan.jobs_on(days[39]) == []  # …but the last day's (read the day after the replay)


def test_learned_lead_times_are_counted_from_the_day_the_po_is_received():
    book = Book()
    book.po_received(date(2024, 1, 10), "SUP", ["A"], 3.0)
    book.po_received(date(2024, 1, 12), "SUP", ["A"], 5.0)
    book.po_received(date(2024, 1, 12), "SUP", ["A"], 0.0)  # never learned (≤ 0)
    assert book.advance(date(2024, 1, 9)) == set() and book.receipts("SUP", "A") == (0, 0.0, 0.0)
    assert book.advance(date(2024, 1, 10)) == {("SUP", "A")} and book.receipts("SUP", "A") == (1, 3.0, 0.0)
    book.advance(date(2024, 1, 12))
    n, mean, std = book.receipts("SUP", "A")
    assert (n, mean) == (2, 4.0) and std == pytest.approx(np.std([3.0, 5.0], ddof=1))


def test_simulate_command_takes_the_replay_options(tmp_path):
    app = typer.Typer()
    app.command()(simulate_command)
    app.command("noop")(lambda: None)  # two commands: the app dispatches by name
    path = write_csv(tmp_path / "d.csv", n_series=2)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["simulate", str(path), "--days", "14", "--history", "60", "--lead-time", "3",
                                      "--lead-time-std", "1", "--review-days", "5", "--target-fill", "0.9",
                                      "--seed", "2", "--timezone", "Europe/Rome", "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = json.loads((out / "replay.json").read_text())
    assert body["mode"] == "fast" and body["settings"]["timezone"] == "Europe/Rome"
    assert body["settings"]["review_days"] == 5 and body["target_fill"] == 0.9
    bad = CliRunner().invoke(app, ["simulate", str(tmp_path / "missing.csv"), "--out", str(out)])
    assert bad.exit_code == 2  # a usage error naming the file, not a traceback
