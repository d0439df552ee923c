"""The superseded policy simulator, kept as a benchmark (docs/bench-policy.md): its own forecaster, periodic review
and a min/max baseline that scales the review stock too. Not a product path: `replenish simulate` is the replay's
fast mode (replenish/replay/fast.py) on the services' code. Programmatic use: run.benchmark; speed: bench."""
