"""批量匹配: upload a list, check it, run the batch with a progress bar, download the workbook, see past runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.common import XLSX_MIME, checked_upload, current_kb, firm_list_uploader, frame, get_store, outputs_dir
from matcher import ui
from matcher.files import safe_filename
from matcher.ingest.importer import ImportFileError
from matcher.store import runs as runs_store
from matcher.work import batch


def run_form(name: str, path: Path, check: dict[str, Any]) -> None:
    """The check's counts and issues, then the button that runs the batch on the good rows."""
    counts = ui.issue_counts(check["issues"])
    st.subheader("检查结果")
    m = st.columns(4)
    m[0].metric("数据行", len(check["table"].rows))
    m[1].metric("待匹配企业", len(check["good"]))
    m[2].metric("拒绝行", counts["rejected"])
    m[3].metric("警告", counts["warning"] + counts["duplicate"])
    if check["issues"]:
        frame(ui.issue_rows(check["issues"]))
    k = st.slider("每类保留条数", 1, 10, 3, key="batch_k")
    if not check["good"]:
        st.warning("没有可匹配的企业。")
    elif st.button(f"开始匹配 {len(check['good'])} 家企业", type="primary", key="batch_go"):
        out = outputs_dir() / f"匹配结果_{safe_filename(Path(name).stem, 60)}_{time.strftime('%Y%m%d-%H%M%S')}.xlsx"
        bar = st.progress(0.0, text="准备中……")
        report = ui.progress_reporter(lambda done, total: bar.progress(
            done / total if total else 1.0, text=f"已匹配 {done} / {total} 家"))
        st.session_state.pop("batch_last", None)  # a new run: the previous run's "已完成" no longer applies
        try:
            result = batch.run_batch(get_store(), path, out, k=k, progress=report)
        except (ImportFileError, batch.BatchError) as exc:
            st.error(str(getattr(exc, "message", exc)))
        else:
            bar.progress(1.0, text=f"完成：{result.matched} 家，用时 {result.elapsed:.1f} 秒")
            st.session_state["batch_last"] = result.run_id


def results_view(run: dict[str, Any], label: str) -> None:
    """One batch's results on screen: per firm its chain, landing place and counterparts first."""
    from matcher.work import export
    from matcher.work.results import run_results

    systems = {s["id"]: s for s in current_kb()["systems"]}
    rows = ui.sheet_records(export.MATCHES.sheets[0], export.summary_rows(run_results(get_store(), run["id"]), systems))
    st.caption(f"{label}：{len(rows)} 家企业。")
    frame(ui.first_columns(rows, ["企业名称", "首选产业链", "环节", "推荐落地载体", "所属新城", "推荐供应商", "推荐客户"]))


def past_runs() -> None:
    """The last run's download, and every batch run with its status, results and workbook."""
    store = get_store()
    last = st.session_state.get("batch_last")
    if last:
        run = runs_store.get_run(store, last)
        if run and run.get("output_path") and Path(run["output_path"]).exists():
            st.success(f"批次 {run['number']} 已完成：匹配 {run.get('done')} 家企业。")
            st.download_button("下载匹配结果（Excel）", Path(run["output_path"]).read_bytes(),
                               file_name=Path(run["output_path"]).name, mime=XLSX_MIME, key="batch_download",
                               type="primary")
    st.subheader("历史批次")
    runs = runs_store.list_runs(store, kind="batch", limit=50)
    frame([{"批次": r["number"],
            "状态": runs_store.STATUS_LABELS.get(r.get("status") or "", r.get("status")),
            "文件": ui.upload_display_name(r.get("input_path")), "行数": r.get("rows"), "企业": r.get("stored"),
            "拒绝": r.get("rejected"), "已匹配": r.get("done"), "知识库版本": r.get("kb_version"),
            "开始": ui.local_time(r.get("started_at")), "结束": ui.local_time(r.get("ended_at"))} for r in runs])
    done = {r["number"]: r for r in runs if r.get("status") == "done"}
    if done:
        chosen = st.selectbox("查看批次结果", list(done), key="batch_view", format_func=lambda n: f"批次 {n}")
        results_view(done[chosen], f"批次 {chosen}")
    ready = {r["number"]: r for r in runs if r.get("output_path") and Path(r["output_path"]).exists()}
    if ready:
        chosen = st.selectbox("下载历史批次的结果", list(ready), key="batch_pick", format_func=lambda n: f"批次 {n}")
        run = ready[chosen]
        st.download_button("下载该批次的匹配结果（Excel）", Path(run["output_path"]).read_bytes(),
                           file_name=Path(run["output_path"]).name, mime=XLSX_MIME, key="batch_past_download")


def main() -> None:
    """Upload and check, run, then the runs so far."""
    st.header("批量匹配")
    uploaded = firm_list_uploader("待匹配企业名单", "batch_file", "名单中的企业不会写入数据库。")
    got = checked_upload(uploaded, "batch_checks")
    if got is not None:
        run_form(*got)
    past_runs()


main()
