"""产业链图谱: one chain's segments (上游 → 中游 → 下游) as a graph, with the stored firms on each and gaps marked."""

from __future__ import annotations

import streamlit as st

from app_pages.common import REGIONS, current_kb, firm_results, frame, get_store, pick
from matcher import ui
from matcher.work import export, firms


def main() -> None:
    """Pick a chain and a region; draw the chain and name its gaps."""
    st.header("产业链图谱")
    data = current_kb()
    chains = sorted(data["chains"], key=lambda c: (not c.get("focus"), c["name"]))
    c1, c2 = st.columns(2)
    name = c1.selectbox("产业链", [c["name"] for c in chains], key="g_chain")
    region = pick(c2.selectbox("统计企业的地区", ["全部", *REGIONS], key="g_region"))
    segs = export.cobuild_rows(data, firm_results(), name, region)["环节明细"]
    chain = next(c for c in chains if c["name"] == name)
    st.graphviz_chart(ui.chain_dot(chain, segs), width="content")
    gaps = [f"{r['stage']}·{r['segment']}" for r in segs if r["gap"]]
    only_samples = firms.sample_only_segments(data, firm_results(), firms.sample_ids(get_store()), name,
                                              region).get(name, [])
    if gaps:
        st.warning("补链缺口（本地暂无企业）：" + "、".join(gaps))
    if only_samples:
        st.warning("以下环节只有示例企业，不代表本地真实企业：" + "、".join(only_samples))
    if not gaps and not only_samples:
        st.success("上中下游各环节本地均有企业。")
    frame(ui.sheet_records(export.COBUILD.sheets[1], segs))


main()
