"""Charts are inline SVG drawn on the server: band, mean, sales and the levels, escaped, never empty-scaled."""
from __future__ import annotations

from datetime import date, timedelta
from xml.etree import ElementTree

from services.console.charts import StockChart, bars_svg, stock_chart_svg
from services.console.kpis import gather_kpis, kpi_tiles

DAY = date(2026, 11, 1)


def test_stock_chart_draws_band_mean_sales_and_levels_as_valid_svg():
    chart = StockChart(sales=[(DAY + timedelta(d), 10.0) for d in range(7)],
                       forecast=[(DAY + timedelta(7 + d), 8.0, 10.0, 12.0) for d in range(14)],
                       levels={"on_hand": 20.0, "reorder_point": 75.0, "order_up_to": 145.0}, today=DAY + timedelta(7))
    svg = stock_chart_svg(chart, title="Stock <& demand>", legend={"reorder_point": "ROP"})
    root = ElementTree.fromstring(svg)
    names = [el.tag.split("}")[1] + "." + el.get("class", "") for el in root.iter()]
    assert names.count("rect.sales") == 7 and "polygon.band" in names and "polyline.mean" in names
    assert sum(n.startswith("line.level") for n in names) == 3
    assert "Stock &lt;&amp; demand&gt;" in svg and "ROP 75" in svg


def test_nothing_to_draw_draws_nothing_and_zero_demand_keeps_a_scale():
    assert stock_chart_svg(StockChart(), title="t", legend={}) == ""
    flat = stock_chart_svg(StockChart(sales=[(DAY, 0.0)], levels={"on_hand": 0.0}), title="t", legend={})
    assert "nan" not in flat.lower() and ElementTree.fromstring(flat) is not None


def test_status_bars_and_kpi_tiles_say_not_yet_measured_for_alert_precision():
    svg = bars_svg({"ok": 3.0, "critical": 1.0}, title="by status", names={"ok": "正常"})
    assert "正常" in svg and svg.count("<rect") == 2
    tiles = {tile["name"]: tile for tile in kpi_tiles({"stock": {"in_stock_rate": 0.975}}, lambda k: k)}
    assert tiles["in_stock_rate"]["value"] == "97.5%" and tiles["alert_precision"]["value"] == "not_measured"
    assert tiles["fill_rate_est"]["estimate"]


def test_levels_with_a_history_are_drawn_as_steps_then_run_on_from_the_last_day():
    past = [(DAY + timedelta(d), v) for d, v in ((0, 50.0), (1, 50.0), (2, 70.0))]
    chart = StockChart(levels={"reorder_point": 75.0}, history={"reorder_point": past}, today=DAY + timedelta(3),
                       forecast=[(DAY + timedelta(3 + d), 8.0, 10.0, 12.0) for d in range(7)])
    root = ElementTree.fromstring(stock_chart_svg(chart, title="t", legend={}))
    steps = [el for el in root.iter() if el.get("class", "").startswith("level-past")]
    assert len(steps) == 1
    points = [tuple(map(float, p.split(","))) for p in steps[0].get("points").split()]
    # a step: day 2 starts at day 1's value, then rises to 70 on the same x
    assert len(points) == 5 and points[3][0] == points[4][0] and points[3][1] > points[4][1]
    today_line = next(el for el in root.iter() if el.get("class", "") == "level level-0")
    assert float(today_line.get("x1")) == points[-1][0]


def test_kpis_of_each_service_land_in_their_tiles_and_a_silent_service_shows_a_dash():
    class Reply:
        def __init__(self, body, ok=True):
            self.body, self.ok = body, ok

    kpis = gather_kpis(policy=Reply({"stock": {"turns": 6.04}, "window": {"days": 28}}),
                       forecast=Reply({"wape": 0.25, "by_class": {"smooth": {"wape": 0.2}}}),
                       notify=Reply({"alerts": {"time_to_acknowledge_s": {"p50": 120, "p90": 600}}}),
                       orders=Reply({}, ok=False), ingest=Reply({"freshness": {"max_arrival_age_s": 180, "stale": 1}}))
    tiles = {tile["name"]: tile for tile in kpi_tiles(kpis, lambda k, **v: f"{k}{v or ''}")}
    assert (tiles["turns"]["value"], tiles["wape"]["value"], tiles["wape"]["note"]) == ("6.0", "25.0%", "smooth 20.0%")
    assert tiles["tta"]["value"] == "2 min / 10 min" and tiles["otif"]["value"] == "—"
    assert tiles["freshness"]["value"] == "3 min" and tiles["freshness"]["note"] == "stale_sources{'n': 1}"
    assert kpis["window"] == {"days": 28}
