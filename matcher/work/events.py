"""洽谈会: propose invitees for chain matchmaking, schedule 1:1 supply–demand meetings by assignment, record outcomes.

Scheduling is an assignment problem over the whole event, solved exactly as a small integer programme (scipy's
``milp``, the HiGHS solver): meetings of demand firms (需方) with supply firms (供方) are placed in slots so that the
total match score is as high as possible, with at most one meeting per firm per slot, at most ``tables`` meetings per
slot, each pair met once and each firm's cap on meetings kept. Should the solver not finish in its time limit, the
slot-by-slot assignment (``linear_sum_assignment`` per slot) is used. A greedy baseline (best remaining pair first)
is computed beside it for comparison.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from matcher.store import events as event_store
from matcher.store import lists as list_store
from matcher.store.database import Store
from matcher.work.export import Column, Cover, ListSpec, Sheet, write_xlsx

OUTCOMES = ("有意向", "签约")
_FORBIDDEN = -1e9  # an assignment the solver must not choose (a pair that is no candidate, or a dummy on a skip)


class EventError(ValueError):
    """An event that cannot be planned or changed; the message says why in Chinese."""


@dataclass(frozen=True)
class Pair:
    """A candidate meeting: a demand firm and a supply firm with the match score, its parts and reason."""

    buyer: int
    supplier: int
    score: float
    parts: dict[str, float] = field(default_factory=dict, compare=False)
    reason: str = field(default="", compare=False)


@dataclass
class Plan:
    """A planned event: invitees, meetings, the solver's total and the greedy baseline's."""

    invitees: list[dict[str, Any]]
    meetings: list[dict[str, Any]]
    score: float
    greedy_score: float
    greedy_meetings: int


# -- scheduling ----------------------------------------------------------------------------------------------------
def _slot_assignment(pairs: dict[tuple[int, int], Pair], buyers: list[int], suppliers: list[int],
                     tables: int) -> list[Pair]:
    """The best set of meetings for one slot: a maximum-score matching of ``buyers`` to ``suppliers`` with at most
    ``tables`` meetings (exact, by one rectangular assignment).

    Rows are the buyers plus ``max(0, S - tables)`` dummy rows that can only take a supplier (so at most ``tables``
    suppliers are left for real buyers); columns are the suppliers plus one "no meeting" column per buyer.
    """
    b, s = len(buyers), len(suppliers)
    if not b or not s or tables <= 0:
        return []
    dummies = max(0, s - tables)
    w = np.full((b + dummies, s + b), _FORBIDDEN)
    for i, buyer in enumerate(buyers):
        for j, supplier in enumerate(suppliers):
            p = pairs.get((buyer, supplier))
            if p is not None:
                w[i, j] = p.score
        w[i, s:] = 0.0  # this buyer has no meeting in this slot
    w[b:, :s] = 0.0  # a dummy row takes a supplier out of this slot
    rows, cols = linear_sum_assignment(w, maximize=True)
    out = [pairs[(buyers[r], suppliers[c])] for r, c in zip(rows, cols, strict=True)
           if r < b and c < s and w[r, c] > 0]
    return sorted(out, key=lambda p: -p.score)


def schedule(pairs: list[Pair], slots: int, tables: int, cap: int, time_limit: float = 20.0) -> list[tuple[int, int, Pair]]:
    """Meetings ``(slot, table, pair)`` of the highest total score over the whole event; every pair meets at most once.

    Slot by slot, the best meetings of one slot can use up the caps that later slots needed; the integer programme
    decides all slots at once. Its answer is never below the slot-by-slot one, which is kept when it is better (the
    solver stopped at its time limit).

    Args:
        pairs: candidate meetings (a firm is a buyer or a supplier, never both: see :func:`orient`).
        slots: number of time slots.
        tables: tables per slot (meetings at the same time).
        cap: most meetings any one firm has in the whole event.
        time_limit: seconds the solver may take.
    """
    by_slot = schedule_by_slot(pairs, slots, tables, cap)
    whole = _solve_event(pairs, slots, tables, cap, time_limit)
    return whole if whole is not None and total(whole) >= total(by_slot) else by_slot


def _solve_event(pairs: list[Pair], slots: int, tables: int, cap: int,
                 time_limit: float) -> list[tuple[int, int, Pair]] | None:
    """The integer programme: x[pair, slot] ∈ {0, 1}; ``None`` when the solver finds nothing usable."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    cand = sorted((p for p in pairs if p.score > 0), key=lambda p: (p.buyer, p.supplier))
    if not cand or slots <= 0 or tables <= 0:
        return []
    n = len(cand) * slots
    col = {(i, t): i * slots + t for i in range(len(cand)) for t in range(slots)}
    rows: list[int] = []
    cols: list[int] = []
    upper: list[float] = []

    def constraint(members: list[int], bound: float) -> None:
        r = len(upper)
        rows.extend([r] * len(members))
        cols.extend(members)
        upper.append(bound)

    for i in range(len(cand)):  # each pair meets once
        constraint([col[(i, t)] for t in range(slots)], 1)
    firms = sorted({f for p in cand for f in (p.buyer, p.supplier)})
    touching = {f: [i for i, p in enumerate(cand) if f in (p.buyer, p.supplier)] for f in firms}
    for f in firms:
        for t in range(slots):  # one meeting per firm per slot
            constraint([col[(i, t)] for i in touching[f]], 1)
        constraint([col[(i, t)] for i in touching[f] for t in range(slots)], cap)  # the firm's cap
    for t in range(slots):  # tables per slot
        constraint([col[(i, t)] for i in range(len(cand))], tables)
    a = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(upper), n))
    score = np.repeat([p.score for p in cand], slots)
    res = milp(-score, constraints=LinearConstraint(a, -np.inf, np.array(upper)), integrality=np.ones(n),
               bounds=Bounds(0, 1), options={"time_limit": time_limit})
    if res.x is None:
        return None
    # Slots are interchangeable: the one with the best meetings comes first, and the best meeting at table 1.
    chosen = [sorted((cand[i] for i in range(len(cand)) if res.x[col[(i, t)]] > 0.5), key=lambda p: -p.score)
              for t in range(slots)]
    chosen.sort(key=lambda ms: -sum(p.score for p in ms))
    return [(t, table, p) for t, ms in enumerate(chosen, start=1) for table, p in enumerate(ms, start=1)]


