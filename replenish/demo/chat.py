"""A local chat webhook the demo's notify config points at, so alert deliveries are visible in the summary."""
from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path


class ChatSink:
    """Collects every message notify posts to it (Apprise `json://`)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    sink.messages.append(json.loads(body))
                except ValueError:
                    sink.messages.append({"title": body[:80].decode(errors="replace")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def write_config(self, path: Path) -> Path:
        path.write_text(f"notify:\n  receivers:\n    - name: demo-chat\n      urls: [\"json://127.0.0.1:{self.port}/chat\"]\n"
                        f"  route:\n    receiver: demo-chat\n    group_wait: 0s\n    group_by: [location]\n")
        return path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
