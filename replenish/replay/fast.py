"""`replenish simulate`: docs/contract.md §9's world played in process, no broker or database, on the platform's code.

The fast mode of `replenish replay`: the same input (`dataset.select`, `run.supplies`), the same world
(`world.Shelf`, `world.lead_draw`, promotions announced 28 days ahead as `feed` does), the same decisions made by
the services' own pure functions (forecast: `fast_forecast`; policy: `fast_policy`; orders: its consolidation
domain), the same baseline and output (`run.write_outputs` → `report.write`, `mode: "fast"`). A planner sweeps
settings in seconds; `replay` then proves the chosen one through the platform.

Each test day D, as the live replay plays it: 06:00 receipts due, 12:00 one sale per series of
min(demand, on-hand), every 7th day a count (it tells the services the true on-hand, which they already know
here), then the day closes. The stock fold censors D when the shelf was empty at any moment of it
(`services.forecast.ledger.fold_moves` on the day's movements whenever the shelf starts or ends the day empty;
otherwise no movement can leave it ≤ 0). Policy decides every key as of D's end with D's events and the
forecasts as of D − 1; each reorder joins its supplier's PO of the day (`add_reorder`, pack rounding; po_id from
`po_id_for(window_key(...))`, the id orders gives it under the event clock); every PO is approved, sent and
shipped the same day and each line arrives at 06:00 of D + Lᵢ. Forecast then forecasts the series due as of D.

Not played, because a live replay's outcome does not depend on them: the history's decisions (every PO they
make is cancelled before the test window, so `history_purchase_orders` is 0 here and reorders before the test
window are not listed), alerts (`alerts` is 0: nothing is delivered), approval and sending (every PO is approved
and sent on its day in a replay).

Where a live replay can still differ (tests/replay/test_fast_matches_live.py): on a day D when a PO line arrives
at 06:00, live policy may decide D before orders' PO snapshot with the received line reaches it, and then counts
the line both on hand and on order (a race on the wall clock); here the receipt counts once (docs/contract.md §10).

Determinism: fits run in worker processes in the fixed chunks the service uses, so the number of workers never
changes a result; the world runs ahead of the decisions only as far as no undecided order can arrive (the
shortest lead time drawn), which is what lets two fits overlap.
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from replenish.replay.bias import period_sums
from replenish.replay.dataset import Key, Selection, load, select
from replenish.replay.drive import Played
from replenish.replay.fast_forecast import FitJob, Forecast, History, Plan, PromoRow, SeriesRow
from replenish.replay.fast_forecast import Settings as FitSettings
from replenish.replay.fast_policy import Book, KeyState, decide, fallback_sales, key_inputs, member, static_rules
from replenish.replay.fast_screen import ForecastMatrix, ParamArrays, demand_arrays, screen, screen_knows_params
from replenish.replay.fast_setup import Fitter, Master, Seconds, rules_for
from replenish.replay.fast_world import WorldSide
from replenish.replay.feed import Supply, announced_on, promotion_runs
from replenish.replay.run import Options, supplies, write_outputs
from replenish.replay.world import Shelf, lead_draw
from services.forecast.settings import ForecastSettings
from services.orders.settings import OrdersSettings
from services.policy.decide import resolve_params
from services.policy.domain.assemble import blend_lead_time
from services.policy.domain.model import DemandView, PolicyParams, ReorderDecision, Stock
from services.policy.domain.pooling import K_DECIMALS, K_LOW, Factors, PoolKey, shared_factors
from services.policy.domain.promotions import DEFAULT_UPLIFT
from services.policy.domain.targets import compute_targets
from services.policy.inputs import KeyInputs
from services.policy.settings import PolicySettings
from shared.events.markers import day_end

Progress = Callable[[str, int], None]
MAX_WORKERS = 8  # fit processes by default: the CPUs, at most this many
POOL_MIN = 200  # series-forecasts below which fitting inline beats starting worker processes


def simulate(opts: Options, progress: Progress | None = None, workers: int | None = None) -> dict[str, Any]:
    """The whole fast replay; returns replay.json's body (also written under opts.out). `workers`: forecast fit
    processes (default: the CPUs, at most MAX_WORKERS; results never depend on it)."""
    started = time.monotonic()
    sel = select(load(opts.csv, location=opts.location), days=opts.days, history=opts.history, series=opts.series,
                 seed=opts.seed)
    supply = supplies(sel, opts)
    played = Simulation(sel, supply, opts, workers=workers).run(progress or (lambda what, n: None))
    return write_outputs(opts, sel, supply, played, alerts=0, wall_s=time.monotonic() - started, mode="fast")


class Simulation(WorldSide):
    def __init__(self, sel: Selection, supply: dict[Key, Supply], opts: Options, *, workers: int | None = None,
                 cfg: PolicySettings | None = None, screen_keys: bool = True) -> None:
        self.sel, self.supply, self.opts = sel, supply, opts
        self.cfg = cfg or PolicySettings()
        self.tz = opts.timezone
        self.keys = sel.keys
        self.n = len(self.keys)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.days = list(sel.history_days) + list(sel.test_days)
        self.test = list(sel.test_days)
        self.h = len(sel.history_days)
        self.master = Master.of(sel, supply, opts)
        self.rules = rules_for(opts)
        self.screen_keys = screen_keys and static_rules(self.rules) and screen_knows_params()
        self.window_s = OrdersSettings().window_s
        self.fit_settings = FitSettings.of(ForecastSettings())
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, MAX_WORKERS)
        self.history = History(self.keys, self.days, sel.history)
        self.states = [KeyState(sku, loc, self.master.items.get(sku, {}), self.master.supplier_items.get(sku))
                       for sku, loc in self.keys]
        self._promotions()
        self.book = Book()
        self.fc: list[Forecast | None] = [None] * self.n  # each key's latest forecast before the day
        self.fm = ForecastMatrix(self.n)
        self.shelf = Shelf(sel.opening)
        self.played = Played(self.shelf)
        self.on_hand_end = np.zeros((self.n, len(self.test)))
        self.on_order = np.zeros(self.n)
        self.used = np.full((self.n, len(self.test)), np.nan)  # daily mean planned with (bias.py)
        self.periods = np.full((self.n, len(self.test)), np.nan)
        self.arrivals: dict[int, list[tuple[Key, float, str]]] = defaultdict(list)  # test day index → receipts
        self.leaving: dict[int, list[tuple[int, float]]] = defaultdict(list)  # on_order off at that index
        self.params: list[PolicyParams | None] = [None] * self.n
        self.receipts: list[tuple[int, float, float] | None] = [None] * self.n
        self.pa: ParamArrays | None = None
        self.decided = 0  # keys decide_core decided (the others the screen ruled out)
        self.seconds = Seconds()  # where the main process spent its time (diagnostics)

    # -- setup -------------------------------------------------------------------------------------------------

    def _promotions(self) -> None:
        """Each promoted run of days, announced 28 days ahead (never before the first day), as the driver posts
        them; and the uplift policy applies on each promoted day once it is announced (the replay's promotions
        carry none: DEFAULT_UPLIFT)."""
        self.promos: list[PromoRow] = []
        self.touches: dict[Key, list[date]] = defaultdict(list)
        self.uplift = np.ones((self.n, len(self.days)))  # policy's promotion factor per day, as announced
        self.announcements: dict[date, list[tuple[int, date, date]]] = defaultdict(list)
        for series in self.sel.series:
            if series.promo is None:
                continue
            flags = series.promo[self.sel.cut - self.h:self.sel.cut + len(self.test)]
            i = self.index[series.key]
            for first, last in promotion_runs(self.days, list(flags)):
                announced = announced_on(first, self.days[0])
                self.promos.append(PromoRow(series.sku, series.location, first, last, announced))
                self.touches[series.key].append(announced)
                self.states[i].promos.append((announced, first, last))
                self.announcements[announced].append((i, first, last))

    def _announce(self, day: date) -> None:
        """Lift the days of the promotions announced by `day` (what policy's with_promotions knows that day)."""
        for when in sorted(d for d in self.announcements if d <= day):
            for i, first, last in self.announcements.pop(when):
                self.uplift[i, (first - self.days[0]).days:(last - self.days[0]).days + 1] = DEFAULT_UPLIFT

    def _min_leads(self) -> np.ndarray:
        """Per test day, the shortest lead time any order placed that day gets (world.lead_draw)."""
        out = np.full(len(self.test), 10**6, dtype=np.int64)
        for key in self.keys:
            s = self.supply[key]
            if s.lead_time_std_days <= 0:
                out = np.minimum(out, max(1, round(s.lead_time_days)))
                continue
            out = np.minimum(out, [lead_draw(self.opts.seed, key[0], key[1], d, s.lead_time_days,
                                             s.lead_time_std_days) for d in self.test])
        return out

    # -- the run -----------------------------------------------------------------------------------------------

    def run(self, progress: Progress) -> Played:
        first_test = self.test[0]
        plan = Plan(self.keys, self.days, first_test, self.touches, self.fit_settings)
        fitter = Fitter(self.fit_settings, self.workers if plan.size() >= POOL_MIN else 1)
        clock = self.seconds
        try:
            with clock.timed("fit"):
                for loc, day, skus in plan.history_jobs(first_test):
                    fitter.submit(self._job(loc, day, skus))
            progress("history", self.h)
            reach = self._reach()
            world = -1
            for j, day in enumerate(self.test):
                while world < min(reach[j], len(self.test) - 1):
                    world += 1
                    with clock.timed("world"):
                        self._world_day(world)
                    with clock.timed("fit"):
                        for loc, skus in plan.jobs_on(self.test[world]):
                            fitter.submit(self._job(loc, self.test[world], skus))
                with clock.timed("fit"):  # inline fits, or waiting for the workers'
                    ready = fitter.ready(day)
                for loc, results in ready:  # in day order: the latest before `day` stays
                    for sku, fc in results:
                        i = self.index[(sku, loc)]
                        self.fc[i] = fc
                        self.fm.set(i, fc)
                with clock.timed("decide"):
                    self._decide_day(j, day)
                progress("day", 1)
        finally:
            fitter.close()
        truth = np.array([self.sel.test[key] for key in self.keys], dtype=float).reshape(self.n, len(self.test))
        self.played.planned = period_sums(self.used, self.periods, truth)
        return self.played

    def _reach(self) -> np.ndarray:
        """reach[j]: the last test day index the world can be played to before deciding day j (no order decided
        on day j or later can arrive by then)."""
        first_arrival = np.arange(len(self.test)) + self._min_leads()
        return np.minimum.accumulate(first_arrival[::-1])[::-1] - 1

    def _job(self, loc: str, day: date, skus: list[str]) -> FitJob:
        rows = [SeriesRow(loc, sku, self.days[0], day, self.history.out_since[(sku, loc)]) for sku in skus]
        wanted = set(skus)
        return FitJob(loc, day, rows, {(loc, sku): self.history.arrays((sku, loc), day) for sku in skus},
                      {loc: self.master.locations[loc]},
                      [p for p in self.promos if p.sku in wanted and p.announced <= day],
                      {sku: self.master.items[sku] for sku in skus if sku in self.master.items},
                      [self.master.supplier_items[sku] for sku in skus if sku in self.master.supplier_items],
                      [self.master.policy], self.tz)

    # -- policy and orders -------------------------------------------------------------------------------------

    def _decide_day(self, j: int, day: date) -> None:
        as_of = day_end(day, self.tz) - timedelta(seconds=1)
        for i, qty in self.leaving.pop(j, []):
            self.on_order[i] -= qty
        fcs = self.fc
        self._update_params(day)
        on_hand = self.on_hand_end[:, j]
        at = (day - self.days[0]).days
        self._announce(day)
        self._measure(j, day, at)
        factors = self._factors(day, at, as_of, on_hand)
        if self.screen_keys:
            shared = np.array([getattr((factors.get(loc) or {}).get(pool) if pool else None, "k", np.nan)
                               for (_, loc), pool in zip(self.keys, self.pools, strict=True)], dtype=float)
            candidates = np.flatnonzero(screen(day, on_hand + self.on_order, self.fm, self.pa,
                                               self._uplift(at), shared, self.cfg.fill_floor_gap))
        else:
            candidates = range(self.n)
        decisions = []
        self.decided += len(candidates)
        for i in candidates:
            decision = self._decide_key(int(i), day, as_of, on_hand[i], fcs[i], factors)
            if decision is not None:
                decisions.append(decision)
        self._order(j, day, decisions)

    def _measure(self, j: int, day: date, at: int) -> None:
        """What policy plans with today, per key, for the censoring bias (bias.py): protection mean ÷ days."""
        ok, _, _, days, mean, _ = demand_arrays(day, self.fm, self.pa, self._uplift(at))
        ok &= days > 0
        self.used[ok, j] = mean[ok] / days[ok]
        self.periods[ok, j] = days[ok]

    def _uplift(self, at: int) -> np.ndarray:
        """Promotion factors of the days after day index `at`, over each key's promotion window (int(L + R) + 1
        days, with_promotions'; 1 past it): the protection period and the cycle after it never reach beyond it."""
        window = (np.floor(self.pa.lead + self.pa.review) + 1).astype(np.int64)  # int(L + R) + 1, L and R ≥ 0
        width = int(window.max(initial=1))
        out = self.uplift[:, at + 1:at + 1 + width]
        out = np.pad(out, ((0, 0), (0, width - out.shape[1])), constant_values=1.0)
        out[np.arange(width)[None, :] >= window[:, None]] = 1.0
        return out

    def _decide_key(self, i: int, day: date, as_of: datetime, on_hand: float, fc,
                    factors: Factors | None = None) -> ReorderDecision | None:
        return decide(self._inputs(i, day, as_of, on_hand, fc), fc, self.rules, self.cfg, factors)

    def _inputs(self, i: int, day: date, as_of: datetime, on_hand: float, fc) -> KeyInputs:
        state = self.states[i]
        first_sale, sales = (None, {}) if fc is not None else fallback_sales(self.history.sales[i], self.days[0], day)
        return key_inputs(state, on_hand=float(on_hand), as_of=as_of, day=day, receipts=self.receipts[i],
                          sales=sales, first_sale=first_sale)

    def _factors(self, day: date, at: int, as_of: datetime, on_hand: np.ndarray) -> Factors:
        """The locations' shared factors of the day (decide.day_factors), from every key's targets: on arrays with
        the promotions announced by the day when the params are static, else key by key."""
        self.pools: list[PoolKey | None] = [None] * self.n
        if not self.cfg.pool_fill:
            return {}
        members: dict[str, list[tuple[PoolKey, float, float, float]]] = defaultdict(list)
        if not self.screen_keys:
            for i, (_, loc) in enumerate(self.keys):
                got = member(self._inputs(i, day, as_of, on_hand[i], self.fc[i]), self.fc[i], self.rules, self.cfg)
                if got is not None:
                    members[loc].append(got)
            return {loc: shared_factors(m, self.cfg.fill_floor_gap) for loc, m in members.items()}
        pa = self.pa
        ok, daily_mean, daily_std, _, mean, cycle = demand_arrays(day, self.fm, pa, self._uplift(at))
        pooled = ok & pa.fill & (pa.distribution == "normal") & np.isnan(pa.min_level) & np.isnan(pa.max_level) \
            & ~pa.never
        for lost in (False, True):
            g = np.flatnonzero(pooled & (pa.lost_sales == lost))
            terms = compute_targets(  # position.pool_terms on arrays
                daily_mean[g], daily_std[g], pa.lead[g], lead_time_std_days=pa.lead_std[g], review_days=pa.review[g],
                service_level=pa.level[g], fill_rate=True, cycle_qty=cycle[g], protection_mean=mean[g],
                lost_sales=lost, shared_k=np.full(len(g), K_LOW), floor_gap=self.cfg.fill_floor_gap,
                floor_std=np.where(np.isnan(self.fm.regular[g]), daily_std[g], self.fm.regular[g]))
            for j, i in enumerate(g):
                self.pools[i] = (round(float(pa.level[i]), K_DECIMALS), lost)
                members[self.keys[i][1]].append((self.pools[i], float(terms.protection_sigma[j]),
                                                 float(terms.cycle_qty[j]), float(terms.floor[j])))
        return {loc: shared_factors(m, self.cfg.fill_floor_gap) for loc, m in members.items()}

    def _update_params(self, day: date) -> None:
        """Each key's resolved params (rules over its supplier item and learned lead time); with static rules
        they change only when its supplier item learns a lead time."""
        learned, changed = self.book.advance(day), False
        if not learned and self.pa is not None:
            return
        for i, state in enumerate(self.states):
            item = (state.si.get("supplier_id"), state.sku) if state.si else None
            if self.params[i] is not None and item not in learned:
                continue
            receipts = self.book.receipts(*item) if item else (0, 0.0, 0.0)
            same_lead = self.params[i] is not None and blend_lead_time(state.si, *receipts)[:2] == (
                self.params[i].lead_time_days, self.params[i].lead_time_std_days)
            self.receipts[i] = receipts
            if same_lead and self.screen_keys:  # static rules: the same lead time resolves the same params
                continue
            k = key_inputs(state, on_hand=0.0, as_of=datetime.combine(day, datetime.min.time()), day=day,
                           receipts=self.receipts[i])
            params = resolve_params(k, Stock(0.0), DemandView(0.0, 0.0), self.rules, self.cfg)[0]
            params = replace(params, applied_rules=())
            if params != self.params[i]:
                self.params[i], changed = params, True
        if changed or self.pa is None:
            self.pa = ParamArrays.of(self.params)
