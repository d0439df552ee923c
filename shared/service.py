"""What every service process runs besides its routes: engine, producer, outbox relay, consumers, timers."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, Table

from shared.auth.store import TokenStore
from shared.bus.consumer import BatchHandler, ConsumerLoop, Decoder, Handler, decode_envelope
from shared.bus.producer import make_producer
from shared.bus.recovery import BrokerWatch
from shared.bus.types import EventTypes
from shared.db.engine import database_ready, make_engine, make_sessionmaker
from shared.db.outbox import OutboxRelay
from shared.db.uow import UnitOfWork
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
Task = Callable[["ServiceRuntime", asyncio.Event], Awaitable[None]]


@dataclass
class ConsumerSpec:
    """A consumer loop to run: `handler` per event, or `batch_handler` with all new events of a batch at once
    (one inbox statement per batch; on failure the events are replayed one at a time through it)."""

    name: str
    topics: list[str]
    handler: Handler | None
    decoder: Decoder = decode_envelope
    batch_size: int = 500
    batch_handler: BatchHandler | None = None
    # On the path from a stock event to an alert: polls with the short fetch wait. The bundled broker answers
    # a fetch only when its wait is over, so every other consumer polls less often and leaves the CPU free.
    urgent: bool = False
    # The event types this consumer handles and those it knowingly skips (shared/bus/types.py); any other
    # type is dead-lettered as unknown. None: every type reaches the handler (a warning at start).
    types: EventTypes | None = None


@dataclass
class ServiceRuntime:
    """Owns the connections of one service process; built in the app's lifespan, never at import time."""

    settings: ServiceSettings
    metadata: MetaData
    consumers: list[ConsumerSpec] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    # docs/contract.md §10: the end of the latest day whose events and effects are all committed (event clock);
    # services that decide by day set it, the others report none.
    decided_through: Callable[[ServiceRuntime], Awaitable[datetime | None]] | None = None

    def __post_init__(self) -> None:
        schema = self.metadata.schema
        self.outbox: Table = self.metadata.tables[f"{schema}.outbox"]
        self.inbox: Table = self.metadata.tables[f"{schema}.inbox"]
        self.engine = make_engine(self.settings.database_url, pool_size=self.settings.db_pool_size)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.tokens = TokenStore(self.engine, admin_token=self.settings.admin_token,
                                 cache_s=self.settings.token_cache_seconds)
        self.producer: AIOKafkaProducer | None = None
        self.wake = asyncio.Event()
        self.stop_event = asyncio.Event()
        self.loops: list[ConsumerLoop] = []
        self.relay: OutboxRelay | None = None
        self._running: list[asyncio.Task] = []
        self.broker_ok = False
        self.watch: BrokerWatch | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, self.outbox, self.inbox, source=f"replenish/{self.settings.service}",
                          on_commit=self.wake.set)

    async def start(self) -> None:
        self.producer = make_producer(self.settings)
        await _retry(self.producer.start, "producer")
        self.broker_ok = True
        s = self.settings
        self.watch = BrokerWatch(service=s.service, producer=self.producer, engine=self.engine,
                                 schema=self.outbox.schema, bootstrap=s.kafka_bootstrap_servers,
                                 partitions=s.partitions, relay=lambda: self.relay, loops=lambda: self.loops,
                                 wake=self.wake)
        await self.watch.start()  # the epoch the first rounds are marked with
        self._spawn(lambda: self.watch.run(self.stop_event), "broker-watch")
        self.relay = OutboxRelay(self.engine, self.outbox, self.producer, wake=self.wake, service=s.service,
                                 epoch=self.watch.current, offsets_back=self.watch.offsets_back)
        self._spawn(lambda: self.relay.run(self.stop_event), "outbox-relay")
        for spec in self.consumers:
            loop = ConsumerLoop(name=f"{self.settings.service}.{spec.name}", topics=spec.topics,
                                handler=spec.handler, settings=self.settings, uow_factory=self.uow,
                                producer=self.producer, decoder=spec.decoder, batch_size=spec.batch_size,
                                batch_handler=spec.batch_handler, inbox=self.inbox, urgent=spec.urgent,
                                types=spec.types, epoch=self.watch.current, offsets_engine=self.engine,
                                offsets_back=self.watch.offsets_back)
            if spec.types is None:
                log.warning("consumer %s declares no event types: unknown types reach its handler", loop.name)
            loop.holds.on_recovered = lambda loop=loop: [p.holds.retry_now() for p in self.loops if p is not loop]
            self.loops.append(loop)
            self._spawn(lambda loop=loop: loop.run(self.stop_event), loop.name)
        for task in self.tasks:
            self._spawn(lambda task=task: task(self, self.stop_event), getattr(task, "__name__", "task"))

    def _spawn(self, factory: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a loop until stop; a crash is logged and the loop rebuilt, so one bad moment stops nothing."""

        async def guarded() -> None:
            while not self.stop_event.is_set():
                try:
                    await factory()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s crashed; restarting in 1 s", name)
                    await asyncio.sleep(1)

        self._running.append(asyncio.create_task(guarded(), name=name))

    async def stop(self, grace_s: float = 20.0) -> None:
        """Stop taking new work, let loops finish their batch (bounded), then close connections."""
        self.stop_event.set()
        if self._running:
            _, pending = await asyncio.wait(self._running, timeout=grace_s)
            for task in pending:
                task.cancel()
        if self.producer:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        await self.engine.dispose()

    async def ready(self) -> dict[str, bool]:
        """Readiness checks; `consumers` is false while a consumer waits out an infrastructure failure."""
        return {"database": await database_ready(self.engine), "broker": await self._broker_ready(),
                "consumers": not self.degraded()}

    def degraded(self) -> list[str]:
        """Why consumers are held back (partitions paused on an infrastructure failure), for /readyz."""
        return [reason for reason in (loop.degraded for loop in self.loops) if reason]

    async def _broker_ready(self) -> bool:
        if self.producer is None:
            return False
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
            return True
        except Exception:
            return False

    def consumer_lag(self) -> dict[str, int]:
        lag: dict[str, int] = {}
        for loop in self.loops:
            for topic, n in loop.progress.lag_by_topic().items():
                lag[topic] = lag.get(topic, 0) + n
        return lag


async def _retry(start: Callable[[], Awaitable[None]], what: str, attempts: int = 60) -> None:
    for attempt in range(attempts):
        try:
            await start()
            return
        except Exception as exc:
            if attempt == attempts - 1:
                raise
            log.info("%s not ready (%s); retrying", what, exc)
            await asyncio.sleep(0.5)
