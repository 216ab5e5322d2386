"""The plan's two living lists (§7): 动态承接主城区产业溢出企业信息清单 and 主城区企业对外投资清单.

The spillover list holds, per main-city firm, where it is now, its chain and segment and its intended landing place
(filled from matching, editable), the kind of spillover, its needs, and the follow-up state. Feedback marks and
project stages move its 对接状态 forward. The outward-investment list flags investments that went outside the region
although a 西咸 park leads that chain: the 'could have landed here' list.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from matcher.ingest.importer import read_table
from matcher.knowledge.regions import parse_region
from matcher.store import firm_edits
from matcher.store import lists as list_store
from matcher.store import projects as project_store
from matcher.store.database import Store
from matcher.store.firms import FirmIndex
from matcher.work.export import Column, Cover, ListSpec, Sheet, write_xlsx

SPILL_TYPES = ("扩产", "迁建", "新设分支", "研发成果转化")
STATUSES = ("未对接", "已对接", "在谈", "已签约", "已落地")
LOCAL = ("西安", "咸阳", "西咸新区")

# the spillover list in the plan's terms: column → header (the workbook, the import and the app share them)
SPILL_SHEET = Sheet("溢出企业清单", (
    Column("name", "企业名称", "", 30), Column("location", "现所在区/园区", "主城区所在区县或园区", 16),
    Column("chain", "产业链", "由匹配给出，可修改", 16), Column("segment", "环节", "上中下游环节", 16),
    Column("spill_type", "溢出类型", "扩产 / 迁建 / 新设分支 / 研发成果转化", 12),
    Column("land_mu", "用地需求（亩）", "", 10), Column("plant_m2", "厂房需求（㎡）", "", 10),
    Column("power", "电力需求", "", 12), Column("talent", "人才需求", "", 16),
    Column("intended", "意向落地", "由匹配给出（新城/园区），可修改", 20),
    Column("status", "对接状态", "未对接 / 已对接 / 在谈 / 已签约 / 已落地；反馈和项目阶段自动推进", 10),
    Column("owner", "负责人", "", 10), Column("follow_date", "最近跟进日期", "", 12),
    Column("follow_note", "跟进情况", "", 40)))
INVEST_SHEET = Sheet("对外投资清单", (
    Column("flag", "本可落地西咸", "投向区外、而西咸有园区主导该产业链时给出该园区", 30),
    Column("firm", "企业名称", "", 30), Column("destination", "投资去向", "", 20),
    Column("amount", "投资额（亿元）", "", 10), Column("chain", "产业链", "", 16),
    Column("on_date", "投资时间", "", 12), Column("note", "备注", "", 30)))
_SPILL_KEYS = {c.header: c.key for c in SPILL_SHEET.columns}
_INVEST_KEYS = {c.header: c.key for c in INVEST_SHEET.columns}
_NUMBERS = ("land_mu", "plant_m2", "amount")


class ListError(ValueError):
    """A list change that cannot be made; the message says why in Chinese."""


def _status_rank(status: str | None) -> int:
    return STATUSES.index(status) if status in STATUSES else 0


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in _NUMBERS:
            if value in (None, ""):
                out[key] = None
                continue
            try:
                out[key] = float(str(value).replace("亩", "").replace("㎡", "").replace("亿元", "").strip())
            except ValueError:
                raise ListError(f"{key} 应为数字，收到 {value!r}") from None
        elif key == "spill_type" and value and value not in SPILL_TYPES:
            raise ListError(f"溢出类型只能是 {'/'.join(SPILL_TYPES)}，收到 {value!r}")
        elif key == "status" and value and value not in STATUSES:
            raise ListError(f"对接状态只能是 {'/'.join(STATUSES)}，收到 {value!r}")
        else:
            out[key] = None if value in (None, "") else (value.isoformat() if isinstance(value, date) else str(value))
    return out


def from_match(result: Any) -> dict[str, Any]:
    """The list fields that matching fills: chain, segment, intended landing place (from a `MatchResult`)."""
    out: dict[str, Any] = {}
    if result.chains and not result.none:
        top = result.chains[0]
        out["chain"] = top.target
        seg = top.data or {}
        out["segment"] = "·".join(x for x in (seg.get("stage"), seg.get("segment")) if x) or None
    here = [p for p in result.parks if (p.data or {}).get("new_city")]  # landing places inside 西咸新区
    if here:
        p = here[0]
        city = p.data["new_city"]
        out["intended"] = p.target if city == p.target else f"{city}·{p.target}"
    return out


def _read(path: str | os.PathLike[str], sheet: str) -> Any:
    """A list file: the named sheet of a workbook this tool exported (its first sheet is the cover), else the first."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(p, read_only=True)
        names = wb.sheetnames
        wb.close()
        if sheet in names:
            return read_table(p, sheet)
    return read_table(p)


