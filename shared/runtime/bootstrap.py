"""Start-up and shut-down steps of `replenish up` that touch the database: tokens and outbox checkpoints."""
from __future__ import annotations

import json
import secrets
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.auth.store import TokenStore
from shared.db.rounds import republish_unconsumed
from shared.settings import SERVICES

BOOTSTRAP_ROLES = ("admin", "ingest", "planner", "approver", "ops")


def load_or_create_tokens(path: Path) -> dict[str, str]:
    """One token per role, kept in the data dir (mode 0600) so a second `up` keeps them."""
    if path.exists():
        tokens = json.loads(path.read_text())
        if all(role in tokens for role in BOOTSTRAP_ROLES):
            return tokens
    tokens = {role: f"rpl_{role}_{secrets.token_urlsafe(24)}" for role in BOOTSTRAP_ROLES}
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return tokens


async def register_tokens(database_url: str, tokens: dict[str, str]) -> None:
    engine = create_async_engine(database_url)
    try:
        store = TokenStore(engine)
        for role, token in tokens.items():
            await store.issue(name=role, role=role, token=token)
    finally:
        await engine.dispose()


async def republish_unconfirmed(database_url: str) -> dict[str, int]:
    """On a fresh broker, queue again every outbox row no reader recorded as consumed (shared/db/rounds.py).

    The bundled broker forgets everything on restart; rows published before it stopped may never have been
    consumed. Consumers' inboxes absorb the ones that were.
    """
    engine = create_async_engine(database_url)
    try:
        return {schema: await republish_unconsumed(engine, schema) for schema in SERVICES}
    finally:
        await engine.dispose()


async def mark_drained(database_url: str) -> None:
    """After a clean, fully drained stop: everything published so far has been consumed."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            for schema in SERVICES:
                await conn.execute(text(
                    f'INSERT INTO "{schema}".outbox_checkpoint (name, drained_through) '
                    f'SELECT \'broker\', coalesce(max(id), 0) FROM "{schema}".outbox WHERE published_at IS NOT NULL '
                    f"ON CONFLICT (name) DO UPDATE SET drained_through = excluded.drained_through"))
    finally:
        await engine.dispose()
