"""Decider: recompute positions, reorders and alerts of dirty keys, in a settled lane and a quiet lane."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Callable

from services.policy import repository as repo
from services.policy import wake
from services.policy.decide import decide_keys, recompute
from services.policy.settings import policy_settings
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)
Key = tuple[str, str]
IDLE_POLL_S = 1.0  # nothing known to be due: look again this often (marks by another replica, a lost wake-up)


async def decide_due(uow_factory: Callable[[], UnitOfWork], *, quiet_s: float, max_wait_s: float,
                     limit: int) -> int:
    """Claim up to `limit` due keys and decide them together; returns how many were claimed."""
    return (await decide_pass(uow_factory, quiet_s=quiet_s, max_wait_s=max_wait_s, limit=limit,
                              settled=False))[0]


async def decide_pass(uow_factory: Callable[[], UnitOfWork], *, quiet_s: float, max_wait_s: float,
                      limit: int, overdue_limit: int | None = None,
                      settled: bool = True) -> tuple[int, float | None]:
    """Claim up to `limit` quiet or overdue keys (repository.claim_due; with `settled`, keys whose ingest
    batch is complete are the settled lane's), in a short transaction of its own so the consumer never
    waits on the decider's row locks, then decide them together in one transaction. Returns how many were
    claimed and, when that was fewer than `limit`, the seconds until the next such key is due (None: none
    is dirty)."""
    due_in = None
    async with uow_factory() as uow:
        keys = await repo.claim_due(uow.session, quiet_s, max_wait_s, limit, overdue_limit, settled=settled)
        if len(keys) < limit:
            due_in = await repo.next_due_in(uow.session, quiet_s, max_wait_s, settled=settled)
    await _decide(uow_factory, keys)
    return len(keys), due_in


async def settled_pass(uow_factory: Callable[[], UnitOfWork], *, max_wait_s: float,
                       limit: int) -> tuple[int, float | None]:
    """Claim up to `limit` settled keys and decide them together. Returns how many were claimed and, when
    that was fewer than `limit`, the seconds until the next complete key settles (None: none is waiting)."""
    due_in = None
    async with uow_factory() as uow:
        keys = await repo.claim_settled(uow.session, max_wait_s, limit)
        if len(keys) < limit:
            due_in = await repo.next_settled_in(uow.session, max_wait_s)
    await _decide(uow_factory, keys)
    return len(keys), due_in


async def _decide(uow_factory: Callable[[], UnitOfWork], keys: list[Key]) -> None:
    if not keys:
        return
    try:
        async with uow_factory() as uow:
            await decide_keys(uow, keys)
    except Exception:
        log.warning("deciding %d keys together failed; deciding them one at a time", len(keys), exc_info=True)
        await _one_at_a_time(uow_factory, keys)


async def _one_at_a_time(uow_factory: Callable[[], UnitOfWork], keys: list[Key]) -> None:
    """Only the culprit fails; its mark stays cleared (its next input marks it again) so it cannot stall the rest."""
    for location, sku in keys:
        try:
            async with uow_factory() as uow:
                await recompute(uow, location, sku)
        except Exception:
            log.exception("deciding %s:%s failed", location, sku)


async def decide_dirty(uow_factory: Callable[[], UnitOfWork], limit: int = 100) -> int:
    """Decide every dirty key now, quiet or not (tests, benchmarks, drains); returns how many."""
    done = 0
    while n := await decide_due(uow_factory, quiet_s=0.0, max_wait_s=0.0, limit=limit):
        done += n
    return done


async def run(runtime, stop: asyncio.Event) -> None:
    """Two lanes, so a settled key never waits behind a pass of other keys:
    - the settled lane decides keys whose ingest batch is all applied (repository.COMPLETE) once they settle:
      at once after a count or adjustment or a slow mover's sale, a steady stream's keys once per
      `decide_max_delay_s`; a committed consumer batch that settled a key wakes it;
    - the quiet lane decides the other dirty keys (inputs without ingest's batch attributes, forecasts,
      master data, POs) once their inputs have been quiet `decide_quiet_s` or they waited
      `decide_max_delay_s`, oldest first; a committed consumer batch wakes it (its keys are due `quiet_s`
      later).
    Each decides `decide_batch` keys per pass and between passes sleeps until its next key is due, looking
    again at least every IDLE_POLL_S (other replicas mark keys too). While the consumer lags nothing is
    complete: the quiet lane waits `decide_max_delay_s` for every key."""
    lagging = movements_lagging(runtime)
    async with asyncio.TaskGroup() as lanes:
        lanes.create_task(_settled_lane(runtime, stop, lagging))
        lanes.create_task(_quiet_lane(runtime, stop, lagging))


async def _settled_lane(runtime, stop: asyncio.Event, lagging: Callable[[], bool]) -> None:
    cfg = policy_settings()
    async with _woken_or_stopped(stop) as woken:
        while not stop.is_set():
            woken.clear()
            n, due_in = (0, None) if lagging() else await settled_pass(
                runtime.uow, max_wait_s=cfg.decide_max_delay_s, limit=cfg.decide_batch)
            if n >= cfg.decide_batch:
                continue  # more may be settled: no pause
            await pause(woken, stop, pause_s(due_in, cfg.decide_poll_s), quiet_s=math.inf, due_now_ends=True)


async def _quiet_lane(runtime, stop: asyncio.Event, lagging: Callable[[], bool]) -> None:
    cfg = policy_settings()
    async with _woken_or_stopped(stop) as woken:
        while not stop.is_set():
            woken.clear()
            behind = lagging()
            quiet_s = quiet_for(behind, cfg.decide_quiet_s, cfg.decide_max_delay_s)
            # caught up: a steady stream's overdue keys go a few per pass, so passes stay short for the key
            # that turns quiet next; catching up, they are most of the work and go a full batch
            overdue = cfg.decide_batch if behind else cfg.decide_overdue_batch
            # while behind, nothing is complete: every key waits like the others
            n, due_in = await decide_pass(runtime.uow, quiet_s=quiet_s, max_wait_s=cfg.decide_max_delay_s,
                                          limit=cfg.decide_batch, overdue_limit=overdue, settled=not behind)
            if n >= cfg.decide_batch:
                continue  # more are due: no pause
            await pause(woken, stop, pause_s(due_in, cfg.decide_poll_s), quiet_s)


@contextlib.asynccontextmanager
async def _woken_or_stopped(stop: asyncio.Event) -> AsyncIterator[wake.Wakeup]:
    """A wake-up that stopping sets too, so a lane's pause ends at once on shutdown."""
    with wake.listening() as woken:
        relay = asyncio.create_task(_set_on(stop, woken))
        try:
            yield woken
        finally:
            relay.cancel()


def movements_lagging(runtime) -> Callable[[], bool]:
    """Whether this process's input consumer is more than a poll's batch behind its partitions.
    A few records behind is normal under load: the client prefetches, so the high watermark it saw runs
    ahead of what it handed out; those records are applied by the next poll, within the quiet period."""
    loops = [loop for loop in getattr(runtime, "loops", ()) if loop.name == "policy.events"]
    return lambda: any(sum(loop.progress.lag.values()) > loop.batch_size for loop in loops)


def quiet_for(lagging: bool, quiet_s: float, max_wait_s: float) -> float:
    """A key is decided once its inputs were quiet `quiet_s`: long enough for the rest of an ingest batch
    (published at once, fetched within a poll or two) to be applied. While the consumer is behind, quiet
    means nothing (a count can sit unread behind the sales that follow it), so keys wait for `max_wait_s`."""
    return max_wait_s if lagging else quiet_s


def pause_s(due_in: float | None, poll_s: float) -> float:
    """How long to sleep: until the next key is due, at least `poll_s` (claims stay spaced while keys are
    due but locked by another decider), at most IDLE_POLL_S."""
    if due_in is None:
        return IDLE_POLL_S
    return min(max(due_in, poll_s), IDLE_POLL_S)


async def pause(woken: wake.Wakeup, stop: asyncio.Event, seconds: float, quiet_s: float, *,
                due_now_ends: bool = False) -> None:
    """Sleep `seconds`; a wake-up shortens it to `quiet_s` from then (the newly marked keys' due time), or
    with `due_now_ends` ends it when a key is due now (settled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not stop.is_set() and (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait_for(woken.wait(), left)
        except TimeoutError:
            return
        if due_now_ends and woken.due_now:
            return
        woken.clear()
        deadline = min(deadline, loop.time() + quiet_s)


async def _set_on(stop: asyncio.Event, woken: wake.Wakeup) -> None:
    """Stopping wakes the pause."""
    await stop.wait()
    woken.set()
