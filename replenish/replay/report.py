"""A replay's output directory: replay.json, the two ledgers, decisions.csv (hashed), replay.html; and `compare`."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from replenish.replay import charts, scores
from replenish.replay.baseline import BaselineResult
from replenish.replay.dataset import Key, Selection
from replenish.replay.world import LEDGER_COLUMNS

DECISION_COLUMNS = ("record", "day", "location", "sku", "quantity", "kind", "po_id", "supplier", "lines")


@dataclass(frozen=True)
class Reorder:
    day: date
    location: str
    sku: str
    quantity: float
    kind: str = "purchase"


@dataclass(frozen=True)
class PurchaseOrder:
    day: date
    po_id: str
    supplier: str
    lines: tuple[tuple[str, str, float], ...]  # (sku, location, quantity)


def quantity_text(value: float) -> str:
    """Canonical text of a decided quantity: rounded to 6 decimals so float noise never changes the bytes."""
    x = round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    return str(int(x)) if x.is_integer() else f"{x:.6f}".rstrip("0")


def ledger_text(value: float) -> str:
    """Exact text of a ledger number (repr round-trips), without a trailing .0 on whole units."""
    x = float(value) + 0.0
    return str(int(x)) if x.is_integer() else repr(x)


def _csv_bytes(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def decisions_csv(reorders: Iterable[Reorder], purchase_orders: Iterable[PurchaseOrder]) -> bytes:
    """Every reorder and every PO as one canonical CSV: the same decisions give the same bytes, in any order."""
    rows = [("reorder", r.day.isoformat(), r.location, r.sku, quantity_text(r.quantity), r.kind, "", "", "")
            for r in reorders]
    for po in purchase_orders:
        lines = sorted((loc, sku, quantity_text(q)) for sku, loc, q in po.lines)
        rows.append(("po", po.day.isoformat(), "", "", quantity_text(sum(q for _, _, q in po.lines)), "", po.po_id,
                     po.supplier, ";".join(f"{loc}:{sku}={q}" for loc, sku, q in lines)))
    # day first, then every column as text: a total order, whatever order the decisions were observed in
    rows.sort(key=lambda r: (r[1], r[0], r[2], r[3], r[5], r[6], r[7], r[8], r[4]))
    return _csv_bytes(DECISION_COLUMNS, rows)


def ledger_csv(rows: Iterable[Mapping]) -> bytes:
    """date,sku,location,demand,served,on_hand_end,ordered,received; one row per series and day, by sku,
    location, date."""
    ordered = sorted(rows, key=lambda r: (str(r["sku"]), str(r["location"]), r["date"]))
    return _csv_bytes(LEDGER_COLUMNS, ([r["date"].isoformat(), str(r["sku"]), str(r["location"]),
                                        *(ledger_text(r[c]) for c in LEDGER_COLUMNS[3:])] for r in ordered))


def daily_totals(rows: Iterable[Mapping], days: list[date]) -> dict[str, list[float]]:
    """Σ over series per day of demand, served, on_hand_end and ordered (what replay.html draws)."""
    at = {d: i for i, d in enumerate(days)}
    out = {name: [0.0] * len(days) for name in ("demand", "served", "on_hand_end", "ordered")}
    for r in rows:
        if r["date"] in at:
            for name, values in out.items():
                values[at[r["date"]]] += float(r[name])
    return out


def _key_text(key: Key) -> str:
    return f"{key[1]}:{key[0]}"  # location:sku, the platform's key everywhere


def summary(sel: Selection, ledger: list[dict], baseline: BaselineResult, *, purchase_orders: int,
            decisions_sha256: str, target_fill: float, mode: str, wall_s: float, alerts: int | Mapping,
            history_purchase_orders: int, reorders: int = 0, settings: Mapping | None = None,
            extra: Mapping | None = None) -> dict:
    """replay.json's body. vs_baseline is 0.0 when the baseline holds no stock (no ratio to take)."""
    platform, base = scores.book(ledger), scores.book(baseline.ledger)
    head = scores.headline(platform)
    schemes = scores.classes(sel.history, {s.key: s.label for s in sel.series})
    fills = scores.series_fill(platform)
    return {
        "series": len(sel.series), "excluded_series": len(sel.excluded), "days": len(sel.test_days),
        "first_day": sel.test_days[0].isoformat() if sel.test_days else None,
        "last_day": sel.test_days[-1].isoformat() if sel.test_days else None,
        "history_days": len(sel.history_days), "target_fill": target_fill, **head,
        "share_under_80": float((fills < scores.UNDER).mean()) if fills.size else 0.0,
        "purchase_orders": purchase_orders, "reorders": reorders, "history_purchase_orders": history_purchase_orders,
        "alerts": alerts, "per_class": scores.per_class(platform, base, schemes), "baseline": baseline.summary(),
        "vs_baseline": 1 - head["mean_on_hand"] / baseline.mean_on_hand if baseline.mean_on_hand > 0 else 0.0,
        "series_keys": [[sku, loc] for sku, loc in sel.keys],
        "excluded_keys": [[sku, loc] for sku, loc in sel.excluded],
        "opening_on_hand": {_key_text(k): sel.opening[k] for k in sel.keys},
        "decisions_sha256": decisions_sha256, "mode": mode, "wall_s": wall_s, "settings": dict(settings or {}),
        **dict(extra or {}),
    }


