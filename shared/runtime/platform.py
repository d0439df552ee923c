"""`replenish up`: the supervisor that starts broker, database and the five services, and stops them all."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.bus.admin import ensure_topics
from shared.db.migrate import upgrade
from shared.runtime import bootstrap
from shared.runtime.broker import BundledBroker
from shared.runtime.ports import free_port, port_or_free
from shared.runtime.postgres import EmbeddedPostgres
from shared.settings import CONSOLE_PORT, DEFAULT_PORTS, SERVICES

log = logging.getLogger(__name__)

# Local defaults that keep latency low on the bundled broker (docs/broker.md): quick group joins, short fetch waits.
LOCAL_ENV = {"REPLENISH_KAFKA_SESSION_TIMEOUT_MS": "6000", "REPLENISH_KAFKA_HEARTBEAT_MS": "1000",
             "REPLENISH_KAFKA_FETCH_MAX_WAIT_MS": "20", "REPLENISH_KAFKA_LINGER_MS": "2"}
# A service that dies is started again after 1 s, 2 s, 4 s … at most 30 s; a minute alive resets the count.
RESTART_FIRST_S, RESTART_MAX_S, HEALTHY_AFTER_S = 1.0, 30.0, 60.0


def write_private(path: Path, text: str) -> None:
    """Write `path` readable by its owner only: created 0600 (never chmod-ed after the secrets are in it),
    through a temporary file renamed into place so readers never see half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # an old one may carry another mode; O_CREAT would keep it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


@dataclass
class Restarts:
    """Supervision state of one service: how many quick deaths in a row, and when to start it again."""

    count: int = 0
    started_at: float = field(default_factory=time.monotonic)
    due_at: float | None = None
    exit_code: int | None = None

    def died(self, code: int, now: float) -> float:
        """Note a death; the delay before the next start."""
        if now - self.started_at >= HEALTHY_AFTER_S:
            self.count = 0
        delay = min(RESTART_FIRST_S * 2 ** self.count, RESTART_MAX_S)
        self.count += 1
        self.due_at, self.exit_code = now + delay, code
        return delay


