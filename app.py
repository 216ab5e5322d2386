"""西咸新区产业链招商匹配 — the Streamlit app: page layout and calls into ``matcher``; no matching logic lives here.

Start with ``make run`` (or ``streamlit run app.py``). The database is ``MATCHER_DB`` (default ``data/matcher.db``);
``MATCHER_PASSWORD``, when set, protects every page.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from matcher import paths, ui
from matcher.ingest.importer import ImportFileError, import_file, read_table, validate_rows
from matcher.knowledge import kb
from matcher.store.database import FEEDBACK_VERDICTS, Store

log = logging.getLogger("matcher.app")

st.set_page_config(page_title="西咸新区产业链招商匹配", page_icon=":material/hub:", layout="wide")

PAGES = ("智能匹配", "批量匹配", "共建清单", "供需对接", "产业链图谱", "知识库", "数据导入")
REGIONS = ("西咸新区", "西安", "咸阳")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"


# ---------------------------------------------------------------------------------------------------------------
# Shared resources
# ---------------------------------------------------------------------------------------------------------------
def get_store() -> Store:
    """This session's connection to the database (one per browser session: write transactions never interleave)."""
    path = str(paths.db_path())
    store = st.session_state.get("_store")
    if store is None or str(store.path) != path:
        store = Store(path)
        st.session_state["_store"] = store
    return store


@st.cache_resource(show_spinner="正在加载匹配模型和索引……", max_entries=2)
def _matcher(db_path: str, data_key: str) -> Any:
    """The matcher of one database state (firms + knowledge base), shared by all sessions; rebuilt when data change."""
    from matcher.match.engine import Matcher

    matcher = Matcher.for_store(Store(db_path))
    matcher.match("光伏组件")  # warm-up: models load lazily, so the first real search is as fast as the rest
    return matcher


def get_matcher() -> Any:
    """The cached matcher for the current database contents."""
    from matcher.match.engine import Matcher

    store = get_store()
    return _matcher(str(store.path), Matcher.key_for(store))


def current_kb() -> dict[str, Any]:
    """The current knowledge-base version (cached by ``kb.current``)."""
    return kb.current(get_store())


def uploads_dir() -> Path:
    """Where uploaded files are kept, beside the database."""
    return paths.db_path().parent / "uploads"


def read_upload(uploaded: Any) -> tuple[str, bytes] | None:
    """The name and bytes of an uploaded file, or ``None`` after showing why it cannot be used (size limit)."""
    if uploaded is None:
        return None
    data = uploaded.getvalue()
    problem = ui.upload_error(uploaded.name, len(data), ui.upload_limit_mb(st.get_option("server.maxUploadSize")))
    if problem:
        st.error(problem)
        return None
    return uploaded.name, data


def upload_limit_widget() -> int:
    """The uploader's own limit in whole MB, so the browser refuses an oversized file before sending it."""
    return max(1, math.ceil(ui.upload_limit_mb(st.get_option("server.maxUploadSize"))))


def upload_hint() -> str:
    """The caption under every uploader."""
    limit = ui.upload_limit_mb(st.get_option("server.maxUploadSize"))
    return f"支持 CSV（UTF-8 / GBK 自动识别）和 XLSX；单个文件不超过 {limit:g} MB，更大的名单请拆分后分批上传。"


def frame(rows: list[dict[str, Any]], **kwargs: Any) -> None:
    """A read-only table that fills the width."""
    if not rows:
        st.caption("（无）")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------------------------
def require_password() -> None:
    """Stop every page until the configured password (``MATCHER_PASSWORD``) has been typed in this session."""
    expected = ui.password_required()
    if not expected or st.session_state.get("_authed"):
        return
    st.title("西咸新区产业链招商匹配")
    with st.form("login"):
        given = st.text_input("访问密码", type="password", key="login_password")
        ok = st.form_submit_button("进入")
    if ok:
        if ui.password_ok(given, expected):
            st.session_state["_authed"] = True
            st.rerun()
        st.error("密码不正确，请重试。")
    st.stop()


