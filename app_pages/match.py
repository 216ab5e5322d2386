"""智能匹配: one firm (typed or stored) → chains, industries, parks and counterparts, with reasons and feedback."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import streamlit as st

from app_pages.common import (
    REGIONS,
    current_kb,
    frame,
    get_matcher,
    get_store,
    map_chart,
    partial_run,
    pick,
    position_rows,
)
from matcher import ui
from matcher.match.reasons import part_labels
from matcher.match.results import Filters
from matcher.store import firms as firm_store
from matcher.store.database import FEEDBACK_VERDICTS
from matcher.work import geo, projects

FILTER_LABELS = {"region": "地区", "system": "体系", "chain": "产业链", "park": "园区"}


def filters_form(prefix: str, data: dict[str, Any]) -> dict[str, str | None]:
    """Region / system / chain / park pickers; ``None`` means no filter."""
    c = st.columns(4)
    region = c[0].selectbox("地区", ["全部", *REGIONS], key=f"{prefix}_region")
    systems = {s["id"]: s["name"] for s in data["systems"]}
    system = c[1].selectbox("产业体系", ["全部", *systems], key=f"{prefix}_system",
                            format_func=lambda x: systems.get(x, x))
    chain = c[2].selectbox("产业链", ["全部", *[x["name"] for x in data["chains"]]], key=f"{prefix}_chain")
    park = c[3].selectbox("园区/新城", ["全部", *[p["name"] for p in data["parks"]]], key=f"{prefix}_park")
    return {"region": pick(region), "system": pick(system), "chain": pick(chain), "park": pick(park)}


@st.fragment
def hits_view(hits: list[Any], ctx: dict[str, Any], kind: str) -> None:
    """Ranked hits: title, score bar split into parts, reason, feedback control and the feedback given so far.

    A fragment: a feedback click reruns only this list of hits, not the whole page of results (some 30 hits: a
    whole run cost many times more).
    """
    with partial_run():
        if not hits:
            st.caption("（无）")
            return
        scale = max(1.0, max(h.score for h in hits))
        for n, h in enumerate(hits, start=1):
            with st.container(border=True):
                d = h.data or {}
                seg = f"　{d.get('stage')}·{d.get('segment')}" if kind == "chain" and d.get("segment") else ""
                where = f"　{d.get('region')}" if kind in ("supplier", "customer") and d.get("region") else ""
                st.markdown(f"**{n}. {h.label}**{seg}{where}")
                st.html(ui.score_bar_html(h.score, h.parts, part_labels(kind), scale=scale))
                st.markdown(h.reason)
                feedback_row(h, ctx, kind)


FEEDBACK_PICK = "_feedback_pick"  # (control key, verdict) of the last feedback click, until its row records it


def feedback_row(hit: Any, ctx: dict[str, Any], kind: str) -> None:
    """有效 / 无效 / 已对接 / 已签约 (one control per hit); a click is stored with time and shown at once.

    One segmented control instead of four buttons: a page of some 30 hits sent half as many elements.
    """
    key = f"fb_{kind}_{hit.target}"
    st.segmented_control("记录反馈", FEEDBACK_VERDICTS, key=key, format_func=verdict_label, on_change=_picked,
                         args=(key,), label_visibility="collapsed")
    pick = st.session_state.get(FEEDBACK_PICK)
    if pick and pick[0] == key:
        del st.session_state[FEEDBACK_PICK]
        if pick[1] in FEEDBACK_VERDICTS:
            record_feedback(hit, ctx, kind, pick[1])
    summary = ui.feedback_summary(ctx["feedback"], kind, str(hit.target))
    if summary:
        st.caption(f"已有反馈：{summary}")


def verdict_label(verdict: str) -> str:
    """A verdict as its option shows it: icon and word."""
    icon = ui.VERDICT_ICONS.get(verdict)
    return f"{icon} {verdict}" if icon else verdict


def _picked(key: str) -> None:
    """A feedback control was clicked: keep the verdict for its row and clear the control (every click is one mark)."""
    st.session_state[FEEDBACK_PICK] = (key, st.session_state.get(key))
    st.session_state[key] = None


def record_feedback(hit: Any, ctx: dict[str, Any], kind: str, verdict: str) -> None:
    """Store one mark on a hit of the answer shown, say so; 已签约 also starts a project in the pipeline (项目库)."""
    store, firm_id = ctx["store"], ctx["firm_id"]
    fid = store.add_feedback(kind=kind, target=str(hit.target), verdict=verdict, firm_id=firm_id,
                             query=None if firm_id is not None else ctx["query"])
    ctx["feedback"] = feedback_for(store, firm_id, ctx["query"])
    st.toast(f"已记录反馈：{hit.label} — {verdict}")
    if verdict == "已签约":
        mark = {"id": fid, "kind": kind, "target": str(hit.target), "verdict": verdict, "query": ctx["query"]}
        pid = projects.project_from_feedback(store, mark, ctx.get("firm"), ctx.get("best"))
        st.toast(f"已在项目库中生成项目 {pid}（阶段：签约）")


@st.fragment
def map_panel(parks: list[Any], firm: dict[str, Any] | None) -> None:
    """Where the recommended landing places are, and where the firm is now, drawn when the panel is opened.

    A fragment with a panel that tracks whether it is open: opening it reruns only this panel, and a page run with
    the panel closed does not draw the map.
    """
    with partial_run():
        panel = st.expander("地图：推荐落地位置与企业现址（位置为约数）", expanded=False, key="q_map", on_change="rerun")
        with panel:
            if panel.open:
                highlight = [h.target for h in parks if (h.data or {}).get("new_city")][:3]
                points = geo.map_points(current_kb(), highlight, firm)
                st.vega_lite_chart(map_chart(points), width="stretch")
                st.caption("位置均为约数（离线示意）；推荐落地位置与企业现址的来源：")
                frame(position_rows([p for p in points if p["highlight"]]))


def feedback_for(store: Any, firm_id: int | None, query: str | None) -> list[dict[str, Any]]:
    """The feedback given on a stored firm's matches, or on a typed query's."""
    return store.feedback_for(firm_id=firm_id) if firm_id is not None else store.feedback_for(query=query)


def short(text: str | None, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with …… when cut."""
    t = text or ""
    return t if len(t) <= limit else t[:limit] + "……"


