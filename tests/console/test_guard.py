"""Form POST checks (same Origin, CSRF from field or header), the link form's token, and the rate limit."""
from __future__ import annotations

import pytest
from starlette.requests import Request

from services.console.guard import link_csrf, same_origin, submitted_csrf
from shared.http.ratelimit import RateLimit


def request(headers: dict[str, str], host: str = "127.0.0.1:8006", scheme: str = "http") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": host, **headers}.items()]
    return Request({"type": "http", "method": "POST", "path": "/x", "headers": raw, "scheme": scheme,
                    "server": ("127.0.0.1", 8006), "query_string": b"", "root_path": ""})


@pytest.mark.parametrize("headers, public, ok", [
    ({"Origin": "http://127.0.0.1:8006"}, None, True),
    ({"Origin": "http://evil.example"}, None, False),
    ({"Origin": "http://127.0.0.1:9999"}, None, False),
    ({"Origin": "null"}, None, False),
    ({}, None, False),
    ({"Referer": "http://127.0.0.1:8006/alerts/1"}, None, True),
    ({"Origin": "https://console.example.com"}, "https://console.example.com/", True),
    ({"Origin": "http://console.example.com"}, "https://console.example.com", False),
])
def test_only_this_consoles_origin_may_post(headers, public, ok):
    assert same_origin(request(headers), public) is ok


def test_csrf_comes_from_the_form_field_else_the_header():
    assert submitted_csrf(request({}), {"csrf_token": "f"}) == "f"
    assert submitted_csrf(request({"X-CSRF-Token": "h"}), {}) == "h"
    assert submitted_csrf(request({}), {"comment": "x"}) is None


def test_a_link_forms_token_depends_on_the_link_and_the_secret():
    assert link_csrf(b"k", "a") == link_csrf(b"k", "a")
    assert link_csrf(b"k", "a") != link_csrf(b"k", "b") != link_csrf(b"j", "b")


def test_rate_limit_allows_per_minute_and_forgets_after_it():
    now = [0.0]
    limit = RateLimit(3, clock=lambda: now[0])
    assert [limit.allow("1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("5.6.7.8")
    now[0] = 60.5
    assert limit.allow("1.2.3.4")
