"""The embedded PostgreSQL of `replenish up` stops and starts again in one process (the library's public API)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


async def _answers(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT 1"))).scalar_one()
    finally:
        await engine.dispose()


async def test_a_stopped_server_starts_again_in_the_same_process(tmp_path):
    pg = EmbeddedPostgres(tmp_path / "pg")
    try:
        assert await _answers(await asyncio.to_thread(pg.start)) == 1
        await asyncio.to_thread(pg.stop)
        assert not (tmp_path / "pg" / "postmaster.pid").exists()
        # the second start must not reuse a handle that describes the server stopped above
        assert await _answers(await asyncio.to_thread(pg.start)) == 1
    finally:
        await asyncio.to_thread(pg.stop)
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
    await asyncio.to_thread(pg.stop)  # stopping a stopped server is a no-op, not an error