def schedule_by_slot(pairs: list[Pair], slots: int, tables: int, cap: int) -> list[tuple[int, int, Pair]]:
    """Meetings ``(slot, table, pair)`` chosen slot by slot by assignment; every pair meets at most once.

    Args: as for :func:`schedule`.
    """
    left = {(p.buyer, p.supplier): p for p in pairs if p.score > 0}
    count: dict[int, int] = {}
    out: list[tuple[int, int, Pair]] = []
    for slot in range(1, slots + 1):
        buyers = sorted({b for b, _ in left if count.get(b, 0) < cap})
        suppliers = sorted({s for _, s in left if count.get(s, 0) < cap})
        usable = {k: p for k, p in left.items() if k[0] in buyers and k[1] in suppliers}
        chosen = _slot_assignment(usable, buyers, suppliers, tables)
        for table, p in enumerate(chosen, start=1):
            out.append((slot, table, p))
            del left[(p.buyer, p.supplier)]
            for f in (p.buyer, p.supplier):
                count[f] = count.get(f, 0) + 1
    return out


def greedy_schedule(pairs: list[Pair], slots: int, tables: int, cap: int) -> list[tuple[int, int, Pair]]:
    """The baseline: for each slot, take the best remaining pair whose firms are free and under their cap."""
    ranked = sorted((p for p in pairs if p.score > 0), key=lambda p: (-p.score, p.buyer, p.supplier))
    count: dict[int, int] = {}
    met: set[tuple[int, int]] = set()
    out: list[tuple[int, int, Pair]] = []
    for slot in range(1, slots + 1):
        busy: set[int] = set()
        table = 0
        for p in ranked:
            if table == tables:
                break
            if (p.buyer, p.supplier) in met or p.buyer in busy or p.supplier in busy:
                continue
            if count.get(p.buyer, 0) >= cap or count.get(p.supplier, 0) >= cap:
                continue
            table += 1
            out.append((slot, table, p))
            met.add((p.buyer, p.supplier))
            busy |= {p.buyer, p.supplier}
            for f in (p.buyer, p.supplier):
                count[f] = count.get(f, 0) + 1
    return out


def orient(pairs: list[Pair]) -> list[Pair]:
    """Give each firm one side (需方 or 供方) — the side where its best candidate meetings are worth more — and keep
    the pairs that agree; the same pair found from both firms keeps its higher score."""
    best: dict[tuple[int, int], Pair] = {}
    for p in pairs:
        if p.buyer == p.supplier:
            continue
        key = (p.buyer, p.supplier)
        if key not in best or p.score > best[key].score:
            best[key] = p
    as_buyer: dict[int, float] = {}
    as_supplier: dict[int, float] = {}
    for p in best.values():
        as_buyer[p.buyer] = as_buyer.get(p.buyer, 0.0) + p.score
        as_supplier[p.supplier] = as_supplier.get(p.supplier, 0.0) + p.score
    side = {f: "需" if as_buyer.get(f, 0.0) >= as_supplier.get(f, 0.0) else "供" for f in {*as_buyer, *as_supplier}}
    return [p for p in best.values() if side[p.buyer] == "需" and side[p.supplier] == "供"]


