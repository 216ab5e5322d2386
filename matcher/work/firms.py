"""Firm management: edit, delete and merge stored firms, undo an import, clear the 示例 firms — each change audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matcher.store import firm_edits
from matcher.store import runs as run_store
from matcher.store.database import Store

# the editable fields in the words the CLI and the app show
FIELD_LABELS = {"name": "企业名称", "uscc": "统一社会信用代码", "region": "所在地区", "district": "区县/园区",
                "description": "主营业务", "products": "主要产品", "needs": "采购需求", "industry": "行业",
                "employees": "从业人数", "revenue": "营业收入（万元）", "registered_capital": "注册资本"}
_NUMERIC = ("employees", "revenue")


class FirmError(ValueError):
    """A firm change that cannot be made; the message says why in Chinese."""


def _firm(store: Store, firm_id: int) -> dict[str, Any]:
    row = firm_edits.firm_row(store, firm_id)
    if row is None:
        raise FirmError(f"没有编号为 {firm_id} 的企业")
    return row


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    """Typed column values from what staff typed (Chinese or column names; empty text clears a field)."""
    from matcher.ingest.importer import _check_uscc

    by_label = {v: k for k, v in FIELD_LABELS.items()}
    out: dict[str, Any] = {}
    for key, value in values.items():
        col = by_label.get(key, key)
        if col not in FIELD_LABELS:
            raise FirmError(f"不能修改字段 {key!r}；可改：{'、'.join(FIELD_LABELS.values())}")
        text = None if value is None else str(value).strip()
        if col == "name" and not text:
            raise FirmError("企业名称不能为空")
        if col in _NUMERIC:
            try:
                out[col] = float(text) if text else None
            except ValueError:
                raise FirmError(f"{FIELD_LABELS[col]}应为数字，收到 {value!r}") from None
        elif col == "uscc":
            code, valid, _ = _check_uscc(text) if text else (None, False, "")
            out.update(uscc=code, uscc_valid=1 if valid else (0 if code else None))
        else:
            out[col] = text or None
    return out


def edit_firm(store: Store, firm_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Change some fields of a firm; the audit trail keeps who, when and the values before and after.

    Args:
        store: the open store.
        firm_id: the firm.
        values: field (column name or its Chinese label) → new value; empty text clears the field.

    Returns:
        The firm after the change.
    """
    store.require("招商", "修改企业信息")
    clean = _clean_values(values)
    with store.transaction():
        before = _firm(store, firm_id)
        changed = {k: v for k, v in clean.items() if before.get(k) != v}
        if changed:
            firm_edits.update_firm(store, firm_id, changed)
            store.audit("修改企业", f"企业 {firm_id}", before={k: before.get(k) for k in changed}, after=changed)
        return _firm(store, firm_id)


def delete_firm(store: Store, firm_id: int) -> dict[str, Any]:
    """Delete a firm (管理 only); its values stay in the audit trail.

    Returns:
        The deleted firm's values.
    """
    store.require("管理", "删除企业")
    with store.transaction():
        before = _firm(store, firm_id)
        firm_edits.delete_firms(store, [firm_id])
        store.audit("删除企业", f"企业 {firm_id}", before=before)
    return before


def merge_firms(store: Store, keep: int, drop: int) -> dict[str, Any]:
    """Merge firm ``drop`` into ``keep`` (管理 only): empty fields of ``keep`` take ``drop``'s values, feedback and list
    entries move over, ``drop`` is deleted.

    Returns:
        The merged firm.
    """
    store.require("管理", "合并企业")
    if keep == drop:
        raise FirmError("不能把企业与自身合并")
    with store.transaction():
        a, b = _firm(store, keep), _firm(store, drop)
        fill = {k: b[k] for k in firm_edits.EDITABLE if a.get(k) in (None, "") and b.get(k) not in (None, "")}
        if a.get("uscc_valid") == 1 and b.get("uscc_valid") == 1 and a.get("uscc") != b.get("uscc"):
            raise FirmError(f"两家企业的统一社会信用代码不同（{a['uscc']} / {b['uscc']}），不是同一家企业，不能合并")
        firm_edits.repoint_firm(store, drop, keep)
        firm_edits.delete_firms(store, [drop])
        if fill:
            firm_edits.update_firm(store, keep, fill)
        after = _firm(store, keep)
        store.audit("合并企业", f"企业 {drop} → 企业 {keep}", before={"kept": a, "merged": b}, after=after)
        return after


