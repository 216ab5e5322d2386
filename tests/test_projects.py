"""项目库 and 进度 on a real database: stage history, targets from data/targets.json, progress by year/city/chain."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.store.audit import entries
from matcher.store.database import PermissionDenied, Store
from matcher.work import projects


def test_moves_are_history_and_dates_cannot_go_back(store: Store) -> None:
    pid = projects.add_project(store, "氢能电堆扩产", "主城产业溢出", chain="氢能", new_city="泾河新城",
                               investment=12.5, on_date="2026-01-10")
    projects.move_project(store, pid, "在谈", "2026-02-01")
    projects.move_project(store, pid, "签约", "2026-03-02", note="签约仪式")
    detail = projects.project_detail(store, pid)
    assert detail["stage"] == "签约"
    assert [(m["stage"], m["on_date"]) for m in detail["moves"]] == [
        ("谋划", "2026-01-10"), ("在谈", "2026-02-01"), ("签约", "2026-03-02")]
    with pytest.raises(projects.ProjectError, match="早于"):
        projects.move_project(store, pid, "开工", "2026-01-01")
    with pytest.raises(projects.ProjectError):
        projects.move_project(store, pid, "完成", "2026-04-01")
    with pytest.raises(projects.ProjectError):
        projects.add_project(store, "x", "别的类型")
    assert entries(store, action="项目阶段变动")[0]["after"]["stage"] == "签约"


def test_viewer_cannot_add_projects(db_path: Path) -> None:
    from matcher.knowledge import kb

    kb.open_store(db_path).close()
    with pytest.raises(PermissionDenied):
        projects.add_project(Store(db_path, role="查看"), "项目", "示范项目")


def test_targets_load_with_sources_and_are_editable(store: Store) -> None:
    ts = {t["id"]: t for t in projects.targets(store)}
    assert ts["spillover_projects"]["target"] == 50 and ts["spillover_investment"]["target"] == 150
    assert ts["chain_division"]["target"] == 10 and ts["matchmaking_events"]["target"] == 2
    assert all(t["source"] for t in ts.values())
    projects.set_target(store, "chain_division", 12)
    assert {t["id"]: t for t in projects.targets(store)}["chain_division"]["target"] == 12


def test_shipped_targets_cite_the_plan_and_stay_unconfirmed_without_a_second_source() -> None:
    # the plan (陕西咸发〔2024〕4号) is named in each source; the project's reference material holds none of the six
    # targets (its 150亿元 is the 高新技术产业 scale target), so none is marked confirmed
    shipped = projects.shipped_targets()
    assert len(shipped) == 6
    for t in shipped:
        assert t["source"].startswith("陕西咸发〔2024〕4号（实施方案）§"), t["id"]
        assert t["confidence"] == "待核实", t["id"]


def test_progress_counts_by_stage_year_city_and_chain(store: Store) -> None:
    a = projects.add_project(store, "甲", "主城产业溢出", chain="氢能", new_city="泾河新城", investment=20,
                             on_date="2025-05-01")
    projects.move_project(store, a, "签约", "2025-11-01")
    b = projects.add_project(store, "乙", "主城产业溢出", chain="光伏", new_city="沣西新城", investment=30,
                             stage="签约", on_date="2026-02-01")
    projects.move_project(store, b, "投产", "2026-09-01")
    projects.add_project(store, "丙", "主城产业溢出", investment=100, on_date="2026-03-01")  # still 谋划: not counted
    projects.add_project(store, "丁", "链式分工", chain="光伏", stage="在谈", on_date="2026-03-01")

    def actual(p: projects.Progress, tid: str) -> float:
        return next(t["actual"] for t in p.targets if t["id"] == tid)

    p25, p26 = projects.progress(store, 2025), projects.progress(store, 2026)
    assert actual(p25, "spillover_projects") == 1 and actual(p25, "spillover_investment") == 20
    assert actual(p26, "spillover_projects") == 2 and actual(p26, "spillover_investment") == 50
    assert actual(p26, "integration_operating") == 1 and actual(p25, "integration_operating") == 0
    assert actual(p26, "chain_division") == 0
    cities = {(r["target"], r["new_city"]): r["actual"] for r in p26.by_city}
    assert cities[("承接主城区产业溢出项目", "泾河新城")] == 1 and cities[("承接主城区产业溢出项目总投资", "沣西新城")] == 30
    assert {r["chain"] for r in p26.by_chain} == {"氢能", "光伏"}


def test_signed_feedback_starts_one_project(store: Store) -> None:
    fid = store.add_feedback(kind="park", target="秦创原·氢合湾", verdict="已签约", firm_id=None, query="氢能企业")
    mark = {"id": fid, "kind": "park", "target": "秦创原·氢合湾", "verdict": "已签约", "query": "氢能企业"}
    firm = {"id": 7, "name": "甲氢能公司", "region": "西安"}
    pid = projects.project_from_feedback(store, mark, firm, {"chain": "氢能", "new_city": "泾河新城"})
    p = projects.project_detail(store, pid)
    assert (p["kind"], p["stage"], p["park"], p["chain"], p["new_city"]) == ("主城产业溢出", "签约", "秦创原·氢合湾", "氢能", "泾河新城")
    assert projects.project_from_feedback(store, mark, firm) == pid  # once per mark
    with pytest.raises(projects.ProjectError):
        projects.project_from_feedback(store, dict(mark, verdict="有效"), firm)


def test_cli_projects_and_progress_json(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    run = CliRunner().invoke
    out = run(app, ["projects", "add", "氢能电堆扩产", "--kind", "主城产业溢出", "--chain", "氢能", "--new-city", "泾河新城",
                    "--investment", "12.5", "--date", "2026-01-10", "--db", db])
    assert out.exit_code == 0, out.output
    assert run(app, ["projects", "move", "1", "签约", "--date", "2026-03-02", "--db", db]).exit_code == 0
    assert run(app, ["projects", "move", "1", "成功", "--db", db]).exit_code == 1
    listed = json.loads(run(app, ["projects", "list", "--db", db]).output.splitlines()[-1])
    assert listed[0]["stage"] == "签约"
    prog = run(app, ["progress", "--year", "2026", "--json", "--db", db, "-o", str(tmp_path / "p.xlsx")])
    last = json.loads(prog.output.strip().splitlines()[-1])
    got = {t["name"]: t for t in last["targets"]}
    assert got["承接主城区产业溢出项目"]["actual"] == 1 and got["承接主城区产业溢出项目总投资"]["actual"] == 12.5
    assert set(got["承接主城区产业溢出项目"]) >= {"name", "unit", "target", "actual"}
    wb = openpyxl.load_workbook(tmp_path / "p.xlsx", read_only=True)
    assert {"目标进度", "按年度", "按新城", "按产业链", "项目库"} <= set(wb.sheetnames)
    out = run(app, ["projects", "export", "-o", str(tmp_path / "pj.xlsx"), "--db", db])
    assert out.exit_code == 0
    rows = list(openpyxl.load_workbook(tmp_path / "pj.xlsx", read_only=True)["项目库"].iter_rows(values_only=True))
    assert rows[1][1] == "氢能电堆扩产" and "签约 2026-03-02" in rows[1][11]
    assert run(app, ["projects", "target", "spillover_projects", "60", "--db", db]).exit_code == 0
