"""Pooled connections that PostgreSQL dropped cost one failed attempt, then the pool recovers (no pre-ping)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db.engine import make_engine

pytestmark = pytest.mark.integration


async def test_a_dropped_connection_fails_once_then_the_pool_reconnects(database_url):
    engine = make_engine(database_url, pool_size=2)
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        killer = make_engine(database_url, pool_size=1)
        async with killer.connect() as conn:  # what a database restart does to the pooled connection
            assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await killer.dispose()
        with pytest.raises(DBAPIError):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()
