import hashlib
import json
import random
from datetime import date, timedelta

import numpy as np

from replenish.replay import report
from replenish.replay.baseline import tune
from replenish.replay.dataset import Dataset, Series, select
from replenish.replay.report import PurchaseOrder, Reorder, compare, decisions_csv
from replenish.replay.world import LEDGER_COLUMNS, Shelf
from tests.replay.conftest import synthetic

D0 = date(2024, 7, 1)


def strict(text):
    def refuse(name):
        raise ValueError(f"{name} in JSON")
    return json.loads(text, parse_constant=refuse)


def run(out, ds, days=20):
    """A stand-in platform (order 3 days of demand when empty) on the shelf, then the report."""
    sel = select(ds, days=days, history=40)
    shelf, orders = Shelf(sel.opening), []
    for t, day in enumerate(sel.test_days):
        shelf.day(day, {k: sel.test[k][t] for k in sel.keys})
        for sku, loc in sel.keys:
            if shelf.on_hand((sku, loc)) == 0:
                shelf.record_order((sku, loc), day, 3)
                orders.append(PurchaseOrder(day, f"po-{sku}-{t}", "sup", ((sku, loc, 3.0),)))
    base = tune(sel, platform_fill=0.8, target_fill=0.95, lead=3, review_days=7)
    return report.write(out, sel, shelf.ledger(), base, reorders=[], purchase_orders=orders, target_fill=0.95,
                        mode="test", wall_s=1.5, alerts=2)


def test_outputs_are_written_with_strict_json_and_the_decisions_hash(tmp_path):
    body = run(tmp_path, synthetic(n_series=4, n_days=80))
    on_disk = strict((tmp_path / "replay.json").read_text())
    assert on_disk == json.loads(json.dumps(body))
    assert on_disk["decisions_sha256"] == hashlib.sha256((tmp_path / "decisions.csv").read_bytes()).hexdigest()
    assert on_disk["series_keys"] == [["S0", "L1"], ["S1", "L1"], ["S2", "L1"], ["S3", "L1"]]
    assert set(on_disk["opening_on_hand"]) == {"L1:S0", "L1:S1", "L1:S2", "L1:S3"}
    assert on_disk["vs_baseline"] == 1 - on_disk["mean_on_hand"] / on_disk["baseline"]["mean_on_hand"]
    lines = (tmp_path / "ledger.csv").read_text().splitlines()
    assert lines[0] == ",".join(LEDGER_COLUMNS) and len(lines) == 1 + 4 * 20
    assert lines[1:] == sorted(lines[1:], key=lambda r: (r.split(",")[1], r.split(",")[2], r.split(",")[0]))
    assert (tmp_path / "baseline_ledger.csv").read_text().splitlines()[0] == ",".join(LEDGER_COLUMNS)
    html = (tmp_path / "replay.html").read_text()
    assert html.count("<svg") == 4 and "<script" not in html and "src=" not in html and "href=" not in html


def test_a_window_without_demand_still_gives_strict_json(tmp_path):
    demand = np.array([3.0] * 40 + [0.0] * 20)
    ds = Dataset([D0 + timedelta(days=i) for i in range(60)], [Series("A", "s", demand)])
    body = run(tmp_path, ds)
    strict((tmp_path / "replay.json").read_text())
    assert body["fill_rate"] == 1.0 and body["cycle_service_level"] == 1.0


def test_decisions_csv_is_the_same_bytes_for_the_same_decisions_in_any_order():
    reorders = [Reorder(D0 + timedelta(days=i % 3), "s", f"S{i}", 2.5 * i, "purchase") for i in range(12)]
    pos = [PurchaseOrder(D0, f"po-{i}", "sup", tuple((f"S{j}", "s", float(j + 1)) for j in range(i + 1)))
           for i in range(5)]
    one = decisions_csv(reorders, pos)
    shuffled_reorders, shuffled_pos = reorders[:], [PurchaseOrder(p.day, p.po_id, p.supplier, p.lines[::-1])
                                                    for p in pos]
    random.Random(4).shuffle(shuffled_reorders)
    random.Random(5).shuffle(shuffled_pos)
    noisy = [Reorder(r.day, r.location, r.sku, r.quantity + 1e-12, r.kind) for r in shuffled_reorders]
    assert decisions_csv(noisy, shuffled_pos) == one
    assert one.decode().splitlines()[0] == "record,day,location,sku,quantity,kind,po_id,supplier,lines"
    assert decisions_csv(reorders[1:], pos) != one


def test_compare_shows_both_runs_and_whether_decisions_match(tmp_path):
    ds = synthetic(n_series=3, n_days=80)
    run(tmp_path / "a", ds)
    run(tmp_path / "b", ds)
    text = compare(tmp_path / "a", tmp_path / "b")
    assert "fill rate" in text and "pattern" in text and "yes" in text
    body = json.loads((tmp_path / "b" / "replay.json").read_text())
    body["decisions_sha256"], body["fill_rate"] = "0" * 64, body["fill_rate"] - 0.25
    (tmp_path / "b" / "replay.json").write_text(json.dumps(body))
    text = compare(tmp_path / "a", tmp_path / "b")
    assert "-0.2500" in text and "│ no" in text
