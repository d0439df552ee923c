"""One platform for the console's tests (HTTP and browser): three SKUs at store-1 that run short, every PO
waiting for a human, each alert its own message to a recording chat receiver, public URL = the console."""
from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.runtime.platform import Platform
from tests.e2e.conftest import Client, history, platform_env, wait_for

SKUS = ("SKU-A", "SKU-B", "SKU-C", "SKU-D")


@dataclass
class Chat:
    """A chat webhook on loopback that keeps every message body it is sent."""

    bodies: list[str] = field(default_factory=list)

    def start(self) -> int:
        chat = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get("Content-Length") or 0)
                chat.bodies.append(self.rfile.read(size).decode(errors="replace"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):  # quiet test output
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]

    def messages_about(self, alert_id: str) -> list[dict]:
        """The webhook alerts (decoded) that carry this alert."""
        found = []
        for body in self.bodies:
            payload = json.loads(json.loads(body).get("message") or "{}")
            found += [a for a in payload.get("alerts", []) if a.get("id") == alert_id]
        return found


@dataclass
class World:
    platform: Platform
    chat: Chat
    client: Client

    @property
    def console(self) -> str:
        return self.platform.services["console"]

    def token(self, role: str) -> str:
        return self.platform.tokens[role]

    def alert(self, sku: str) -> dict | None:
        found = self.client.get("notify", f"/v1/alerts?sku={sku}&type=stockout_risk") or {}
        return next(iter(found.get("items", [])), None)


@pytest.fixture(scope="session")
def console_world(tmp_path_factory) -> Iterator[World]:
    chat = Chat()
    port = chat.start()
    config = tmp_path_factory.mktemp("console") / "replenish.yaml"
    config.write_text(f"notify:\n  receivers:\n    - name: ops-chat\n      urls: [\"json://127.0.0.1:{port}/hook\"]\n"
                      "  route:\n    receiver: ops-chat\n    group_wait: 0s\n    group_by: [location, sku]\n")
    env = {**platform_env(), "REPLENISH_CONFIG": str(config), "REPLENISH_ORDERS_AUTO_APPROVE_BELOW": "0",
           "REPLENISH_CONSOLE_RECHECK_S": "1"}
    env.pop("REPLENISH_PUBLIC_URL", None)  # the console's own address, as `replenish up` chooses it
    platform = Platform(Path(tmp_path_factory.mktemp("console-data")), env=env)
    try:  # a start that fails (a service not ready in time) must not leave its children running
        platform.start()
        world = World(platform, chat, Client(platform))
        events = [e for sku in SKUS for e in history(28, sku=sku, daily=10)]
        assert world.client.call("POST", "ingest", "/v1/events", role="ingest", json=events).status_code == 200
        ready = wait_for(lambda: all(world.alert(s) for s in SKUS) and world.client.get(
            "orders", "/v1/purchase-orders?status=pending_approval"), 120)
        assert ready, "no alerts or no PO waiting for approval within 120 s"
        yield world
    finally:
        platform.stop()
        chat.server.shutdown()
