"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched by the browser."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40


@dataclass
class StockChart:
    """One SKU-location over time: sales behind, forecast ahead, the stock levels that decide orders."""

    sales: Sequence[tuple[date, float]] = ()
    forecast: Sequence[tuple[date, float, float, float]] = ()  # date, p10, mean, p90
    levels: dict[str, float] = field(default_factory=dict)  # label → quantity today (on-hand, ROP, S)
    today: date | None = None
    # label → (day, quantity) in the past, drawn as steps up to today; the level's line then runs on from there
    history: dict[str, Sequence[tuple[date, float]]] = field(default_factory=dict)


def _days(chart: StockChart) -> tuple[date, date] | None:
    days = [d for d, _ in chart.sales] + [row[0] for row in chart.forecast] + ([chart.today] if chart.today else [])
    days += [d for points in chart.history.values() for d, _ in points]
    return (min(days), max(days)) if days else None


def _top(chart: StockChart) -> float:
    values = [q for _, q in chart.sales] + [row[3] for row in chart.forecast] + list(chart.levels.values())
    values += [q for points in chart.history.values() for _, q in points]
    biggest = max([v for v in values if v == v] or [1.0])  # NaN never sets the scale
    return max(biggest * 1.1, 1.0)


def _nice_ticks(top: float, count: int = 4) -> list[float]:
    step = top / count
    magnitude = 10 ** (len(str(int(step))) - 1) if step >= 1 else 1
    step = max(round(step / magnitude) * magnitude, magnitude)
    return [step * i for i in range(int(top // step) + 1)]


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"


def stock_chart_svg(chart: StockChart, *, title: str, legend: dict[str, str]) -> str:
    """`legend` names the series in the page's language: sales, forecast, band, and one per level."""
    span = _days(chart)
    if span is None:
        return ""
    first, last = span
    days = max((last - first).days, 1)
    top = _top(chart)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: date) -> float:
        return LEFT + inner_w * (d - first).days / days

    def y(q: float) -> float:
        return TOP + inner_h * (1 - max(q, 0.0) / top)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for tick in _nice_ticks(top):
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                     f'<text class="axis" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    base = HEIGHT - 12
    parts.append(f'<text class="axis" x="{LEFT}" y="{base}">{first.isoformat()}</text>'
                 f'<text class="axis" x="{WIDTH - RIGHT}" y="{base}" text-anchor="end">{last.isoformat()}</text>')
    parts += _forecast(chart, x, y, legend)
    bar = max(inner_w / (days + 1) * 0.7, 1.0)
    for d, q in chart.sales:
        parts.append(f'<rect class="sales" x="{x(d) - bar / 2:.1f}" y="{y(q):.1f}" width="{bar:.1f}" '
                     f'height="{max(y(0) - y(q), 0):.1f}"><title>{d.isoformat()}: {_label(q)}</title></rect>')
    for i, (name, level) in enumerate(chart.levels.items()):
        past = chart.history.get(name) or ()
        start = x(past[-1][0]) if past else LEFT
        if past:
            parts.append(_steps(past, x, y, f"level-past level-{i}", legend.get(name, name)))
        parts.append(f'<line class="level level-{i}" x1="{start:.1f}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" '
                     f'y2="{y(level):.1f}"><title>{escape(legend.get(name, name))}: {_label(level)}</title></line>'
                     f'<text class="level-label level-{i}" x="{WIDTH - RIGHT - 4}" y="{y(level) - 4:.1f}" '
                     f'text-anchor="end">{escape(legend.get(name, name))} {_label(level)}</text>')
    if chart.today:
        parts.append(f'<line class="today" x1="{x(chart.today):.1f}" x2="{x(chart.today):.1f}" y1="{TOP}" '
                     f'y2="{TOP + inner_h}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _steps(points: Sequence[tuple[date, float]], x, y, css: str, name: str) -> str:
    """A level as it was: each day's value held until the next day's (levels change when a decision is made)."""
    coords, previous = [], None
    for d, q in points:
        if previous is not None:
            coords.append(f"{x(d):.1f},{y(previous):.1f}")
        coords.append(f"{x(d):.1f},{y(q):.1f}")
        previous = q
    return f'<polyline class="{css}" points="{" ".join(coords)}"><title>{escape(name)}</title></polyline>'


def _forecast(chart: StockChart, x, y, legend: dict[str, str]) -> list[str]:
    if not chart.forecast:
        return []
    upper = " ".join(f"{x(d):.1f},{y(p90):.1f}" for d, _, _, p90 in chart.forecast)
    lower = " ".join(f"{x(d):.1f},{y(p10):.1f}" for d, p10, _, _ in reversed(chart.forecast))
    mean = " ".join(f"{x(d):.1f},{y(m):.1f}" for d, _, m, _ in chart.forecast)
    return [f'<polygon class="band" points="{upper} {lower}"><title>{escape(legend.get("band", "band"))}</title>'
            f'</polygon>',
            f'<polyline class="mean" points="{mean}"><title>{escape(legend.get("forecast", "forecast"))}</title>'
            f'</polyline>']


def bars_svg(values: dict[str, float], *, title: str, names: dict[str, str]) -> str:
    """Horizontal bars, one per key (positions by status on the overview)."""
    if not values:
        return ""
    top, row = max(max(values.values()), 1.0), 26
    height = row * len(values) + 8
    parts = [f'<svg class="bars" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (key, value) in enumerate(values.items()):
        width = (WIDTH - 200) * value / top
        parts.append(f'<text class="axis" x="120" y="{i * row + 20}" text-anchor="end">'
                     f'{escape(names.get(key, key))}</text><rect class="bar status-{escape(key)}" x="128" '
                     f'y="{i * row + 6}" width="{width:.1f}" height="18"/><text class="axis" '
                     f'x="{132 + width:.1f}" y="{i * row + 20}">{_label(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
