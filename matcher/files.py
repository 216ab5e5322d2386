"""Atomic file writes: a temp file in the target's folder, synced, then moved over the target in one step."""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    """The process umask, read without changing it (Linux); 022 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def finish_atomic(tmp: str, path: Path) -> None:
    """Flush the temp file to disk and move it over the target in one step, with the permissions a new file gets."""
    try:  # mkstemp makes owner-only files; a replaced file keeps its mode, a new one follows the umask
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
