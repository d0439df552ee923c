"""`replenish simulate CSV …`: the replay's fast in-process mode (docs/contract.md §9's world, the services' code)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Opt = typer.Option


def simulate(
    csv: Annotated[str, typer.Argument(help="Daily demand CSV (long date,sku,location,quantity or wide DATE,QTY_*)")],
    days: Annotated[int, Opt("--days", help="Test window: the last N days")] = 182,
    history: Annotated[int, Opt("--history", help="History days before the test window")] = 365,
    series: Annotated[int | None, Opt("--series", help="Keep N series, chosen reproducibly from --seed")] = None,
    lead_time: Annotated[float, Opt("--lead-time", help="Supplier lead time L in days")] = 7.0,
    lead_time_std: Annotated[float, Opt("--lead-time-std", help="σ of the true lead time (days)")] = 0.0,
    review_days: Annotated[float, Opt("--review-days", help="Review period (days)")] = 7.0,
    target_fill: Annotated[float, Opt("--target-fill", help="Target fill rate, posted as one policy event")] = 0.95,
    seed: Annotated[int, Opt("--seed", help="Series choice and lead-time draws")] = 0,
    timezone: Annotated[str, Opt("--timezone", help="IANA time zone of the locations")] = "UTC",
    country: Annotated[str | None, Opt("--country", help="ISO country of the locations (holidays)")] = None,
    rules: Annotated[Path | None, Opt("--rules", help="A policy rule set (YAML/JSON) to apply")] = None,
    master: Annotated[Path | None, Opt("--master", help="CSV sku,supplier_id,lead_time_days[,…] per SKU")] = None,
    out: Annotated[Path, Opt("--out", help="Output directory")] = Path("simulate-out"),
) -> None:
    """Play a daily demand history through the platform's forecast, policy and orders code in process (no broker,
    no database): the same world, baseline and output as `replenish replay`, in seconds. Sweep settings here,
    then prove the chosen one with `replenish replay` (`replenish replay compare DIR1 DIR2` compares the two)."""
    from replenish.replay.fast import simulate as run
    from replenish.replay.run import Options

    opts = Options(csv=Path(csv), out=out, days=days, history=history, series=series, lead_time=lead_time,
                   lead_time_std=lead_time_std, review_days=review_days, target_fill=target_fill, seed=seed,
                   timezone=timezone, country=country, rules=rules, master=master)
    import yaml

    try:
        body = _with_progress(opts, run)
    except (ValueError, OSError, yaml.YAMLError) as exc:  # a bad CSV, master or rules file: say which
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"fill {body['fill_rate']:.4f} (target {opts.target_fill}), mean on-hand {body['mean_on_hand']:,.1f} "
               f"vs baseline {body['baseline']['mean_on_hand']:,.1f} ({body['vs_baseline']:+.1%}); "
               f"{body['purchase_orders']} POs; {body['wall_s']} s; {out}/replay.json")


def _with_progress(opts, run):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("simulating", total=opts.days)

        def advance(what: str, n: int) -> None:
            bar.update(task, description=f"simulating ({what})", advance=n if what == "day" else 0)

        return run(opts, progress=advance)
