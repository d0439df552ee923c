"""Plain JSON webhooks sent on the event loop carry exactly what Apprise would send; others go via Apprise."""
from __future__ import annotations

import asyncio
import http.server
import threading
import time

import pytest

from services.notify import channels_json
from services.notify.channels_apprise import _send_blocking, prepared_url, send

pytestmark = pytest.mark.integration


class Hook:
    """A local webhook keeping each request's body and headers; answers `status` after `delay` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append((body, {k.lower(): v for k, v in self.headers.items()}))
                time.sleep(delay)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


# Extra headers (`+Name=value`, percent-encoded) and the explicit defaults are read by our own parser: the
# bytes on the wire must still be Apprise's.
@pytest.mark.parametrize("query", ["", "?+X-Token=a%20b&method=post&verify=yes"])
async def test_the_event_loop_path_sends_what_apprise_sends(hook, query):
    title, body = "[critical] stockout_risk 门店-1 / SKU-9", "On hand 3, 2.1 days of cover\nack: http://x/ack"
    url = hook.url + query
    assert channels_json.request_for(url, title, body, idempotency_key="key-1", timeout_s=5) is not None
    result = await asyncio.to_thread(
        _send_blocking, prepared_url(url, idempotency_key="key-1", timeout_s=5), title, body)
    assert result.ok
    assert (await send(url, title, body, idempotency_key="key-1", timeout_s=5)).ok
    (apprise_body, apprise_headers), (ours_body, ours_headers) = hook.requests
    assert ours_body == apprise_body
    for name in ("content-type", "user-agent", "idempotency-key", "x-token"):
        assert ours_headers.get(name) == apprise_headers.get(name)
    assert ("x-token" in ours_headers) == bool(query)


@pytest.mark.parametrize("url", ["json://user:secret@127.0.0.1:9/hook", "json://127.0.0.1:9/hook?:title=subject",
                                 "json://127.0.0.1:9/hook?method=PUT", "mailto://u:p@example.com",
                                 "json://127.0.0.1:9/hook?-token=abc", "json://127.0.0.1:9/hook?format=markdown",
                                 "json://127.0.0.1:bad/hook", "json://:9/hook"])
def test_anything_beyond_a_plain_json_post_is_left_to_apprise(url):
    assert channels_json.request_for(url, "t", "b", idempotency_key="k", timeout_s=5) is None


async def test_a_refusing_or_slow_webhook_is_a_failed_send_with_its_reason():
    refusing, slow = Hook(status=503), Hook(delay=1.0)
    try:
        refused = await send(refusing.url, "t", "b", idempotency_key="k", timeout_s=5)
        late = await send(slow.url, "t", "b", idempotency_key="k", timeout_s=0.2)
    finally:
        refusing.close()
        slow.close()
    assert not refused.ok and refused.error.startswith("HTTP 503")
    assert not late.ok and "Timeout" in late.error
