"""Who changed what: every write path records an append-only audit entry, and roles are enforced in the library."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.importer import import_file
from matcher.knowledge import kb
from matcher.store import PermissionDenied, Store
from matcher.store.audit import entries


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [["企业名称", "主要产品"], *rows]) + "\n", encoding="utf-8")
    return path


def test_import_kb_edit_and_feedback_are_audited(tmp_path: Path) -> None:
    store = kb.open_store(tmp_path / "a.db")
    store.user = "张三"
    import_file(store, write_csv(tmp_path / "f.csv", [["甲公司", "光伏组件"], ["乙公司", "逆变器"]]))
    chain = kb.current(store)["chains"][0]["name"]
    kb.edit(store, "chain", chain, {"description": "新的说明"}, author="张三", reason="核实")
    store.add_feedback(kind="chain", target=chain, verdict="有效", firm_id=1)
    rows = entries(store)
    assert [r["action"] for r in rows] == ["匹配反馈", "知识库修改", "导入企业名单"]
    assert all(r["user"] == "张三" for r in rows)
    assert rows[2]["after"]["inserted"] == 2
    assert rows[1]["before"]["description"] != "新的说明" and rows[1]["after"]["description"] == "新的说明"
    assert entries(store, user="李四") == []


def test_audit_is_append_only(tmp_path: Path) -> None:
    store = kb.open_store(tmp_path / "a.db")
    store.audit("测试", "x", after={"a": 1})
    with pytest.raises(sqlite3.DatabaseError, match="只能追加"):
        store.db.execute("UPDATE audit SET user = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="只能追加"):
        store.db.execute("DELETE FROM audit")
    assert len(entries(store)) == 1


def test_roles_are_enforced_in_the_library(tmp_path: Path) -> None:
    kb.open_store(tmp_path / "a.db").close()
    viewer = Store(tmp_path / "a.db", user="王五", role="查看")
    with pytest.raises(PermissionDenied, match="王五"):
        import_file(viewer, write_csv(tmp_path / "f.csv", [["甲公司", "光伏组件"]]))
    with pytest.raises(PermissionDenied):
        viewer.add_feedback(kind="chain", target="氢能", verdict="有效")
    chain = kb.current(viewer)["chains"][0]["name"]
    officer = Store(tmp_path / "a.db", user="赵六", role="招商")
    with pytest.raises(PermissionDenied):
        kb.edit(officer, "chain", chain, {"description": "x"}, author="赵六", reason="试")
    assert viewer.count_firms() == 0 and entries(viewer) == []
    import_file(officer, write_csv(tmp_path / "f.csv", [["甲公司", "光伏组件"]]))
    assert officer.count_firms() == 1
    with pytest.raises(ValueError):
        Store(tmp_path / "a.db", role="超级")


def test_cli_audit_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "a.db"
    monkeypatch.setenv("MATCHER_USER", "钱七")
    src = write_csv(tmp_path / "f.csv", [["甲公司", "光伏组件"]])
    assert CliRunner().invoke(app, ["import", str(src), "--db", str(db)]).exit_code == 0
    result = CliRunner().invoke(app, ["audit", "--db", str(db), "--json", "--user", "钱七"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output.strip().splitlines()[-1])
    assert rows[0]["action"] == "导入企业名单" and rows[0]["user"] == "钱七" and rows[0]["at_local"]
    bad = CliRunner().invoke(app, ["audit", "--db", str(db), "--since", "昨天"])
    assert bad.exit_code != 0 and "--since" in bad.output


def test_cli_audit_json_shows_who_and_the_before_after_of_an_edit(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "a.db")
    store = kb.open_store(db)
    chain = kb.current(store)["chains"][0]
    store.close()
    monkeypatch.setenv("MATCHER_USER", "孙八")
    edit = CliRunner().invoke(app, ["kb", "edit", "chain", chain["name"], "--author", "孙八", "--reason", "核实说明",
                                    "--set", "description=审计测试的新说明", "--db", db])
    assert edit.exit_code == 0, edit.output
    result = CliRunner().invoke(app, ["audit", "--json", "--user", "孙八", "--db", db])
    rows = json.loads(result.output.strip().splitlines()[-1])
    assert rows[0]["user"] == "孙八" and rows[0]["action"] == "知识库修改" and rows[0]["at_local"]
    assert rows[0]["before"]["description"] == chain.get("description")
    assert rows[0]["after"]["description"] == "审计测试的新说明"
