"""知识库: read the knowledge base with sources and confidence, edit a field with a reason, see the history."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.common import current_kb, frame, get_store
from matcher import ui
from matcher.knowledge import kb
from matcher.store.database import Store
from matcher.work import geo

WARN = ":orange-badge[:material/warning: {}]"


def sources(entry: dict[str, Any]) -> None:
    """An entry's sources as links, or a visible 待核实 when it has none."""
    src = entry.get("source") or []
    if not src:
        st.markdown(WARN.format("无来源，待核实"))
    for s in src:
        st.markdown(f"- 来源：<{s}>" if str(s).startswith("http") else f"- 来源：{s}")


def conf_line(entry: dict[str, Any]) -> str:
    """The entry's confidence (and date), as a warning badge when it is 待核实."""
    as_of = f"　截至 {entry['as_of']}" if entry.get("as_of") else ""
    text = f"可信度：{ui.confidence_label(entry.get('confidence'))}{as_of}"
    return WARN.format(text) if entry.get("confidence") == "待核实" else text


def systems_tab(data: dict[str, Any]) -> None:
    """One industrial system: status, document, items with their chains, sources."""
    systems = data["systems"]
    labels = {s["id"]: f"{s['name']}（{s.get('region')}）{kb.old_wording_mark(s)}" for s in systems}
    sid = st.selectbox("产业体系", list(labels), format_func=lambda i: labels[i], key="kb_system")
    s = next(x for x in systems if x["id"] == sid)
    st.markdown(f"**{s['name']}**　id `{s['id']}`　{s.get('region')}　"
                f"{'现行' if s.get('status') == 'current' else '已被取代' + (kb.old_wording_mark(s) or '（旧表述）')}")
    st.markdown(conf_line(s))
    if s.get("document"):
        st.markdown(f"文件：{s['document']}")
    if s.get("note"):
        st.caption(s["note"])
    frame([{"条目": it["name"], "上级": it.get("parent") or "", "对应产业链": "、".join(it.get("chains") or []),
            "可信度": ui.confidence_label(it.get("confidence")), "来源": "；".join(it.get("source") or [])}
           for it in s.get("items") or []])
    if not s.get("items"):
        st.markdown(WARN.format("条目内容待核实，尚未录入"))
    sources(s)


def chains_tab(data: dict[str, Any]) -> None:
    """One chain: segments, GB/T classes, systems, landing parks and anchor firms (``kb.chain_relations``)."""
    chains = sorted(data["chains"], key=lambda c: (not c.get("focus"), c["name"]))
    focus = {c["name"] for c in chains if c.get("focus")}
    name = st.selectbox("产业链", [c["name"] for c in chains], key="kb_chain",
                        format_func=lambda n: ("★ " if n in focus else "") + n)
    c = next(x for x in chains if x["name"] == name)
    st.markdown(f"**{c['name']}**" + (f"（又称：{'、'.join(c['aliases'])}）" if c.get("aliases") else ""))
    st.markdown(conf_line(c))
    if c.get("description"):
        st.write(c["description"])
    frame([{"环节": sg.get("stage"), "名称": sg.get("name"), "关键词": "、".join(sg.get("keywords") or []),
            "典型产品": "、".join(sg.get("products") or []),
            "可信度": ui.confidence_label(sg.get("confidence") or c.get("confidence"))}
           for sg in c.get("segments") or []])
    rel = kb.chain_relations(data, c)
    st.markdown("**国民经济行业（GB/T 4754-2017 小类）**：" + "；".join(f"{g['code']} {g['name']}" for g in rel["gb"]))
    if c.get("sei"):
        st.markdown("**战略性新兴产业（2018）**：" + "；".join(c["sei"]))
    st.markdown("**所属产业体系**：" + ("；".join(f"{r['name']}{r['mark']} · {r['path']}" for r in rel["systems"])
                                      or "（无）"))
    st.markdown("**落地载体（西咸新区承接地）**：" + ("、".join(f"{p['name']}（{p['new_city']}）" for p in rel["landing"])
                                               or "（无）"))
    if rel["clusters"]:
        st.markdown("**同类集聚（主城、咸阳，仅作参考）**：" + "、".join(p["name"] for p in rel["clusters"]))
    if c.get("anchors"):
        frame([{"企业": a.get("name"), "角色": a.get("role"), "地区": a.get("location") or a.get("region"),
                "可信度": ui.confidence_label(a.get("confidence"))} for a in c["anchors"]])
    sources(c)