@dataclass
class Platform:
    data_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # Locally every service runs one replica, and the bundled broker spends CPU per partition on every fetch
    # (idle platform: 0.28 cores with 4 partitions, 0.18 with 2), so two per topic keep its keyed order
    # honest without polling cost. `replenish topics --partitions N` sizes a real cluster (docs/scaling.md).
    partitions: int = 2
    broker: BundledBroker | None = None
    postgres: EmbeddedPostgres | None = None
    kafka: str = ""
    database_url: str = ""
    services: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    # Restart dead services (on by default; `replenish up` relies on it, a test may turn it off).
    supervise: bool = True

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.instance = uuid.uuid4().hex
        self.logs = self.data_dir / "logs"
        self.restarts: dict[str, Restarts] = {}
        self.public_url = self.env.get("REPLENISH_PUBLIC_URL", "")
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one of supervisor and stop() changes the children at a time
        self._supervisor: threading.Thread | None = None

    def start(self, ready_timeout: float = 120) -> dict:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        (self.data_dir / "endpoints.json").unlink(missing_ok=True)
        fresh_broker = self._start_infrastructure()
        upgrade(self.database_url)
        asyncio.run(ensure_topics(self.kafka, self.partitions))
        tokens_file = self.data_dir / "tokens.json"
        if not tokens_file.exists():
            write_private(tokens_file, "{}")  # born 0600: the tokens are written into it below
        self.tokens = bootstrap.load_or_create_tokens(tokens_file)
        asyncio.run(bootstrap.register_tokens(self.database_url, self.tokens))
        if fresh_broker:
            counts = asyncio.run(bootstrap.republish_unconfirmed(self.database_url))
            log.info("outbox rows queued again for the fresh broker: %s", counts)
        # Notifications link to the console (§11), so its address is chosen before notify starts; the console
        # itself starts once the services it reads are ready and their final addresses known.
        console_port = port_or_free(int(self.env.get("REPLENISH_CONSOLE_PORT", CONSOLE_PORT)))
        self.public_url = self.env.get("REPLENISH_PUBLIC_URL") or f"http://127.0.0.1:{console_port}"
        for service in SERVICES:
            self._start_service(service)
        self._wait_ready(ready_timeout)
        self._start_service("console", console_port)
        self._wait_ready(ready_timeout)
        endpoints = {"kafka": self.kafka, "database": self.database_url, "services": self.services,
                     "tokens": self.tokens, "data_dir": str(self.data_dir)}
        write_private(self.data_dir / "endpoints.json", json.dumps(endpoints, indent=2))
        if self.supervise:
            self.restarts = {service: Restarts() for service in self.procs}
            self._supervisor = threading.Thread(target=self._supervise, name="replenish-supervisor", daemon=True)
            self._supervisor.start()
        return endpoints

    def _start_infrastructure(self) -> bool:
        self.kafka = self.env.get("KAFKA_BOOTSTRAP_SERVERS", "")
        fresh = False
        if not self.kafka:
            port = port_or_free(int(self.env.get("REPLENISH_BROKER_PORT", 9092)))
            self.broker = BundledBroker(self.logs / "broker.log", port=port)
            self.kafka = self.broker.start()
            fresh = True
        self.database_url = self.env.get("DATABASE_URL", "")
        if not self.database_url:
            self.postgres = EmbeddedPostgres(self.data_dir / "pg")
            self.database_url = self.postgres.start()
        return fresh

    def _start_service(self, service: str, port: int | None = None) -> None:
        port = port or port_or_free(int(self.env.get(f"REPLENISH_{service.upper()}_PORT", DEFAULT_PORTS[service])))
        env = {**LOCAL_ENV, **self.env, "KAFKA_BOOTSTRAP_SERVERS": self.kafka, "DATABASE_URL": self.database_url,
               "REPLENISH_PORT": str(port), "REPLENISH_SERVICE": service, "REPLENISH_INSTANCE": self.instance,
               "REPLENISH_PUBLIC_URL": self.public_url, "REPLENISH_PARTITIONS": str(self.partitions),
               **{f"REPLENISH_{name.upper()}_URL": self.services[name] for name in SERVICES if name in self.services}}
        with open(self.logs / f"{service}.log", "ab") as out:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", "replenish.cli", "serve", service], env=env, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.env.get("REPLENISH_CWD") or None)
        self.services[service] = f"http://127.0.0.1:{port}"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.services)
        restarts = dict.fromkeys(self.services, 0)
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for service in list(pending):
                    if self.procs[service].poll() is not None:
                        # Most often a port someone took between our probe and the bind: try a free one.
                        if restarts[service] >= 2:
                            raise RuntimeError(f"{service} exited; see {self.logs / (service + '.log')}")
                        restarts[service] += 1
                        self._start_service(service, free_port())
                    with contextlib.suppress(httpx.HTTPError, ValueError):
                        reply = client.get(f"{self.services[service]}/readyz")
                        # Only our own child counts: another platform may answer on a port we raced it for.
                        if reply.status_code == 200 and reply.json().get("instance") == self.instance:
                            pending.discard(service)
                time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready within {timeout:.0f} s: {sorted(pending)}")

    def _supervise(self, every_s: float = 0.5) -> None:
        """Notice a service that died and start it again on its port, with backoff; say so each time."""
        while not self._stopping.wait(every_s):
            now = time.monotonic()
            with self._lock:
                if self._stopping.is_set():
                    return
                self._supervise_broker()
                for service, proc in list(self.procs.items()):
                    state = self.restarts.setdefault(service, Restarts())
                    code = proc.poll()
                    if code is None:
                        continue
                    if state.due_at is None:
                        delay = state.died(code, now)
                        self._say(f"{service} (pid {proc.pid}) exited with code {code}; "
                                  f"restarting in {delay:.0f} s (restart {state.count})")
                    elif now >= state.due_at:
                        self._restart(service, state)

    def _supervise_broker(self) -> None:
        """The bundled broker died: start it again on its port, empty, with its topics. The services notice its
        new cluster id and republish from their outboxes what no reader recorded as consumed (docs/contract.md §12)."""
        broker = self.broker
        if broker is None or broker.proc is None or broker.proc.poll() is None:
            return
        self._say(f"broker (pid {broker.proc.pid}) exited with code {broker.proc.returncode}; restarting it empty")
        try:
            broker.start()
            asyncio.run(ensure_topics(self.kafka, self.partitions))
        except (OSError, RuntimeError) as exc:
            self._say(f"broker could not be started ({exc}); next try in 0.5 s")
            return
        self._say(f"broker restarted (pid {broker.proc.pid}) on {self.kafka}, cluster id {broker.cluster_id}")

    def _restart(self, service: str, state: Restarts) -> None:
        port = int(self.services[service].rsplit(":", 1)[1])  # clients know this address: keep it
        try:
            self._start_service(service, port)
        except OSError as exc:
            state.died(-1, time.monotonic())
            self._say(f"{service} could not be started ({exc}); next try in {state.due_at - time.monotonic():.0f} s")
            return
        state.due_at, state.started_at = None, time.monotonic()
        self._say(f"{service} restarted (pid {self.procs[service].pid}) on {self.services[service]}")

    def _say(self, message: str) -> None:
        """Supervision events go to stderr (what `replenish up` shows) and to logs/supervisor.log."""
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} replenish up: {message}"
        print(line, file=sys.stderr, flush=True)
        log.info(message)
        with contextlib.suppress(OSError), open(self.logs / "supervisor.log", "a") as out:
            out.write(line + "\n")

    def drained(self, timeout: float = 20) -> bool:
        """Wait until no consumer lags and no outbox holds unpublished rows (twice in a row)."""
        deadline, quiet = time.monotonic() + timeout, 0
        admin = self.tokens.get("admin", "")
        with httpx.Client(timeout=2, headers={"Authorization": f"Bearer {admin}"}) as client:
            while time.monotonic() < deadline:
                try:
                    marks = [client.get(f"{url}/v1/watermark").json() for name, url in self.services.items()
                             if name in SERVICES]
                    idle = all(sum((m.get("consumer_lag") or {}).values()) == 0 and not m.get("outbox_backlog")
                               for m in marks)
                except (httpx.HTTPError, ValueError, AttributeError):
                    idle = False
                quiet = quiet + 1 if idle else 0
                if quiet >= 2:
                    return True
                time.sleep(0.5)
        return False

    def stop(self, grace: float = 20) -> None:
        """Drain (bounded), stop the services, then broker and database; nothing is left behind."""
        self._stopping.set()
        with self._lock:  # a restart in progress finishes first; none starts after this
            pass
        if self._supervisor is not None:
            self._supervisor.join(5)
        clean = False
        if self.procs and all(p.poll() is None for p in self.procs.values()):
            clean = self.drained(grace)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if clean and self.broker:
            with contextlib.suppress(Exception):
                asyncio.run(bootstrap.mark_drained(self.database_url))
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
        (self.data_dir / "endpoints.json").unlink(missing_ok=True)
