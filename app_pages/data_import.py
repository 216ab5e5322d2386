"""数据导入: upload a firm list, read the import report, and only then commit it to the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.common import CSV_MIME, checked_upload, firm_list_uploader, frame, get_store
from matcher import ui
from matcher.ingest.importer import ImportFileError, import_file


def report(name: str, check: dict[str, Any]) -> None:
    """The check as counts, the column mapping, the issues, and the rejected rows and report as CSV downloads."""
    table, issues = check["table"], check["issues"]
    counts = ui.issue_counts(issues)
    st.subheader("导入检查报告")
    m = st.columns(5)
    m[0].metric("数据行", len(table.rows))
    m[1].metric("可导入企业", len(check["good"]))
    m[2].metric("拒绝行", counts["rejected"] + counts["quarantined"])
    m[3].metric("合并重复", counts["duplicate"])
    m[4].metric("警告", counts["warning"])
    st.caption(f"格式 {table.format}" + (f"，编码 {table.encoding}" if table.encoding else "")
               + (f"，工作表 {table.sheet}" if table.sheet else "")
               + f"，表头在第 {table.header_row} 行。列对应：{ui.column_mapping(table)}")
    if table.unknown_columns:
        st.caption("未使用的列（原文保留）：" + "、".join(table.unknown_columns))
    if counts["quarantined"]:
        st.warning(f"{counts['quarantined']} 行的企业名称是公式或网址，将被隔离：不作为企业保存，不会出现在检索、清单、"
                   "供需对接和导出中。请在原文件中改正后重新导入。")
    frame(ui.issue_rows(issues))
    stem = ui.safe_name(Path(name).stem)
    d1, d2 = st.columns(2)
    d1.download_button("下载被拒绝的行（CSV，可修改后重新导入）", ui.rejected_rows_csv(table, issues),
                       file_name=f"rejected-{stem}.csv", mime=CSV_MIME,
                       disabled=counts["rejected"] + counts["quarantined"] == 0,
                       key="import_rejected")
    d2.download_button("下载完整检查报告（CSV）", ui.report_csv(issues), file_name=f"report-{stem}.csv", mime=CSV_MIME,
                       key="import_report")


def main() -> None:
    """Upload, check, report; import on confirmation, once per file."""
    st.header("数据导入")
    store = get_store()
    st.caption(f"数据库：{store.path}　已有企业 {store.count_firms()} 家。先检查，确认后才写入数据库。")
    held = store.quarantined()
    if held:
        with st.expander(f"已隔离的行（{len(held)}）：名称是公式或网址，未作为企业保存"):
            frame([{"文件": Path(r["source_file"] or "").name, "行号": r["source_row"], "字段": r["field"],
                    "原因": r["reason"], "值": r["name"]} for r in held])
    uploaded = firm_list_uploader("企业名单", "import_file")
    got = checked_upload(uploaded, "import_previews", "。数据库未改动。")
    if got is None:
        return
    name, path, check = got
    report(name, check)
    good = check["good"]
    if not good:
        st.warning("没有可导入的企业，数据库未改动。")
        return
    imported = st.session_state.setdefault("imported_files", {})
    if str(path) in imported:  # the uploader still holds the file after a confirmed import: do not offer it twice
        st.success(imported[str(path)])
        return
    if st.button(f"确认导入 {len(good)} 家企业", type="primary", key="import_confirm"):
        try:
            with st.spinner(f"正在导入 {len(good)} 家企业……"):
                result = import_file(store, path)
        except ImportFileError as exc:
            st.error(f"文件 {name}：{exc.message}。数据库未改动。")
            return
        msg = (f"已导入 {name}：保存 {result.stored} 家企业（新增 {result.inserted}，更新 {result.updated}），"
               f"拒绝 {result.rejected} 行，合并重复 {result.duplicates} 行。数据库现有企业 {store.count_firms()} 家。"
               "匹配索引将在下次查询时自动更新（需要几十秒）。")
        imported[str(path)] = msg
        st.success(msg)


main()
