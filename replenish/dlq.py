"""`replenish dlq list|replay TOPIC`: show a topic's dead letters and re-deliver them (docs/contract.md §12)."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Dead letters: what consumers could not apply because of its content, and why.")

Kafka = Annotated[str | None, typer.Option(
    "--kafka", help="Broker address; else $KAFKA_BOOTSTRAP_SERVERS, else `kafka` in --endpoints")]
Endpoints = Annotated[Path, typer.Option(help="endpoints.json written by `replenish up`")]
Topic = Annotated[str, typer.Argument(help="The topic (its .dlq is read), e.g. replenish.ingest.sales.v1")]


def bootstrap_servers(kafka: str | None, endpoints: Path) -> str:
    if kafka:
        return kafka
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    try:
        return json.loads(endpoints.read_text())["kafka"]
    except (OSError, ValueError, KeyError) as exc:
        raise typer.BadParameter(f"no broker address: pass --kafka, set KAFKA_BOOTSTRAP_SERVERS or start "
                                 f"`replenish up` ({endpoints}: {exc})") from exc


def _run(coro, bootstrap: str):
    from aiokafka.errors import KafkaError

    try:
        return asyncio.run(coro)
    except LookupError as exc:  # no such topic
        typer.echo(str(exc).strip("'\""), err=True)
        raise typer.Exit(2) from exc
    except (KafkaError, TimeoutError) as exc:
        typer.echo(f"broker at {bootstrap}: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("list")
def list_(topic: Topic, limit: Annotated[int, typer.Option(min=1, help="Show at most this many")] = 100,
          as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
          kafka: Kafka = None, endpoints: Endpoints = Path(".replenish/endpoints.json")) -> None:
    """The dead letters of TOPIC.dlq, oldest first: offset, key, reason, consumer, where they came from."""
    from shared.bus.deadletter import list_dead_letters

    bootstrap = bootstrap_servers(kafka, endpoints)
    listing = _run(list_dead_letters(bootstrap, topic, limit=limit), bootstrap)
    if as_json:
        for letter in listing.letters:
            typer.echo(json.dumps(letter.as_dict(replayed=listing.replayed(letter))))
        return
    typer.echo(f"{listing.topic}: {listing.total} dead letter(s), showing {len(listing.letters)}; "
               f"replayed ones are marked *")
    for letter in listing.letters:
        d = letter.as_dict(replayed=listing.replayed(letter))
        origin = f"{d['original_topic']}[{d['original_partition']}]@{d['original_offset']}"
        typer.echo(f"{'*' if d['replayed'] else ' '} {d['partition']}:{d['offset']:<6} {d['time'][:19]}  "
                   f"key={d['key']}  consumer={d['consumer']}  from={origin}\n      reason: {d['reason']}")


@app.command()
def replay(topic: Topic,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; send nothing")] = False,
           limit: Annotated[int | None, typer.Option(min=1, help="Replay at most this many")] = None,
           kafka: Kafka = None, endpoints: Endpoints = Path(".replenish/endpoints.json")) -> None:
    """Re-publish TOPIC.dlq's dead letters not replayed yet to their original topic and partition, key and value
    unchanged. Consumers dedupe what they had applied; progress is committed (group
    replenish.dlq-replay.TOPIC), so a second replay sends only newer dead letters."""
    from shared.bus.deadletter import replay_dead_letters

    def show(letter) -> None:
        if dry_run:
            typer.echo(f"would send {letter.topic}[{letter.partition}]@{letter.offset} -> "
                       f"{letter.original_topic}[{letter.original_partition}] ({letter.reason})")

    bootstrap = bootstrap_servers(kafka, endpoints)
    result = _run(replay_dead_letters(bootstrap, topic, dry_run=dry_run, limit=limit, on_letter=show), bootstrap)
    verb = "would replay" if dry_run else "replayed"
    where = ", ".join(f"{n} to {t}" for t, n in sorted(result.by_topic.items())) or "nothing new"
    typer.echo(f"{verb} {result.sent} dead letter(s) of {result.topic} ({where}); progress in group {result.group}")