def total(meetings: list[tuple[int, int, Pair]]) -> float:
    """The summed match score of a schedule."""
    return round(float(sum(p.score for _, _, p in meetings)), 4)


# -- invitees and candidate pairs -----------------------------------------------------------------------------------
def propose(store: Store, matcher: Any, results: list[Any], chains: list[str], *, k: int = 5,
            max_firms: int = 40) -> tuple[list[dict[str, Any]], list[Pair]]:
    """Invitees and candidate meetings for an event on ``chains``.

    Invitees are the stored firms on those chains (by their best chain), the spillover-list firms on them, and the
    best suppliers and customers of each (``Matcher.match``); a candidate meeting is a firm and one of its
    counterparts, scored by the match.

    Args:
        store: the open store.
        matcher: the store's `Matcher`.
        results: every stored firm's results (`FirmMatch`, from the stored-firms run).
        chains: official chain names.
        k: counterparts per firm and direction.
        max_firms: most firms taken from the chains (the best chain scores first).
    """
    wanted = set(chains)
    on_chain = sorted(((fm.hits["chain"][0].score, fm) for fm in results
                       if fm.firm_id is not None and not fm.none and fm.top_chain() in wanted),
                      key=lambda x: -x[0])[:max_firms]
    seeds: dict[int, dict[str, Any]] = {}
    for _, fm in on_chain:
        seeds[int(fm.firm_id)] = {"firm_id": int(fm.firm_id), "name": fm.firm.get("name"),
                                  "region": fm.firm.get("region"), "why": f"属于{fm.top_chain()}产业链"}
    for entry in list_store.spill_list(store, sorted(wanted)):
        seeds.setdefault(int(entry["firm_id"]), {"firm_id": int(entry["firm_id"]), "name": entry["name"],
                                                 "region": entry["region"]})["why"] = "主城区产业溢出企业清单"
    if not seeds:
        return [], []
    pairs: list[Pair] = []
    names: dict[int, dict[str, Any]] = dict(seeds)
    ids = sorted(seeds)
    for fid, res in zip(ids, matcher.match_many(ids, k=k, store=store), strict=True):
        for h in res.suppliers:
            other = int(h.target)
            pairs.append(Pair(fid, other, h.score, dict(h.parts), h.reason))
            names.setdefault(other, {"firm_id": other, "name": h.label, "region": (h.data or {}).get("region"),
                                     "why": f"{seeds[fid]['name']}的潜在供应商"})
        for h in res.customers:
            other = int(h.target)
            pairs.append(Pair(other, fid, h.score, dict(h.parts), h.reason))
            names.setdefault(other, {"firm_id": other, "name": h.label, "region": (h.data or {}).get("region"),
                                     "why": f"{seeds[fid]['name']}的潜在客户"})
    pairs = orient(pairs)
    buyers = {p.buyer for p in pairs}
    invited = {p.buyer for p in pairs} | {p.supplier for p in pairs} | set(seeds)
    invitees = [dict(names[f], role="需方" if f in buyers else ("供方" if any(p.supplier == f for p in pairs) else "—"))
                for f in sorted(invited, key=lambda f: (f not in seeds, names[f].get("name") or ""))]
    return invitees, pairs


