"""项目库: add projects, move them from 谋划 to 投产 (each move dated and kept), browse and download the pipeline."""

from __future__ import annotations

import streamlit as st

from app_pages.common import XLSX_MIME, current_kb, frame, get_store, outputs_dir
from matcher.work import projects

# the columns officers need first, then the rest
SHOWN = (("name", "项目名称"), ("stage", "阶段"), ("new_city", "落地新城"), ("chain", "产业链"), ("kind", "类型"),
         ("investment", "投资（亿元）"), ("park", "落地园区"), ("firms_text", "涉及企业"), ("owner", "负责人"),
         ("history", "阶段历程"), ("id", "编号"))


def add_form() -> None:
    """A new project: name, type, chain, landing place, investment, first stage and its date."""
    store = get_store()
    chains = [c["name"] for c in current_kb()["chains"]]
    with st.form("project_add", clear_on_submit=True):
        c1, c2 = st.columns(2)
        name = c1.text_input("项目名称", key="pa_name")
        kind = c2.selectbox("项目类型", projects.KINDS, key="pa_kind")
        chain = c1.selectbox("产业链", chains, index=None, placeholder="选择产业链", key="pa_chain")
        new_city = c2.selectbox("落地新城", projects.NEW_CITIES, index=None, placeholder="选择新城", key="pa_city")
        park = c1.text_input("落地园区", key="pa_park")
        investment = c2.number_input("总投资（亿元）", min_value=0.0, step=0.5, key="pa_money")
        stage = c1.selectbox("起始阶段", projects.STAGES, key="pa_stage")
        day = c2.date_input("起始日期", key="pa_date")
        owner = c1.text_input("负责人", key="pa_owner")
        notes = c2.text_input("备注", key="pa_notes")
        ok = st.form_submit_button("新建项目", type="primary")
    if ok:
        try:
            pid = projects.add_project(store, name, kind, chain=chain, new_city=new_city, park=park,
                                       investment=investment or None, stage=stage, on_date=day, owner=owner,
                                       notes=notes)
        except (projects.ProjectError, PermissionError) as exc:
            st.error(f"未新建：{exc}")
        else:
            st.session_state["projects_msg"] = f"已新建项目 {pid}：{name}。"
            st.rerun()


def move_form(rows: list[dict]) -> None:
    """Move one project to a new stage on a date."""
    store = get_store()
    labels = {r["id"]: f"{r['name']}（{r['stage']}）" for r in rows}
    with st.form("project_move"):
        c1, c2, c3 = st.columns(3)
        pid = c1.selectbox("项目", list(labels), format_func=lambda i: labels[i], key="pm_project")
        stage = c2.selectbox("新阶段", projects.STAGES, index=3, key="pm_stage")
        day = c3.date_input("日期", key="pm_date")
        note = st.text_input("说明", key="pm_note")
        ok = st.form_submit_button("变更阶段", type="primary")
    if ok:
        try:
            projects.move_project(store, int(pid), stage, day, note)
        except (projects.ProjectError, PermissionError) as exc:
            st.error(f"未变更：{exc}")
        else:
            st.session_state["projects_msg"] = f"项目“{labels[pid].split('（')[0]}”已进入“{stage}”阶段。"
            st.rerun()


def main() -> None:
    """The pipeline table (key columns first), the move form, the add form, the download."""
    st.header("项目库")
    store = get_store()
    if msg := st.session_state.pop("projects_msg", None):
        st.success(msg)
    c1, c2 = st.columns(2)
    kind = c1.selectbox("类型", ["全部", *projects.KINDS], key="pl_kind")
    stage = c2.selectbox("阶段", ["全部", *projects.STAGES], key="pl_stage")
    rows = projects.project_rows(store, projects.list_projects(
        store, kind=None if kind == "全部" else kind, stage=None if stage == "全部" else stage))
    st.caption(f"{len(rows)} 个项目。阶段：{' → '.join(projects.STAGES)}；每次变动都留有日期，不覆盖以前的记录。")
    frame([{label: r.get(key) if r.get(key) is not None else "" for key, label in SHOWN} for r in rows])
    if rows:
        st.subheader("变更阶段")
        move_form(rows)
    with st.expander("新建项目", expanded=not rows):
        add_form()
    if rows:
        folder = outputs_dir() / "app"
        folder.mkdir(parents=True, exist_ok=True)
        path = projects.export_projects(store, folder / "项目库.xlsx")
        st.download_button("下载项目库（Excel）", path.read_bytes(), file_name=f"项目库_{projects.today()}.xlsx",
                           mime=XLSX_MIME, key="projects_download")


main()