def write(out: str | Path, sel: Selection, ledger: list[dict], baseline: BaselineResult, *,
          reorders: Iterable[Reorder], purchase_orders: Iterable[PurchaseOrder], target_fill: float, mode: str,
          wall_s: float, alerts: int | Mapping = 0, history_purchase_orders: int = 0,
          settings: Mapping | None = None, extra: Mapping | None = None) -> dict:
    """Write replay.json, ledger.csv, baseline_ledger.csv, decisions.csv and replay.html into `out`; return
    replay.json's body. `purchase_orders` are the POs sent (counted by distinct po_id)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reorders, pos = list(reorders), list(purchase_orders)
    decisions = decisions_csv(reorders, pos)
    body = summary(sel, ledger, baseline, purchase_orders=len({p.po_id for p in pos}),
                   decisions_sha256=hashlib.sha256(decisions).hexdigest(), target_fill=target_fill, mode=mode,
                   wall_s=wall_s, alerts=alerts, history_purchase_orders=history_purchase_orders,
                   reorders=len(reorders), settings=settings, extra=extra)
    text = json.dumps(body, indent=1, allow_nan=False)  # strict JSON: a NaN is a bug, never written
    (out / "decisions.csv").write_bytes(decisions)
    (out / "ledger.csv").write_bytes(ledger_csv(ledger))
    (out / "baseline_ledger.csv").write_bytes(ledger_csv(baseline.ledger))
    days = list(sel.test_days)
    (out / "replay.html").write_text(charts.page(body, days, daily_totals(ledger, days),
                                                 daily_totals(baseline.ledger, days)), encoding="utf-8")
    (out / "replay.json").write_text(text + "\n", encoding="utf-8")
    return body


HEADLINE = (("series", "series"), ("days", "days"), ("fill rate", "fill_rate"),
            ("cycle service level", "cycle_service_level"), ("mean on-hand", "mean_on_hand"),
            ("stockout days", "stockout_days"), ("purchase orders", "purchase_orders"), ("alerts", "alerts"),
            ("baseline k", "baseline.k"), ("baseline fill rate", "baseline.fill_rate"),
            ("baseline mean on-hand", "baseline.mean_on_hand"), ("vs baseline", "vs_baseline"),
            ("wall s", "wall_s"))


def _read(directory: str | Path) -> dict:
    path = Path(directory) / "replay.json"
    if not path.is_file():
        raise ValueError(f"{directory}: no replay.json (is it a replay --out directory?)")
    return json.loads(path.read_text(encoding="utf-8"))


def _get(body: Mapping, dotted: str):
    for part in dotted.split("."):
        body = body.get(part) if isinstance(body, Mapping) else None
    return body


def _cell(value) -> str:
    if isinstance(value, bool) or value is None or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}"


def _diff(a, b) -> str:
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (a, b))
    return _cell(b - a) if numeric else ("same" if a == b else "differs")


def _union(a, b) -> list[str]:
    """Keys of both maps, in the first run's order (the report's own class order), then the second's extras."""
    return list(dict.fromkeys([*(a or {}), *(b or {})]))


def compare_tables(dir1: str | Path, dir2: str | Path) -> list[Table]:
    """The two runs' headline figures, per-class fill and decisions side by side (second minus first)."""
    one, two = _read(dir1), _read(dir2)
    head = Table("figure", str(dir1), str(dir2), "difference", title="replay compare")
    for label, path in HEADLINE:
        a, b = _get(one, path), _get(two, path)
        head.add_row(label, _cell(a), _cell(b), _diff(a, b))
    classes = Table("class", "fill 1", "fill 2", "difference", "baseline fill 1", "baseline fill 2",
                    title="fill rate by class")
    for scheme in _union(one.get("per_class"), two.get("per_class")):
        for name in _union(_get(one, f"per_class.{scheme}"), _get(two, f"per_class.{scheme}")):
            a, b = (_get(r, f"per_class.{scheme}.{name}") or {} for r in (one, two))
            classes.add_row(f"{scheme}: {name}", _cell(a.get("fill_rate")), _cell(b.get("fill_rate")),
                            _diff(a.get("fill_rate"), b.get("fill_rate")), _cell(a.get("baseline_fill_rate")),
                            _cell(b.get("baseline_fill_rate")))
    same = bool(one.get("decisions_sha256")) and one.get("decisions_sha256") == two.get("decisions_sha256")
    decided = Table("decisions_sha256", "match", title="decisions")
    decided.add_row(f"{one.get('decisions_sha256')}\n{two.get('decisions_sha256')}", "yes" if same else "no")
    return [head, classes, decided]


def compare(dir1: str | Path, dir2: str | Path) -> str:
    """`replenish replay compare DIR1 DIR2` as plain text."""
    console = Console(file=io.StringIO(), width=140, color_system=None, force_terminal=False)
    for table in compare_tables(dir1, dir2):
        console.print(table)
    return console.file.getvalue()


def print_compare(dir1: str | Path, dir2: str | Path, console: Console | None = None) -> None:
    """The same comparison printed with rich on the terminal."""
    console = console or Console()
    for table in compare_tables(dir1, dir2):
        console.print(table)
