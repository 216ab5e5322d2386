"""项目库 and 进度: projects moved from 谋划 to 投产 (every move kept), and progress against the plan's targets."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from matcher import paths
from matcher.store import projects as project_store
from matcher.store.database import Store
from matcher.work.export import Column, Cover, ListSpec, Sheet, write_xlsx

STAGES = ("谋划", "储备", "在谈", "签约", "开工", "投产")
KINDS = ("主城产业溢出", "咸阳合作示范", "链式分工", "示范项目")
NEW_CITIES = ("空港新城", "沣东新城", "秦汉新城", "沣西新城", "泾河新城")
TARGETS_FILE = "targets.json"


class ProjectError(ValueError):
    """A project change that cannot be made; the message says why in Chinese."""


def today() -> str:
    """Today's date in Beijing (the date officers write on a move)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _day(value: str | date | None) -> str:
    if value is None or value == "":
        return today()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ProjectError(f"日期应写成 2026-03-15 这样的格式，收到 {value!r}") from None


def _check(kind: str | None, stage: str | None, new_city: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise ProjectError(f"项目类型只能是 {'/'.join(KINDS)}，收到 {kind!r}")
    if stage is not None and stage not in STAGES:
        raise ProjectError(f"项目阶段只能是 {' → '.join(STAGES)}，收到 {stage!r}")
    if new_city and new_city not in NEW_CITIES:
        raise ProjectError(f"落地新城只能是 {'、'.join(NEW_CITIES)}，收到 {new_city!r}")


def add_project(store: Store, name: str, kind: str, *, chain: str | None = None, new_city: str | None = None,
                park: str | None = None, investment: float | None = None, stage: str = "谋划",
                owner: str | None = None, notes: str = "", firms: list[dict[str, Any]] | None = None,
                on_date: str | date | None = None, origin: dict[str, Any] | None = None) -> int:
    """Add a project to the pipeline; its first stage move is dated ``on_date`` (default today).

    Args:
        store: the open store.
        name: the project's name.
        kind: 主城产业溢出 / 咸阳合作示范 / 链式分工 / 示范项目.
        chain: the key chain.
        new_city: the landing new city.
        park: the landing park.
        investment: total investment in 亿元.
        stage: the stage it starts in.
        owner: 负责人.
        notes: free notes.
        firms: the firms involved, ``{"id", "name"}`` each (``id`` may be ``None`` for a firm not in the database).
        on_date: the date of the first stage.
        origin: where it came from (e.g. ``{"key": "feedback:12", ...}``).

    Returns:
        The new project's id.
    """
    store.require("招商", "新建项目")
    if not (name or "").strip():
        raise ProjectError("项目名称不能为空")
    _check(kind, stage, new_city)
    if investment is not None and investment < 0:
        raise ProjectError("投资额不能为负数")
    values = {"name": name.strip(), "kind": kind, "chain": chain or None, "new_city": new_city or None,
              "park": park or None, "investment": investment, "stage": stage, "owner": owner or None,
              "notes": notes or "", "firms": firms or [], "origin": origin or {}}
    with store.transaction():
        project_id = project_store.insert_project(store, values, _day(on_date), "新建")
        store.audit("新建项目", f"项目 {project_id}", after=dict(values, on_date=_day(on_date)))
    return project_id


def move_project(store: Store, project_id: int, stage: str, on_date: str | date | None = None, note: str = "") -> dict[str, Any]:
    """Move a project to ``stage`` on ``on_date`` (default today); earlier moves stay in its history.

    Returns:
        The project after the move.
    """
    store.require("招商", "变更项目阶段")
    _check(None, stage, None)
    with store.transaction():
        before = project_store.get_project(store, project_id)
        if before is None:
            raise ProjectError(f"没有编号为 {project_id} 的项目")
        day = _day(on_date)
        last = project_store.moves(store, [project_id])[-1]
        if day < last["on_date"]:
            raise ProjectError(f"日期 {day} 早于上一次阶段变动（{last['on_date']} {last['stage']}）")
        project_store.add_move(store, project_id, stage, day, note)
        store.audit("项目阶段变动", f"项目 {project_id}", before={"stage": before["stage"]},
                    after={"stage": stage, "on_date": day, "note": note})
        after = project_store.get_project(store, project_id)
    assert after is not None
    return after


def project_detail(store: Store, project_id: int) -> dict[str, Any]:
    """A project with its stage history (``moves``)."""
    p = project_store.get_project(store, project_id)
    if p is None:
        raise ProjectError(f"没有编号为 {project_id} 的项目")
    return {**p, "moves": project_store.moves(store, [project_id])}


def list_projects(store: Store, **filters: Any) -> list[dict[str, Any]]:
    """Projects (newest first), filtered by ``kind``, ``stage``, ``new_city`` or ``chain``."""
    return project_store.list_projects(store, **filters)


def project_from_feedback(store: Store, feedback: dict[str, Any], firm: dict[str, Any] | None,
                          match: dict[str, Any] | None = None) -> int:
    """Start a project from a 已签约 feedback mark on a match (once per mark); the project's id.

    Args:
        store: the open store.
        feedback: the feedback row (``id``, ``kind``, ``target``, ``verdict``).
        firm: the firm the match was for (``id``, ``name``, ``region``), when known.
        match: what the match said: ``chain``, ``new_city``, ``park`` (the best answers shown beside the mark).
    """
    if feedback.get("verdict") != "已签约":
        raise ProjectError("只有“已签约”的匹配反馈可以生成项目")
    key = f"feedback:{feedback['id']}"
    existing = project_store.project_for_origin(store, key)
    if existing is not None:
        return existing
    m = dict(match or {})
    if feedback.get("kind") == "chain":
        m["chain"] = feedback["target"]
    if feedback.get("kind") == "park":
        m["park"] = feedback["target"]
    from_main_city = (firm or {}).get("region") == "西安"
    name = f"{(firm or {}).get('name') or feedback.get('query') or '企业'}落地项目"
    return add_project(store, name, "主城产业溢出" if from_main_city else "示范项目", chain=m.get("chain"),
                       new_city=m.get("new_city") if m.get("new_city") in NEW_CITIES else None, park=m.get("park"),
                       stage="签约", firms=[{"id": (firm or {}).get("id"), "name": (firm or {}).get("name")}] if firm else [],
                       origin={"key": key, "feedback": feedback["id"]}, notes="由匹配结果的“已签约”反馈生成")


# -- targets and progress ------------------------------------------------------------------------------------------
def shipped_targets(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The targets shipped in ``data/targets.json`` (value, unit, counting rule and source each)."""
    file = Path(path) if path else paths.DATA_DIR / TARGETS_FILE
    return list(json.loads(file.read_text(encoding="utf-8"))["targets"])


def targets(store: Store) -> list[dict[str, Any]]:
    """The targets of this database; on first use they are loaded from ``data/targets.json``."""
    rows = project_store.targets(store)
    if not rows:
        with store.transaction():
            for t in shipped_targets():
                project_store.save_target(store, t)
        rows = project_store.targets(store)
    return rows


def set_target(store: Store, target_id: str, value: float) -> dict[str, Any]:
    """Change a target's value (staff edit it as the plan is revised); audited.

    Returns:
        The target after the change.
    """
    store.require("招商", "修改工作目标")
    if value < 0:
        raise ProjectError("目标值不能为负数")
    with store.transaction():
        current = {t["id"]: t for t in targets(store)}
        if target_id not in current:
            raise ProjectError(f"没有目标 {target_id!r}；可选：{'、'.join(current)}")
        t = dict(current[target_id], target=float(value))
        project_store.save_target(store, t)
        store.audit("修改工作目标", f"目标 {target_id}", before={"target": current[target_id]["target"]},
                    after={"target": float(value)})
    return t


def _reached(moves: list[dict[str, Any]], stage: str) -> dict[int, str]:
    """Project → the first date it reached ``stage`` or a later one."""
    need = STAGES.index(stage)
    out: dict[int, str] = {}
    for m in moves:
        if m["stage"] in STAGES and STAGES.index(m["stage"]) >= need:
            pid = m["project_id"]
            if pid not in out or m["on_date"] < out[pid]:
                out[pid] = m["on_date"]
    return out


def _counted(t: dict[str, Any], projects: list[dict[str, Any]], moves: list[dict[str, Any]], year: int) -> list[dict[str, Any]]:
    """The projects that count toward target ``t`` in ``year`` (cumulative: to its end; annual: within it)."""
    kinds = set(t.get("kinds") or [])
    reached = _reached(moves, t.get("stage") or "签约")
    out = []
    for p in projects:
        day = reached.get(p["id"])
        if day is None or (kinds and p["kind"] not in kinds):
            continue
        if day[:4] > str(year) or (t.get("period") == "annual" and day[:4] != str(year)):
            continue
        out.append(p)
    return out


def _measure(t: dict[str, Any], counted: list[dict[str, Any]]) -> float:
    if t.get("measure") == "investment":
        return round(float(sum(float(p.get("investment") or 0) for p in counted)), 2)
    return float(len(counted))


@dataclass
class Progress:
    """Progress against every target in one year, with the project-based ones broken down by new city and chain."""

    year: int
    targets: list[dict[str, Any]]
    by_city: list[dict[str, Any]]
    by_chain: list[dict[str, Any]]
    by_year: list[dict[str, Any]]
    projects: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """The progress as one JSON object; ``targets`` items carry ``name``, ``unit``, ``target``, ``actual``."""
        return {"year": self.year, "targets": self.targets, "by_city": self.by_city, "by_chain": self.by_chain,
                "by_year": self.by_year}


def progress(store: Store, year: int | None = None) -> Progress:
    """Progress against each target in ``year`` (default this year), and by new city, chain and year.

    A project counts once it has reached the target's stage (its first move to that stage or a later one);
    cumulative targets count everything reached by the end of the year, annual ones only what was reached in it.
    Events count by their date.
    """
    year = int(year or today()[:4])
    ts = targets(store)
    projects = project_store.list_projects(store)
    moves = project_store.moves(store)
    events = project_store.count_events_by_year(store)
    rows: list[dict[str, Any]] = []
    by_city: list[dict[str, Any]] = []
    by_chain: list[dict[str, Any]] = []
    years = sorted({int(m["on_date"][:4]) for m in moves} | {int(y) for y in events} | {year})
    by_year = []
    for t in ts:
        def actual_in(y: int, t: dict[str, Any] = t) -> float:
            if t.get("measure") == "events":
                return float(events.get(str(y), 0))
            return _measure(t, _counted(t, projects, moves, y))

        actual = actual_in(year)
        target = float(t.get("target") or 0)
        rows.append({"id": t["id"], "name": t["name"], "unit": t.get("unit") or "", "target": target,
                     "actual": actual, "rate": round(actual / target, 4) if target else None,
                     "period": "当年" if t.get("period") == "annual" else f"截至{year}年底累计",
                     "by": t.get("by"), "stage": t.get("stage"), "source": t.get("source"),
                     "confidence": t.get("confidence")})
        for y in years:
            by_year.append({"target": t["name"], "year": y, "actual": actual_in(y), "goal": target})
        if t.get("measure") == "events":
            continue
        counted = _counted(t, projects, moves, year)
        for key, out, label in (("new_city", by_city, "new_city"), ("chain", by_chain, "chain")):
            groups: dict[str, list[dict[str, Any]]] = {}
            for p in counted:
                groups.setdefault(p.get(key) or "未定", []).append(p)
            for g, ps in sorted(groups.items()):
                out.append({"target": t["name"], label: g, "actual": _measure(t, ps), "unit": t.get("unit") or ""})
    return Progress(year, rows, by_city, by_chain, by_year, projects)


# -- workbooks -----------------------------------------------------------------------------------------------------
def _progress_spec() -> ListSpec:
    return ListSpec("progress", "承接工作进度", "各项工作目标的完成情况（按年度、新城、产业链）与项目库，供月度报告使用。", (
        Sheet("目标进度", (Column("name", "目标", "工作目标"), Column("period", "口径", "累计或当年", 16),
                        Column("target", "目标值", "计划目标", 10), Column("actual", "完成", "已完成", 10),
                        Column("unit", "单位", "", 8), Column("rate", "完成率", "完成 ÷ 目标", 10),
                        Column("stage", "计入阶段", "项目达到该阶段（或更后）时计入", 10),
                        Column("source", "来源", "目标出处", 60), Column("confidence", "可信度", "", 10))),
        Sheet("按年度", (Column("target", "目标", ""), Column("year", "年度", "", 8),
                      Column("actual", "完成", "", 10), Column("goal", "目标值", "", 10))),
        Sheet("按新城", (Column("target", "目标", ""), Column("new_city", "落地新城", "", 14),
                      Column("actual", "完成", "", 10), Column("unit", "单位", "", 8))),
        Sheet("按产业链", (Column("target", "目标", ""), Column("chain", "产业链", "", 20),
                       Column("actual", "完成", "", 10), Column("unit", "单位", "", 8))),
        Sheet("项目库", PROJECT_COLUMNS),
    ))


# the project pipeline as a table: one row per project, its stage history as text
PROJECT_COLUMNS = (Column("id", "编号", "", 6), Column("name", "项目名称", "", 30), Column("kind", "类型", "", 14),
                   Column("stage", "阶段", "当前阶段", 8), Column("stage_date", "阶段日期", "进入当前阶段的日期", 12),
                   Column("new_city", "落地新城", "", 10), Column("park", "落地园区", "", 20),
                   Column("chain", "产业链", "", 16), Column("investment", "投资（亿元）", "", 10),
                   Column("firms_text", "涉及企业", "", 30), Column("owner", "负责人", "", 10),
                   Column("history", "阶段历程", "每次阶段变动的日期", 50), Column("notes", "备注", "", 30))


def project_rows(store: Store, projects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Projects as flat rows for tables and workbooks: firms and stage history as text."""
    moves = project_store.moves(store, [p["id"] for p in projects])
    hist: dict[int, list[dict[str, Any]]] = {}
    for m in moves:
        hist.setdefault(m["project_id"], []).append(m)
    out = []
    for p in projects:
        h = hist.get(p["id"], [])
        out.append({**p, "stage_date": h[-1]["on_date"] if h else "",
                    "firms_text": "、".join(f.get("name") or "" for f in p.get("firms") or []),
                    "history": " → ".join(f"{m['stage']} {m['on_date']}" for m in h)})
    return out


def export_progress(store: Store, path: str | os.PathLike[str], year: int | None = None) -> Path:
    """The monthly-report workbook: progress against every target by year, new city and chain, and the projects."""
    p = progress(store, year)
    spec = _progress_spec()
    data = {"目标进度": p.targets, "按年度": p.by_year, "按新城": p.by_city, "按产业链": p.by_chain,
            "项目库": project_rows(store, p.projects)}
    cover = Cover(spec.title, spec.purpose, f"年度 {p.year}", [("项目数", len(p.projects))])
    return write_xlsx(path, spec, data, cover)


def export_projects(store: Store, path: str | os.PathLike[str], **filters: Any) -> Path:
    """The project pipeline as a workbook (one row per project with its stage history)."""
    spec = ListSpec("projects", "项目库", "承接项目从谋划到投产的全过程，每次阶段变动均有日期。",
                    (Sheet("项目库", PROJECT_COLUMNS),))
    rows = project_rows(store, list_projects(store, **filters))
    label = "，".join(f"{k}={v}" for k, v in filters.items() if v) or "全部"
    return write_xlsx(path, spec, {"项目库": rows}, Cover(spec.title, spec.purpose, label, [("项目数", len(rows))]))
