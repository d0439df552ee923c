"""The shared safety factors (domain/pooling.py) in wall-clock mode: solved from the locations' stored positions.

Under the event clock the day's pass solves them from every key's targets of that day (decide.day_factors); on
the wall clock keys are decided as their events arrive, so the factors come from what each key's latest position
says it adds to its pool, reused for a few seconds so a busy location does not re-read its positions per batch.
"""
from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.domain.pooling import K_LOW, Factors, shared_factors
from services.policy.settings import PolicySettings

_CACHE: dict[tuple[str, str], tuple[float, dict]] = {}  # (database, location) → (when, its factors)

POOL_MEMBERS = """
SELECT location, (data->'explanation'->'pool'->>'target')::float8 AS target,
  (data->'explanation'->'pool'->>'lost_sales')::boolean AS lost,
  (data->'explanation'->'pool'->>'sigma')::float8 AS sigma, (data->'explanation'->'pool'->>'cycle')::float8 AS cycle,
  (data->'explanation'->'pool'->>'floor')::float8 AS floor
FROM policy.positions WHERE location = ANY(CAST(:locs AS text[])) AND data->'explanation' ? 'pool'
"""


async def stored_factors(session: AsyncSession, locations: list[str], cfg: PolicySettings) -> Factors:
    if not cfg.pool_fill or not locations:
        return {}
    now, db = time.monotonic(), str(session.bind.url) if session.bind is not None else ""
    stale = [loc for loc in locations
             if (db, loc) not in _CACHE or now - _CACHE[db, loc][0] > cfg.factors_cache_s]
    if stale:
        members: dict[str, list] = {loc: [] for loc in stale}
        for r in await session.execute(text(POOL_MEMBERS), {"locs": stale}):
            if r.sigma is not None and r.cycle is not None and r.target is not None:
                floor = r.floor if r.floor is not None else K_LOW  # decided before the location had a factor
                members[r.location].append(((round(r.target, 6), bool(r.lost)), r.sigma, r.cycle, floor))
        for loc, m in members.items():
            _CACHE[db, loc] = (now, shared_factors(m, cfg.fill_floor_gap))
    return {loc: _CACHE[db, loc][1] for loc in locations}
