"""Offline simulator: replays a daily demand CSV through the policy domain code and a min/max baseline.
Entry point: cli.simulate (typer-compatible); run.benchmark for programmatic use; bench for speed."""