def plan_event(store: Store, matcher: Any, results: list[Any], chains: list[str], on_date: str, *, slots: int,
               tables: int, cap: int, venue: str = "", name: str = "", k: int = 5) -> tuple[int, Plan]:
    """Propose invitees, schedule the meetings (assignment per slot, greedy beside it) and store the event.

    Returns:
        The new event's id and the plan.
    """
    store.require("招商", "安排洽谈会")
    if slots < 1 or tables < 1 or cap < 1:
        raise EventError("时段数、桌数和每家企业的会谈上限都至少为 1")
    if not chains:
        raise EventError("请至少选择一条产业链")
    invitees, pairs = propose(store, matcher, results, chains, k=k)
    if not pairs:
        raise EventError(f"产业链 {'、'.join(chains)} 上没有可安排的供需对接（库内暂无这些产业链的企业或对接企业）")
    solved = schedule(pairs, slots, tables, cap)
    greedy = greedy_schedule(pairs, slots, tables, cap)
    by_id = {i["firm_id"]: i for i in invitees}
    meetings = [{"slot": slot, "table_no": table, "buyer_id": p.buyer, "buyer": by_id[p.buyer]["name"],
                 "supplier_id": p.supplier, "supplier": by_id[p.supplier]["name"], "score": round(p.score, 4),
                 "parts": {k: round(v, 4) for k, v in p.parts.items()}, "reason": p.reason}
                for slot, table, p in solved]
    met = {m["buyer_id"] for m in meetings} | {m["supplier_id"] for m in meetings}
    invitees = [i for i in invitees if i["firm_id"] in met]  # only firms that have a meeting are invited
    plan = Plan(invitees, meetings, total(solved), total(greedy), len(greedy))
    event = {"name": name or f"{'、'.join(chains)}产业链供需对接洽谈会", "chains": chains, "on_date": on_date,
             "venue": venue, "slots": slots, "tables": tables, "cap": cap, "score": plan.score,
             "greedy_score": plan.greedy_score}
    with store.transaction():
        event_id = event_store.save_event(store, event, invitees, meetings)
        store.audit("安排洽谈会", f"洽谈会 {event_id}", after={**event, "meetings": len(meetings),
                                                           "firms": len(invitees)})
    return event_id, plan


def record_outcome(store: Store, meeting_id: int, outcome: str, note: str = "") -> int | None:
    """Record a meeting's outcome; 有意向 starts a project at 在谈, 签约 at 签约 (or moves it there). The project id."""
    from matcher.store.firm_edits import firm_row
    from matcher.work import projects

    store.require("招商", "记录洽谈结果")
    if outcome not in OUTCOMES:
        raise EventError(f"洽谈结果只能是 {'/'.join(OUTCOMES)}，收到 {outcome!r}")
    m = event_store.meeting(store, meeting_id)
    if m is None:
        raise EventError(f"没有编号为 {meeting_id} 的会谈")
    event = event_store.get_event(store, m["event_id"])
    assert event is not None
    day = event.get("on_date") or projects.today()
    stage = "签约" if outcome == "签约" else "在谈"
    with store.transaction():
        pid = m.get("project_id")
        if pid:
            if projects.STAGES.index(stage) > projects.STAGES.index(projects.project_detail(store, pid)["stage"]):
                projects.move_project(store, pid, stage, max(day, projects.today()), note=f"洽谈会结果：{outcome}")
        else:
            regions = {(firm_row(store, f) or {}).get("region") for f in (m["buyer_id"], m["supplier_id"])}
            kind = "主城产业溢出" if "西安" in regions else ("咸阳合作示范" if "咸阳" in regions else "链式分工")
            chain = (event.get("chains") or [None])[0]
            pid = projects.add_project(
                store, f"{m['supplier']}—{m['buyer']}供需合作", kind, chain=chain, stage=stage, on_date=day,
                firms=[{"id": m["buyer_id"], "name": m["buyer"]}, {"id": m["supplier_id"], "name": m["supplier"]}],
                notes=f"{event.get('name')} 第 {m['slot']} 时段 {m['table_no']} 号桌：{outcome}",
                origin={"key": f"meeting:{meeting_id}", "event": m["event_id"]})
        event_store.set_outcome(store, meeting_id, outcome, note, pid)
        store.audit("洽谈结果", f"会谈 {meeting_id}", before={"outcome": m.get("outcome")},
                    after={"outcome": outcome, "project": pid})
    return pid


# -- workbooks -------------------------------------------------------------------------------------------------------
MEETING_SHEET_COLUMNS = (Column("slot", "时段", "第几个时段", 6), Column("table_no", "桌号", "", 6),
                         Column("buyer", "需方企业", "提出采购需求的一方", 30),
                         Column("supplier", "供方企业", "可供货的一方", 30),
                         Column("score", "得分", "匹配得分（各部分之和）", 8),
                         Column("parts_text", "得分构成", "", 30), Column("reason", "理由", "匹配理由", 60),
                         Column("outcome", "洽谈结果", "有意向 / 签约", 10))
FIRM_SHEET_COLUMNS = (Column("slot", "时段", "", 6), Column("table_no", "桌号", "", 6),
                      Column("role", "本企业角色", "需方/供方", 10), Column("other", "对接企业", "", 30),
                      Column("score", "得分", "", 8), Column("reason", "理由", "", 60))
INVITE_COLUMNS = (Column("name", "企业名称", "", 30), Column("region", "地区", "", 10),
                  Column("role", "角色", "需方/供方", 8), Column("why", "邀请理由", "", 30),
                  Column("meetings", "会谈场次", "", 8))


