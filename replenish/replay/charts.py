"""replay.html: one self-contained page (inline SVG drawn here, no scripts, no external assets) of a replay."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 240, 64, 16, 28, 40
COLORS = ("#1f77b4", "#ff7f0e", "#555555", "#2ca02c")
STYLE = ("body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:900px}"
         "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
         "th:first-child,td:first-child{text-align:left}svg{display:block;margin:8px 0 24px}"
         "text{font-size:11px;fill:#333}")


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _nice(top: float) -> float:
    """The axis top: the next 1, 2, 2.5 or 5 × 10ⁿ above the data, so the ticks read as round numbers."""
    if top <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(top))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= top)


def _frame(title: str, top: float, days: Sequence[date]) -> list[str]:
    """Title, axes, three y ticks (0, half, top) and the first, middle and last day."""
    h, w = HEIGHT - TOP - BOTTOM, WIDTH - LEFT - RIGHT
    out = [f'<text x="{LEFT}" y="16" style="font-size:13px;font-weight:600">{escape(title)}</text>',
           f'<line x1="{LEFT}" y1="{TOP + h}" x2="{LEFT + w}" y2="{TOP + h}" stroke="#999"/>',
           f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + h}" stroke="#999"/>']
    for share in (0.0, 0.5, 1.0):
        y = TOP + h - share * h
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(top * share)}</text>')
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else []:
        x = LEFT + (i + 0.5) * w / len(days)
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"  # the ends stay inside
        out.append(f'<text x="{x:.1f}" y="{TOP + h + 16}" text-anchor="{anchor}">{days[i].isoformat()}</text>')
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out, x = [], LEFT
    for i, name in enumerate(names):
        out.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{COLORS[i % len(COLORS)]}"/>'
                   f'<text x="{x + 14}" y="{HEIGHT - 5}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def _svg(parts: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{escape(label)}">' + "".join(parts) + "</svg>")


def line_chart(title: str, days: Sequence[date], lines: Mapping[str, Sequence[float]]) -> str:
    top = _nice(max((max(v, default=0.0) for v in lines.values()), default=0.0))
    h, step = HEIGHT - TOP - BOTTOM, (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    parts = _frame(title, top, days)
    for i, values in enumerate(lines.values()):
        points = " ".join(f"{LEFT + (t + 0.5) * step:.1f},{TOP + h - v / top * h:.1f}" for t, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{COLORS[i % len(COLORS)]}" stroke-width="1.5"/>')
    return _svg([*parts, *_legend(list(lines))], title)


def bar_chart(title: str, days: Sequence[date], bars: Mapping[str, Sequence[float]]) -> str:
    """Bars per day, one per series side by side."""
    top = _nice(max((max(v, default=0.0) for v in bars.values()), default=0.0))
    h, step = HEIGHT - TOP - BOTTOM, (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    width = step * 0.8 / max(len(bars), 1)
    parts = _frame(title, top, days)
    for i, values in enumerate(bars.values()):
        for t, v in enumerate(values):
            if v > 0:
                x, bar = LEFT + t * step + step * 0.1 + i * width, v / top * h
                parts.append(f'<rect x="{x:.1f}" y="{TOP + h - bar:.1f}" width="{width:.2f}" height="{bar:.1f}" '
                             f'fill="{COLORS[i % len(COLORS)]}"/>')
    return _svg([*parts, *_legend(list(bars))], title)


def class_chart(title: str, per_class: Mapping[str, Mapping[str, Mapping]]) -> str:
    """Horizontal bars of fill rate (0–100 %) per class, platform above baseline."""
    rows = [(f"{scheme}: {name}", leaf) for scheme, names in per_class.items() for name, leaf in names.items()]
    height = TOP + 26 * len(rows) + 30
    span = WIDTH - 200 - RIGHT
    parts = [f'<text x="{LEFT}" y="16" style="font-size:13px;font-weight:600">{escape(title)}</text>']
    for r, (label, leaf) in enumerate(rows):
        y = TOP + 26 * r
        parts.append(f'<text x="192" y="{y + 14}" text-anchor="end">{escape(label)} ({leaf["series"]})</text>')
        for i, key in enumerate(("fill_rate", "baseline_fill_rate")):
            value = leaf.get(key)
            if value is not None:
                parts.append(f'<rect x="200" y="{y + 2 + 11 * i}" width="{value * span:.1f}" height="10" '
                             f'fill="{COLORS[i]}"/><text x="{204 + value * span:.1f}" y="{y + 11 + 11 * i}">'
                             f'{value:.1%}</text>')
    parts.append(f'<rect x="200" y="{height - 18}" width="10" height="10" fill="{COLORS[0]}"/>'
                 f'<text x="214" y="{height - 9}">platform</text><rect x="290" y="{height - 18}" width="10" '
                 f'height="10" fill="{COLORS[1]}"/><text x="304" y="{height - 9}">baseline min/max</text>')
    return _svg(parts, title).replace(f'height="{HEIGHT}"', f'height="{height}"', 1)


def _headline(summary: Mapping) -> str:
    base = summary.get("baseline") or {}
    rows = [("fill rate", f"{summary['fill_rate']:.2%}", f"{base.get('fill_rate', 0):.2%}"),
            ("mean on-hand (Σ series)", _number(summary["mean_on_hand"]), _number(base.get("mean_on_hand", 0))),
            ("cycle service level", f"{summary['cycle_service_level']:.2%}", ""),
            ("stockout days (series-days)", str(summary["stockout_days"]), ""),
            ("purchase orders", str(summary["purchase_orders"]), str(base.get("orders", ""))),
            ("baseline k", "", f"{base.get('k', 0):.3f}"),
            ("vs baseline (stock saved)", f"{summary['vs_baseline']:.1%}", "")]
    body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{escape(c)}</td></tr>" for a, b, c in rows)
    return f"<table><tr><th></th><th>platform</th><th>baseline</th></tr>{body}</table>"


def page(summary: Mapping, days: Sequence[date], platform: Mapping[str, Sequence[float]],
         baseline: Mapping[str, Sequence[float]]) -> str:
    """The whole page; `platform` and `baseline` are daily totals: demand, served, on_hand_end, ordered."""
    title = (f"Replay: {summary['series']} series, {summary['days']} days "
             f"({days[0].isoformat()}..{days[-1].isoformat()})" if days else "Replay")
    charts = [
        line_chart("Total on-hand at day end", days, {"platform": platform["on_hand_end"],
                                                      "baseline min/max": baseline["on_hand_end"]}),
        line_chart("Demand and served", days, {"served (platform)": platform["served"],
                                               "served (baseline)": baseline["served"], "demand": platform["demand"]}),
        bar_chart("Units ordered per day", days, {"platform": platform["ordered"],
                                                  "baseline min/max": baseline["ordered"]}),
        class_chart("Fill rate by class", summary.get("per_class") or {}),
    ]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{_headline(summary)}"
            + "".join(charts) + "</body></html>\n")
