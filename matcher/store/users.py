"""Accounts of the people sharing one server: argon2 password hashes, roles, and slowed-down failed logins."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from matcher.store.database import ROLES, PermissionDenied, Store, now

# Account policy. Values follow OWASP's authentication guidance (idle timeouts of 15–30 min for ordinary
# applications; throttling rather than locking out after a handful of failures); change them here, they are not
# matching parameters.
IDLE_MINUTES = 30  # a session with no interaction for this long must log in again
FREE_FAILURES = 3  # failed logins allowed before each further attempt must wait
BASE_DELAY_SECONDS = 2.0  # the first wait; doubles with each further failure
MAX_DELAY_SECONDS = 300.0  # the longest wait
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A user command that cannot be done (unknown user, weak password, last 管理 account…); message in Chinese."""


class LoginError(Exception):
    """A login refused; ``wait`` is how many seconds the user must wait before the next attempt (0 if none)."""

    def __init__(self, message: str, wait: float = 0.0) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class User:
    """A logged-in person: the name and role a store is opened with."""

    name: str
    role: str


def has_users(store: Store) -> bool:
    """Whether the database has any account (without one, the app runs in single-user mode on this machine)."""
    return store.db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every account without its hash: name, role, disabled, created/updated/last login times."""
    return [dict(r) for r in store.db.query(
        "SELECT name, role, disabled, created_at, updated_at, last_login_at, failed FROM users ORDER BY name")]


def _row(store: Store, name: str) -> dict[str, Any] | None:
    rows = list(store.db.query("SELECT * FROM users WHERE name = ?", [name]))
    return rows[0] if rows else None


def _public(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A user row as the audit trail keeps it: never the hash."""
    return None if row is None else {k: row[k] for k in ("name", "role", "disabled")}


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"角色只能是 {'/'.join(ROLES)}，收到 {role!r}")


def _require_admin(store: Store, what: str) -> None:
    """Users are managed by 管理; the very first account may be created by anyone (the first run sets it up)."""
    if has_users(store):
        store.require("管理", what)


def add_user(store: Store, name: str, password: str, role: str) -> None:
    """Create an account; the first account of a database must be a 管理 account.

    Args:
        store: the store, opened by the acting user (a 管理 once any account exists).
        name: login name (unique, trimmed).
        password: clear text, hashed here with argon2id; never stored or logged.
        role: 查看 / 招商 / 管理.
    """
    name = (name or "").strip()
    if not name:
        raise AccountError("用户名不能为空")
    _check_role(role)
    _check_password(password)
    with store.transaction():
        first = not has_users(store)
        if first and role != "管理":
            raise AccountError("第一个账户必须是“管理”角色")
        if not first:
            store.require("管理", "添加用户")
        if _row(store, name):
            raise AccountError(f"用户 {name} 已存在")
        stamp = now()
        store.db.execute("INSERT INTO users (name, role, hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                         [name, role, _hasher.hash(password), stamp, stamp])
        store.audit("添加用户", name, after=_public(_row(store, name)), note="首个管理账户" if first else "")


def _change(store: Store, name: str, what: str, sets: dict[str, Any]) -> None:
    """Update one account's columns as a 管理 and record before/after (never the hash) in the audit trail."""
    with store.transaction():
        _require_admin(store, what)
        before = _row(store, name)
        if before is None:
            raise AccountError(f"没有用户 {name}")
        store.db.execute(f"UPDATE users SET {', '.join(f'{k} = ?' for k in sets)}, updated_at = ? WHERE name = ?",
                         [*sets.values(), now(), name])
        after = _row(store, name)
        if not store.db.execute("SELECT 1 FROM users WHERE role = '管理' AND disabled = 0 LIMIT 1").fetchone():
            raise AccountError("至少要保留一个可用的“管理”账户")  # rolls the change back
        store.audit(what, name, before=_public(before), after=_public(after),
                    note="重置密码" if "hash" in sets else "")


def set_password(store: Store, name: str, password: str) -> None:
    """Set a new password (a 管理 action) and clear the failed-login count."""
    _check_password(password)
    _change(store, name, "修改密码", {"hash": _hasher.hash(password), "failed": 0, "failed_at": None})


def set_disabled(store: Store, name: str, disabled: bool = True) -> None:
    """Disable (or re-enable) an account; a disabled account cannot log in. Its audit history stays."""
    _change(store, name, "停用用户" if disabled else "启用用户", {"disabled": int(disabled)})


def set_role(store: Store, name: str, role: str) -> None:
    """Change an account's role."""
    _check_role(role)
    _change(store, name, "修改角色", {"role": role})


def login_wait(failed: int, failed_at: str | None, at: float | None = None) -> float:
    """Seconds still to wait before the next attempt after ``failed`` failures, the last at ``failed_at``."""
    if failed < FREE_FAILURES or not failed_at:
        return 0.0
    delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** (failed - FREE_FAILURES))
    elapsed = (at or time.time()) - datetime.fromisoformat(failed_at).timestamp()
    return max(0.0, delay - elapsed)


def authenticate(store: Store, name: str, password: str) -> User:
    """Check a login; count failures in the database so that every session and server process slows down alike.

    Raises:
        LoginError: unknown user, wrong password, disabled account, or an attempt made before the wait is over.
    """
    name = (name or "").strip()
    row = _row(store, name)
    if row is None:
        _verify_dummy(password)  # as slow as a real check: the time does not tell whether the name exists
        raise LoginError("用户名或密码不正确")
    wait = login_wait(int(row["failed"]), row["failed_at"])
    if wait > 0:
        raise LoginError(f"登录失败次数过多，请 {int(wait) + 1} 秒后再试", wait)
    ok: bool
    try:
        ok = _hasher.verify(row["hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with store.transaction():
            store.db.execute("UPDATE users SET failed = failed + 1, failed_at = ? WHERE name = ?",
                             [datetime.now(UTC).isoformat(timespec="milliseconds"), name])
        failed = int(row["failed"]) + 1
        wait = login_wait(failed, datetime.now(UTC).isoformat(timespec="milliseconds"))
        raise LoginError("用户名或密码不正确" + (f"；请 {int(wait) + 1} 秒后再试" if wait else ""), wait)
    if row["disabled"]:
        raise LoginError(f"账户 {name} 已停用，请联系管理员")
    updates: dict[str, Any] = {"failed": 0, "failed_at": None, "last_login_at": now()}
    if _hasher.check_needs_rehash(row["hash"]):
        updates["hash"] = _hasher.hash(password)
    with store.transaction():
        store.db.execute(f"UPDATE users SET {', '.join(f'{k} = ?' for k in updates)} WHERE name = ?",
                         [*updates.values(), name])
    return User(name, row["role"])


_DUMMY_HASH = _hasher.hash("不存在的账户")


def _verify_dummy(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


__all__ = ["AccountError", "LoginError", "PermissionDenied", "User", "add_user", "authenticate", "has_users",
           "list_users", "login_wait", "set_disabled", "set_password", "set_role"]
