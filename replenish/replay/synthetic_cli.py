"""`replenish synth OUT.csv`: a synthetic demand CSV (docs/contract.md §9's long layout) and its truth beside it."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

Opt = typer.Option


def synth(
    out: Annotated[Path, typer.Argument(help="CSV to write; the truth goes beside it as <name>.truth.json")],
    series: Annotated[int, Opt("--series", help="Number of series")] = 200,
    days: Annotated[int, Opt("--days", help="Calendar days (365 history + 182 test by default)")] = 547,
    seed: Annotated[int, Opt("--seed", help="Everything drawn follows from it")] = 0,
    mix: Annotated[str | None, Opt("--mix", help="kind=weight,… over smooth, erratic, intermittent, lumpy, "
                                                 "promotion, level_shift, trend (default: evenly)")] = None,
    end: Annotated[str | None, Opt("--end", help="Last day YYYY-MM-DD (default: the series start 2023-01-02)")] = None,
) -> None:
    """Generate daily demand of known kinds and TRUE expected demand per day, to choose defaults on."""
    from replenish.replay.synthetic import START, generate, pattern_shares

    try:
        weights = _mix(mix)
        start = START if end is None else date.fromisoformat(end) - timedelta(days=days - 1)
        syn = generate(series, days, seed=seed, start=start, mix=weights)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    truth = syn.write_truth(out.with_name(out.stem + ".truth.json"))
    syn.write_csv(out)
    typer.echo(f"{series} series × {days} days ({syn.days[0]}..{syn.days[-1]}) → {out}; truth → {truth}")
    for kind, shares in pattern_shares(syn).items():
        seen = ", ".join(f"{p} {s:.0%}" for p, s in shares.items() if s > 0)
        typer.echo(f"  {kind:<13} {sum(s.truth.kind == kind for s in syn.series):>5}  {seen}")


def _mix(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        return {name.strip(): float(weight) for name, weight in pairs}
    except ValueError:
        raise ValueError(f"--mix {text!r}: expected kind=weight,… (e.g. smooth=2,lumpy=1)") from None
