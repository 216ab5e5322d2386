"""洽谈会 scheduling: the assignment is optimal per slot and keeps every rule; on the sample firms end to end."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import openpyxl
import pytest
from test_app import sample_db  # noqa: F401,E402  (the module fixture: sample firms, indexes, stored-firm matches)
from typer.testing import CliRunner

from matcher.cli import app
from matcher.store.database import Store
from matcher.work import events, projects
from matcher.work.events import Pair, greedy_schedule, schedule, schedule_by_slot, total
from tests.conftest import copy_database


def _check_rules(meetings: list[tuple[int, int, Pair]], slots: int, tables: int, cap: int) -> None:
    seen: set[tuple[int, int]] = set()
    count: dict[int, int] = {}
    for slot in range(1, slots + 1):
        here = [p for s, _, p in meetings if s == slot]
        assert len(here) <= tables
        firms = [f for p in here for f in (p.buyer, p.supplier)]
        assert len(firms) == len(set(firms)), "a firm in two meetings of one slot"
    for _, _, p in meetings:
        assert (p.buyer, p.supplier) not in seen
        seen.add((p.buyer, p.supplier))
        for f in (p.buyer, p.supplier):
            count[f] = count.get(f, 0) + 1
    assert all(n <= cap for n in count.values())


def test_assignment_beats_greedy_where_greedy_blocks_itself() -> None:
    # greedy takes A–X (1.0) and then B has nobody; the assignment pairs A–Y and B–X (1.8)
    pairs = [Pair(1, 10, 1.0), Pair(1, 11, 0.9), Pair(2, 10, 0.9)]
    solved, greedy = schedule(pairs, 1, 2, 3), greedy_schedule(pairs, 1, 2, 3)
    assert total(solved) == pytest.approx(1.8) and total(greedy) == pytest.approx(1.0)


def test_tables_limit_each_slot_to_the_best_meetings() -> None:
    pairs = [Pair(1, 10, 0.5), Pair(2, 11, 0.9), Pair(3, 12, 0.7)]
    solved = schedule(pairs, 2, 1, 3)
    assert [(s, p.buyer) for s, _, p in solved] == [(1, 2), (2, 3)]


@pytest.mark.parametrize("seed", range(6))
def test_the_event_schedule_is_optimal_and_rules_hold(seed: int) -> None:
    rng = random.Random(seed)
    buyers, suppliers = range(1, 6), range(10, 15)
    pairs = [Pair(b, s, round(rng.random(), 3)) for b in buyers for s in suppliers if rng.random() < 0.6]
    slots, tables, cap = 3, 2, 2
    solved = schedule(pairs, slots, tables, cap)
    _check_rules(solved, slots, tables, cap)
    _check_rules(greedy_schedule(pairs, slots, tables, cap), slots, tables, cap)
    _check_rules(schedule_by_slot(pairs, slots, tables, cap), slots, tables, cap)
    # never below the slot-by-slot assignment or greedy
    assert total(solved) >= max(total(schedule_by_slot(pairs, slots, tables, cap)),
                                total(greedy_schedule(pairs, slots, tables, cap))) - 1e-9
    # with one slot, the brute-force best set of at most `tables` disjoint pairs
    best = 0.0
    for n in range(tables + 1):
        for combo in itertools.combinations(pairs, n):
            firms = [f for p in combo for f in (p.buyer, p.supplier)]
            if len(firms) == len(set(firms)):
                best = max(best, sum(p.score for p in combo))
    assert total(schedule(pairs, 1, tables, cap)) == pytest.approx(best)


def test_deciding_all_slots_at_once_beats_slot_by_slot() -> None:
    # One meeting per firm. Slot by slot, slot 1 takes A–X and B–Y (1.9) and nobody is left for slot 2; over the
    # whole event A–X, C–Y and B–Z (2.65) spend the caps where they earn most.
    pairs = [Pair(1, 10, 1.0), Pair(2, 11, 0.9), Pair(3, 11, 0.85), Pair(2, 12, 0.8), Pair(4, 10, 0.75)]
    by_slot, whole = schedule_by_slot(pairs, 2, 2, 1), schedule(pairs, 2, 2, 1)
    _check_rules(whole, 2, 2, 1)
    assert total(whole) > total(by_slot)


def test_orient_gives_each_firm_one_side() -> None:
    pairs = events.orient([Pair(1, 2, 0.9), Pair(2, 3, 0.2), Pair(1, 2, 0.5), Pair(3, 1, 0.1)])
    assert [(p.buyer, p.supplier, p.score) for p in pairs] == [(1, 2, 0.9)]


@pytest.fixture
def sample_copy(sample_db: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A private copy of the sample database with its indexes."""
    return copy_database(sample_db, tmp_path / "sample.db")