# ---------------------------------------------------------------------------------------------------------------
# 智能匹配
# ---------------------------------------------------------------------------------------------------------------
def _filters_form(prefix: str, data: dict[str, Any]) -> dict[str, str | None]:
    """Region / system / chain / park pickers; ``None`` means no filter."""
    c = st.columns(4)
    region = c[0].selectbox("地区", ["全部", *REGIONS], key=f"{prefix}_region")
    systems = {s["id"]: s["name"] for s in data["systems"]}
    system = c[1].selectbox("产业体系", ["全部", *systems], key=f"{prefix}_system",
                            format_func=lambda x: systems.get(x, x))
    chain = c[2].selectbox("产业链", ["全部", *[x["name"] for x in data["chains"]]], key=f"{prefix}_chain")
    park = c[3].selectbox("园区/新城", ["全部", *[p["name"] for p in data["parks"]]], key=f"{prefix}_park")
    return {k: (None if v == "全部" else v) for k, v in
            {"region": region, "system": system, "chain": chain, "park": park}.items()}


def page_match() -> None:
    """Match one firm (typed or stored) to chains, industries, parks and counterparts, with reasons and feedback."""
    from matcher.match.reasons import PART_LABELS
    from matcher.match.results import Filters

    st.header("智能匹配")
    store = get_store()
    data = current_kb()
    mode = st.radio("查询方式", ["输入企业描述", "选择库内企业"], horizontal=True, key="q_mode",
                    label_visibility="collapsed")
    query: Any = None
    if mode == "输入企业描述":
        text = st.text_area("企业描述", key="q_text", height=90,
                            placeholder="例：主营单晶硅片和光伏组件，计划扩产，需要多晶硅料和光伏玻璃")
        query = text.strip() or None
    else:
        name = st.text_input("按企业名称查找", key="q_find", placeholder="输入名称中的几个字")
        firms = ui.find_firms(store, name, limit=200)
        if not firms:
            st.caption("没有找到库内企业；请先在“数据导入”页导入企业名单。" if not store.count_firms() else "没有匹配的名称。")
        else:
            labels = {f["id"]: f"{f['name']}（{f.get('region') or '地区不详'}）" for f in firms}
            picked = st.selectbox("库内企业", list(labels), format_func=labels.get, key="q_firm")
            query = int(picked) if picked is not None else None
    with st.expander("筛选条件", expanded=False):
        filters = _filters_form("q", data)
        k = st.slider("每类显示条数", 3, 10, 5, key="q_k")
    if st.button("开始匹配", type="primary", key="match_go"):
        if query is None:
            st.warning("请先输入企业描述，或选择一家库内企业。")
        else:
            st.session_state["match_request"] = {"query": query, "filters": filters, "k": k}
    req = st.session_state.get("match_request")
    if not req:
        st.caption("输入企业的主营业务、产品或需求（或选择库内企业），点击“开始匹配”。")
        return
    matcher = get_matcher()
    started = time.perf_counter()
    res = matcher.match(req["query"], filters=Filters(**req["filters"]), k=req["k"], store=store)
    elapsed = time.perf_counter() - started
    st.session_state["match_seconds"] = elapsed
    firm_id = (res.firm or {}).get("id")
    feedback = store.feedback_for(firm_id=firm_id) if firm_id is not None else store.feedback_for(query=res.query_text)
    who = (res.firm or {}).get("name") or _short(res.query_text, 60)
    shown = "，".join(f"{label}：{v}" for label, v in zip(("地区", "体系", "产业链", "园区"), req["filters"].values(),
                                                           strict=True) if v)
    st.caption(f"查询：{who}　用时 {elapsed:.2f} 秒" + (f"　筛选：{shown}" if shown else ""))

    ctx = {"store": store, "firm_id": firm_id, "query": res.query_text, "feedback": feedback, "labels": PART_LABELS}
    st.subheader("所属重点产业链")
    if res.none:
        st.warning(f"该企业不属于任何重点产业链（判断概率 {res.none_prob:.0%}）。行业小类、落地载体和对接企业仍列在下面供参考。")
    if res.chains:
        _hits(res.chains, ctx, "chain")
    if res.systems:
        with st.expander("在各产业体系中的归属", expanded=True):
            frame([{"产业体系": s["system"], "条目": it["item"], "产业链": it.get("chain") or "",
                    "得分": None if it.get("score") is None else round(float(it["score"]), 3)}
                   for s in res.systems for it in s.get("items") or []])
    left, right = st.columns(2)
    with left:
        st.subheader("国民经济行业小类（GB/T 4754-2017）")
        _hits(res.industries, ctx, "industry")
    with right:
        st.subheader("推荐落地新城/园区")
        _hits(res.parks, ctx, "park")
    left, right = st.columns(2)
    with left:
        st.subheader("推荐供应商（上游）")
        _hits(res.suppliers, ctx, "supplier")
    with right:
        st.subheader("推荐客户（下游）")
        _hits(res.customers, ctx, "customer")
    if res.peers:
        with st.expander(f"同行企业（产品相同或相近，{len(res.peers)} 家，不作为供应商或客户）"):
            _hits(res.peers, ctx, "peer")


