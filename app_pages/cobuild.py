"""共建清单: chains × systems × landing parks × local firms and gaps, browsed and downloaded."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.common import (
    REGIONS,
    current_kb,
    derived,
    export_buttons,
    firm_results,
    frame,
    get_store,
    pick,
    table,
)
from matcher import ui
from matcher.knowledge import kb
from matcher.work import export, firms


def main() -> None:
    """Filters, the list and its segment details, then the downloads."""
    st.header("重点产业链共建清单")
    store = get_store()
    data = current_kb()
    c1, c2, c3 = st.columns(3)
    chain = pick(c1.selectbox("产业链", ["全部", *[c["name"] for c in data["chains"]]], key="cb_chain"))
    region = pick(c2.selectbox("统计企业的地区", ["全部", *REGIONS], key="cb_region"))
    focus_only = c3.checkbox("只看西安19条 + 新型显示", value=False, key="cb_focus")
    results, samples = firm_results(), firms.sample_ids(store)
    wanted = ("cobuild", data["version"], chain, region, hash(frozenset(samples)))
    rows, only_samples = derived(results, wanted,
                                 lambda: (export.cobuild_rows(data, results, chain, region),
                                          firms.sample_only_segments(data, results, samples, chain, region)))
    n, main_table, detail_table = derived(results, (*wanted, focus_only), lambda: _tables(rows, focus_only))
    st.caption(f"共 {n} 条产业链；知识库版本 {kb.version(store)}；库内企业 {store.count_firms()} 家。"
               "“缺失环节”为本地暂无企业的环节（补链方向）。")
    if only_samples:
        st.warning("以下环节只有示例企业（不代表本地真实企业，可在“数据导入”页清除示例企业）：" + "；".join(
            f"{c}：{'、'.join(s)}" for c, s in only_samples.items()))
    frame(main_table)
    with st.expander("环节明细"):
        frame(detail_table)
    export_buttons("cobuild", "共建清单", chain, region, "cb_download")


def _tables(rows: dict[str, list[dict[str, Any]]], focus_only: bool) -> tuple[int, Any, Any]:
    """The chains shown (all, or the focus ones), as the list and its segment details are shown: (count, tables)."""
    shown = [r for r in rows["重点产业链共建清单"] if not focus_only or r["focus"]]
    keep = {r["chain"] for r in shown}
    return (len(shown),
            table(ui.first_columns(ui.sheet_records(export.COBUILD.sheets[0], shown),
                                   ["产业链", "缺失环节（补链）", "西咸落地新城", "本地企业数", "本地代表企业"])),
            table(ui.sheet_records(export.COBUILD.sheets[1], [r for r in rows["环节明细"] if r["chain"] in keep])))


main()
