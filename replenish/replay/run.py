"""`replenish replay`: start an isolated platform on the event clock, play the world through it, score it."""
from __future__ import annotations

import asyncio
import csv
import os
import shutil
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from replenish.replay import bias, report, scores
from replenish.replay.baseline import tune
from replenish.replay.dataset import Key, Selection, load, select
from replenish.replay.drive import Driver, Played, Settings
from replenish.replay.feed import Supply
from replenish.replay.platform_io import PlatformIO
from replenish.replay.recorder import AlertRecorder

ISOLATED = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REPLENISH_CONFIG", "REPLENISH_CLOCK")


@dataclass(frozen=True)
class Options:
    csv: Path
    out: Path
    days: int = 182
    history: int = 365
    series: int | None = None
    lead_time: float = 7.0
    lead_time_std: float = 0.0
    review_days: float = 7.0
    target_fill: float = 0.95
    approve: str = "planner"
    seed: int = 0
    timezone: str = "UTC"
    country: str | None = None
    rules: Path | None = None
    master: Path | None = None
    keep: bool = False
    location: str = "store-1"
    partitions: int = 2
    kill_policy_on_day: int | None = None  # determinism check: SIGKILL policy once this many test days are played


def supplies(sel: Selection, opts: Options) -> dict[Key, Supply]:
    """One supplier per SKU: from --master where it names the SKU, else lead L, pack 1, unit cost = mean price."""
    given = read_master(opts.master) if opts.master else {}
    out = {}
    for s in sel.series:
        row = given.get(s.sku)
        out[s.key] = row or Supply(supplier_id=f"SUP-{s.sku}", lead_time_days=opts.lead_time,
                                   lead_time_std_days=opts.lead_time_std, unit_cost=s.price or 1.0)
    return out


def read_master(path: Path) -> dict[str, Supply]:
    """A CSV `sku,supplier_id,lead_time_days[,lead_time_std_days][,pack_size][,moq][,unit_cost]`."""
    out = {}
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                out[row["sku"].strip()] = Supply(
                    supplier_id=row["supplier_id"].strip(), lead_time_days=float(row["lead_time_days"]),
                    lead_time_std_days=float(row.get("lead_time_std_days") or 0),
                    pack_size=float(row.get("pack_size") or 1), moq=float(row.get("moq") or 0),
                    unit_cost=float(row.get("unit_cost") or 1))
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValueError(f"{path}:{line}: {exc!r} (columns: sku, supplier_id, lead_time_days, "
                                 "lead_time_std_days?, pack_size?, moq?, unit_cost?)") from exc
    return out


def platform_env(opts: Options, config: Path) -> dict[str, str]:
    """The caller's environment without anything that points outside the replay, on the event clock."""
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED}
    env.update({"REPLENISH_CLOCK": "event", "REPLENISH_CONFIG": str(config),
                # every hop of a replayed day waits for the next fetch: the bundled broker answers a fetch only when
                # its wait is over (docs/broker.md), so the replay polls background consumers as often as urgent ones
                "REPLENISH_KAFKA_FETCH_MAX_WAIT_BACKGROUND_MS": env.get(
                    "REPLENISH_KAFKA_FETCH_MAX_WAIT_BACKGROUND_MS", "20")})
    # The driver waits on every replayed day for forecast to close it and for orders to send what the planner
    # approved; idle, forecast looks for a closed day every poll_s (1 s) and orders sends every tick_s (0.5 s):
    # most of a small day's wall time (docs/bench-replay.md, "Speed"). Timing never changes a decision here.
    env.setdefault("REPLENISH_FORECAST_POLL_S", "0.05")
    env.setdefault("REPLENISH_ORDERS_TICK_S", "0.1")
    if opts.approve == "auto":
        env["REPLENISH_ORDERS_AUTO_APPROVE_BELOW"] = "1e18"
    return env


def run_replay(opts: Options, progress=None) -> dict[str, Any]:
    """The whole replay; returns replay.json's body (also written under opts.out)."""
    from shared.runtime.platform import Platform

    started = time.monotonic()
    signal.signal(signal.SIGTERM, _stop)  # a terminated replay still stops the platform it started (finally below)
    sel = select(load(opts.csv, location=opts.location), days=opts.days, history=opts.history, series=opts.series,
                 seed=opts.seed)
    supply = supplies(sel, opts)
    work = Path(tempfile.mkdtemp(prefix="replenish-replay-"))
    with AlertRecorder() as recorder:
        config = work / "config.yaml"
        config.write_text(yaml.safe_dump(recorder.notify_config()))
        platform = Platform(work / "platform", env=platform_env(opts, config), partitions=opts.partitions)
        try:
            endpoints = platform.start()
            if opts.kill_policy_on_day is not None:
                progress = _killing_policy(platform, opts.kill_policy_on_day, progress)
            played = asyncio.run(_play(endpoints, sel, supply, opts, progress))
            if opts.keep:
                _keep_open(endpoints)
        finally:
            platform.stop()
            shutil.rmtree(work, ignore_errors=True)
        alerts = recorder.count
    return write_outputs(opts, sel, supply, played, alerts=alerts, wall_s=time.monotonic() - started, mode="live")