def _short(text: str | None, limit: int) -> str:
    t = text or ""
    return t if len(t) <= limit else t[:limit] + "……"


def _hits(hits: list[Any], ctx: dict[str, Any], kind: str) -> None:
    """Ranked hits: title, score bar split into parts, reason, feedback buttons and the feedback given so far."""
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
            st.html(ui.score_bar_html(h.score, h.parts, ctx["labels"], scale=scale))
            st.markdown(h.reason)
            _feedback_row(h, ctx, kind)


def _feedback_row(hit: Any, ctx: dict[str, Any], kind: str) -> None:
    """有效 / 无效 / 已对接 / 已签约 buttons; a click is stored with time and shown at once."""
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        for verdict in FEEDBACK_VERDICTS:
            if st.button(verdict, key=f"fb_{kind}_{hit.target}_{verdict}", icon=ui.VERDICT_ICONS.get(verdict),
                         help=f"记录反馈：{verdict}"):
                ctx["store"].add_feedback(kind=kind, target=str(hit.target), verdict=verdict, firm_id=ctx["firm_id"],
                                          query=None if ctx["firm_id"] is not None else ctx["query"])
                ctx["feedback"] = (ctx["store"].feedback_for(firm_id=ctx["firm_id"]) if ctx["firm_id"] is not None
                                   else ctx["store"].feedback_for(query=ctx["query"]))
                st.toast(f"已记录反馈：{hit.label} — {verdict}")
    summary = ui.feedback_summary(ctx["feedback"], kind, str(hit.target))
    if summary:
        st.caption(f"已有反馈：{summary}")


# ---------------------------------------------------------------------------------------------------------------
# 批量匹配
# ---------------------------------------------------------------------------------------------------------------
def outputs_dir() -> Path:
    """Where batch workbooks and app exports are written, beside the database."""
    return paths.db_path().parent / "outputs"


