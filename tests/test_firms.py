"""Firm management on a real database: edit, delete, merge, undo an import, the 示例 firms kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.importer import import_file
from matcher.knowledge import kb
from matcher.store.audit import entries
from matcher.store.database import PermissionDenied, Store
from matcher.store.firms import find_firms
from matcher.work import firms

ROOT = Path(__file__).resolve().parent.parent


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("企业名称,所在地区,主营业务\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_edit_records_before_and_after(store: Store, tmp_path: Path) -> None:
    import_file(store, _csv(tmp_path / "a.csv", ["甲光伏有限公司,西安市雁塔区,光伏组件"]))
    after = firms.edit_firm(store, 1, {"所在地区": "咸阳", "employees": "120", "products": ""})
    assert after["region"] == "咸阳" and after["employees"] == 120.0
    entry = entries(store, action="修改企业")[0]
    assert entry["before"] == {"region": "西安", "employees": None} and entry["after"]["region"] == "咸阳"
    with pytest.raises(firms.FirmError):
        firms.edit_firm(store, 1, {"employees": "很多"})
    with pytest.raises(firms.FirmError):
        firms.edit_firm(store, 1, {"企业名称": " "})


def test_roles_guard_delete_and_merge(db_path: Path, tmp_path: Path) -> None:
    kb.open_store(db_path).close()
    admin = Store(db_path, user="管理员", role="管理")
    import_file(admin, _csv(tmp_path / "a.csv", ["甲公司,西安,光伏", "乙公司,咸阳,氢能"]))
    officer = Store(db_path, user="小王", role="招商")
    firms.edit_firm(officer, 1, {"行业": "光伏设备"})
    with pytest.raises(PermissionDenied):
        firms.delete_firm(officer, 1)
    with pytest.raises(PermissionDenied):
        firms.merge_firms(officer, 1, 2)
    firms.delete_firm(admin, 2)
    assert admin.count_firms() == 1
    assert entries(admin, action="删除企业")[0]["before"]["name"] == "乙公司"


def test_merge_fills_gaps_moves_feedback_and_deletes_the_duplicate(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("企业名称,所在地区,主营业务,主要产品\n甲公司,西安,光伏,\n甲公司（西安）,,,光伏组件\n", encoding="utf-8")
    import_file(store, path)
    store.add_feedback(kind="chain", target="光伏", verdict="有效", firm_id=2)
    merged = firms.merge_firms(store, 1, 2)
    assert merged["products"] == "光伏组件" and merged["description"] == "光伏"
    assert store.firm(2) is None and store.feedback_for(firm_id=1)[0]["target"] == "光伏"


def test_undo_import_removes_added_and_restores_updated(store: Store, tmp_path: Path) -> None:
    import_file(store, _csv(tmp_path / "a.csv", ["甲公司,西安,光伏组件"]))
    second = import_file(store, _csv(tmp_path / "b.csv", ["甲公司,咸阳,光伏组件与逆变器", "乙公司,咸阳,氢能"]))
    assert (second.inserted, second.updated) == (1, 1)
    res = firms.undo_import(store, second.run_id)
    assert (res.removed, res.restored) == (1, 1)
    assert [f["name"] for f in store.firms()] == ["甲公司"]
    assert store.firm(1)["region"] == "西安" and store.firm(1)["description"] == "光伏组件"
    with pytest.raises(firms.FirmError, match="已经撤销"):
        firms.undo_import(store, second.run_id)


def test_undo_refuses_when_a_later_import_touched_the_same_firms(store: Store, tmp_path: Path) -> None:
    first = import_file(store, _csv(tmp_path / "a.csv", ["甲公司,西安,光伏组件"]))
    import_file(store, _csv(tmp_path / "b.csv", ["甲公司,咸阳,光伏组件"]))
    with pytest.raises(firms.FirmError, match="之后的导入"):
        firms.undo_import(store, first.run_id)
    assert firms.undo_import(store, first.run_id, force=True).removed == 1


def test_runs_are_numbered_from_1_per_kind_and_commands_take_that_number(tmp_path: Path) -> None:
    from matcher.store import runs as run_store

    db = tmp_path / "n.db"
    run = CliRunner().invoke
    for name, rows in (("a.csv", ["甲公司,西安,光伏组件"]), ("b.csv", ["乙公司,咸阳,氢能"])):
        out = run(app, ["import", str(_csv(tmp_path / name, rows)), "--db", str(db)])
        assert out.exit_code == 0, out.output
    assert json.loads(out.output.splitlines()[-1])["run"] == 2 and "（导入 2）" in out.output
    assert "import-00002-b.csv" in json.loads(out.output.splitlines()[-1])["report"]
    store = Store(db)
    # a batch after two imports is 批次 1, not the database's third row
    batch_id = run_store.start_run(store, {"kind": "batch", "status": "done", "input_path": "c.csv", "rows": 0})
    assert batch_id == 3 and run_store.get_run(store, batch_id)["number"] == 1
    assert run_store.run_by_number(store, "batch", 1)["id"] == batch_id
    assert run_store.run_by_number(store, "import", 2)["input_path"].endswith("b.csv")
    assert run_store.run_by_number(store, "batch", 2) is None and run_store.run_by_number(store, "import", 0) is None
    assert run_store.run_label(run_store.get_run(store, batch_id)) == "批次 1"
    store.close()
    out = run(app, ["runs", "--db", str(db)])
    shown = json.loads(out.output.splitlines()[-1])
    assert [(r["kind"], r["number"]) for r in shown] == [("batch", 1), ("import", 2), ("import", 1)]
    table = out.output.splitlines()[:4]
    assert table[0].split()[0] == "编号" and [line.split()[0] for line in table[1:]] == ["1", "2", "1"]
    assert "批量匹配" in table[1] and "b.csv" in table[2]
    # `import --undo N` takes the import's number
    undo = run(app, ["import", "--undo", "2", "--db", str(db)])
    assert undo.exit_code == 0, undo.output
    assert json.loads(undo.output.splitlines()[-1])["run"] == 2 and "已撤销导入 2" in undo.output
    assert [f["name"] for f in Store(db).firms()] == ["甲公司"]
    missing = run(app, ["import", "--undo", "3", "--db", str(db)])
    assert missing.exit_code == 1 and "没有编号为 3 的导入记录" in missing.output
    # `export --run N` takes the batch's number: 3 is no batch, although it is the batch's row in the database
    bad = run(app, ["export", "matches", "--run", "3", "-o", str(tmp_path / "m.xlsx"), "--db", str(db)])
    assert bad.exit_code == 1 and "没有批次 3" in bad.output and not (tmp_path / "m.xlsx").exists()


def test_name_search_bridges_simplified_and_traditional(store: Store, tmp_path: Path) -> None:
    import_file(store, _csv(tmp_path / "a.csv", ["陝西華晶電子有限公司,西安,半导体", "华晶精密（陕西）有限公司,咸阳,模具"]))
    assert len(find_firms(store, "华晶")) == 2
    assert len(find_firms(store, "華晶")) == 2
    assert [f["name"] for f in find_firms(store, "陕西华晶")] == ["陝西華晶電子有限公司"]


def test_samples_are_marked_counted_and_removed(store: Store, tmp_path: Path) -> None:
    from matcher.ingest.samples import load_samples

    import_file(store, _csv(tmp_path / "real.csv", ["真实企业甲有限公司,西安,光伏组件"]))
    loaded = load_samples(store)
    assert loaded > 300 and firms.sample_count(store) == loaded
    assert firms.remove_samples(store) == loaded
    assert [f["name"] for f in store.firms()] == ["真实企业甲有限公司"] and firms.sample_count(store) == 0


def test_cli_firms_undo_and_samples(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    run = CliRunner().invoke
    assert run(app, ["import", str(_csv(tmp_path / "a.csv", ["陝西華晶電子有限公司,西安,半导体"])), "--db", str(db)]).exit_code == 0
    out = run(app, ["firms", "list", "华晶", "--db", str(db)])
    assert out.exit_code == 0 and json.loads(out.output.splitlines()[-1])[0]["id"] == 1
    out = run(app, ["firms", "edit", "1", "--set", "所在地区=咸阳", "--db", str(db)])
    assert out.exit_code == 0 and json.loads(out.output.splitlines()[-1])["region"] == "咸阳"
    show = json.loads(run(app, ["firms", "show", "1", "--db", str(db)]).output.splitlines()[-1])
    assert show["history"][0]["before"] == {"region": "西安"}
    assert run(app, ["firms", "edit", "9", "--set", "行业=x", "--db", str(db)]).exit_code == 1
    undo = run(app, ["import", "--undo", "1", "--db", str(db)])
    assert undo.exit_code == 0 and json.loads(undo.output.splitlines()[-1])["removed"] == 1
    assert run(app, ["import", "--undo", "1", "--db", str(db)]).exit_code == 1
    removed = run(app, ["samples", "remove", "--db", str(db)])
    assert removed.exit_code == 0 and json.loads(removed.output.splitlines()[-1]) == {"removed": 0, "firms": 0}


def test_index_of_a_working_database_loads_no_samples() -> None:
    import inspect

    from matcher.cli import index_cmd

    default = inspect.signature(index_cmd).parameters["samples"].default
    assert default is False
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "index --samples --db $(DEMO_DB)" in makefile and "MATCHER_DB=$(DEMO_DB)" in makefile
