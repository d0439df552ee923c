"""A throwaway broker and database for a benchmark run: started, migrated, topics made, always stopped."""
from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.bus.admin import ensure_topics
from shared.db.migrate import upgrade
from shared.runtime.broker import BundledBroker
from shared.runtime.postgres import EmbeddedPostgres


@contextmanager
def scratch_platform(prefix: str, components: list[str], partitions: int = 4) -> Iterator[tuple[str, str]]:
    """(bootstrap servers, database URL) of a fresh bundled broker and embedded PostgreSQL."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    broker, pg = BundledBroker(root / "broker.log"), EmbeddedPostgres(root / "pg")
    kafka, url = broker.start(), pg.start()
    try:
        asyncio.run(ensure_topics(kafka, partitions))
        upgrade(url, components)
        yield kafka, url
    finally:
        broker.stop()
        pg.stop()