def _sheet_name(name: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts (≤ 31 characters, none of []:*?/\\), unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", "", name or "企业")[:28] or "企业"
    out, n = base, 2
    while out in taken or out in ("对接日程", "封面"):
        out = f"{base[:26]}{n}"
        n += 1
    taken.add(out)
    return out


def _parts_text(parts: dict[str, float]) -> str:
    from matcher.work.export import parts_text

    return parts_text(parts)


def export_schedule(store: Store, event_id: int, path: str | os.PathLike[str]) -> Path:
    """The 对接日程 workbook: one row per meeting, then one sheet per firm with its own schedule."""
    event = event_store.get_event(store, event_id)
    if event is None:
        raise EventError(f"没有编号为 {event_id} 的洽谈会")
    ms = event_store.meetings(store, event_id)
    rows = [dict(m, parts_text=_parts_text(m["parts"])) for m in ms]
    per_firm: dict[str, list[dict[str, Any]]] = {}
    for m in ms:
        for role, me, other in (("需方", "buyer", "supplier"), ("供方", "supplier", "buyer")):
            per_firm.setdefault(m[me], []).append({"slot": m["slot"], "table_no": m["table_no"], "role": role,
                                                   "other": m[other], "score": m["score"], "reason": m["reason"]})
    taken: set[str] = set()
    sheets = [Sheet("对接日程", MEETING_SHEET_COLUMNS)]
    data: dict[str, Any] = {"对接日程": rows}
    for firm in sorted(per_firm):
        name = _sheet_name(firm, taken)
        sheets.append(Sheet(name, FIRM_SHEET_COLUMNS))
        data[name] = sorted(per_firm[firm], key=lambda r: r["slot"])
    spec = ListSpec("schedule", "对接日程", "洽谈会一对一供需对接安排：每行一场会谈；其后每家企业一张自己的日程表。", tuple(sheets))
    cover = Cover(f"{event['name']} 对接日程", spec.purpose, "、".join(event["chains"]),
                  [("日期", event.get("on_date")), ("地点", event.get("venue") or ""),
                   ("时段 × 桌数", f"{event['slots']} × {event['tables']}"), ("每家企业会谈上限", event.get("cap")),
                   ("会谈场数", len(ms)), ("总得分（指派求解）", event.get("score")),
                   ("总得分（贪心基线）", event.get("greedy_score"))])
    return write_xlsx(path, spec, data, cover)


def export_invitations(store: Store, event_id: int, path: str | os.PathLike[str]) -> Path:
    """The invitation list: each invited firm, its region, side, why it is invited and how many meetings it has."""
    event = event_store.get_event(store, event_id)
    if event is None:
        raise EventError(f"没有编号为 {event_id} 的洽谈会")
    counts: dict[int, int] = {}
    for m in event_store.meetings(store, event_id):
        for f in (m["buyer_id"], m["supplier_id"]):
            counts[f] = counts.get(f, 0) + 1
    rows = [dict(i, meetings=counts.get(i["firm_id"], 0)) for i in event_store.invitees(store, event_id)]
    spec = ListSpec("invitations", "邀请名单", "洽谈会拟邀请企业：产业链上的本地企业、溢出清单企业及其最佳对接企业。",
                    (Sheet("邀请名单", INVITE_COLUMNS),))
    cover = Cover(f"{event['name']} 邀请名单", spec.purpose, "、".join(event["chains"]),
                  [("日期", event.get("on_date")), ("地点", event.get("venue") or ""), ("企业数", len(rows))])
    return write_xlsx(path, spec, {"邀请名单": rows}, cover)


def schedule_rows(store: Store, event_id: int) -> list[dict[str, Any]]:
    """The event's schedule as plain rows, by slot and table: meeting number (for recording its outcome), slot (时段),
    table (桌号), demand firm (需方 ``buyer``), supply firm (供方 ``supplier``), score and reason."""
    return [{"meeting": m["id"], "slot": m["slot"], "table": m["table_no"], "buyer": m["buyer"],
             "supplier": m["supplier"], "score": m["score"], "reason": m["reason"]}
            for m in event_store.meetings(store, event_id)]


def list_events(store: Store) -> list[dict[str, Any]]:
    """Every event with its meeting count, the latest first."""
    return event_store.list_events(store)


def event_detail(store: Store, event_id: int) -> dict[str, Any]:
    """An event with its invitees and meetings."""
    event = event_store.get_event(store, event_id)
    if event is None:
        raise EventError(f"没有编号为 {event_id} 的洽谈会")
    return {**event, "invitees": event_store.invitees(store, event_id), "meetings": event_store.meetings(store, event_id)}
