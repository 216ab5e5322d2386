"""进度: progress against every target of the plan, by year, new city and chain, as charts with the tables under them."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import XLSX_MIME, frame, get_store, outputs_dir
from matcher.work import projects


def rate_chart(rows: list[dict]) -> alt.Chart:
    """One bar per target: its completion (完成 ÷ 目标), the 100% line marked."""
    df = pd.DataFrame([{"目标": r["name"], "完成率": min(r["rate"] or 0.0, 2.0),
                        "完成": f"{r['actual']:g} / {r['target']:g} {r['unit']}"} for r in rows])
    bars = alt.Chart(df).mark_bar().encode(
        x=alt.X("完成率:Q", axis=alt.Axis(format="%", tickCount=5), scale=alt.Scale(domain=[0, 1.0])),
        y=alt.Y("目标:N", sort=None, title=None, axis=alt.Axis(labelLimit=320)),
        tooltip=["目标", "完成", alt.Tooltip("完成率:Q", format=".0%")])
    text = bars.mark_text(align="left", dx=4).encode(text="完成:N")
    return (bars + text).properties(height=36 * len(rows))


def group_chart(rows: list[dict], key: str, label: str) -> alt.Chart:
    """Project counts per target, grouped by new city or chain."""
    df = pd.DataFrame([{"目标": r["target"], label: r[key], "完成": r["actual"]} for r in rows if r["unit"] == "个"])
    return alt.Chart(df).mark_bar().encode(x=alt.X("完成:Q"), y=alt.Y(f"{label}:N", title=None),
                                           color=alt.Color("目标:N"), tooltip=["目标", label, "完成"])


def targets_editor(year: int) -> None:
    """The targets' values, editable (the plan may be revised); each change audited."""
    store = get_store()
    ts = projects.targets(store)
    with st.form("targets_edit"):
        values = {t["id"]: st.number_input(f"{t['name']}（{t.get('unit') or ''}）", value=float(t["target"] or 0),
                                           min_value=0.0, key=f"tg_{t['id']}") for t in ts}
        ok = st.form_submit_button("保存目标")
    if ok:
        changed = [t for t in ts if float(t["target"] or 0) != values[t["id"]]]
        for t in changed:
            projects.set_target(store, t["id"], values[t["id"]])
        st.session_state["progress_msg"] = f"已保存 {len(changed)} 项目标。"
        st.rerun()
    st.caption("目标来源：" + "；".join(f"{t['name']}——{t.get('source') or '未注明'}（{t.get('confidence') or ''}）"
                                    for t in ts))


def main() -> None:
    """Year, the completion chart and table, breakdowns by new city and chain, the workbook, the targets."""
    st.header("进度")
    store = get_store()
    if msg := st.session_state.pop("progress_msg", None):
        st.success(msg)
    this_year = int(projects.today()[:4])
    year = st.selectbox("年度", list(range(this_year + 1, 2023, -1)), index=1, key="pg_year")
    p = projects.progress(store, year)
    st.subheader(f"{year} 年工作目标完成情况")
    st.altair_chart(rate_chart(p.targets), width="stretch")
    frame([{"目标": t["name"], "口径": t["period"], "完成": t["actual"], "目标值": t["target"], "单位": t["unit"],
            "完成率": f"{t['rate']:.0%}" if t["rate"] is not None else "—", "计入阶段": t.get("stage") or "—"}
           for t in p.targets])
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("按落地新城")
        if p.by_city:
            st.altair_chart(group_chart(p.by_city, "new_city", "落地新城"), width="stretch")
        frame([{"目标": r["target"], "落地新城": r["new_city"], "完成": r["actual"], "单位": r["unit"]} for r in p.by_city])
    with c2:
        st.subheader("按产业链")
        if p.by_chain:
            st.altair_chart(group_chart(p.by_chain, "chain", "产业链"), width="stretch")
        frame([{"目标": r["target"], "产业链": r["chain"], "完成": r["actual"], "单位": r["unit"]} for r in p.by_chain])
    st.subheader("按年度")
    frame([{"目标": r["target"], "年度": r["year"], "完成": r["actual"], "目标值": r["goal"]} for r in p.by_year])
    folder = outputs_dir() / "app"
    folder.mkdir(parents=True, exist_ok=True)
    path = projects.export_progress(store, folder / f"承接工作进度_{year}.xlsx", year)
    st.download_button("下载进度月报（Excel）", path.read_bytes(), file_name=path.name, mime=XLSX_MIME,
                       key="progress_download", type="primary")
    with st.expander("修改工作目标"):
        targets_editor(year)


main()