def test_cli_plans_exports_and_records_outcomes(sample_copy: Path, tmp_path: Path) -> None:
    run = CliRunner().invoke
    out = run(app, ["events", "plan", "--chain", "光伏", "--chain", "氢能", "--date", "2026-04-16", "--slots", "3",
                    "--tables", "4", "-o", str(tmp_path / "日程.xlsx"), "--json", "--db", str(sample_copy)])
    assert out.exit_code == 0, out.output
    last = json.loads(out.output.strip().splitlines()[-1])
    assert set(last) >= {"event_id", "meetings", "firms", "score", "greedy_score", "schedule", "output"}
    assert 0 < last["meetings"] <= 12 and last["score"] >= last["greedy_score"] - 1e-9
    # the schedule itself is in the JSON: one row per meeting, in slot and table order
    plan = last["schedule"]
    assert isinstance(plan, list) and len(plan) == last["meetings"]
    assert all(set(m) == {"meeting", "slot", "table", "buyer", "supplier", "score", "reason"} for m in plan)
    assert [(m["slot"], m["table"]) for m in plan] == sorted((m["slot"], m["table"]) for m in plan)
    assert all(1 <= m["slot"] <= 3 and 1 <= m["table"] <= 4 and m["buyer"] != m["supplier"] for m in plan)
    assert sum(m["score"] for m in plan) == pytest.approx(last["score"], abs=1e-3)
    wb = openpyxl.load_workbook(last["output"], read_only=True)
    rows = list(wb["对接日程"].iter_rows(values_only=True))
    assert rows[0][:6] == ("时段", "桌号", "需方企业", "供方企业", "得分", "得分构成")
    assert len(rows) - 1 == last["meetings"] and len(wb.sheetnames) > 2  # cover, schedule, one sheet per firm
    assert sum(r[4] for r in rows[1:]) == pytest.approx(last["score"], abs=1e-3)
    assert [(r[0], r[1], r[2], r[3]) for r in rows[1:]] == [(m["slot"], m["table"], m["buyer"], m["supplier"])
                                                            for m in plan]
    assert Path(last["invitations"]).exists()
    shown = json.loads(run(app, ["events", "show", str(last["event_id"]), "--db", str(sample_copy)]).output.splitlines()[-1])
    meeting = shown["meetings"][0]["id"]
    assert meeting == plan[0]["meeting"]  # the number `events outcome` takes
    assert run(app, ["events", "outcome", str(meeting), "有意向", "--db", str(sample_copy)]).exit_code == 0
    store = Store(sample_copy)
    p = projects.list_projects(store)[0]
    assert p["stage"] == "在谈"
    assert run(app, ["events", "outcome", str(meeting), "签约", "--db", str(sample_copy)]).exit_code == 0
    assert projects.project_detail(store, p["id"])["stage"] == "签约" and len(projects.list_projects(store)) == 1
    prog = {t["id"]: t["actual"] for t in projects.progress(store, 2026).targets}
    assert prog["matchmaking_events"] == 1
    assert run(app, ["events", "list", "--db", str(sample_copy)]).exit_code == 0
    bad = run(app, ["events", "plan", "--chain", "不存在的链", "--date", "2026-04-16", "--slots", "1", "--tables", "1",
                    "-o", str(tmp_path / "x.xlsx"), "--db", str(sample_copy)])
    assert bad.exit_code == 1 and not (tmp_path / "x.xlsx").exists()
