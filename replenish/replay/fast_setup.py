"""`replenish simulate`'s set-up: policy's rules and the master data as the services store them from the replay's
events, and where the forecast fits run (inline or in worker processes)."""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from replenish.replay.dataset import Key, Selection
from replenish.replay.fast_forecast import FitJob, run_fit
from replenish.replay.fast_forecast import Settings as FitSettings
from replenish.replay.feed import Supply
from replenish.replay.run import Options
from services.policy.domain.rules import RuleSet, parse_rules, policy_event_rule


def rules_for(opts: Options) -> RuleSet:
    """policy's rules as decide._read_rules builds them: the `policy` event's override, then the --rules document
    as PUT /v1/rules stores it (parsed, in priority order, version 1)."""
    event = policy_event_rule({"fill_rate": opts.target_fill, "review_days": opts.review_days})
    version, doc_rules = 0, []
    if opts.rules:
        doc = yaml.safe_load(opts.rules.read_text())
        body = doc.get("rules", []) if isinstance(doc, dict) else doc
        doc_rules, version = list(parse_rules({"version": 0, "rules": body}).rules), 1
    return parse_rules({"version": version, "rules": [*([event] if event else []), *doc_rules]})


@dataclass(frozen=True)
class Master:
    """Master data as the services store it from the replay's master events (feed.Feed.master)."""

    locations: dict[str, dict]
    items: dict[str, dict]
    supplier_items: dict[str, dict]  # sku → its (only, primary) supplier item
    policy: dict[str, Any]

    @classmethod
    def of(cls, sel: Selection, supply: dict[Key, Supply], opts: Options) -> Master:
        locations = {loc: {"location": loc, "name": loc, "kind": "store", "timezone": opts.timezone,
                           **({"country": opts.country} if opts.country else {})} for loc in {k[1] for k in sel.keys}}
        items, sis = {}, {}
        for sku in sorted({k[0] for k in supply}):
            s = next(v for k, v in sorted(supply.items()) if k[0] == sku)
            items[sku] = {"sku": sku, "name": sku, "base_unit": "each", "unit_cost": s.unit_cost}
            sis[sku] = {"supplier_id": s.supplier_id, "sku": sku, "lead_time_days": s.lead_time_days,
                        "pack_size": s.pack_size, "moq": s.moq, "unit_cost": s.unit_cost, "primary": True}
        return cls(locations, items, sis, {"fill_rate": opts.target_fill, "review_days": opts.review_days})


class Fitter:
    """Forecast fits, inline or in worker processes; a fit's result never depends on where it ran."""

    def __init__(self, settings: FitSettings, workers: int) -> None:
        self.settings = settings
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) \
            if workers > 1 else None
        self.pending: list[tuple[date, str, Future | list]] = []

    def submit(self, job: FitJob) -> None:
        work = self.pool.submit(run_fit, job, self.settings) if self.pool else run_fit(job, self.settings)
        self.pending.append((job.day, job.location, work))

    def ready(self, before: date) -> list[tuple[str, list]]:
        """Every fit of a day before `before`, waited for: (location, [(sku, Forecast)])."""
        done = [(loc, w.result() if isinstance(w, Future) else w) for d, loc, w in self.pending if d < before]
        self.pending = [p for p in self.pending if p[0] >= before]
        return done

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)


class Seconds(dict):
    """Wall seconds per phase of the main process."""

    @contextmanager
    def timed(self, phase: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self[phase] = self.get(phase, 0.0) + time.perf_counter() - started
