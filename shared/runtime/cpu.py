"""CPU seconds of process trees: benchmarks report cost per event, which stays meaningful on a shared machine."""
from __future__ import annotations

import psutil


def service_cpu(pid: int) -> float:
    """User + system CPU seconds of a process tree (uvicorn workers, PostgreSQL backends are children)."""
    try:
        root = psutil.Process(pid)
        return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return float("nan")
