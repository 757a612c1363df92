"""Peak memory, measured one way everywhere (runs, grids, benchmarks): resident set size as
Linux counts it, in GB of 1024**3 bytes."""

from __future__ import annotations

import resource
from pathlib import Path


def kib_to_gb(kib: float) -> float:
    """``ru_maxrss`` and ``VmHWM`` are in KiB on Linux."""
    return kib / 1024**2


def peak_rss_gb(pid: int | None = None) -> float:
    """This process's peak RSS so far, or (``pid``) a live process's (VmHWM; 0.0 where /proc
    cannot say, e.g. once the process is gone: a finished child's peak is in its rusage)."""
    if pid is None:
        return kib_to_gb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    try:
        status = Path(f"/proc/{pid}/status").read_text("utf-8")
    except OSError:
        return 0.0
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return kib_to_gb(int(kib))