def page_batch() -> None:
    """Upload a list, validate it, run the batch with a progress bar, download the workbook, see past runs."""
    from matcher.work import batch

    st.header("批量匹配")
    store = get_store()
    uploaded = st.file_uploader("待匹配企业名单", type=["csv", "xlsx", "txt", "tsv"], key="batch_file",
                                max_upload_size=upload_limit_widget())
    st.caption(upload_hint() + "名单中的企业不会写入数据库。")
    got = read_upload(uploaded)
    if got is not None:
        name, raw = got
        path = ui.save_upload(uploads_dir(), name, raw)
        checks = st.session_state.setdefault("batch_checks", {})
        if str(path) not in checks:
            with st.spinner(f"正在检查 {name}……"):
                try:
                    table = read_table(path)
                    good, issues = validate_rows(table)
                    checks[str(path)] = {"table": table, "good": good, "issues": issues}
                except ImportFileError as exc:
                    checks[str(path)] = {"error": f"文件 {name}：{exc.message}"}
        pre = checks[str(path)]
        if "error" in pre:
            st.error(pre["error"])
        else:
            counts = ui.issue_counts(pre["issues"])
            st.subheader("检查结果")
            m = st.columns(4)
            m[0].metric("数据行", len(pre["table"].rows))
            m[1].metric("待匹配企业", len(pre["good"]))
            m[2].metric("拒绝行", counts["rejected"])
            m[3].metric("警告", counts["warning"] + counts["duplicate"])
            if pre["issues"]:
                frame(ui.issue_rows(pre["issues"]))
            k = st.slider("每类保留条数", 1, 10, 3, key="batch_k")
            if pre["good"] and st.button(f"开始匹配 {len(pre['good'])} 家企业", type="primary", key="batch_go"):
                out = outputs_dir() / f"匹配结果_{ui.safe_name(Path(name).stem)}_{time.strftime('%Y%m%d-%H%M%S')}.xlsx"
                bar = st.progress(0.0, text="准备中……")
                report = ui.progress_reporter(lambda done, total: bar.progress(
                    done / total if total else 1.0, text=f"已匹配 {done} / {total} 家"))
                try:
                    result = batch.run_batch(store, path, out, k=k, progress=report)
                except (ImportFileError, batch.BatchError) as exc:
                    st.error(str(getattr(exc, "message", exc)))
                else:
                    bar.progress(1.0, text=f"完成：{result.matched} 家，用时 {result.elapsed:.1f} 秒")
                    st.session_state["batch_last"] = result.run_id
            elif not pre["good"]:
                st.warning("没有可匹配的企业。")
    last = st.session_state.get("batch_last")
    if last:
        run = batch.get_run(store, last)
        if run and run.get("output_path") and Path(run["output_path"]).exists():
            st.success(f"批次 {last} 已完成：匹配 {run.get('done')} 家企业。")
            st.download_button("下载匹配结果（Excel）", Path(run["output_path"]).read_bytes(),
                               file_name=Path(run["output_path"]).name, mime=XLSX_MIME, key="batch_download",
                               type="primary")
    st.subheader("历史批次")
    runs = batch.list_runs(store, kind="batch", limit=50)
    frame([{"批次": r["id"], "状态": batch.STATUS_LABELS.get(r.get("status") or "", r.get("status")),
            "文件": ui.upload_display_name(r.get("input_path")), "行数": r.get("rows"), "企业": r.get("stored"),
            "拒绝": r.get("rejected"), "已匹配": r.get("done"), "知识库版本": r.get("kb_version"),
            "开始": r.get("started_at"), "结束": r.get("ended_at")} for r in runs])
    ready = [r for r in runs if r.get("output_path") and Path(r["output_path"]).exists()]
    if ready:
        pick = st.selectbox("下载历史批次的结果", [r["id"] for r in ready], key="batch_pick",
                            format_func=lambda i: f"批次 {i}")
        run = next(r for r in ready if r["id"] == pick)
        st.download_button("下载该批次的匹配结果（Excel）", Path(run["output_path"]).read_bytes(),
                           file_name=Path(run["output_path"]).name, mime=XLSX_MIME, key="batch_past_download")


# ---------------------------------------------------------------------------------------------------------------
# Lists built from the stored firms' results (共建清单, 供需对接, 产业链图谱)
# ---------------------------------------------------------------------------------------------------------------
@st.cache_resource
def _firms_lock() -> threading.Lock:
    """The process-wide lock around matching the stored firms (shared by all sessions)."""
    return threading.Lock()


def firm_results() -> list[Any]:
    """Every stored firm's results for the current indexes (matched once, with a progress bar, then reused)."""
    from matcher.work import batch

    store = get_store()
    if not store.count_firms():
        st.info("数据库中还没有企业：清单只含知识库内容。请在“数据导入”页导入企业名单。")
        return []
    get_matcher()  # load (or build) the indexes under the spinner first
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = st.progress(0.0, text="首次使用：正在匹配库内企业……")
        bar.progress(done / total if total else 1.0, text=f"首次使用：正在匹配库内企业 {done} / {total}")

    lock = _firms_lock()
    if lock.locked():
        st.info("库内企业正在由另一个会话匹配，请稍候……")
    with lock:  # one stored-firms run at a time in this process; a second session waits, then reuses it
        try:
            run = batch.firms_run(store, progress=ui.progress_reporter(progress))
        except batch.BatchError as exc:
            st.warning(f"{exc}。请稍后刷新页面。")
            st.stop()
    if bar is not None:
        bar.empty()
    cache = st.session_state.setdefault("_firm_results", {})
    if run["id"] not in cache:
        cache.clear()
        cache[run["id"]] = batch.run_results(store, run["id"])
    return cache[run["id"]]


def _export_buttons(which: str, label: str, chain: str | None, region: str | None, key: str) -> None:
    """Download the list as XLSX and CSV, written by ``matcher.work.export`` (the same layouts as ``matcher export``)."""
    from matcher.work import export

    store = get_store()
    c1, c2 = st.columns(2)
    for col, fmt, mime in ((c1, "xlsx", XLSX_MIME), (c2, "csv", CSV_MIME)):
        folder = outputs_dir() / "app"
        folder.mkdir(parents=True, exist_ok=True)
        spec = export.LISTS[which]
        name = export.default_filename(spec, [chain, region], fmt)
        result = export.export_list(store, which, folder / name, chain=chain, region=region)
        col.download_button(f"下载{label}（{'Excel' if fmt == 'xlsx' else 'CSV'}）", result.path.read_bytes(),
                            file_name=result.path.name, mime=mime, key=f"{key}_{fmt}",
                            type="primary" if fmt == "xlsx" else "secondary")


