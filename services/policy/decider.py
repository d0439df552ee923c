"""Decider: recompute positions, reorders and alerts of keys whose own inputs changed and then went quiet."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.policy import repository as repo
from services.policy.decide import decide_keys, recompute
from services.policy.settings import policy_settings
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)
Key = tuple[str, str]


async def decide_due(uow_factory: Callable[[], UnitOfWork], *, quiet_s: float, max_wait_s: float,
                     limit: int) -> int:
    """Claim up to `limit` due keys (a short transaction of its own, so the consumer never waits on the
    decider's row locks), then decide them together in one transaction; returns how many were claimed."""
    async with uow_factory() as uow:
        keys = await repo.claim_due(uow.session, quiet_s, max_wait_s, limit)
    if not keys:
        return 0
    try:
        async with uow_factory() as uow:
            await decide_keys(uow, keys)
    except Exception:
        log.warning("deciding %d keys together failed; deciding them one at a time", len(keys), exc_info=True)
        await _one_at_a_time(uow_factory, keys)
    return len(keys)


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
    """Each pass decides the keys whose inputs have been quiet `decide_quiet_s` (or that waited
    `decide_max_delay_s`, so a steady stream still gets decisions), oldest first, `decide_batch` at a time:
    a key's stock count is decided promptly without waiting for the whole input to go quiet."""
    cfg = policy_settings()
    while not stop.is_set():
        n = await decide_due(runtime.uow, quiet_s=cfg.decide_quiet_s, max_wait_s=cfg.decide_max_delay_s,
                             limit=cfg.decide_batch)
        if n:
            log.debug("decided %d keys", n)
        if n >= cfg.decide_batch:
            continue  # more are due: no pause
        try:
            await asyncio.wait_for(stop.wait(), timeout=cfg.decide_poll_s)
        except TimeoutError:
            pass
