"""企业管理: find a stored firm, edit its fields, delete it or merge a duplicate into it; each change is audited."""

from __future__ import annotations

import streamlit as st

from app_pages.common import frame, get_store
from matcher import ui
from matcher.store.firm_edits import firm_history, firm_row
from matcher.store.firms import find_firms
from matcher.work import firms


def edit_form(firm_id: int) -> None:
    """The firm's fields as a form with Chinese labels; saving records the change."""
    store = get_store()
    firm = firm_row(store, firm_id)
    if firm is None:
        st.info("该企业已不存在。")
        return
    with st.form(f"firm_edit_{firm_id}"):
        values = {}
        for col, label in firms.FIELD_LABELS.items():
            value = "" if firm.get(col) is None else str(firm[col])
            if col in ("description", "products", "needs"):
                values[col] = st.text_area(label, value, key=f"fe_{firm_id}_{col}")
            else:
                values[col] = st.text_input(label, value, key=f"fe_{firm_id}_{col}")
        saved = st.form_submit_button("保存修改", type="primary")
    if saved:
        try:
            firms.edit_firm(store, firm_id, values)
        except (firms.FirmError, PermissionError) as exc:
            st.error(f"未保存：{exc}")
        else:
            st.session_state["firms_msg"] = f"已保存企业 {firm_id} 的修改。"
            st.rerun()


def main() -> None:
    """Search, pick, edit; delete and merge below; the firm's change history last."""
    st.header("企业管理")
    store = get_store()
    if msg := st.session_state.pop("firms_msg", None):
        st.success(msg)
    text = st.text_input("按名称查找（简体、繁体均可）", key="firms_query")
    rows = find_firms(store, text, limit=200)
    samples = firms.sample_ids(store)
    st.caption(f"找到 {len(rows)} 家（最多显示 200 家）；库内共 {store.count_firms()} 家，其中示例企业 {len(samples)} 家。")
    frame([{"编号": r["id"], "企业名称": r["name"], "地区": r["region"] or "", "区县/园区": r["district"] or "",
            "示例": "是" if r["id"] in samples else ""} for r in rows])
    if not rows:
        return
    labels = {r["id"]: f"{r['name']}（编号 {r['id']}）" for r in rows}
    firm_id = st.selectbox("选择企业", list(labels), format_func=lambda i: labels[i], key="firms_pick")
    edit_form(firm_id)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("删除")
        sure = st.checkbox("确认删除这家企业（内容保留在审计记录中）", key=f"firms_del_ok_{firm_id}")
        if st.button("删除企业", disabled=not sure, key=f"firms_del_{firm_id}"):
            try:
                gone = firms.delete_firm(store, firm_id)
            except (firms.FirmError, PermissionError) as exc:
                st.error(f"未删除：{exc}")
            else:
                st.session_state["firms_msg"] = f"已删除企业 {gone['name']}。"
                st.rerun()
    with c2:
        st.subheader("合并重复企业")
        others = [i for i in labels if i != firm_id]
        drop = st.selectbox("并入当前企业的重复企业", others, format_func=lambda i: labels[i], key=f"firms_drop_{firm_id}",
                            index=None, placeholder="选择重复的企业")
        if st.button("合并", disabled=drop is None, key=f"firms_merge_{firm_id}"):
            try:
                firms.merge_firms(store, firm_id, int(drop))
            except (firms.FirmError, PermissionError) as exc:
                st.error(f"未合并：{exc}")
            else:
                st.session_state["firms_msg"] = f"已把企业 {drop} 并入企业 {firm_id}。"
                st.rerun()
    st.subheader("修改记录")
    history = firm_history(store, firm_id)
    frame([{"时间": ui.local_time(e["at"]), "修改人": e["user"], "操作": e["action"],
            "改前": ui.change_text(e.get("before")), "改后": ui.change_text(e.get("after"))} for e in history])


main()
