"""地图: 西咸新区's five new cities and their parks (approximate positions, offline), a firm's landing places highlighted."""

from __future__ import annotations

import streamlit as st

from app_pages.common import current_kb, frame, get_matcher, get_store, map_chart
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
    st.altair_chart(map_chart(points), width="stretch")
    st.caption("位置均为约数（离线示意，不作测绘用途）。" + geo.map_data()["source"])
    if highlight:
        st.success("推荐落地：" + "、".join(highlight))
    frame([{"名称": p["name"], "类型": p["kind"], "所属新城": p.get("new_city") or "", "推荐": "是" if p["highlight"] else "",
            "位置": p["position"]} for p in points])


main()