def ask() -> None:
    """The query form: a typed description or a stored firm, filters and how many per kind; remembers the request."""
    store = get_store()
    mode = st.radio("查询方式", ["输入企业描述", "选择库内企业"], horizontal=True, key="q_mode",
                    label_visibility="collapsed")
    query: Any = None
    if mode == "输入企业描述":
        text = st.text_area("企业描述", key="q_text", height=90,
                            placeholder="例：主营单晶硅片和光伏组件，计划扩产，需要多晶硅料和光伏玻璃")
        query = text.strip() or None
    else:
        name = st.text_input("按企业名称查找", key="q_find", placeholder="输入名称中的几个字")
        firms = firm_store.find_firms(store, name, limit=200)
        if not firms:
            st.caption("没有找到库内企业；请先在“数据导入”页导入企业名单。" if not store.count_firms() else "没有匹配的名称。")
        else:
            labels = {f["id"]: f"{f['name']}（{f.get('region') or '地区不详'}）" for f in firms}
            picked = st.selectbox("库内企业", list(labels), format_func=lambda i: labels[i], key="q_firm")
            query = int(picked) if picked is not None else None
    with st.expander("筛选条件", expanded=False):
        filters = filters_form("q", current_kb())
        k = st.slider("每类显示条数", 3, 10, 5, key="q_k")
    if st.button("开始匹配", type="primary", key="match_go"):
        if query is None:
            st.warning("请先输入企业描述，或选择一家库内企业。")
        else:
            st.session_state["match_request"] = {"query": query, "filters": filters, "k": k}


def understood(res: Any, req: dict[str, Any]) -> None:
    """识别为：… — what the query was read as; the officer can correct the fields and match again on them."""
    q = res.query
    if q is None:
        return
    st.info(f"识别为：{q.summary() or '（未识别出产品或需求，按全文匹配）'}")
    panel = st.expander("修改识别结果后重新匹配", expanded=False, key="q_fix_open", on_change="rerun")
    with panel:
        if not panel.open:  # the form is drawn when the panel is opened
            return
        with st.form("q_fix"):
            tag = hashlib.sha1(q.text.encode()).hexdigest()[:8]  # fields start from each new query's reading
            name = st.text_input("企业名称", value=q.name, key=f"fix_name_{tag}")
            products = st.text_area("主营产品/业务（决定所属产业链）", value="、".join(q.products) or q.business, height=70,
                                    key=f"fix_products_{tag}")
            needs = st.text_area("采购需求/配套需求（用于找供应商）", value="、".join(q.needs), height=70, key=f"fix_needs_{tag}")
            where = st.text_input("现所在地", value=q.location, key=f"fix_where_{tag}")
            target = st.text_input("意向落地（计划去的新城/园区）", value=q.target, key=f"fix_target_{tag}")
            if st.form_submit_button("按修改后的内容重新匹配"):
                fixed = {"name": name, "products": products, "needs": needs, "district": where, "target": target,
                         "description": "；".join(x for x in (q.business if q.products else "", "、".join(q.special)) if x)}
                st.session_state["match_request"] = dict(req, query=fixed)
                st.rerun()


