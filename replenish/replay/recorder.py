"""The replay's only alert receiver: a local HTTP endpoint that counts what notify delivers to it."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AlertRecorder:
    """`with AlertRecorder() as r:` serves on 127.0.0.1 until the block ends; `r.count` messages received."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder._lock:
                    recorder.count += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self._server.server_address[1]}/alerts"

    def notify_config(self) -> dict[str, Any]:
        """docs/contract.md §6's smallest config, pointed at this recorder: a replay notifies no one outside."""
        return {"notify": {"receivers": [{"name": "replay-recorder", "urls": [self.url]}],
                           "route": {"receiver": "replay-recorder", "group_wait": "0s"}}}

    def __enter__(self) -> AlertRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
