"""`replenish bench`: run the benchmarks whose figures are kept in docs/benchmarks.md."""
from __future__ import annotations

import importlib
from typing import Annotated

import typer

SUITES = {
    "ingest": ("services.ingest.bench", []),
    "forecast-speed": ("services.forecast.bench", ["speed"]),
    "forecast-accuracy": ("services.forecast.bench", ["accuracy"]),
    "policy": ("replenish.policy_sim.bench", []),
    "latency": ("replenish.latency", []),
    "console": ("replenish.console_bench.run", []),
}


def bench(suite: Annotated[str, typer.Argument(help=f"one of: all, {', '.join(SUITES)}")] = "all",
          args: Annotated[list[str] | None, typer.Argument(help="extra arguments for the suite")] = None) -> None:
    """Run one benchmark suite, or all of them, printing figures to paste into docs/benchmarks.md."""
    chosen = list(SUITES) if suite == "all" else [suite]
    failed = []
    for name in chosen:
        if name not in SUITES:
            raise typer.BadParameter(f"unknown suite {name!r}")
        module, default_args = SUITES[name]
        typer.secho(f"== {name}", bold=True)
        try:
            code = importlib.import_module(module).main([*default_args, *(args or [])])
        except ModuleNotFoundError as exc:
            typer.secho(f"{name}: not available ({exc})", fg="yellow")
            code = 1
        if code:
            failed.append(name)
    if failed:
        raise typer.Exit(1)