def main() -> None:
    """Ask, then show the remembered request's answer section by section."""
    st.header("智能匹配")
    ask()
    req = st.session_state.get("match_request")
    if not req:
        st.caption("输入企业的主营业务、产品或需求（或选择库内企业），点击“开始匹配”。")
        return
    store = get_store()
    matcher = get_matcher()  # loading the model and indexes is not part of the time shown
    kept = st.session_state.get("_match_shown")
    if kept and kept["request"] is req:
        # The same request (a feedback click, a return to the page): the answer the officer is looking at, so a
        # mark lands on the hit that was clicked even when a newer index was switched to in between.
        res, elapsed = kept["result"], kept["seconds"]
    else:
        started = time.perf_counter()
        res = matcher.match(req["query"], filters=Filters(**req["filters"]), k=req["k"], store=store)
        elapsed = time.perf_counter() - started
        kept = {"request": req, "result": res, "seconds": elapsed, "build": matcher.build_key_}
        st.session_state["_match_shown"] = kept
    st.session_state["match_seconds"] = elapsed
    firm_id = (res.firm or {}).get("id")
    who = (res.firm or {}).get("name") or short(res.query_text, 60)
    shown = "，".join(f"{FILTER_LABELS[k]}：{v}" for k, v in req["filters"].items() if v)
    st.caption(f"查询：{who}　用时 {elapsed:.2f} 秒" + (f"　筛选：{shown}" if shown else ""))
    if kept["build"] != matcher.build_key_:
        st.caption("索引已更新：以上结果来自更新前的索引，再次点击“开始匹配”即按最新数据匹配。")
    if res.firm and res.firm.get("uscc_valid") == 0:
        twin = firm_id in store.invalid_twins()
        st.warning(f"该企业的统一社会信用代码 {res.firm.get('uscc')} 校验位不符（GB 32100-2015），请核对原始名单。"
                   + ("库内另有同名且代码有效的企业，本条不会作为供需对接对象推荐。" if twin else ""))

    understood(res, req)
    best_park = res.parks[0] if res.parks else None
    ctx = {"store": store, "firm_id": firm_id, "query": res.query_text, "firm": res.firm,
           "feedback": feedback_for(store, firm_id, res.query_text),
           "best": {"chain": res.chains[0].target if res.chains and not res.none else None,
                    "park": best_park.target if best_park else None,
                    "new_city": (best_park.data or {}).get("new_city") if best_park else None}}
    st.subheader("所属重点产业链")
    if res.none:
        st.warning(f"该企业不属于任何重点产业链（判断概率 {res.none_prob:.0%}）。行业小类、落地载体和对接企业仍列在下面供参考。")
    if res.chains:
        hits_view(res.chains, ctx, "chain")
    elif res.nearest:
        st.caption("最接近的重点产业链（证据不足以判定归属）：")
        hits_view(res.nearest, ctx, "chain")
    if res.systems:
        with st.expander("在各产业体系中的归属", expanded=True):
            frame([{"产业体系": s["system"], "条目": it["item"], "产业链": it.get("chain") or "",
                    "得分": None if it.get("score") is None else round(float(it["score"]), 3)}
                   for s in res.systems for it in s.get("items") or []])
    for pair in ((("国民经济行业小类（GB/T 4754-2017）", res.industries, "industry"),
                  ("推荐落地新城/园区", res.parks, "park")),
                 (("推荐供应商（上游）", res.suppliers, "supplier"), ("推荐客户（下游）", res.customers, "customer"))):
        for col, (title, hits, kind) in zip(st.columns(2), pair, strict=True):
            with col:
                st.subheader(title)
                hits_view(hits, ctx, kind)
        if pair[1][2] == "park":  # after the landing places: where they are, and where the firm is now
            map_panel(res.parks, res.firm)
    if res.peers:  # shown when opened (the panel tracks whether it is open): a closed panel costs the page nothing
        panel = st.expander(f"同行企业（产品相同或相近，{len(res.peers)} 家，不作为供应商或客户）", key="q_peers",
                            on_change="rerun")
        with panel:
            if panel.open:
                hits_view(res.peers, ctx, "peer")


try:
    main()
finally:  # a click on a hit no longer shown (the page changed meanwhile) records nothing, now or later
    st.session_state.pop(FEEDBACK_PICK, None)
