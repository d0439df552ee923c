"""`replenish bench console`: the console's pages over 10,000 positions (docs/benchmarks.md, "Console")."""
