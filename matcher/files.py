"""Atomic file writes: a temp file in the target's folder, synced, then moved over the target in one step."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temp file beside ``path`` to write into: moved over ``path`` when the block succeeds, removed when it fails."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield tmp
        finish_atomic(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def replace_dir(src: Path, dst: Path) -> None:
    """Swap a fully written folder in for ``dst``; the old folder is removed once the new one is in place."""
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if dst.exists():
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|\u2028\u2029\u200b-\u200f\u202a-\u202e]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str, max_chars: int = 120) -> str:
    """A file name safe on any file system: no path separators, control or reserved characters, no leading dots.

    ``../../etc/x`` → ``etc_x``; ``.hidden`` → ``hidden``; ``CON`` → ``_CON``; empty → ``export``.
    """
    text = unicodedata.normalize("NFKC", name or "")
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"_+", "_", text).strip(" ._")
    stem, dot, ext = text.rpartition(".")
    if dot and 0 < len(ext) <= 5 and stem:
        stem = stem[: max_chars - len(ext) - 1].rstrip(" ._")
        text = f"{stem}.{ext}"
    else:
        text = text[:max_chars].rstrip(" ._")
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text or "export"


def file_digest(path: Path) -> str:
    """Short hash of a data file's bytes ("" when it is missing): the part of a build key that follows an edit."""
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12] if path.exists() else ""
