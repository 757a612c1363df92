"""release_freed_memory returns the pages of freed heap blocks that glibc would otherwise keep."""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path

import pytest

from strata_grpo.memory import release_freed_memory

BLOCK = 16 * 1024  # under glibc's mmap threshold: served from the heap, kept there when freed
BLOCKS = 12_800  # 200 MB
KEEP_EVERY = 64  # one block in 64 stays allocated, so the heap's top cannot shrink on its own


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text("utf-8")
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kib) / 1024


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's; elsewhere release_freed_memory is a no-op",
)
def test_freed_heap_pages_go_back_to_the_system() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(BLOCK) for _ in range(BLOCKS)]
    assert all(blocks)
    for p in blocks:
        ctypes.memset(p, 1, BLOCK)  # resident, not just reserved
    kept = blocks[::KEEP_EVERY]
    for i, p in enumerate(blocks):
        if i % KEEP_EVERY:
            libc.free(p)
    held = _rss_mb()
    try:
        assert release_freed_memory()
        released = held - _rss_mb()
    finally:
        for p in kept:
            libc.free(p)
    # 197 MB of the 200 MB are free; glibc alone hands back next to none of it.
    assert released > 150, f"RSS fell only {released:.0f} MB"


def test_it_says_whether_the_c_library_can_trim() -> None:
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert release_freed_memory() is glibc
    assert release_freed_memory() is glibc  # again: nothing left to free is not an error
