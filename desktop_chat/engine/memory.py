"""Giving memory back to the system after large requests (those carrying images).

A request resends every image of the conversation as base64 text, so building it takes
megabytes that are freed a moment later. glibc's allocator keeps such memory: it maps
blocks of 128 KiB or more on their own only until the first is freed, then raises that
threshold to the freed block's size (up to 32 MiB), so later large blocks come from the
heap, where freed memory stays; and it keeps free heap memory for reuse. Without help, a
conversation with a hundred photos holds some twenty megabytes it no longer uses
(bench/bench_memory.py, "image messages"). Other systems' allocators (macOS, Windows,
musl) have neither behaviour nor these calls, and this does nothing there.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
LARGE_BLOCK = 128 * 1024  # glibc's own starting threshold, kept for good


@cache
def _glibc(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name)  # the C library the process already uses
    except (OSError, AttributeError):
        return None


def map_large_blocks_apart() -> None:
    """Keep large blocks mapped on their own, so freeing one returns it at once."""
    mallopt = _glibc("mallopt")
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)


def release_freed_memory() -> None:
    """Return free heap memory to the system; it takes a few milliseconds, so it runs on
    a worker thread."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)
