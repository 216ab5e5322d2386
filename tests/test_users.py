"""Accounts: hashed passwords, roles enforced by the library, slowed-down failed logins, `matcher users`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.knowledge import kb
from matcher.store import PermissionDenied, Store
from matcher.store import users as accounts
from matcher.store.audit import entries


def test_first_account_must_be_admin_and_passwords_are_hashed(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    assert not accounts.has_users(store)
    with pytest.raises(accounts.AccountError, match="管理"):
        accounts.add_user(store, "甲", "secret-123", "查看")
    with pytest.raises(accounts.AccountError, match="8"):
        accounts.add_user(store, "甲", "short", "管理")
    accounts.add_user(store, "甲", "secret-123", "管理")
    raw = store.db.execute("SELECT hash FROM users WHERE name = '甲'").fetchone()[0]
    assert raw.startswith("$argon2") and "secret-123" not in raw
    audit_text = json.dumps(entries(store), ensure_ascii=False)
    assert "secret-123" not in audit_text and "argon2" not in audit_text
    assert accounts.authenticate(store, "甲", "secret-123") == accounts.User("甲", "管理")
    with pytest.raises(accounts.LoginError, match="不正确"):
        accounts.authenticate(store, "甲", "wrong-password")
    with pytest.raises(accounts.LoginError, match="不正确"):
        accounts.authenticate(store, "没有这个人", "secret-123")


def test_only_admins_manage_users_and_one_admin_always_remains(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    accounts.add_user(store, "管", "secret-123", "管理")
    admin = Store(tmp_path / "a.db", user="管", role="管理")
    accounts.add_user(admin, "看", "secret-456", "查看")
    viewer = Store(tmp_path / "a.db", user="看", role="查看")
    with pytest.raises(PermissionDenied, match="看"):
        accounts.add_user(viewer, "新人", "secret-789", "管理")
    with pytest.raises(PermissionDenied):
        accounts.set_role(viewer, "看", "管理")
    with pytest.raises(accounts.AccountError, match="管理"):
        accounts.set_disabled(admin, "管")
    assert [u["disabled"] for u in accounts.list_users(admin) if u["name"] == "管"] == [0]
    accounts.set_role(admin, "看", "招商")
    accounts.set_disabled(admin, "看")
    with pytest.raises(accounts.LoginError, match="停用"):
        accounts.authenticate(admin, "看", "secret-456")
    change = entries(admin, action="修改角色")[0]
    assert change["user"] == "管" and change["before"]["role"] == "查看" and change["after"]["role"] == "招商"


def test_failed_logins_are_slowed_down(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    accounts.add_user(store, "甲", "secret-123", "管理")
    for _ in range(accounts.FREE_FAILURES):
        with pytest.raises(accounts.LoginError):
            accounts.authenticate(store, "甲", "wrong-password")
    with pytest.raises(accounts.LoginError, match="秒后再试") as refused:
        accounts.authenticate(store, "甲", "secret-123")  # even the right password waits
    assert refused.value.wait > 0
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert accounts.login_wait(accounts.FREE_FAILURES, earlier) == 0
    assert accounts.login_wait(accounts.FREE_FAILURES + 20, datetime.now(UTC).isoformat()) <= \
        accounts.MAX_DELAY_SECONDS
    store.db.execute("UPDATE users SET failed_at = ? WHERE name = '甲'", [earlier])
    assert accounts.authenticate(store, "甲", "secret-123").role == "管理"
    assert accounts.list_users(store)[0]["failed"] == 0


def test_users_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "a.db")
    kb.open_store(db).close()
    run = CliRunner().invoke
    monkeypatch.setenv("MATCHER_USER", "root")
    assert run(app, ["users", "add", "甲", "--role", "管理", "--db", db], input="secret-123\nsecret-123\n").exit_code == 0
    result = run(app, ["users", "add", "乙", "--role", "查看", "--db", db], input="secret-456\nsecret-456\n")
    assert result.exit_code == 0, result.output
    assert "secret-456" not in result.output
    assert run(app, ["users", "role", "乙", "招商", "--db", db]).exit_code == 0
    assert run(app, ["users", "passwd", "乙", "--db", db], input="new-secret-1\nnew-secret-1\n").exit_code == 0
    assert run(app, ["users", "disable", "乙", "--db", db]).exit_code == 0
    listed = run(app, ["users", "list", "--db", db])
    rows = json.loads(listed.output.strip().splitlines()[-1])
    assert {r["name"]: (r["role"], r["disabled"]) for r in rows} == {"甲": ("管理", 0), "乙": ("招商", 1)}
    bad = run(app, ["users", "role", "乙", "超级", "--db", db])
    assert bad.exit_code != 0 and "查看/招商/管理" in bad.output
    missing = run(app, ["users", "disable", "丙", "--db", db])
    assert missing.exit_code != 0 and "丙" in missing.output
    audit = json.loads(run(app, ["audit", "--json", "--db", db]).output.strip().splitlines()[-1])
    assert {"添加用户", "修改角色", "修改密码", "停用用户"} <= {r["action"] for r in audit}
