"""The two living lists on a real database: spillover firms (status moved by feedback and projects) and outward
investments flagged when a 西咸 park leads the chain."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.importer import import_file
from matcher.knowledge import kb
from matcher.store.database import Store
from matcher.work import lists, projects


@pytest.fixture
def firm_store(store: Store, tmp_path: Path) -> Store:
    csv = tmp_path / "f.csv"
    csv.write_text("企业名称,所在地区,主营业务\n甲光伏有限公司,西安市未央区,光伏组件\n乙氢能有限公司,西安市高新区,燃料电池\n",
                   encoding="utf-8")
    import_file(store, csv)
    return store


def test_spill_entry_fills_from_matching_keeps_edits_and_validates(firm_store: Store) -> None:
    row = lists.put_spill(firm_store, 1, {"spill_type": "扩产", "land_mu": "30"},
                          {"chain": "太阳能光伏", "segment": "中游·组件", "intended": "泾河新城"})
    assert (row["chain"], row["intended"], row["land_mu"], row["location"], row["status"]) == (
        "太阳能光伏", "泾河新城", 30.0, "未央区", "未对接")
    row = lists.put_spill(firm_store, 1, {"intended": "沣西新城"}, {"intended": "泾河新城"})
    assert row["intended"] == "沣西新城"  # staff's choice wins over matching
    with pytest.raises(lists.ListError):
        lists.put_spill(firm_store, 1, {"spill_type": "关停"})
    with pytest.raises(lists.ListError):
        lists.put_spill(firm_store, 99, {})


def test_feedback_and_project_stages_move_the_status(firm_store: Store) -> None:
    lists.put_spill(firm_store, 1, {"spill_type": "迁建"})
    lists.put_spill(firm_store, 2, {"spill_type": "扩产"})
    firm_store.add_feedback(kind="park", target="泾河新城", verdict="已对接", firm_id=2)
    pid = projects.add_project(firm_store, "甲光伏迁建", "主城产业溢出", stage="在谈", on_date="2026-03-01",
                               firms=[{"id": 1, "name": "甲光伏有限公司"}])
    rows = {r["firm_id"]: r for r in lists.spill_rows(firm_store)}
    assert rows[1]["status"] == "在谈" and rows[1]["follow_date"] == "2026-03-01" and rows[2]["status"] == "已对接"
    projects.move_project(firm_store, pid, "投产", "2026-10-01")
    assert {r["firm_id"]: r for r in lists.spill_rows(firm_store)}[1]["status"] == "已落地"


def test_investment_flag_needs_outside_destination_and_a_leading_park(store: Store) -> None:
    kbd = kb.current(store)
    out = lists.add_investment(store, kbd, "甲光伏有限公司", "江苏省苏州市", 20, "光伏", "2025-06")
    assert out["chain"] == "太阳能光伏" and "泾河" in out["flag"]
    assert lists.add_investment(store, kbd, "甲光伏有限公司", "沣西新城", 5, "光伏")["flag"] == ""
    leads = lists.lead_parks(kbd)
    unled = next(c["name"] for c in kbd["chains"] if c["name"] not in leads)
    assert lists.add_investment(store, kbd, "丙", "上海市", 1, unled)["flag"] == ""
    rows = lists.investment_rows(store, kbd)
    assert rows[0]["flag"] and len(lists.investment_rows(store, kbd, flagged_only=True)) == 1


def test_lists_round_trip_through_workbooks(firm_store: Store, tmp_path: Path) -> None:
    lists.put_spill(firm_store, 1, {"spill_type": "扩产", "land_mu": 30, "owner": "张三"})
    path = lists.export_spill(firm_store, tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(path, read_only=True)["溢出企业清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("企业名称", "现所在区/园区", "产业链", "环节", "溢出类型") and rows[1][0] == "甲光伏有限公司"
    other = kb.open_store(tmp_path / "other.db")
    counts = lists.import_spill(other, path)
    assert counts == {"rows": 1, "added_firms": 1, "entries": 1}
    got = lists.spill_rows(other)[0]
    assert (got["name"], got["spill_type"], got["land_mu"], got["owner"]) == ("甲光伏有限公司", "扩产", 30.0, "张三")
    kbd = kb.current(firm_store)
    lists.add_investment(firm_store, kbd, "甲光伏有限公司", "江苏省苏州市", 20, "光伏", "2025-06")
    inv = lists.export_investments(firm_store, kbd, tmp_path / "i.xlsx")
    assert lists.import_investments(other, kb.current(other), inv) == 1
    assert lists.import_investments(other, kb.current(other), inv) == 0  # the same investment is not added twice


def test_cli_lists(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    run = CliRunner().invoke
    csv = tmp_path / "f.csv"
    csv.write_text("企业名称,所在地区,主营业务\n甲光伏有限公司,西安市未央区,光伏组件\n", encoding="utf-8")
    assert run(app, ["import", str(csv), "--db", db]).exit_code == 0
    out = run(app, ["spillover", "add", "1", "--type", "扩产", "--land", "30", "--no-match", "--db", db])
    assert out.exit_code == 0, out.output
    assert json.loads(run(app, ["spillover", "list", "--db", db]).output.splitlines()[-1])[0]["land_mu"] == 30
    assert run(app, ["spillover", "add", "1", "--type", "关停", "--no-match", "--db", db]).exit_code == 1
    out = run(app, ["invest", "add", "甲光伏有限公司", "--to", "江苏省苏州市", "--amount", "20", "--chain", "光伏", "--db", db])
    assert out.exit_code == 0 and json.loads(out.output.splitlines()[-1])["flag"]
    flagged = json.loads(run(app, ["invest", "list", "--flagged", "--db", db]).output.splitlines()[-1])
    assert len(flagged) == 1
    assert run(app, ["spillover", "export", "-o", str(tmp_path / "s.xlsx"), "--db", db]).exit_code == 0
    assert run(app, ["invest", "export", "-o", str(tmp_path / "i.xlsx"), "--db", db]).exit_code == 0
    assert json.loads(run(app, ["invest", "import", str(tmp_path / "i.xlsx"), "--db", db]).output.splitlines()[-1]) == {"added": 0}
    assert run(app, ["spillover", "import", str(tmp_path / "s.xlsx"), "--no-match", "--db", db]).exit_code == 0
