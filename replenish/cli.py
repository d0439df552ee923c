"""The `replenish` command: up, serve, migrate, topics, simulate, bench, schemas."""
from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from shared.settings import SERVICES, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


class _Stop(Exception):
    """Raised in the main thread by the first SIGINT/SIGTERM."""


def _install_stop_signals() -> None:
    state = {"stopping": False}

    def handler(signum, frame):
        if not state["stopping"]:
            state["stopping"] = True
            raise _Stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@app.command()
def up(demo: Annotated[bool, typer.Option(help="Stream demo data through the platform")] = False,
       data_dir: Annotated[Path, typer.Option(help="Where the embedded database and logs live")] = Path(".replenish"),
       ) -> None:
    """Start broker, database and the five services; Ctrl-C stops them all."""
    from shared.runtime.platform import Platform

    _install_stop_signals()
    env, sink = dict(os.environ), None
    if demo and not env.get("REPLENISH_CONFIG"):
        from replenish.demo import ChatSink
        sink = ChatSink()
        data_dir.mkdir(parents=True, exist_ok=True)
        env["REPLENISH_CONFIG"] = str(sink.write_config(data_dir / "demo-config.yaml").resolve())
    platform = Platform(data_dir, env=env)
    try:
        endpoints = platform.start()
        typer.echo(json.dumps({k: v for k, v in endpoints.items() if k != "tokens"}, indent=2))
        typer.echo(f"tokens in {data_dir / 'endpoints.json'}; Ctrl-C stops everything")
        if demo:
            from replenish.demo import run_demo
            asyncio.run(run_demo(endpoints, sink))
        while True:
            signal.pause()
    except _Stop:
        typer.echo("stopping…")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        platform.stop()
        typer.echo("stopped")


@app.command()
def serve(service: Annotated[str, typer.Argument(help="ingest | forecast | policy | orders | notify | console")]
          ) -> None:
    """Run one service in the foreground (what a container runs)."""
    import uvicorn

    if service == "console":  # no database or broker of its own: it reads the other services' APIs
        from services.console.app import create_app
        from services.console.settings import ConsoleSettings

        console = ConsoleSettings()
        uvicorn.run(create_app(console), host=console.host, port=console.port, log_config=None,
                    timeout_graceful_shutdown=5, access_log=False)
        return
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    settings = load_settings(service)
    module = importlib.import_module(f"services.{service}.app")
    uvicorn.run(module.create_app(settings), host=settings.host, port=settings.http_port, log_config=None,
                timeout_graceful_shutdown=20, access_log=False)


@app.command()
def migrate() -> None:
    """Apply every schema's Alembic migrations (idempotent)."""
    from shared.db.migrate import upgrade

    upgrade(os.environ.get("DATABASE_URL") or load_settings("ingest").database_url)
    typer.echo("migrations applied")


@app.command()
def topics(partitions: Annotated[int, typer.Option(envvar="REPLENISH_PARTITIONS")] = 6) -> None:
    """Create every topic of the contract and its .dlq (idempotent)."""
    from shared.bus.admin import ensure_topics

    names = asyncio.run(ensure_topics(load_settings("ingest").kafka_bootstrap_servers, partitions))
    typer.echo("\n".join(names))


@app.command()
def makemigrations(component: str, message: Annotated[str, typer.Option("-m")] = "change") -> None:
    """Autogenerate an Alembic revision for one schema (development)."""
    from shared.db.migrate import make_revision

    make_revision(os.environ["DATABASE_URL"], component, message)


@app.command()
def schemas(out: Annotated[Path, typer.Option()] = Path("docs/schemas"),
            api_out: Annotated[Path, typer.Option(help="where each service's OpenAPI goes")] = Path("docs/api")
            ) -> None:
    """Export the JSON Schema of every topic's payload and of the envelope, and every service's OpenAPI."""
    from shared.events.export import export_schemas
    from shared.http.openapi_export import export_openapi

    for path in [*export_schemas(out), *export_openapi(api_out)]:
        typer.echo(path)


def _register_optional() -> None:
    """Commands whose code lives in a service package (loaded lazily so `--help` stays fast)."""
    from replenish.replay.simulate_cli import simulate
    app.command("simulate", help="Replay a demand history in process on the services' code, in seconds: the fast "
                "mode of `replay` (same world, baseline and output).")(simulate)
    from replenish.replay.cli import replay
    app.command("replay", help="Replay a demand history through the live platform and score it (docs/contract.md §9).")(
        replay)
    from replenish.replay.synthetic_cli import synth
    app.command("synth", help="Write a synthetic demand CSV with known truth (smooth … trend) and its truth JSON.")(
        synth)
    from replenish.dlq import app as dlq
    app.add_typer(dlq, name="dlq", help="List and replay a topic's dead letters (docs/contract.md §12).")
    try:
        from replenish.bench import bench
        app.command("bench", help="Run the benchmarks (docs/benchmarks.md).",
                    context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(bench)
    except ImportError:
        pass


def main() -> None:
    _register_optional()
    app()


if __name__ == "__main__":
    sys.exit(main())