# ---------------------------------------------------------------------------------------------------------------
# 共建清单
# ---------------------------------------------------------------------------------------------------------------
def page_cobuild() -> None:
    """Browse the 重点产业链共建清单 (chains × systems × landing parks × local firms and gaps) and download it."""
    from matcher.work import export

    st.header("重点产业链共建清单")
    store = get_store()
    data = current_kb()
    c1, c2, c3 = st.columns(3)
    chain = c1.selectbox("产业链", ["全部", *[c["name"] for c in data["chains"]]], key="cb_chain")
    region = c2.selectbox("统计企业的地区", ["全部", *REGIONS], key="cb_region")
    focus_only = c3.checkbox("只看西安19条 + 新型显示", value=False, key="cb_focus")
    chain_f = None if chain == "全部" else chain
    region_f = None if region == "全部" else region
    rows = export.cobuild_rows(data, firm_results(), chain_f, region_f)
    main = [r for r in rows["重点产业链共建清单"] if not focus_only or r["focus"]]
    st.caption(f"共 {len(main)} 条产业链；知识库版本 {kb.version(store)}；库内企业 {store.count_firms()} 家。"
               "“缺失环节”为本地暂无企业的环节（补链方向）。")
    frame(ui.sheet_records(export.COBUILD.sheets[0], main))
    with st.expander("环节明细"):
        keep = {r["chain"] for r in main}
        frame(ui.sheet_records(export.COBUILD.sheets[1], [r for r in rows["环节明细"] if r["chain"] in keep]))
    _export_buttons("cobuild", "共建清单", chain_f, region_f, "cb_download")


# ---------------------------------------------------------------------------------------------------------------
# 供需对接
# ---------------------------------------------------------------------------------------------------------------
def page_supply() -> None:
    """Browse each stored firm's supply (供) and demand (需) rows with counterparts, and download them."""
    from matcher.work import export

    st.header("企业供需对接")
    data = current_kb()
    c1, c2, c3 = st.columns(3)
    chain = c1.selectbox("产业链", ["全部", *[c["name"] for c in data["chains"]]], key="sd_chain")
    region = c2.selectbox("地区", ["全部", *REGIONS], key="sd_region")
    role = c3.selectbox("供/需", ["全部", "供", "需"], key="sd_role")
    chain_f = None if chain == "全部" else chain
    region_f = None if region == "全部" else region
    picked = [fm for fm in firm_results() if (region_f is None or fm.firm.get("region") == region_f)
              and (chain_f is None or (not fm.none and fm.hits.get("chain") and fm.hits["chain"][0]["target"] == chain_f))]
    rows = [r for r in export.supply_demand_rows(picked) if role == "全部" or r["role"] == role]
    st.caption(f"{len(rows)} 行（每家企业“供”一行；有采购需求或上游供应商时另有“需”一行）。")
    frame(ui.sheet_records(export.SUPPLY_DEMAND.sheets[0], rows))
    _export_buttons("supply-demand", "供需清单", chain_f, region_f, "sd_download")


# ---------------------------------------------------------------------------------------------------------------
# 产业链图谱
# ---------------------------------------------------------------------------------------------------------------
def page_graph() -> None:
    """One chain's segments (上游 → 中游 → 下游) as a graph, with the stored firms on each and gaps highlighted."""
    from matcher.work import export

    st.header("产业链图谱")
    data = current_kb()
    chains = sorted(data["chains"], key=lambda c: (not c.get("focus"), c["name"]))
    c1, c2 = st.columns(2)
    name = c1.selectbox("产业链", [c["name"] for c in chains], key="g_chain")
    region = c2.selectbox("统计企业的地区", ["全部", *REGIONS], key="g_region")
    region_f = None if region == "全部" else region
    rows = export.cobuild_rows(data, firm_results(), name, region_f)
    segs = rows["环节明细"]
    chain = next(c for c in chains if c["name"] == name)
    st.graphviz_chart(ui.chain_dot(chain, segs), width="content")
    gaps = [f"{r['stage']}·{r['segment']}" for r in segs if r["gap"]]
    if gaps:
        st.warning("补链缺口（本地暂无企业）：" + "、".join(gaps))
    else:
        st.success("上中下游各环节本地均有企业。")
    frame(ui.sheet_records(export.COBUILD.sheets[1], segs))


