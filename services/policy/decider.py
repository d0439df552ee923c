"""Decider: recompute positions, reorders and alerts of keys whose own inputs changed and then went quiet."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

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
    return (await decide_pass(uow_factory, quiet_s=quiet_s, max_wait_s=max_wait_s, limit=limit))[0]


async def decide_pass(uow_factory: Callable[[], UnitOfWork], *, quiet_s: float, max_wait_s: float,
                      limit: int, overdue_limit: int | None = None,
                      settled: bool = True) -> tuple[int, float | None]:
    """Claim up to `limit` due keys (a short transaction of its own, so the consumer never waits on the
    decider's row locks), then decide them together in one transaction. Returns how many were claimed and,
    when that was fewer than `limit`, the seconds until the next dirty key is due (None: none is dirty)."""
    due_in = None
    async with uow_factory() as uow:
        keys = await repo.claim_due(uow.session, quiet_s, max_wait_s, limit, overdue_limit, settled=settled)
        if len(keys) < limit:
            due_in = await repo.next_due_in(uow.session, quiet_s, max_wait_s, settled=settled)
    if not keys:
        return 0, due_in
    try:
        async with uow_factory() as uow:
            await decide_keys(uow, keys)
    except Exception:
        log.warning("deciding %d keys together failed; deciding them one at a time", len(keys), exc_info=True)
        await _one_at_a_time(uow_factory, keys)
    return len(keys), due_in


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
    """Each pass decides the settled keys (a count or adjustment whose whole ingest batch is applied), then
    those whose inputs have been quiet `decide_quiet_s` (or that waited `decide_max_delay_s`, so a steady
    stream still gets decisions), oldest first, `decide_batch` at a time: a key's stock count is decided
    promptly without waiting for the whole input to go quiet. Between passes it sleeps until the next key is
    due; a committed consumer batch wakes it (at once when a key settled, else its keys are due `quiet_s`
    later), and with nothing dirty it looks again every IDLE_POLL_S (other replicas mark keys too)."""
    cfg = policy_settings()
    lagging = movements_lagging(runtime)
    with wake.listening() as woken:
        relay = asyncio.create_task(_set_on(stop, woken))
        try:
            while not stop.is_set():
                woken.clear()
                behind = lagging()
                quiet_s = quiet_for(behind, cfg.decide_quiet_s, cfg.decide_max_delay_s)
                # caught up: a steady stream's overdue keys go a few per pass, so passes stay short for the
                # key that turns quiet next; catching up, they are most of the work and go a full batch
                overdue = cfg.decide_batch if behind else cfg.decide_overdue_batch
                # while behind, a settled key may have newer inputs unread: it waits like the others
                n, due_in = await decide_pass(runtime.uow, quiet_s=quiet_s, max_wait_s=cfg.decide_max_delay_s,
                                              limit=cfg.decide_batch, overdue_limit=overdue, settled=not behind)
                if n:
                    log.debug("decided %d keys", n)
                if n >= cfg.decide_batch:
                    continue  # more are due: no pause
                await pause(woken, stop, pause_s(due_in, cfg.decide_poll_s), quiet_s)
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


async def pause(woken: wake.Wakeup, stop: asyncio.Event, seconds: float, quiet_s: float) -> None:
    """Sleep `seconds`; a wake-up ends it when a key is due now, else shortens it to `quiet_s` from then
    (the newly marked keys' due time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not stop.is_set() and (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait_for(woken.wait(), left)
        except TimeoutError:
            return
        if woken.due_now:
            return  # left set: the pass that follows clears it
        woken.clear()
        deadline = min(deadline, loop.time() + quiet_s)


async def _set_on(stop: asyncio.Event, woken: wake.Wakeup) -> None:
    """Stopping wakes the pause."""
    await stop.wait()
    woken.set()
