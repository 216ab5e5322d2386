"""Heavy work of a server (a list file, a new build) in a child process, so other sessions' pages keep running.

All sessions of the app share one Python interpreter: a list file of thousands of firms written in it holds that
interpreter for seconds, and every other officer's page waits. A child process does it instead; the session that
asked waits for the result without holding anyone else up. Children are started as ``python -m <module>`` (not with
``multiprocessing``: a Streamlit server runs its pages as ``__main__``, which a spawned child would run again).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import matcher

_EXPORTS = threading.Semaphore(1)  # list files written one at a time: a small machine gains nothing from more


class ChildError(RuntimeError):
    """The child process failed; the message is its own (in Chinese where the library's messages are)."""


def run_child(module: str, args: list[str], nice: int = 0) -> dict[str, Any]:
    """Run ``python -m module *args`` (``--nice`` lowers its CPU priority) and return the JSON of its last output line.

    Raises:
        PermissionDenied / ExportError: the child refused for that reason (same message).
        ChildError: any other failure.
    """
    env = dict(os.environ)
    root = str(Path(matcher.__file__).resolve().parent.parent)  # this copy of the package, installed or not
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", module, *args, *(["--nice", str(nice)] if nice else [])]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, encoding="utf-8", errors="replace")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        out = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        out = {}
    if proc.returncode == 0 and "error" not in out:
        return out
    raise _error(out.get("error"), out.get("message") or (proc.stderr.strip().splitlines() or ["无输出"])[-1])


def _error(kind: str | None, message: str) -> Exception:
    """The exception a child reported, as the class the caller knows when it is one of the library's own."""
    from matcher.store import PermissionDenied
    from matcher.work.export import ExportError

    known: dict[str, type[Exception]] = {"PermissionDenied": PermissionDenied, "ExportError": ExportError}
    return known.get(kind or "", ChildError)(message)


def export_list_file(db_path: str, user: str, role: str | None, which: str, out: str, chain: str | None,
                     region: str | None) -> str:
    """Write one list (``matcher.work.export.export_list``) as ``user`` in a child process; the path written."""
    args = ["export-list", db_path, which, out, "--user", user]
    for flag, value in (("--role", role), ("--chain", chain), ("--region", region)):
        if value:
            args += [flag, value]
    with _EXPORTS:
        return str(run_child("matcher.work.offload", args)["path"])


def main(argv: list[str] | None = None) -> None:
    """The child's side: ``export-list DB WHICH OUT --user U [--role R] [--chain C] [--region G]``."""
    from matcher.knowledge import kb
    from matcher.work.export import export_list

    ap = argparse.ArgumentParser(prog="python -m matcher.work.offload")
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export-list")
    for name in ("db", "which", "out"):
        ex.add_argument(name)
    for flag in ("--user", "--role", "--chain", "--region"):
        ex.add_argument(flag)
    ex.add_argument("--nice", type=int, default=0)
    a = ap.parse_args(argv)
    if a.nice:
        os.nice(a.nice)
    try:
        store = kb.open_store(a.db)
        store.user, store.role = a.user or store.user, a.role
        try:
            path = export_list(store, a.which, a.out, chain=a.chain, region=a.region).path
        finally:
            store.close()
    except Exception as exc:  # reported to the parent, which raises it as its own
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}, ensure_ascii=False))
        sys.exit(1)
    print(json.dumps({"path": str(path)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
