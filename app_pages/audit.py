"""审计记录: every change — who, when (local time), what, before and after — read from the append-only trail."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app_pages.common import frame, get_store
from matcher.store.audit import entries, since_utc


def _short(value: Any, limit: int = 300) -> str:
    """A before/after value as one line of JSON, shortened for the table."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "……"


def main() -> None:
    """Filter by user, action and start date; the newest changes first."""
    st.header("审计记录")
    st.caption("每一次修改（导入、知识库修改、匹配反馈、批量匹配、用户变更、恢复备份……）都记录在此，只能追加，不能修改或删除。")
    c1, c2, c3, c4 = st.columns(4)
    user = c1.text_input("用户", key="au_user").strip() or None
    action = c2.text_input("操作（开头）", key="au_action").strip() or None
    day = c3.date_input("起始日期", value=None, key="au_since")
    limit = c4.number_input("最多条数", min_value=10, max_value=5000, value=200, step=50, key="au_limit")
    rows = entries(get_store(), user=user, action=action, since=since_utc(day.isoformat()) if day else None,
                   limit=int(limit))
    st.caption(f"共 {len(rows)} 条（最新的在前）")
    frame([{"时间": r["at_local"], "用户": r["user"], "操作": r["action"], "对象": r.get("target") or "",
            "修改前": _short(r["before"]), "修改后": _short(r["after"]), "说明": r.get("note") or ""} for r in rows])


main()