def parks_tab(data: dict[str, Any]) -> None:
    """Every park in a table, then one park's location, industries, conditions and sources."""
    parks = data["parks"]
    frame([{"名称": p["name"], "类型": p.get("kind"), "所属新城": p.get("new_city") or "", "城市": p.get("city"),
            "对应产业链": "、".join(p.get("lead_chains") or []),
            "可信度": ui.confidence_label(p.get("confidence"))} for p in parks])
    pname = st.selectbox("查看园区", [p["name"] for p in parks], key="kb_park")
    p = next(x for x in parks if x["name"] == pname)
    st.markdown(conf_line(p))
    if p.get("location"):
        st.markdown(f"位置：{p['location']}")
    if p.get("position"):
        pos = p["position"]
        st.markdown(f"地图位置：{geo.approx_text(pos)}　{ui.confidence_label(pos.get('confidence'))}")
        st.caption(f"位置来源：{pos.get('source')}")
    if p.get("lead_industries"):
        st.markdown("主导产业：" + "、".join(p["lead_industries"]))
    unconfirmed = set(p.get("features_unconfirmed") or [])
    if p.get("features"):
        st.markdown("承载条件：" + "、".join(f":orange[{f}（待核实）]" if f in unconfirmed else f
                                         for f in p["features"]))
    if p.get("note"):
        st.caption(p["note"])
    sources(p)


def edit_form(store: Store, data: dict[str, Any]) -> None:
    """Edit one field of one entry in a form with Chinese labels, with author and reason; saved via ``kb.edit``."""
    kinds = {"产业链": "chains", "产业体系": "systems", "园区": "parks"}
    kind = kinds[st.radio("类别", list(kinds), horizontal=True, key="kb_edit_kind")]
    keys = [e["id"] if kind == "systems" else e["name"] for e in data[kind]]
    name = st.selectbox("条目", keys, key=f"kb_edit_name_{kind}")
    entry = next(e for e in data[kind] if (e["id"] if kind == "systems" else e["name"]) == name)
    fields = sorted(kb.FIELDS[kind], key=lambda f: ui.KB_FIELD_LABELS.get(f, f))
    field = st.selectbox("字段", fields, key=f"kb_edit_field_{kind}", format_func=lambda f: ui.KB_FIELD_LABELS.get(f, f))
    current = entry.get(field)
    structured = isinstance(current, dict) or (isinstance(current, list) and not all(isinstance(x, str) for x in current))
    with st.form(f"kb_edit_{kind}_{name}_{field}"):
        if field == "confidence":
            options = list(ui.CONFIDENCE_LABELS)
            value = st.selectbox("可信度", options, index=options.index(current) if current in options else 0,
                                 format_func=ui.confidence_label, key="kb_edit_conf")
        else:
            hint = "（结构化内容，按 JSON 填写）" if structured else ""
            value = st.text_area(f"{ui.KB_FIELD_LABELS.get(field, field)}{hint}", value=ui.kb_value_text(current),
                                 height=180, key="kb_edit_value")
        author = st.text_input("修改人", value=store.user, key="kb_edit_author")
        reason = st.text_input("修改原因（必填）", key="kb_edit_reason")
        submitted = st.form_submit_button("保存为新版本")
    if not submitted:
        return
    if not author.strip():
        st.error("请填写修改人。")
        return
    try:
        new = value if field == "confidence" else ui.kb_value_parse(value, current)
        version = kb.edit(store, kind, name, {field: new}, author, reason)
    except ValueError as exc:  # kb.KBError, or JSON that does not parse
        st.error(f"未保存：{exc}")
        return
    st.success(f"已保存为知识库版本 {version}（{author}：{reason}）。匹配将使用新版本，下次查询时自动更新索引（需要几十秒）。")


def history_tab(store: Store, data: dict[str, Any]) -> None:
    """The versions that changed one entry (or the whole knowledge base), newest first."""
    choices = ["（整个知识库）"] + [c["name"] for c in data["chains"]] + [s["id"] for s in data["systems"]] + \
        [p["name"] for p in data["parks"]]
    target = st.selectbox("条目", choices, key="kb_hist_name")
    try:
        rows = kb.history(store, None if target == "（整个知识库）" else target)
    except kb.KBError as exc:
        st.warning(str(exc))
        rows = []
    frame([{"版本": r["version"], "时间": ui.local_time(r["created_at"]), "修改人": r["author"], "改动": r["change"],
            "字段": "、".join(r.get("fields") or []), "原因": r["reason"]} for r in reversed(rows)])


def main() -> None:
    """The version line, then one tab per view."""
    st.header("知识库")
    store = get_store()
    data = current_kb()
    st.caption(f"当前版本 {data['version']}（{ui.local_time(data.get('created_at'))}，{data.get('author', '')}：{data.get('reason', '')}）。"
               "【待核实】表示未找到可靠来源或仅为通用产业知识，使用前请核实。")
    tabs = st.tabs(["产业体系", "产业链", "园区", "修改", "修改历史"])
    with tabs[0]:
        systems_tab(data)
    with tabs[1]:
        chains_tab(data)
    with tabs[2]:
        parks_tab(data)
    with tabs[3]:
        edit_form(store, data)
    with tabs[4]:
        history_tab(store, data)


main()
