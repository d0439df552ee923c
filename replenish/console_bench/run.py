"""Time the console's pages on a platform started like `replenish up`, with 10,000 positions written into it:
/positions (first pages, filters, deep cursors) and a SKU page on the server, /positions loaded in Debian's
Chromium, and the overview with its KPIs. A benchmark, not a test: it prints figures for docs/benchmarks.md."""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from replenish.console_bench.seed import STATUSES, seed
from shared.runtime.platform import Platform

CHROMIUM = Path("/usr/bin/chromium")
NEXT = re.compile(r'href="(/positions\?[^"]*cursor=[^"]+)"')
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def percentiles(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ms[-1], 1)}


def timed(fetch: Callable[[], httpx.Response], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        answer = fetch()
        out.append(time.perf_counter() - started)
        assert answer.status_code == 200, f"{answer.request.url}: {answer.status_code} {answer.text[:200]}"
    return out


def positions_urls(console: httpx.Client, stores: int) -> list[str]:
    """What a planner opens: first page, each status, a store, a SKU prefix, and pages 2–10 by their cursors."""
    urls = ["/positions", *(f"/positions?status={s}" for s in STATUSES), "/positions?location=store-007",
            "/positions?sku=SKU-0042"]
    page = "/positions"
    for _ in range(9):
        found = NEXT.search(console.get(page).text)
        if not found:
            break
        page = found.group(1).replace("&amp;", "&")
        urls.append(page)
    return urls[: 11 + stores]


def server_figures(base: str, token: str, policy: str, sku_page: str, rounds: int) -> dict:
    console = httpx.Client(base_url=base, timeout=60)
    assert console.post("/login", data={"token": token}).status_code == 303
    api = httpx.Client(base_url=policy, timeout=300, headers={"Authorization": f"Bearer {token}"})
    urls = positions_urls(console, 20)
    for url in urls:  # warm every path once (first-use costs are not what a planner waits for all day)
        console.get(url)
    figures = {
        "console_positions": percentiles([t for _ in range(rounds) for url in urls
                                          for t in timed(lambda u=url: console.get(u), 1)]),
        "api_positions_limit_50": percentiles(timed(lambda: api.get("/v1/positions", params={"limit": 50}),
                                                    rounds * 5)),
        "console_sku_page": percentiles(timed(lambda: console.get(sku_page), rounds * 5)),
        # policy caches its figures for a minute: each `days` value below is a cold computation
        "api_policy_kpis_cold": percentiles([t for d in range(min(rounds, 5))
                                             for t in timed(lambda d=d: api.get("/v1/kpis", params={"days": 28 - d}),
                                                            1)]),
        "console_overview_warm": percentiles(timed(lambda: console.get("/"), max(rounds, 5))),
        "pages_measured": urls,
    }
    return figures


def browser_figures(base: str, token: str, rounds: int) -> dict:
    """Navigation start to the load event of /positions in Chromium; requests off loopback are counted (must be 0)."""
    if not CHROMIUM.exists():
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname in LOOPBACK
                      else (elsewhere.append(route.request.url), route.abort()))
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#token", token)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        loads = []
        for i in range(rounds):
            page.goto(f"{base}/positions?status={STATUSES[i % len(STATUSES)]}", wait_until="load")
            loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
        browser.close()
    return {"browser_positions_load": percentiles(loads), "requests_off_loopback": len(elsewhere)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replenish bench console")
    parser.add_argument("--positions", type=int, default=10_000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--days", type=int, default=56, help="days of stock and sales behind each position")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="leave the platform running (Ctrl-C stops it)")
    args = parser.parse_args(argv)
    platform = Platform(Path(tempfile.mkdtemp(prefix="replenish-bench-console-")), env={})
    endpoints = platform.start()
    try:
        started = time.perf_counter()
        seeded = asyncio.run(seed(platform.database_url, positions=args.positions, stores=args.stores,
                                  days=args.days))
        seeded["seed_s"] = round(time.perf_counter() - started, 1)
        services = endpoints["services"]
        token = endpoints["tokens"]["planner"]
        result = {"seeded": seeded,
                  **server_figures(services["console"], token, services["policy"], seeded["sku_page"], args.rounds),
                  **browser_figures(services["console"], token, max(args.rounds * 3, 20))}
        print(json.dumps(result, indent=2))
        if args.keep:
            print(json.dumps(services, indent=2))
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        platform.stop()
    return 0
