"""Principals and tokens: every token belongs to a named principal with one role; only hashes are stored."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, MetaData, String, Table, func

ROLES = ("admin", "ingest", "planner", "approver", "ops", "supplier")

metadata = MetaData(schema="auth")
principals = Table(
    "principals", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("supplier_id", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    supplier_id: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(role: str) -> str:
    return f"rpl_{role}_{secrets.token_urlsafe(24)}"
