"""Pure rules of the event clock: which days of a location are closed, and which series are due on each day."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class LocationClock:
    """What forecast knows of one location's days."""

    first_day: date | None  # earliest local day of a consumed sales/stock event
    last_day: date | None  # latest one
    punctuated: bool  # ingest sends day_closed markers for this location
    decided: date | None  # the latest day forecast has decided (forecasts, marker and decided row committed)


def closed_through(clock: LocationClock, marker_days: Sequence[date]) -> date | None:
    """The latest closed day of a location.

    A day is closed when ingest's markers for it arrived on every partition of the sales and stock topics
    (`marker_days`); days close in order, so a later closed day closes the days before it too. A location
    whose feed sends no day_close closes a day when an event of a later local day has been applied ("event
    time passes its end"). That second rule depends on which partition the consumer read first, so once a
    location is punctuated its markers alone close its days; and it closes a location's first day only
    once an event two days later was applied: a feed's events before its first day_close (e.g. opening
    counts stamped the day before its first sales) wait for that marker, which precedes every event of
    the following day on its partition.
    """
    through = max(marker_days, default=None)
    if not clock.punctuated and clock.last_day is not None and clock.first_day is not None \
            and (clock.last_day - clock.first_day).days >= 2:
        by_time = clock.last_day - timedelta(days=1)
        through = by_time if through is None else max(through, by_time)
    return through


def days_to_decide(clock: LocationClock, marker_days: Sequence[date]) -> list[date]:
    """Every day after the last decided one up to the latest closed day, oldest first (none skipped: the next
    service waits for each day's marker). A location's first day is its earliest event or closed day."""
    through = closed_through(clock, marker_days)
    if through is None:
        return []
    if clock.decided is not None:
        start = clock.decided + timedelta(days=1)
    else:
        start = min((d for d in (clock.first_day, min(marker_days, default=None)) if d is not None), default=through)
    return [start + timedelta(days=i) for i in range((through - start).days + 1)]


@dataclass(frozen=True)
class SeriesClock:
    """A series' place in the cadence: when it started and the as_of of its last forecast."""

    sku: str
    first_day: date
    as_of: date | None


def is_due(first_day: date, as_of: date | None, touches: Iterable[date], day: date, refit_days: int) -> bool:
    """Due at `day`: it exists by then, and it was never forecast, or its last forecast is `refit_days` old,
    or a promotion for it was announced since (on a day after that forecast's as_of, up to `day`)."""
    if first_day > day:
        return False
    if as_of is None:
        return True
    if as_of >= day:
        return False
    return (day - as_of).days >= refit_days or any(as_of < t <= day for t in touches)


def due_plan(days: Sequence[date], series: Sequence[SeriesClock], touches: dict[str, list[date]],
             refit_days: int, budget: int) -> list[tuple[date, list[str]]]:
    """The series due on each day (in SKU order), days oldest first, as far as `budget` series-forecasts reach
    (at least one day). Each forecast moves its series' as_of, so the plan is the same however many days
    are planned at once."""
    ordered = sorted(series, key=lambda s: s.sku)
    as_of = {s.sku: s.as_of for s in ordered}
    plan: list[tuple[date, list[str]]] = []
    total = 0
    for day in days:
        due = [s.sku for s in ordered if is_due(s.first_day, as_of[s.sku], touches.get(s.sku, ()), day, refit_days)]
        if plan and due and total + len(due) > budget:
            break
        for sku in due:
            as_of[sku] = day
        plan.append((day, due))
        total += len(due)
    return plan


def chunks(items: list, size: int) -> list[list]:
    """Fixed-size pieces in order: a day's fit calls (and so the series each is pooled with) never depend on
    the number of worker processes."""
    size = max(size, 1)
    return [items[i:i + size] for i in range(0, len(items), size)]