@dataclass
class UndoResult:
    """What undoing an import did."""

    run_id: int
    removed: int
    restored: int
    later_runs: list[int]  # the later imports that also changed these firms, by their numbers (导入 N)
    number: int | None = None  # the undone import's number as users know it (导入 N)

    def as_dict(self) -> dict[str, Any]:
        """The result as one JSON object."""
        return {"run": self.number, "run_id": self.run_id, "removed": self.removed, "restored": self.restored,
                "later_runs": self.later_runs}


def undo_import(store: Store, run_id: int, *, force: bool = False) -> UndoResult:
    """Undo one import: the firms it added go, the ones it updated get their earlier values back.

    Args:
        store: the open store.
        run_id: the import run's database id (users name it by its number: `import_run` finds it).
        force: undo even when a later import changed the same firms (their changes to those firms are lost too).

    Raises:
        FirmError: not an import, already undone, or later imports touched the same firms and ``force`` is off.
    """
    store.require("招商", "撤销导入")
    run = run_store.get_run(store, run_id)
    if run is None or run.get("kind") != "import":
        raise FirmError(f"没有这条导入记录（{run_id}）")
    label = run_store.run_label(run)
    if run.get("status") == "undone":
        raise FirmError(f"{label} 已经撤销过")
    changes = firm_edits.import_changes(store, run_id)
    later = [run_store.run_number(store, r) or 0
             for r in firm_edits.later_imports_touching(store, run_id, [c["firm_id"] for c in changes])]
    if later and not force:
        raise FirmError(f"之后的导入（编号 {'、'.join(map(str, later))}）也修改了这些企业；请先撤销它们，"
                        "或确认后强制撤销（--force）")
    added = [c["firm_id"] for c in changes if c["action"] == "inserted"]
    updated = [c for c in changes if c["action"] == "updated"]
    with store.transaction():
        removed = firm_edits.delete_firms(store, added)
        restored = 0
        for c in updated:
            if firm_edits.firm_row(store, c["firm_id"]) is not None:
                firm_edits.restore_firm(store, c["before"])
                restored += 1
        firm_edits.set_run_status(store, run_id, "undone")
        store.audit("撤销导入", label, before={"inserted": added, "updated": [c["firm_id"] for c in updated]},
                    after={"removed": removed, "restored": restored})
    return UndoResult(run_id, removed, restored, later, run.get("number"))


def import_run(store: Store, number: int) -> dict[str, Any]:
    """The import users know by ``number`` (导入 1 is the first import; ``matcher runs`` lists them).

    Raises:
        FirmError: no import has that number.
    """
    run = run_store.run_by_number(store, "import", number)
    if run is None:
        raise FirmError(f"没有编号为 {number} 的导入记录（用 matcher runs --kind import 查看）")
    return run


def remove_samples(store: Store) -> int:
    """Delete every bundled 示例 firm from the database; how many were removed."""
    store.require("管理", "清除示例企业")
    with store.transaction():
        ids = sorted(firm_edits.sample_ids(store))
        removed = firm_edits.delete_firms(store, ids)
        store.audit("清除示例企业", "示例企业", before={"firms": len(ids)}, after={"removed": removed})
    return removed


def sample_count(store: Store) -> int:
    """How many 示例 firms the database holds (0 for a working database)."""
    return firm_edits.count_samples(store)


def sample_ids(store: Store) -> set[int]:
    """The ids of the 示例 firms."""
    return firm_edits.sample_ids(store)


def sample_only_segments(kbd: dict[str, Any], results: list[Any], samples: set[int], chain: str | None = None,
                         region: str | None = None) -> dict[str, list[str]]:
    """Chain segments that have local firms only because of 示例 firms: chain → ``["上游·硅料", ...]``.

    Args:
        kbd: the knowledge base.
        results: the stored firms' results (`FirmMatch`).
        samples: the ids of the 示例 firms.
        chain: only this chain.
        region: only firms of this region.
    """
    from matcher.work.export import cobuild_rows

    if not samples:
        return {}
    full = cobuild_rows(kbd, results, chain, region)["环节明细"]
    real = cobuild_rows(kbd, [r for r in results if r.firm_id not in samples], chain, region)["环节明细"]
    out: dict[str, list[str]] = {}
    for a, b in zip(full, real, strict=True):
        if not a["gap"] and b["gap"]:
            out.setdefault(a["chain"], []).append(f"{a['stage']}·{a['segment']}")
    return out
