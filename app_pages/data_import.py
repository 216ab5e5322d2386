"""数据导入: upload a firm list, read the import report, and only then commit it to the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.common import CSV_MIME, checked_upload, firm_list_uploader, frame, get_store
from matcher import ui
from matcher.files import safe_filename
from matcher.ingest.importer import ImportFileError, import_file, report_bytes
from matcher.store.runs import list_runs
from matcher.work import firms


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
    stem = safe_filename(Path(name).stem, 60)
    d1, d2 = st.columns(2)
    d1.download_button("下载被拒绝的行（CSV，可修改后重新导入）", ui.rejected_rows_csv(table, issues),
                       file_name=f"rejected-{stem}.csv", mime=CSV_MIME,
                       disabled=counts["rejected"] + counts["quarantined"] == 0,
                       key="import_rejected")
    d2.download_button("下载完整检查报告（CSV）", report_bytes(issues), file_name=f"report-{stem}.csv", mime=CSV_MIME,
                       key="import_report")


def undo_and_samples() -> None:
    """Undo an earlier import, and clear the 示例 firms from this database."""
    store = get_store()
    imports = [r for r in list_runs(store, kind="import", limit=50) if r.get("status") != "undone"]
    with st.expander("撤销一次导入"):
        if not imports:
            st.caption("（没有可撤销的导入）")
        else:
            by_number = {r["number"]: r for r in imports}
            labels = {n: f"导入 {n}：{ui.upload_display_name(r.get('input_path'))}，"
                         f"{ui.local_time(r.get('started_at'))}，保存 {r.get('stored') or 0} 家" for n, r in by_number.items()}
            number = st.selectbox("导入记录", list(labels), format_func=lambda n: labels[n], key="undo_run")
            st.caption("撤销后，这次导入新增的企业被删除，被它更新的企业恢复为导入前的值。")
            if st.button("撤销这次导入", key="undo_confirm"):
                try:
                    res = firms.undo_import(store, by_number[number]["id"], force=True)
                except (firms.FirmError, PermissionError) as exc:
                    st.error(f"未撤销：{exc}")
                else:
                    st.success(f"已撤销导入 {number}：删除新增企业 {res.removed} 家，恢复被更新的企业 {res.restored} 家。")
    n = firms.sample_count(store)
    if n:
        st.warning(f"本数据库含 {n} 家示例企业（演示用，并非真实企业）。")
        if st.button(f"清除 {n} 家示例企业", key="samples_remove"):
            try:
                removed = firms.remove_samples(store)
            except PermissionError as exc:
                st.error(str(exc))
            else:
                st.success(f"已清除示例企业 {removed} 家；库内还有企业 {store.count_firms()} 家。")


def main() -> None:
    """Upload, check, report; import on confirmation, once per file."""
    st.header("数据导入")
    store = get_store()
    st.caption(f"数据库：{store.path}　已有企业 {store.count_firms()} 家。先检查，确认后才写入数据库。")
    undo_and_samples()
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
