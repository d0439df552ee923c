"""`replenish replay CSV …` and `replenish replay compare DIR1 DIR2` (docs/contract.md §9)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Opt = typer.Option


def replay(
    csv: Annotated[str, typer.Argument(help="Daily demand CSV (long date,sku,location,quantity or wide DATE,QTY_*), "
                                            "or `compare` followed by two --out directories")],
    dirs: Annotated[list[str] | None, typer.Argument(help="With `compare`: DIR1 DIR2", show_default=False)] = None,
    days: Annotated[int, Opt("--days", help="Test window: the last N days")] = 182,
    history: Annotated[int, Opt("--history", help="History days before the test window")] = 365,
    series: Annotated[int | None, Opt("--series", help="Keep N series, chosen reproducibly from --seed")] = None,
    lead_time: Annotated[float, Opt("--lead-time", help="Supplier lead time L in days")] = 7.0,
    lead_time_std: Annotated[float, Opt("--lead-time-std", help="σ of the true lead time (days)")] = 0.0,
    review_days: Annotated[float, Opt("--review-days", help="Review period (days)")] = 7.0,
    target_fill: Annotated[float, Opt("--target-fill", help="Target fill rate, posted as one policy event")] = 0.95,
    approve: Annotated[str, Opt("--approve", help="planner: approve pending POs as a planner; auto")] = "planner",
    seed: Annotated[int, Opt("--seed", help="Series choice and lead-time draws")] = 0,
    timezone: Annotated[str, Opt("--timezone", help="IANA time zone of the locations")] = "UTC",
    country: Annotated[str | None, Opt("--country", help="ISO country of the locations (holidays)")] = None,
    rules: Annotated[Path | None, Opt("--rules", help="A policy rule set (YAML/JSON) to apply")] = None,
    master: Annotated[Path | None, Opt("--master", help="CSV sku,supplier_id,lead_time_days[,…] per SKU")] = None,
    keep: Annotated[bool, Opt("--keep", help="Keep the replay's platform running (open it in the console)")] = False,
    partitions: Annotated[int, Opt("--partitions", help="Partitions per topic (determinism check)")] = 2,
    kill_policy_on_day: Annotated[int | None, Opt("--kill-policy-on-day",
                                                  help="SIGKILL policy after N test days (determinism check)")] = None,
    out: Annotated[Path, Opt("--out", help="Output directory")] = Path("replay-out"),
) -> None:
    """Replay a daily demand history through a platform started on the event clock, and score it against the
    hindsight-tuned static min/max. `replenish replay compare DIR1 DIR2` shows two runs side by side."""
    if csv == "compare":
        from replenish.replay.report import print_compare

        if not dirs or len(dirs) != 2:
            raise typer.BadParameter("replay compare takes two --out directories: DIR1 DIR2")
        print_compare(dirs[0], dirs[1])
        return
    if dirs:
        raise typer.BadParameter(f"unexpected arguments: {' '.join(dirs)}")
    if approve not in ("planner", "auto"):
        raise typer.BadParameter("--approve is planner or auto")
    from replenish.replay.run import Options, run_replay

    opts = Options(csv=Path(csv), out=out, days=days, history=history, series=series, lead_time=lead_time,
                   lead_time_std=lead_time_std, review_days=review_days, target_fill=target_fill, approve=approve,
                   seed=seed, timezone=timezone, country=country, rules=rules, master=master, keep=keep,
                   partitions=partitions, kill_policy_on_day=kill_policy_on_day)
    body = _with_progress(opts, run_replay)
    typer.echo(f"fill {body['fill_rate']:.4f} (target {opts.target_fill}), mean on-hand {body['mean_on_hand']:,.1f} "
               f"vs baseline {body['baseline']['mean_on_hand']:,.1f} ({body['vs_baseline']:+.1%}); "
               f"{body['purchase_orders']} POs; {out}/replay.json")


def _with_progress(opts, run):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("replaying", total=None)

        def advance(what: str, n: int) -> None:
            bar.update(task, description=f"replaying ({what})", advance=n if what == "day" else 0)

        return run(opts, progress=advance)
