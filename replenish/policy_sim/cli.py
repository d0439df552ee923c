"""The superseded simulator's command (no longer registered; it reproduces docs/bench-policy.md's old figures)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .data import read_wide_csv
from .engine import SimConfig
from .policies import PolicySetup
from .run import benchmark


def _print(report: dict, console: Console) -> None:
    table = Table(title=f"Simulated {report['config']['test_days']} days, {report['config']['skus']} SKUs")
    table.add_column("metric")
    table.add_column("policy", justify="right")
    table.add_column("min/max baseline", justify="right")
    for key in ("fill_rate", "cycle_service_level", "stockout_days", "avg_on_hand", "turns", "orders"):
        p, b = report["policy"][key], report["baseline"][key]
        table.add_row(key, f"{p:,.3f}" if isinstance(p, float) else f"{p:,}",
                      f"{b:,.3f}" if isinstance(b, float) else f"{b:,}")
    console.print(table)
    console.print(f"fill vs target: {report['fill_error_pp']:+.2f} pp; average on-hand "
                  f"{100 * report['on_hand_reduction']:.1f} % below the baseline "
                  f"(scale factor {report['baseline']['scale_factor']:.3f})")


def simulate(
    csv: Path = typer.Argument(..., help="Wide daily demand CSV: DATE + one column per SKU (+ PROMO_ flags)"),
    lead_time: float = typer.Option(7, help="Lead time in days"),
    lead_time_std: float = typer.Option(0, help="Lead-time standard deviation in days (random lead times)"),
    review_days: float = typer.Option(7, help="Review period in days"),
    target_fill: float = typer.Option(0.95, help="Target fill rate"),
    test_days: int = typer.Option(365, help="Simulate the last N days; earlier days fit the models"),
    moq: float = typer.Option(0, help="Minimum order quantity"),
    pack: float = typer.Option(1, help="Pack multiple"),
    skus: int | None = typer.Option(None, help="Only the first N SKUs"),
    json_out: Path | None = typer.Option(None, help="Write the full report as JSON here"),
    calibrate: bool = typer.Option(False, help="Calibrate k on the year before the test year"),
) -> None:
    """Simulate the forecast-driven policy and a hindsight-tuned static min/max at equal fill rate."""
    console = Console()
    table = read_wide_csv(csv).select(skus)
    cfg = SimConfig(lead_time=lead_time, lead_time_std=lead_time_std, review_days=round(review_days),
                    moq=moq, pack=pack)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("loading", total=3)
        report = benchmark(table, cfg, PolicySetup(target_fill=target_fill, calibrate=calibrate), test_days,
                           progress=lambda msg: bar.update(task, description=msg, advance=1))
    _print(report, console)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))
