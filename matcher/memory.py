"""Giving memory a stage has freed back to the system, so the next stage of a large build does not stack on it."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


def release() -> None:
    """Return the C heap's free pages to the system (glibc; elsewhere nothing happens).

    Arrays of a few MB (a block of firms' results) come from the heap once glibc has raised its mmap threshold;
    freed, they stay in the process as free heap pages, so each stage of a build would add to the resident memory
    the previous one left, though it is unused.
    """
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)
