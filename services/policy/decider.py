"""Decider: recompute positions, reorders and alerts of keys whose inputs changed, once input has caught up."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.policy import repository as repo
from services.policy.decide import recompute
from services.policy.settings import policy_settings
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)


async def decide_dirty(uow_factory: Callable[[], UnitOfWork], limit: int = 1000) -> int:
    """Recompute up to `limit` dirty keys, each in its own transaction; returns how many were decided."""
    async with uow_factory() as uow:
        keys = await repo.dirty_keys(uow.session, limit)
    done = 0
    for location, sku in keys:
        async with uow_factory() as uow:
            if await repo.claim_dirty(uow.session, location, sku):
                await recompute(uow, location, sku)
                done += 1
    return done


async def _quiet_for(runtime) -> float | None:
    async with runtime.sessionmaker() as session:
        return await repo.quiet_for(session)


async def run(runtime, stop: asyncio.Event) -> None:
    """Decide when inputs have caught up (no consumer lag) and been quiet for a moment, or at the latest
    `decide_max_delay_s` after the first waiting mark, so a steady stream still gets decisions."""
    cfg = policy_settings()
    loop = asyncio.get_running_loop()
    waiting_since = loop.time()
    while not stop.is_set():
        quiet = await _quiet_for(runtime)
        if quiet is None:
            waiting_since = loop.time()
        else:
            caught_up = not any(runtime.consumer_lag().values())
            if (caught_up and quiet >= cfg.decide_quiet_s) or loop.time() - waiting_since >= cfg.decide_max_delay_s:
                n = await decide_dirty(runtime.uow)
                waiting_since = loop.time()
                log.debug("decided %d keys", n)
                continue
        try:
            await asyncio.wait_for(stop.wait(), timeout=cfg.decide_poll_s)
        except TimeoutError:
            pass
