"""承接清单: the plan's two living lists — main-city spillover firms, and outward investments that could have landed here."""

from __future__ import annotations

import streamlit as st

from app_pages.common import XLSX_MIME, current_kb, frame, get_matcher, get_store, outputs_dir
from matcher.store.firms import find_firms
from matcher.work import lists


def spill_tab() -> None:
    """The spillover list (key columns first), a form to add or update a firm, the workbook."""
    store = get_store()
    rows = lists.spill_rows(store)
    cols = lists.SPILL_SHEET.columns
    order = ["name", "intended", "chain", "segment", "status", "spill_type", "location", "land_mu", "plant_m2",
             "power", "talent", "owner", "follow_date", "follow_note"]
    headers = {c.key: c.header for c in cols}
    frame([{headers[k]: ("" if r.get(k) is None else r.get(k)) for k in order} for r in rows])
    with st.expander("加入或更新一家企业", expanded=not rows):
        text = st.text_input("按名称查找库内企业（简繁体均可）", key="sp_find")
        found = find_firms(store, text, limit=100) if text else []
        labels = {f["id"]: f"{f['name']}（{f.get('region') or '地区不详'}）" for f in found}
        with st.form("sp_form"):
            firm_id = st.selectbox("企业", list(labels), format_func=lambda i: labels[i], key="sp_firm", index=None,
                                   placeholder="先在上方输入名称查找")
            c1, c2, c3 = st.columns(3)
            kind = c1.selectbox("溢出类型", lists.SPILL_TYPES, key="sp_type")
            land = c2.number_input("用地需求（亩）", min_value=0.0, step=5.0, key="sp_land")
            plant = c3.number_input("厂房需求（㎡）", min_value=0.0, step=500.0, key="sp_plant")
            power = c1.text_input("电力需求", key="sp_power")
            talent = c2.text_input("人才需求", key="sp_talent")
            status = c3.selectbox("对接状态", lists.STATUSES, key="sp_status")
            owner = c1.text_input("负责人", key="sp_owner")
            day = c2.date_input("最近跟进日期", key="sp_day")
            note = c3.text_input("跟进情况", key="sp_note")
            ok = st.form_submit_button("保存（产业链、环节、意向落地由匹配给出）", type="primary")
        if ok:
            if firm_id is None:
                st.warning("请先选择企业。")
            else:
                try:
                    matched = lists.from_match(get_matcher().match(int(firm_id), store=store))
                    lists.put_spill(store, int(firm_id), {"spill_type": kind, "land_mu": land or None,
                                                          "plant_m2": plant or None, "power": power, "talent": talent,
                                                          "status": status, "owner": owner, "follow_date": day,
                                                          "follow_note": note}, matched)
                except (lists.ListError, PermissionError) as exc:
                    st.error(f"未保存：{exc}")
                else:
                    st.session_state["lists_msg"] = f"已保存 {labels[firm_id]} 的清单记录。"
                    st.rerun()
    folder = outputs_dir() / "app"
    folder.mkdir(parents=True, exist_ok=True)
    path = lists.export_spill(store, folder / "溢出企业清单.xlsx")
    st.download_button("下载溢出企业清单（Excel）", path.read_bytes(), file_name=path.name, mime=XLSX_MIME,
                       key="sp_download")


def invest_tab() -> None:
    """The outward investments, the 'could have landed here' ones first, a form to add one, the workbook."""
    store = get_store()
    kbd = current_kb()
    rows = lists.investment_rows(store, kbd)
    flagged = sum(1 for r in rows if r["flag"])
    st.caption(f"{len(rows)} 笔对外投资，其中 {flagged} 笔投向区外、而西咸新区有园区主导该产业链（本可落地西咸）。")
    frame([{c.header: ("" if r.get(c.key) is None else r.get(c.key)) for c in lists.INVEST_SHEET.columns} for r in rows])
    with st.form("inv_form", clear_on_submit=True):
        c1, c2, c3 = st.columns(3)
        firm = c1.text_input("企业名称", key="inv_firm")
        dest = c2.text_input("投资去向", key="inv_dest", placeholder="如 江苏省苏州市")
        amount = c3.number_input("投资额（亿元）", min_value=0.0, step=0.5, key="inv_amount")
        chain = c1.selectbox("产业链", sorted(c["name"] for c in kbd["chains"]), index=None, key="inv_chain")
        day = c2.text_input("投资时间", key="inv_date", placeholder="如 2025-06")
        ok = st.form_submit_button("记录对外投资", type="primary")
    if ok:
        try:
            row = lists.add_investment(store, kbd, firm, dest, amount or None, chain, day or None)
        except (lists.ListError, PermissionError) as exc:
            st.error(f"未保存：{exc}")
        else:
            st.session_state["lists_msg"] = f"已记录：{firm} → {dest}" + (f"（{row['flag']}）" if row["flag"] else "")
            st.rerun()
    folder = outputs_dir() / "app"
    folder.mkdir(parents=True, exist_ok=True)
    path = lists.export_investments(store, kbd, folder / "对外投资清单.xlsx")
    st.download_button("下载对外投资清单（Excel）", path.read_bytes(), file_name=path.name, mime=XLSX_MIME,
                       key="inv_download")


def main() -> None:
    """The two lists in tabs."""
    st.header("承接清单")
    if msg := st.session_state.pop("lists_msg", None):
        st.success(msg)
    t1, t2 = st.tabs(["动态承接主城区产业溢出企业信息清单", "主城区企业对外投资清单"])
    with t1:
        spill_tab()
    with t2:
        invest_tab()


main()
