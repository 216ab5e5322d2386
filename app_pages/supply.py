"""供需对接: each stored firm's supply (供) and demand (需) rows with counterparts, browsed and downloaded."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from app_pages.common import (
    REGIONS,
    current_kb,
    derived,
    export_buttons,
    firm_results,
    frame,
    page_range,
    pick,
    table,
)
from matcher import ui
from matcher.work import export


def main() -> None:
    """Filters (the same ones ``matcher export supply-demand`` applies), the rows, then the downloads."""
    st.header("企业供需对接")
    data = current_kb()
    c1, c2, c3 = st.columns(3)
    chain = pick(c1.selectbox("产业链", ["全部", *[c["name"] for c in data["chains"]]], key="sd_chain"))
    region = pick(c2.selectbox("地区", ["全部", *REGIONS], key="sd_region"))
    role = c3.selectbox("供/需", ["全部", "供", "需"], key="sd_role")
    name = st.text_input("企业名称包含（简繁体均可）", key="sd_name")
    results = firm_results()
    rows, records = derived(results, ("supply-demand", chain, region), lambda: _rows(results, chain, region))
    wanted = ("supply-demand", chain, region, role, name.strip())
    keep = derived(results, (*wanted, "rows"), lambda: [
        i for i, r in enumerate(rows)
        if (role == "全部" or r["role"] == role) and (not name.strip() or ui.name_contains(r.get("name"), name))])
    st.caption(f"{len(keep)} 行（每家企业“供”一行；有采购需求或上游供应商时另有“需”一行）。")
    start, stop = page_range(len(keep), "sd_page")
    frame(derived(results, (*wanted, start, stop), lambda: table([records[i] for i in keep[start:stop]])))
    export_buttons("supply-demand", "供需清单", chain, region, "sd_download")


def _rows(results: list[Any], chain: str | None, region: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The list's rows for the filters (the same filter as ``matcher export``), and as the table shows them."""
    rows = export.supply_demand_rows(export.filter_results(results, chain, region))
    records = ui.sheet_records(export.SUPPLY_DEMAND.sheets[0], rows)
    counterpart = [h for h in (records[0] if records else {}) if re.fullmatch(r"对接(企业|得分)\d+", h)]
    return rows, ui.first_columns(records, ["企业名称", "供/需", *counterpart])


main()