async def _play(endpoints: dict, sel: Selection, supply: dict[Key, Supply], opts: Options, progress) -> Played:
    io = PlatformIO(endpoints)
    try:
        if opts.rules:
            await _put_rules(io, yaml.safe_load(opts.rules.read_text()))
        settings = Settings(seed=opts.seed, approve=opts.approve, timezone=opts.timezone, country=opts.country,
                            target_fill=opts.target_fill, review_days=opts.review_days)
        return await Driver(io, sel, supply, settings, progress or (lambda what, n: None)).run()
    finally:
        await io.close()


async def _put_rules(io: PlatformIO, doc: Any) -> None:
    """The planner's rule set (§4 rules document, or a bare list of rules) before any event."""
    rules = doc.get("rules", []) if isinstance(doc, dict) else doc
    current = await io.call("GET", "policy", "/v1/rules", "planner")
    await io.call("PUT", "policy", "/v1/rules", "planner", json={"version": (current or {}).get("version", 0),
                                                                 "rules": rules})


def _killing_policy(platform: Any, on_day: int, progress):
    """Progress that SIGKILLs policy after `on_day` test days: the supervisor restarts it, and the run must still
    decide exactly what an undisturbed run decides (the same decisions_sha256)."""
    played = 0

    def step(what: str, n: int) -> None:
        nonlocal played
        if what == "day":
            played += n
            if played == on_day:
                os.kill(platform.procs["policy"].pid, signal.SIGKILL)
        if progress:
            progress(what, n)
    return step


def _stop(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _keep_open(endpoints: dict) -> None:
    """--keep: the platform stays up for the console until Ctrl-C."""
    print({k: v for k, v in endpoints.items() if k != "tokens"})
    print(f"tokens in {endpoints.get('data_dir')}/endpoints.json; Ctrl-C stops the replay's platform")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass


def write_outputs(opts: Options, sel: Selection, supply: dict[Key, Supply], played: Played, *, alerts: int,
                  wall_s: float, mode: str) -> dict[str, Any]:
    baseline = tune(sel, platform_fill=_fill(played), target_fill=opts.target_fill, lead=opts.lead_time,
                    lead_std=opts.lead_time_std, review_days=opts.review_days, seed=opts.seed,
                    packs={k: s.pack_size for k, s in supply.items()})
    reorders = [report.Reorder(day=date.fromisoformat(r["reorder_id"].rsplit(":", 1)[1]), location=r["location"],
                               sku=r["sku"], quantity=float(r["quantity"]), kind=r.get("kind") or "purchase")
                for r in played.reorders]
    zone = ZoneInfo(opts.timezone)
    pos = [report.PurchaseOrder(day=datetime.fromisoformat(p["created_at"]).astimezone(zone).date(), po_id=p["po_id"],
                                supplier=p["supplier_id"],
                                lines=tuple((ln["sku"], ln["location"], float(ln["quantity"])) for ln in p["lines"]))
           for p in played.pos if p["po_id"] in played.purchase_orders]
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    return report.write(opts.out, sel, played.shelf.ledger(), baseline, reorders=reorders, purchase_orders=pos,
                        target_fill=opts.target_fill, mode=mode, wall_s=round(wall_s, 1), alerts=alerts,
                        history_purchase_orders=played.history_purchase_orders, settings=settings,
                        extra={"phases_s": played.phases, **_censoring(sel, played)})


def _censoring(sel: Selection, played: Played) -> dict[str, Any]:
    """replay.json's `censoring_bias` (bias.py), where the mode measured what policy planned with."""
    if played.planned is None:
        return {}
    schemes = scores.classes(sel.history, {s.key: s.label for s in sel.series})
    return {"censoring_bias": bias.by_class(sel.keys, *played.planned, schemes, seed=0)}


def _fill(played: Played) -> float:
    rows = played.shelf.ledger()
    demand = sum(r["demand"] for r in rows)
    return sum(r["served"] for r in rows) / demand if demand else 1.0
