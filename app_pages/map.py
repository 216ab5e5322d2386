"""地图: 西咸新区's five new cities and their parks (approximate positions, offline), a firm's landing places highlighted."""

from __future__ import annotations

import streamlit as st

from app_pages.common import current_kb, frame, get_matcher, get_store, map_chart, position_rows
from matcher.store.firms import find_firms
from matcher.work import geo


def main() -> None:
    """Pick a stored firm (optional): its current place and its recommended landing places are drawn highlighted."""
    st.header("地图")
    store = get_store()
    kbd = current_kb()
    text = st.text_input("按名称查找库内企业（可不填，只看新城与园区）", key="map_find")
    firm, highlight = None, []
    if text:
        found = find_firms(store, text, limit=50)
        labels = {f["id"]: f"{f['name']}（{f.get('region') or '地区不详'}）" for f in found}
        picked = st.selectbox("企业", list(labels), format_func=lambda i: labels[i], key="map_firm") if found else None
        if picked is not None:
            res = get_matcher().match(int(picked), store=store)
            firm = res.firm
            highlight = [h.target for h in res.parks if (h.data or {}).get("new_city")][:3]
    points = geo.map_points(kbd, highlight, firm)
    st.vega_lite_chart(map_chart(points), width="stretch")
    st.caption("位置均为约数（离线示意，不作测绘用途）。每个位置的来源与可信度见下表：没有公开坐标出处的写明如何估计，"
               "可信度为待核实。新城与园区的位置在知识库（园区的 position）中，可在“知识库”页修改。")
    if highlight:
        st.success("推荐落地：" + "、".join(highlight))
    frame(position_rows(points))


main()