# ---------------------------------------------------------------------------------------------------------------
# 知识库
# ---------------------------------------------------------------------------------------------------------------
def _sources(entry: dict[str, Any]) -> None:
    """An entry's sources as links, or a visible 待核实 when it has none."""
    src = entry.get("source") or []
    if not src:
        st.markdown(":orange-badge[:material/warning: 无来源，待核实]")
    for s in src:
        st.markdown(f"- 来源：<{s}>" if str(s).startswith("http") else f"- 来源：{s}")


def _conf_line(entry: dict[str, Any]) -> str:
    as_of = f"　截至 {entry['as_of']}" if entry.get("as_of") else ""
    text = f"可信度：{ui.confidence_label(entry.get('confidence'))}{as_of}"
    return f":orange-badge[:material/warning: {text}]" if entry.get("confidence") == "待核实" else text


def page_kb() -> None:
    """Read the knowledge base with sources and confidence; edit with a reason; see history."""
    st.header("知识库")
    store = get_store()
    data = current_kb()
    st.caption(f"当前版本 {data['version']}（{data.get('created_at', '')}，{data.get('author', '')}：{data.get('reason', '')}）。"
               "【待核实】表示未找到可靠来源或仅为通用产业知识，使用前请核实。")
    tabs = st.tabs(["产业体系", "产业链", "园区", "修改", "修改历史"])

    with tabs[0]:
        systems = data["systems"]
        labels = {s["id"]: f"{s['name']}（{s.get('region')}{'，旧表述' if s.get('status') == 'superseded' else ''}）"
                  for s in systems}
        sid = st.selectbox("产业体系", list(labels), format_func=labels.get, key="kb_system")
        s = next(x for x in systems if x["id"] == sid)
        st.markdown(f"**{s['name']}**　id `{s['id']}`　{s.get('region')}　"
                    f"{'现行' if s.get('status') == 'current' else '已被取代（旧表述）'}")
        st.markdown(_conf_line(s))
        if s.get("document"):
            st.markdown(f"文件：{s['document']}")
        if s.get("note"):
            st.caption(s["note"])
        frame([{"条目": it["name"], "上级": it.get("parent") or "", "对应产业链": "、".join(it.get("chains") or []),
                "可信度": ui.confidence_label(it.get("confidence")), "来源": "；".join(it.get("source") or [])}
               for it in s.get("items") or []])
        if not s.get("items"):
            st.markdown(":orange-badge[:material/warning: 条目内容待核实，尚未录入]")
        _sources(s)

    with tabs[1]:
        chains = sorted(data["chains"], key=lambda c: (not c.get("focus"), c["name"]))
        name = st.selectbox("产业链", [c["name"] for c in chains], key="kb_chain",
                            format_func=lambda n: ("★ " if next(c for c in chains if c["name"] == n).get("focus")
                                                   else "") + n)
        c = next(x for x in chains if x["name"] == name)
        st.markdown(f"**{c['name']}**" + (f"（又称：{'、'.join(c['aliases'])}）" if c.get("aliases") else ""))
        st.markdown(_conf_line(c))
        if c.get("description"):
            st.write(c["description"])
        frame([{"环节": sg.get("stage"), "名称": sg.get("name"), "关键词": "、".join(sg.get("keywords") or []),
                "典型产品": "、".join(sg.get("products") or []),
                "可信度": ui.confidence_label(sg.get("confidence") or c.get("confidence"))}
               for sg in c.get("segments") or []])
        from matcher.knowledge import gbt

        names = {r["code"]: r["name"] for r in gbt.gb_classes()}
        st.markdown("**国民经济行业（GB/T 4754-2017 小类）**：" +
                    "；".join(f"{g} {names.get(g, '（未知代码）')}" for g in c.get("gb_codes") or []))
        if c.get("sei"):
            st.markdown("**战略性新兴产业（2018）**：" + "；".join(c["sei"]))
        systems_by_id = {x["id"]: x for x in data["systems"]}
        st.markdown("**所属产业体系**：" + ("；".join(
            f"{systems_by_id.get(r['system'], {}).get('name', r['system'])} · {r.get('item')}"
            for r in c.get("systems") or []) or "（无）"))
        land = [p["name"] for p in data["parks"] if c["name"] in (p.get("lead_chains") or [])]
        st.markdown("**落地载体**：" + ("、".join(land) or "（无）"))
        if c.get("anchors"):
            frame([{"企业": a.get("name"), "角色": a.get("role"), "地区": a.get("location") or a.get("region"),
                    "可信度": ui.confidence_label(a.get("confidence"))} for a in c["anchors"]])
        _sources(c)

    with tabs[2]:
        parks = data["parks"]
        frame([{"名称": p["name"], "类型": p.get("kind"), "所属新城": p.get("new_city") or "", "城市": p.get("city"),
                "对应产业链": "、".join(p.get("lead_chains") or []),
                "可信度": ui.confidence_label(p.get("confidence"))} for p in parks])
        pname = st.selectbox("查看园区", [p["name"] for p in parks], key="kb_park")
        p = next(x for x in parks if x["name"] == pname)
        st.markdown(_conf_line(p))
        if p.get("location"):
            st.markdown(f"位置：{p['location']}")
        if p.get("lead_industries"):
            st.markdown("主导产业：" + "、".join(p["lead_industries"]))
        unconfirmed = set(p.get("features_unconfirmed") or [])
        if p.get("features"):
            st.markdown("承载条件：" + "、".join(f":orange[{f}（待核实）]" if f in unconfirmed else f
                                             for f in p["features"]))
        if p.get("note"):
            st.caption(p["note"])
        _sources(p)

    with tabs[3]:
        _kb_edit_form(store, data)

    with tabs[4]:
        choices = ["（整个知识库）"] + [c["name"] for c in data["chains"]] + [s["id"] for s in data["systems"]] + \
            [p["name"] for p in data["parks"]]
        target = st.selectbox("条目", choices, key="kb_hist_name")
        try:
            rows = kb.history(store, None if target == "（整个知识库）" else target)
        except kb.KBError as exc:
            st.warning(str(exc))
            rows = []
        frame([{"版本": r["version"], "时间": r["created_at"], "修改人": r["author"], "改动": r["change"],
                "字段": "、".join(r.get("fields") or []), "原因": r["reason"]} for r in reversed(rows)])


