"""The console in a real browser: Debian's Chromium driven by Playwright for Python, never a downloaded
browser. Any request to a host other than loopback is blocked and fails the test. Screenshots of each page
land in docs/console/ (docs/console.md shows them)."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import wait_for

CHROMIUM = Path(os.environ.get("REPLENISH_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"BROWSER TESTS NOT RUN: no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run does)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="BROWSER TESTS NOT RUN: playwright is not installed")

pytestmark = pytest.mark.e2e
# Headless, and nothing of Chromium's own traffic (updates, sync, field trials) leaves the machine.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    started = time.monotonic()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield browser
        browser.close()
    print(f"\nbrowser tests took {time.monotonic() - started:.1f} s")


@pytest.fixture
def page(chromium, request) -> Iterator:
    """A fresh browser context (no cookies) whose requests may only go to loopback addresses."""
    options = PHONE if "phone" in request.node.name else {"viewport": {"width": 1280, "height": 900}}
    context = chromium.new_context(locale="en-US", **options)
    elsewhere: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def sign_in(page, world, role: str) -> None:
    page.goto(world.console + "/")
    assert urlsplit(page.url).path == "/login"
    page.fill("#token", world.token(role))
    page.click("main button[type=submit]")
    page.wait_for_url(world.console + "/")


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_planner_signs_in_and_filters_positions(page, console_world):
    sign_in(page, console_world, "planner")
    shoot(page, "overview")
    page.click("nav >> text=Positions")
    page.fill("input[name=sku]", "SKU-A")
    page.click("form.filters button")
    page.wait_for_url("**/positions?*sku=SKU-A*")
    rows = page.locator("table.positions tbody tr")
    assert rows.count() == 1 and "SKU-A" in rows.first.inner_text()
    page.goto(console_world.console + "/positions")
    shoot(page, "positions")


def test_planner_opens_a_sku_and_sees_its_chart(page, console_world):
    sign_in(page, console_world, "planner")
    page.goto(console_world.console + "/positions?sku=SKU-A")
    page.click("table.positions >> text=SKU-A")
    page.wait_for_url("**/positions/store-1/SKU-A")
    chart = page.locator("svg.chart")
    assert chart.is_visible() and chart.locator("line.level").count() >= 2
    assert "Reorder point" in page.inner_text("main")
    shoot(page, "position")


def test_ops_acknowledges_an_alert_with_a_comment(page, console_world):
    alert = console_world.alert("SKU-C")
    sign_in(page, console_world, "ops")
    page.goto(console_world.console + "/alerts")
    shoot(page, "alerts")
    page.click(f"a[href='/alerts/{alert['id']}']")
    page.fill("form[action$='/ack'] textarea[name=comment]", "calling the supplier")
    page.select_option("form[action$='/ack'] select[name=verdict]", "useful")
    page.click("form[action$='/ack'] button")
    page.wait_for_selector("text=Acknowledged by ops")
    shoot(page, "alert")
    assert console_world.client.get("notify", f"/v1/alerts/{alert['id']}")["acked_by"] == "ops"


def test_approver_approves_a_purchase_order(page, console_world):
    sign_in(page, console_world, "approver")
    page.goto(console_world.console + "/purchase-orders?status=pending_approval")
    shoot(page, "purchase-orders")
    first = page.locator("table tbody tr a").first
    po_id = first.inner_text()
    first.click()
    page.click("form[action$='/approve'] button")
    page.wait_for_selector(".badge.status-approved, .badge.status-sent")
    shoot(page, "purchase-order")
    assert console_world.client.get("orders", f"/v1/purchase-orders/{po_id}")["status"] != "pending_approval"


def test_language_switches_to_chinese_and_back(page, console_world):
    sign_in(page, console_world, "planner")
    page.goto(console_world.console + "/positions")
    page.click("a.lang")
    page.wait_for_selector("nav >> text=库存头寸")
    assert "再订货点" in page.inner_text("main")
    shoot(page, "positions-zh")
    page.click("a.lang")
    page.wait_for_selector("nav >> text=Positions")


def test_acknowledge_link_on_a_phone(page, console_world):
    alert = console_world.alert("SKU-D")
    sent = wait_for(lambda: console_world.chat.messages_about(alert["id"]), 60)
    assert sent, "no message carried the alert"
    page.goto(sent[0]["ack_url"])
    assert console_world.client.get("notify", f"/v1/alerts/{alert['id']}")["status"] == "firing"
    shoot(page, "ack-link-phone")
    page.fill("textarea[name=comment]", "on my way")
    page.click("main button[type=submit]")
    page.wait_for_selector(".done")
    shoot(page, "ack-link-phone-done")
    after = console_world.client.get("notify", f"/v1/alerts/{alert['id']}")
    assert after["status"] == "acknowledged" and after["acked_by"] == "link:ops-chat"
