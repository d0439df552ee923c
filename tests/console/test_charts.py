"""Charts are inline SVG drawn on the server: band, mean, sales and the levels, escaped, never empty-scaled."""
from __future__ import annotations

from datetime import date, timedelta
from xml.etree import ElementTree

from services.console.charts import StockChart, bars_svg, stock_chart_svg
from services.console.kpis import kpi_tiles

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