def _kb_edit_form(store: Store, data: dict[str, Any]) -> None:
    """Edit one field of one entry as JSON, with author and reason; saved as a new version via ``kb.edit``."""
    kinds = {"产业链": "chains", "产业体系": "systems", "园区": "parks"}
    kind_label = st.radio("类别", list(kinds), horizontal=True, key="kb_edit_kind")
    kind = kinds[kind_label]
    keys = [e["id"] if kind == "systems" else e["name"] for e in data[kind]]
    name = st.selectbox("条目", keys, key=f"kb_edit_name_{kind}")
    entry = next(e for e in data[kind] if (e["id"] if kind == "systems" else e["name"]) == name)
    field = st.selectbox("字段", sorted(kb.FIELDS[kind]), key=f"kb_edit_field_{kind}")
    current = json.dumps(entry.get(field), ensure_ascii=False, indent=1)
    with st.form(f"kb_edit_{kind}_{name}_{field}"):
        value = st.text_area("新值（JSON：文字加英文双引号，列表用 [ ]）", value=current, height=180, key="kb_edit_value")
        author = st.text_input("修改人", key="kb_edit_author")
        reason = st.text_input("修改原因（必填）", key="kb_edit_reason")
        submitted = st.form_submit_button("保存为新版本")
    if not submitted:
        return
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value  # plain text is accepted for text fields
    try:
        version = kb.edit(store, kind, name, {field: parsed}, author, reason)
    except kb.KBError as exc:
        st.error(str(exc))
        return
    st.success(f"已保存为知识库版本 {version}（{author}：{reason}）。匹配将使用新版本，下次查询时自动更新索引（需要几十秒）。")


