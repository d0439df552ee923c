"""The console over HTTP (§11): sessions, roles, CSRF and Origin, acknowledge links, offline /docs."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.console_world import SKUS

pytestmark = pytest.mark.e2e
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(world, role: str) -> httpx.Client:
    browser = httpx.Client(base_url=world.console, timeout=30)
    answer = browser.post("/login", data={"token": world.token(role)})
    assert answer.status_code == 303, answer.text[:300]
    return browser


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def test_sign_in_keeps_the_token_server_side_and_refuses_ingest_tokens(console_world):
    browser = httpx.Client(base_url=console_world.console, timeout=30)
    answer = browser.post("/login", data={"token": console_world.token("planner")})
    cookie = answer.headers["set-cookie"]
    assert answer.status_code == 303 and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert console_world.token("planner") not in cookie
    assert browser.get("/positions").status_code == 200
    refused = httpx.post(f"{console_world.console}/login", data={"token": console_world.token("ingest")})
    assert refused.status_code == 403 and "replenish_session" not in refused.headers.get("set-cookie", "")


def test_pages_answer_for_a_planner_and_nothing_loads_from_another_host(console_world):
    browser = signed_in(console_world, "planner")
    for path in ("/", "/positions?status=critical", "/alerts", "/purchase-orders", "/suppliers",
                 "/positions/store-1/SKU-A"):
        page = browser.get(path)
        assert page.status_code == 200 and "<html" in page.text, path
        assert not re.search(r'(src|href)="(https?:)?//', page.text), path
    assert "<svg" in browser.get("/positions/store-1/SKU-A").text


def test_acknowledging_needs_ops_a_csrf_token_and_the_same_origin(console_world):
    alert = console_world.alert("SKU-A")
    page_path = f"/alerts/{alert['id']}"
    planner = signed_in(console_world, "planner")
    assert "action=\"/alerts/" not in planner.get(page_path).text  # no acknowledge form for a planner
    tried = planner.post(f"{page_path}/ack", data={"csrf_token": csrf_of(planner.get("/")), "comment": "x"},
                         headers={"Origin": console_world.console})
    assert tried.status_code == 403
    ops = signed_in(console_world, "ops")
    token = csrf_of(ops.get(page_path))
    assert ops.post(f"{page_path}/ack", data={"comment": "no token"},
                    headers={"Origin": console_world.console}).status_code == 403
    assert ops.post(f"{page_path}/ack", data={"csrf_token": token, "comment": "forged"},
                    headers={"Origin": "http://evil.example"}).status_code == 403
    assert console_world.client.get("notify", f"/v1/alerts/{alert['id']}")["status"] == "firing"
    done = ops.post(f"{page_path}/ack", data={"csrf_token": token, "comment": "on it", "verdict": "useful"},
                    headers={"Origin": console_world.console})
    assert done.status_code == 303
    after = console_world.client.get("notify", f"/v1/alerts/{alert['id']}")
    assert after["status"] == "acknowledged" and after["acked_by"] == "ops" and "on it" in after["ack_comment"]


def test_acknowledge_link_get_changes_nothing_and_post_acknowledges_once(console_world):
    alert = console_world.alert("SKU-B")
    sent = wait_for(lambda: console_world.chat.messages_about(alert["id"]), 60)
    assert sent and sent[0]["url"] == f"{console_world.console}/alerts/{alert['id']}"
    link = urlsplit(sent[0]["ack_url"]).path
    assert re.fullmatch(r"/a/[A-Za-z0-9_-]{22}", link)  # 128 random bits
    anonymous = httpx.Client(base_url=console_world.console, timeout=30)
    shown = anonymous.get(link)
    assert shown.status_code == 200 and alert["id"] in shown.text
    assert console_world.client.get("notify", f"/v1/alerts/{alert['id']}")["status"] == "firing"
    form = {"csrf_token": csrf_of(shown), "comment": "from my phone"}
    assert anonymous.post(link, data=form, headers={"Origin": "http://evil.example"}).status_code == 403
    assert anonymous.post(link, data=form, headers={"Origin": console_world.console}).status_code == 200
    first = console_world.client.get("notify", f"/v1/alerts/{alert['id']}")
    assert first["status"] == "acknowledged" and first["acked_by"] == "link:ops-chat"
    again = anonymous.post(link, data=form, headers={"Origin": console_world.console})
    assert again.status_code == 200 and "ack_done" not in again.text
    assert console_world.client.get("notify", f"/v1/alerts/{alert['id']}")["acked_at"] == first["acked_at"]
    assert anonymous.get("/a/" + "x" * 22).status_code == 404


def test_a_revoked_token_ends_its_session_within_a_minute(console_world):
    issued = console_world.client.call("POST", "notify", "/v1/tokens", json={"name": "mei", "role": "planner"}).json()
    browser = httpx.Client(base_url=console_world.console, timeout=30)
    assert browser.post("/login", data={"token": issued["token"]}).status_code == 303
    assert browser.get("/positions").status_code == 200
    assert console_world.client.call("DELETE", "notify", f"/v1/tokens/{issued['key_id']}").status_code == 204
    ended = wait_for(lambda: browser.get("/positions").status_code == 303, 60, every=2)
    assert ended, "the session outlived its token by more than a minute"


def test_every_service_serves_its_docs_without_another_host(console_world):
    for name, base in console_world.platform.services.items():
        if name == "console":
            continue
        page = httpx.get(f"{base}/docs", timeout=30)
        assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text, name
        assert not re.search(r'(src|href)="https?://', page.text), name
        assert httpx.get(f"{base}/docs-assets/swagger-ui.css", timeout=30).status_code == 200


def test_every_service_computes_its_kpis_and_the_overview_shows_them(console_world):
    """§11: the services compute the figures (their /v1/kpis), the console only shows them."""
    found = {name: console_world.client.get(name, "/v1/kpis") for name in ("policy", "forecast", "notify", "orders",
                                                                            "ingest")}
    stock = found["policy"]["stock"]
    assert stock["sku_location_days"] >= len(SKUS) * 28 and 0 < stock["in_stock_rate"] <= 1
    assert stock["inventory_value"] >= 0 and sum(found["policy"]["positions_by_status"].values()) >= len(SKUS)
    assert found["notify"]["alerts"]["fired"] >= len(SKUS) and found["notify"]["alerts"]["precision"] is None
    assert found["ingest"]["freshness"]["sources"] >= 1 and "suppliers" in found["orders"]
    assert "by_class" in found["forecast"]
    page = signed_in(console_world, "planner").get("/").text
    in_stock = f"{stock['in_stock_rate'] * 100:.1f}%"
    assert in_stock in page and "not yet measured" in page


def test_the_sku_chart_draws_sales_history_and_levels_over_time(console_world):
    days = console_world.client.get("policy", "/v1/positions/store-1/SKU-A/history?days=56")
    sales = console_world.client.get("forecast", "/v1/forecasts/store-1/SKU-A/history?days=56")
    assert len(days["items"]) >= 28 and sum(d["quantity"] for d in sales["items"]) > 0
    page = signed_in(console_world, "planner").get("/positions/store-1/SKU-A").text
    assert 'class="sales"' in page and "level-past" in page
