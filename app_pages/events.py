"""洽谈会: plan a chain matchmaking event (invitees, 1:1 meetings by assignment), download its schedule, record outcomes."""

from __future__ import annotations

import streamlit as st

from app_pages.common import XLSX_MIME, current_kb, firm_results, frame, get_matcher, get_store, outputs_dir
from matcher.work import events


def plan_form() -> None:
    """Chains, date, venue, slots × tables and the per-firm cap; planning stores the event."""
    store = get_store()
    chains = sorted(c["name"] for c in current_kb()["chains"])
    with st.form("event_plan"):
        picked = st.multiselect("产业链", chains, key="ev_chains")
        c1, c2, c3, c4 = st.columns(4)
        day = c1.date_input("日期", key="ev_date")
        slots = c2.number_input("时段数", min_value=1, max_value=20, value=4, key="ev_slots")
        tables = c3.number_input("每时段桌数", min_value=1, max_value=50, value=6, key="ev_tables")
        cap = c4.number_input("每家企业会谈上限", min_value=1, max_value=20, value=3, key="ev_cap")
        venue = st.text_input("地点", key="ev_venue")
        ok = st.form_submit_button("生成邀请名单和对接日程", type="primary")
    if not ok:
        return
    if not picked:
        st.warning("请至少选择一条产业链。")
        return
    results = firm_results()
    if not results:
        return
    with st.spinner("正在匹配供需并排定日程……"):
        try:
            event_id, plan = events.plan_event(store, get_matcher(), results, picked, day.isoformat(),
                                               slots=int(slots), tables=int(tables), cap=int(cap), venue=venue)
        except (events.EventError, PermissionError) as exc:
            st.error(f"未安排：{exc}")
            return
    st.session_state["ev_current"] = event_id
    st.session_state["ev_msg"] = (f"已安排洽谈会 {event_id}：邀请企业 {len(plan.invitees)} 家，会谈 {len(plan.meetings)} 场；"
                                  f"总得分 指派求解 {plan.score:.3f} / 贪心基线 {plan.greedy_score:.3f}。")


def show_event(event_id: int) -> None:
    """The event's score against the greedy baseline, its schedule (table first), downloads and outcome form."""
    store = get_store()
    e = events.event_detail(store, event_id)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("会谈场数", len(e["meetings"]))
    m2.metric("邀请企业", len(e["invitees"]))
    m3.metric("总得分（指派求解）", f"{e['score']:.3f}")
    m4.metric("总得分（贪心基线）", f"{e['greedy_score']:.3f}")
    frame([{"时段": m["slot"], "桌号": m["table_no"], "需方企业": m["buyer"], "供方企业": m["supplier"],
            "得分": m["score"], "洽谈结果": m.get("outcome") or "", "理由": m["reason"], "会谈编号": m["id"]}
           for m in e["meetings"]])
    folder = outputs_dir() / "app"
    folder.mkdir(parents=True, exist_ok=True)
    schedule = events.export_schedule(store, event_id, folder / f"对接日程_{event_id}.xlsx")
    invite = events.export_invitations(store, event_id, folder / f"邀请名单_{event_id}.xlsx")
    d1, d2 = st.columns(2)
    d1.download_button("下载对接日程（Excel）", schedule.read_bytes(), file_name=f"对接日程_{e['on_date']}.xlsx",
                       mime=XLSX_MIME, key="ev_schedule", type="primary")
    d2.download_button("下载邀请名单（Excel）", invite.read_bytes(), file_name=f"邀请名单_{e['on_date']}.xlsx",
                       mime=XLSX_MIME, key="ev_invite")
    with st.form("ev_outcome"):
        labels = {m["id"]: f"时段{m['slot']} {m['table_no']}号桌：{m['buyer']} ← {m['supplier']}" for m in e["meetings"]}
        c1, c2 = st.columns([3, 1])
        mid = c1.selectbox("会谈", list(labels), format_func=lambda i: labels[i], key="ev_meeting")
        outcome = c2.selectbox("结果", events.OUTCOMES, key="ev_result")
        ok = st.form_submit_button("记录结果（进入项目库）")
    if ok and mid is not None:
        try:
            pid = events.record_outcome(store, int(mid), outcome)
        except (events.EventError, PermissionError) as exc:
            st.error(f"未记录：{exc}")
        else:
            st.session_state["ev_msg"] = f"已记录结果“{outcome}”，项目库项目 {pid}。"
            st.rerun()


def main() -> None:
    """Plan a new event, or open an earlier one."""
    st.header("洽谈会")
    store = get_store()
    st.caption("按产业链邀请本地企业、溢出清单企业及其最佳供需对接企业，用指派算法排定一对一会谈（每时段每家企业只参加一场，"
               "总得分最高），并与贪心排法对比。")
    st.subheader("安排新的洽谈会")
    plan_form()
    if msg := st.session_state.pop("ev_msg", None):
        st.success(msg)
    past = events.list_events(store)
    if not past:
        return
    st.subheader("已安排的洽谈会")
    labels = {e["id"]: f"{e['on_date']} {e['name']}（{e['meetings']} 场）" for e in past}
    current = st.session_state.get("ev_current")
    event_id = st.selectbox("洽谈会", list(labels), format_func=lambda i: labels[i], key="ev_pick",
                            index=list(labels).index(current) if current in labels else 0)
    show_event(int(event_id))


main()