# ---------------------------------------------------------------------------------------------------------------
# 数据导入
# ---------------------------------------------------------------------------------------------------------------
def page_import() -> None:
    """Upload a firm list, read the import report, and only then commit it to the database."""
    st.header("数据导入")
    store = get_store()
    st.caption(f"数据库：{store.path}　已有企业 {store.count_firms()} 家。先检查，确认后才写入数据库。")
    uploaded = st.file_uploader("企业名单", type=["csv", "xlsx", "txt", "tsv"], key="import_file",
                                max_upload_size=upload_limit_widget())
    st.caption(upload_hint())
    got = read_upload(uploaded)
    if got is None:
        return
    name, data = got
    path = ui.save_upload(uploads_dir(), name, data)
    previews = st.session_state.setdefault("import_previews", {})
    key = str(path)
    if key not in previews:
        with st.spinner(f"正在检查 {name}……"):
            try:
                table = read_table(path)
            except ImportFileError as exc:
                previews[key] = {"error": f"文件 {name}：{exc.message}。数据库未改动。"}
            else:
                good, issues = validate_rows(table)
                previews[key] = {"table": table, "good": good, "issues": issues}
    pre = previews[key]
    if "error" in pre:
        st.error(pre["error"])
        return
    table, good, issues = pre["table"], pre["good"], pre["issues"]
    counts = ui.issue_counts(issues)
    st.subheader("导入检查报告")
    m = st.columns(5)
    m[0].metric("数据行", len(table.rows))
    m[1].metric("可导入企业", len(good))
    m[2].metric("拒绝行", counts["rejected"])
    m[3].metric("合并重复", counts["duplicate"])
    m[4].metric("警告", counts["warning"])
    mapping = "；".join(f"{ui_field}←{'、'.join(headers)}" for ui_field, headers in
                        ((_field_label(f), hs) for f, hs in table.columns.items()) if headers)
    st.caption(f"格式 {table.format}" + (f"，编码 {table.encoding}" if table.encoding else "")
               + (f"，工作表 {table.sheet}" if table.sheet else "") + f"，表头在第 {table.header_row} 行。列对应：{mapping}")
    if table.unknown_columns:
        st.caption("未使用的列（原文保留）：" + "、".join(table.unknown_columns))
    frame(ui.issue_rows(issues))
    d1, d2 = st.columns(2)
    d1.download_button("下载被拒绝的行（CSV，可修改后重新导入）", ui.rejected_rows_csv(table, issues),
                       file_name=f"rejected-{ui.safe_name(Path(name).stem)}.csv", mime=CSV_MIME,
                       disabled=counts["rejected"] == 0, key="import_rejected")
    d2.download_button("下载完整检查报告（CSV）", ui.report_csv(issues),
                       file_name=f"report-{ui.safe_name(Path(name).stem)}.csv", mime=CSV_MIME, key="import_report")
    if not good:
        st.warning("没有可导入的企业，数据库未改动。")
        return
    imported = st.session_state.setdefault("imported_files", {})
    if key in imported:  # the uploader still holds the file after a confirmed import: do not offer it twice
        st.success(imported[key])
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
        imported[key] = msg
        st.success(msg)


def _field_label(field: str) -> str:
    from matcher.ingest.columns import FIELDS

    return FIELDS.get(field, field)


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------
RENDER = {"智能匹配": page_match, "批量匹配": page_batch, "共建清单": page_cobuild, "供需对接": page_supply,
          "产业链图谱": page_graph, "知识库": page_kb, "数据导入": page_import}


def main() -> None:
    """Password gate, sidebar navigation, then the chosen page; an unexpected error is shown in Chinese."""
    require_password()
    wanted = st.query_params.get("page")
    if "page" not in st.session_state:
        st.session_state["page"] = wanted if wanted in PAGES else PAGES[0]
    with st.sidebar:
        st.markdown("### 西咸新区产业链招商匹配")
        page = st.radio("功能", PAGES, key="page", label_visibility="collapsed")
        st.divider()
        st.caption(f"数据库：{paths.db_path().name}")
    if st.query_params.get("page") != page:
        st.query_params["page"] = page
    started = time.perf_counter()
    # A newer rerun of this session may start before the previous one has stopped: render one at a time, so the
    # session's database connection never carries two interleaved transactions.
    lock = st.session_state.setdefault("_render_lock", threading.RLock())
    try:
        with lock:
            RENDER[page]()
    except Exception as exc:  # the user sees a plain message, the log keeps the traceback
        log.exception("page %s failed", page)
        st.error(f"页面“{page}”出错：{exc}。请检查输入后重试；若问题持续，请把此信息告诉管理员。")
    log.debug("page %s rendered in %.3f s", page, time.perf_counter() - started)


main()
