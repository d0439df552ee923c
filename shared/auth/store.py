"""Looking tokens up and issuing them, with a short cache so a request costs no query."""
from __future__ import annotations

import hmac
import time

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth.principals import Principal, hash_token, new_token, principals


class TokenStore:
    """Revocation takes effect within `cache_s` seconds on every replica."""

    def __init__(self, engine: AsyncEngine, *, admin_token: str | None = None, cache_s: float = 10.0) -> None:
        self.engine, self.admin_token, self.cache_s = engine, admin_token, cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def lookup(self, token: str) -> Principal | None:
        if self.admin_token and hmac.compare_digest(token, self.admin_token):
            return Principal("admin", "admin")
        digest = hash_token(token)
        hit = self._cache.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(principals).where(
                principals.c.token_hash == digest, principals.c.revoked_at.is_(None)))).first()
        found = Principal(row.name, row.role, row.supplier_id) if row else None
        self._cache[digest] = (time.monotonic() + self.cache_s, found)
        return found

    async def issue(self, *, name: str, role: str, supplier_id: str | None = None,
                    token: str | None = None) -> tuple[str, str]:
        """Store a token's hash; returns (token, key_id). The token itself is never stored."""
        token = token or new_token(role)
        digest = hash_token(token)
        async with self.engine.begin() as conn:
            await conn.execute(insert(principals).values(
                token_hash=digest, key_id=digest[:16], name=name, role=role, supplier_id=supplier_id)
                .on_conflict_do_nothing())
        return token, digest[:16]

    async def revoke(self, key_id: str, *, supplier_id: str | None = None) -> bool:
        stmt = update(principals).where(principals.c.key_id == key_id, principals.c.revoked_at.is_(None))
        if supplier_id is not None:
            stmt = stmt.where(principals.c.supplier_id == supplier_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt.values(revoked_at=func.now()))
        self._cache.clear()
        return result.rowcount > 0
