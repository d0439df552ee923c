"""Container health probe: GET a service's /healthz (or the path given) on its own port; exit 0 when 200."""
from __future__ import annotations

import os
import sys
import urllib.request

DEFAULT_PORTS = {"ingest": 8001, "forecast": 8002, "policy": 8003, "orders": 8004, "notify": 8005}


def service_of_pid1() -> str | None:
    """The SERVICE of `replenish serve SERVICE` running as PID 1, read from its command line."""
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            argv = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return None
    for index, arg in enumerate(argv[:-1]):
        if arg == "serve":
            return argv[index + 1]
    return None


def port() -> int:
    # REPLENISH_PORT wins, as it does for `replenish serve`; otherwise the service's default port.
    explicit = os.environ.get("REPLENISH_PORT")
    if explicit:
        return int(explicit)
    return DEFAULT_PORTS.get(service_of_pid1() or "", 8001)


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port()}{path}", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
