"""Alembic per component (auth and each service schema), run programmatically by `replenish migrate`."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("auth", "bus", "ingest", "forecast", "policy", "orders", "notify")


def script_location(component: str) -> Path:
    if component in ("auth", "bus"):  # the schemas of shared/ itself
        return ROOT / "shared" / component / "migrations"
    return ROOT / "services" / component / "migrations"


def alembic_config(database_url: str, component: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location(component)))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["component"] = component
    return cfg


def upgrade(database_url: str, components: tuple[str, ...] | list[str] = COMPONENTS) -> None:
    for component in components:
        if not (script_location(component) / "env.py").exists():
            raise FileNotFoundError(f"no migrations for {component} at {script_location(component)}")
        command.upgrade(alembic_config(database_url, component), "head")


def available_components() -> list[str]:
    return [c for c in COMPONENTS if (script_location(c) / "env.py").exists()]


async def upgrade_async(database_url: str, components: list[str]) -> None:
    await asyncio.to_thread(upgrade, database_url, components)


def make_revision(database_url: str, component: str, message: str) -> None:
    """Autogenerate a revision from the component's models against the current database."""
    command.revision(alembic_config(database_url, component), message=message, autogenerate=True)


def run_env(metadata: MetaData) -> None:
    """Body of every migrations/env.py: online migrations on an async engine, one schema per component."""
    schema = metadata.schema
    url = context.config.get_main_option("sqlalchemy.url")

    def run(connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, version_table_schema=schema,
                          include_schemas=True,
                          include_name=lambda name, type_, _: type_ != "schema" or name == schema)
        with context.begin_transaction():
            # Replicas starting together migrate one at a time.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('replenish-migrations'))"))
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(main())