def put_spill(store: Store, firm_id: int, values: dict[str, Any], matched: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add a firm to the spillover list or change its entry; matching fills what staff left empty. Audited.

    Args:
        store: the open store.
        firm_id: the stored firm.
        values: list fields (keys as in `SPILL_SHEET`); empty text clears a field.
        matched: fields from matching (:func:`from_match`), used where the entry has no value yet.
    """
    store.require("招商", "修改溢出企业清单")
    firm = firm_edits.firm_row(store, firm_id)
    if firm is None:
        raise ListError(f"没有编号为 {firm_id} 的企业")
    clean = _clean({k: v for k, v in values.items() if k in list_store.SPILL_COLUMNS})
    with store.transaction():
        before = list_store.spill_entry(store, firm_id)
        merged = dict(clean)
        for key, value in (matched or {}).items():
            if not (before or {}).get(key) and not merged.get(key):
                merged[key] = value
        if before is None:
            merged.setdefault("location", firm.get("district") or firm.get("region"))
            merged.setdefault("status", "未对接")
        list_store.save_spill(store, firm_id, merged)
        after = list_store.spill_entry(store, firm_id)
        store.audit("溢出企业清单", f"企业 {firm_id}", before=before, after=after)
    assert after is not None
    return after


def spill_rows(store: Store, chains: list[str] | None = None) -> list[dict[str, Any]]:
    """The spillover list with each firm's 对接状态 and 最近跟进 moved forward by feedback marks and project stages."""
    rows = list_store.spill_list(store, chains)
    if not rows:
        return []
    by_firm: dict[int, list[tuple[str, str, str]]] = {}  # firm → (status, date, note) events
    for p in project_store.list_projects(store):
        moves = project_store.moves(store, [p["id"]])
        last = moves[-1] if moves else None
        status = {"签约": "已签约", "开工": "已签约", "投产": "已落地", "在谈": "在谈"}.get(p["stage"], "已对接")
        for f in p.get("firms") or []:
            if f.get("id") is not None and last is not None:
                by_firm.setdefault(int(f["id"]), []).append(
                    (status, last["on_date"], f"项目“{p['name']}”{p['stage']}"))
    for r in rows:
        for fb in store.feedback_for(firm_id=r["firm_id"]):
            moved = {"已对接": "已对接", "已签约": "已签约"}.get(fb["verdict"])
            if moved:
                by_firm.setdefault(r["firm_id"], []).append((moved, fb["created_at"][:10], f"匹配反馈：{fb['verdict']}"))
    out = []
    for r in rows:
        row = dict(r)
        for status, day, note in by_firm.get(r["firm_id"], []):
            if _status_rank(status) > _status_rank(row.get("status")):
                row["status"] = status
            if day and day > (row.get("follow_date") or ""):
                row["follow_date"], row["follow_note"] = day, note
        out.append(row)
    return out


def export_spill(store: Store, path: str | os.PathLike[str]) -> Path:
    """The spillover list as a workbook in the plan's terms."""
    spec = ListSpec("spillover", "动态承接主城区产业溢出企业信息清单", "主城区溢出企业的现状、所属产业链与环节、需求、意向落地与跟进情况。",
                    (SPILL_SHEET,))
    rows = spill_rows(store)
    return write_xlsx(path, spec, {SPILL_SHEET.name: rows}, Cover(spec.title, spec.purpose, "全部", [("企业数", len(rows))]))


def import_spill(store: Store, path: str | os.PathLike[str], matcher: Any = None) -> dict[str, int]:
    """Read a spillover list workbook/CSV in the plan's terms; firms not yet stored are added (region 西安).

    Args:
        store: the open store.
        path: the file (headers as in `SPILL_SHEET`; 企业名称 is required).
        matcher: when given, chain, segment and landing place are filled from matching where the file leaves them empty.

    Returns:
        Counts: ``rows``, ``added_firms``, ``entries``.
    """
    table = _read(path, SPILL_SHEET.name)
    headers = [str(h).strip() for h in table.headers]
    if "企业名称" not in headers:
        raise ListError(f"{path}：没有“企业名称”列；列名应为：{'、'.join(c.header for c in SPILL_SHEET.columns)}")
    index = FirmIndex.of(store)
    added = entries = 0
    with store.transaction():
        for row in table.rows:
            cells = {h: str(v or "").strip() for h, v in row.original.items()}
            name = cells.get("企业名称")
            if not name:
                continue
            firm_id = index.find({"name": name})
            if firm_id is None:
                region, district = parse_region(cells.get("现所在区/园区"))
                firm_id = firm_edits.insert_firm(store, {"name": name, "region": region or "西安", "district": district})
                index = FirmIndex.of(store)
                added += 1
            values = {_SPILL_KEYS[h]: v for h, v in cells.items() if h in _SPILL_KEYS and h != "企业名称" and v}
            matched = from_match(matcher.match(firm_id, store=store)) if matcher is not None else None
            put_spill(store, firm_id, values, matched)
            entries += 1
    return {"rows": len(table.rows), "added_firms": added, "entries": entries}


# -- outward investments ---------------------------------------------------------------------------------------------
def lead_parks(kbd: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Chain → the 西咸 parks/new cities that lead it (from the knowledge base)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in kbd.get("parks") or []:
        if p.get("city") != "西咸新区" and not p.get("new_city"):
            continue
        for c in p.get("lead_chains") or []:
            out.setdefault(c, []).append(p)
    return out


def flag(kbd: dict[str, Any], inv: dict[str, Any]) -> str:
    """Why this investment could have landed in 西咸 ('' when it did, or no 西咸 park leads its chain)."""
    region, _ = parse_region(inv.get("destination"))
    if region in LOCAL:
        return ""
    parks = lead_parks(kbd).get(inv.get("chain") or "", [])
    if not parks:
        return ""
    names = "、".join(p["name"] if p["name"] == p.get("new_city") else f"{p['name']}（{p.get('new_city')}）"
                     for p in parks[:3])
    return f"投向区外；西咸新区{names}主导{inv['chain']}产业链"


def add_investment(store: Store, kbd: dict[str, Any], firm: str, destination: str, amount: float | None,
                   chain: str | None, on_date: str | None = None, note: str = "") -> dict[str, Any]:
    """Record one outward investment of a main-city firm; the row with its flag. Audited."""
    from matcher.work.export import resolve_chain

    store.require("招商", "修改对外投资清单")
    if not (firm or "").strip() or not (destination or "").strip():
        raise ListError("企业名称和投资去向不能为空")
    official = resolve_chain(kbd, chain) if chain else None
    firm_id = FirmIndex.of(store).find({"name": firm.strip()})
    values = {"firm_id": firm_id, "firm": firm.strip(), "destination": destination.strip(),
              "amount": _clean({"amount": amount})["amount"], "chain": official, "on_date": on_date, "note": note}
    with store.transaction():
        inv_id = list_store.add_investment(store, values)
        store.audit("对外投资清单", f"对外投资 {inv_id}", after=values)
    return dict(values, id=inv_id, flag=flag(kbd, values))


def investment_rows(store: Store, kbd: dict[str, Any], flagged_only: bool = False) -> list[dict[str, Any]]:
    """The outward-investment list with its 'could have landed here' flags (flagged first)."""
    rows = [dict(r, flag=flag(kbd, r)) for r in list_store.investments(store)]
    rows.sort(key=lambda r: not r["flag"])
    return [r for r in rows if r["flag"]] if flagged_only else rows


def export_investments(store: Store, kbd: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """The outward-investment list as a workbook, flagged rows first."""
    spec = ListSpec("investments", "主城区企业对外投资清单", "主城区企业的对外投资；投向区外而西咸有主导园区的，标明本可落地的园区。",
                    (INVEST_SHEET,))
    rows = investment_rows(store, kbd)
    return write_xlsx(path, spec, {INVEST_SHEET.name: rows},
                      Cover(spec.title, spec.purpose, "全部", [("条数", len(rows)),
                                                             ("本可落地西咸", sum(1 for r in rows if r["flag"]))]))


def import_investments(store: Store, kbd: dict[str, Any], path: str | os.PathLike[str]) -> int:
    """Read outward investments from a workbook/CSV in the list's terms; how many were added."""
    from matcher.work.export import resolve_chain

    table = _read(path, INVEST_SHEET.name)
    headers = [str(h).strip() for h in table.headers]
    if "企业名称" not in headers or "投资去向" not in headers:
        raise ListError(f"{path}：需要“企业名称”和“投资去向”两列")
    n = 0
    seen = {(r["firm"], r["destination"], r.get("chain"), r.get("on_date")) for r in list_store.investments(store)}
    with store.transaction():
        for row in table.rows:
            cells = {_INVEST_KEYS[h.strip()]: str(v or "").strip() for h, v in row.original.items()
                     if h.strip() in _INVEST_KEYS}
            if not cells.get("firm"):
                continue
            chain = resolve_chain(kbd, cells["chain"]) if cells.get("chain") else None
            if (cells["firm"], cells.get("destination"), chain, cells.get("on_date") or None) in seen:
                continue  # the same investment already on the list (a re-imported export)
            amount = _clean({"amount": cells.get("amount")})["amount"]
            add_investment(store, kbd, cells["firm"], cells.get("destination") or "", amount,
                           cells.get("chain") or None, cells.get("on_date") or None, cells.get("note") or "")
            n += 1
    return n
