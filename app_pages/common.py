"""What every page of the app shares: this session's store, the cached matcher, the upload → check flow, tables.

Pages call only these helpers and the ``matcher`` library; nothing here decides a match.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from matcher import paths, ui
from matcher.files import safe_filename
from matcher.knowledge import kb
from matcher.store.database import PermissionDenied, Store

log = logging.getLogger("matcher.app")

REGIONS = ("西咸新区", "西安", "咸阳")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"


# -- running a page ----------------------------------------------------------------------------------------------
def render_lock() -> threading.RLock:
    """This session's lock around rendering: one run (or fragment run) at a time uses the session's database connection.

    A newer rerun of a session may start before the previous one has stopped; without the lock the session's
    connection could carry two interleaved transactions.
    """
    return st.session_state.setdefault("_render_lock", threading.RLock())


def page_error(title: str, exc: Exception) -> None:
    """Say in Chinese why a page (or part of it) stopped: a change the user's role does not allow, or an error."""
    if isinstance(exc, PermissionDenied):  # the library refused a change this user's role does not allow
        st.error(f"{exc}。如需此权限，请联系管理员。")
    else:  # the user sees a plain message, the log keeps the traceback
        log.error("page %s failed", title, exc_info=exc)
        st.error(f"页面“{title}”出错：{exc}。请检查输入后重试；若问题持续，请把此信息告诉管理员。")


@contextlib.contextmanager
def partial_run() -> Iterator[None]:
    """Around the body of an ``st.fragment``, what ``app.py`` does around a page run: when a click reruns only the
    fragment, check the login first (a session logged out meanwhile goes through the gate); hold this session's
    render lock; show a refused change or an error in Chinese (in the fragment, which Streamlit would otherwise
    show as a traceback).
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    from app_pages import access

    ctx = get_script_run_ctx()
    if ctx and ctx.fragment_ids_this_run and not access.still_in():
        st.rerun()  # the whole app: the login gate shows
    with render_lock():
        try:
            yield
        except Exception as exc:  # the message a page run gives
            page_error(str(st.session_state.get("page", "")), exc)


# -- store, matcher, knowledge base -----------------------------------------------------------------------------
def get_store() -> Store:
    """This session's connection to the database, as the logged-in user (one per session: transactions never interleave).

    Opened as the command line opens it (``kb.open_store``): a new database gets the knowledge base loaded.
    """
    from app_pages.access import current_user

    path, user = str(paths.db_path()), current_user()
    who = (user.name, user.role) if user else (None, None)
    store = st.session_state.get("_store")
    if store is None or str(store.path) != path or st.session_state.get("_store_who") != who:
        store = kb.open_store(path)
        if user:  # the library enforces this user's role on every write (Store.require) and records the name
            store.user, store.role = user.name, user.role
        st.session_state["_store"], st.session_state["_store_who"] = store, who
    return store


def index_state() -> Any:
    """The build this session answers from (``matcher.work.refresh``), shared by all sessions of this server.

    After an import or a knowledge-base edit the last good build keeps answering while a newer one is made in the
    background; the page says so (once per run) and the next run after it is ready uses the new one.
    """
    from matcher.work import refresh

    store = get_store()
    keeper = refresh.refresher(store.path)
    if keeper.ready:
        state = keeper.state(store)
    else:  # the first build of this server process: nothing older to answer from
        with st.spinner("正在加载匹配模型和索引……"):
            state = keeper.state(store)
    notice = ui.refresh_notice(state)
    if notice and st.session_state.get("_notice_run") != st.session_state.get("_run"):
        st.session_state["_notice_run"] = st.session_state.get("_run")
        st.info(notice, icon=":material/update:")
    return state


def get_matcher() -> Any:
    """The matcher to answer with now (the last good build while a newer one is made)."""
    return index_state().build.matcher


def current_kb() -> dict[str, Any]:
    """The current knowledge-base version (cached by ``kb.current``)."""
    return kb.current(get_store())


def uploads_dir() -> Path:
    """Where uploaded files are kept, beside the database."""
    return paths.db_path().parent / "uploads"


def outputs_dir() -> Path:
    """Where batch workbooks and app exports are written, beside the database."""
    return paths.db_path().parent / "outputs"


# -- uploads ------------------------------------------------------------------------------------------------------
def upload_limit_widget() -> int:
    """The uploader's own limit in whole MB, so the browser refuses an oversized file before sending it."""
    return max(1, math.ceil(ui.upload_limit_mb(st.get_option("server.maxUploadSize"))))


def upload_hint() -> str:
    """The caption under every uploader."""
    limit = ui.upload_limit_mb(st.get_option("server.maxUploadSize"))
    return f"支持 CSV（UTF-8 / GBK 自动识别）和 XLSX；单个文件不超过 {limit:g} MB，更大的名单请拆分后分批上传。"


def firm_list_uploader(label: str, key: str, hint: str = "") -> Any:
    """The uploader of a firm list (CSV/XLSX) with the size limit and the caption under it."""
    uploaded = st.file_uploader(label, type=["csv", "xlsx", "txt", "tsv"], key=key,
                                max_upload_size=upload_limit_widget())
    st.caption(upload_hint() + hint)
    return uploaded


def checked_upload(uploaded: Any, state_key: str, error_note: str = "") -> tuple[str, Path, dict[str, Any]] | None:
    """An uploaded firm list kept beside the database and checked once per session, or ``None`` after saying why not.

    Args:
        uploaded: what ``st.file_uploader`` returned (``None`` when no file).
        state_key: the session-state dict that caches the checks of this page, by saved path.
        error_note: added to the message when the file cannot be read (e.g. that the database is unchanged).

    Returns:
        The file's name, its saved path and the check (``table``, ``good`` rows, ``issues``).
    """
    if uploaded is None:
        return None
    name, data = uploaded.name, uploaded.getvalue()
    problem = ui.upload_error(name, len(data), ui.upload_limit_mb(st.get_option("server.maxUploadSize")))
    if problem:
        st.error(problem)
        return None
    path = ui.save_upload(uploads_dir(), name, data)
    checks = st.session_state.setdefault(state_key, {})
    if str(path) not in checks:
        with st.spinner(f"正在检查 {name}……"):
            checks[str(path)] = ui.check_upload(path, name, error_note)
    check = checks[str(path)]
    if "error" in check:
        st.error(check["error"])
        return None
    return name, path, check


# -- tables and lists ---------------------------------------------------------------------------------------------
def table(rows: list[dict[str, Any]]) -> Any:
    """``rows`` as the Arrow table :func:`frame` shows (one type per column; an empty cell shows empty), or ``None``.

    Made once and kept (with :func:`derived`), a long list costs a page run only sending it: building the table from
    the rows every run was most of a list page's time.
    """
    from streamlit.dataframe_util import convert_pandas_df_to_arrow_table

    if not rows:
        return None
    df = pd.DataFrame(rows)
    for col in df.columns:
        values = df[col]
        if values.dtype != object and not values.isna().any():
            continue
        kinds = {type(v) for v in values if not _blank(v)}
        if values.isna().any() or len(kinds) > 1:  # one type per column (as Arrow needs); an empty cell shows empty
            df[col] = ["" if _blank(v) else (f"{v:g}" if isinstance(v, float) else str(v)) for v in values]
    return convert_pandas_df_to_arrow_table(df)


def frame(rows: list[dict[str, Any]] | Any, **kwargs: Any) -> None:
    """A read-only table that fills the width: rows, or a table made by :func:`table` (``None``: no rows)."""
    data = table(rows) if isinstance(rows, list) else rows
    if data is None:
        st.caption("（无）")
        return
    config = {data.column_names[0]: st.column_config.Column(pinned=True)}  # the first column stays in view
    st.dataframe(data, hide_index=True, width="stretch", column_config=kwargs.pop("column_config", config), **kwargs)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


PAGE_ROWS = 200  # rows of a long list shown at a time; the download holds them all


def page_range(n: int, key: str) -> tuple[int, int]:
    """Which rows of a long list of ``n`` to show (start, stop), with a page picker when there is more than one page.

    Sending a list of thousands of rows to the browser on every rerun cost more than the rest of the page.
    """
    pages = max(1, math.ceil(n / PAGE_ROWS))
    if pages == 1:
        return 0, n
    page = st.selectbox("页", range(1, pages + 1), key=key, label_visibility="collapsed",
                        format_func=lambda p: f"第 {p} / {pages} 页（第 {(p - 1) * PAGE_ROWS + 1}–"
                                              f"{min(p * PAGE_ROWS, n)} 行，共 {n} 行）")
    start = ((page or 1) - 1) * PAGE_ROWS
    return start, min(n, start + PAGE_ROWS)


_DERIVED: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()
_DERIVED_LOCK = threading.Lock()


def derived(results: list[Any], key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """What ``make()`` derives from the stored firms' results (a list's rows), made once for all sessions per
    ``results`` and ``key`` (the filters): recomputing it over every firm on every rerun was most of a list page's time.
    """
    k = (id(results), *key)
    with _DERIVED_LOCK:
        hit = _DERIVED.get(k)
        if hit is not None and hit[0] is results:
            _DERIVED.move_to_end(k)
            return hit[1]
    value = make()
    with _DERIVED_LOCK:
        _DERIVED[k] = (results, value)  # holding the results keeps their id from being reused by another list
        while len(_DERIVED) > 64:
            _DERIVED.popitem(last=False)
    return value


def pick(value: str) -> str | None:
    """A selectbox value as a filter: ``None`` for 全部."""
    return None if value == "全部" else value


@st.cache_resource
def _firms_lock() -> threading.Lock:
    """The process-wide lock around matching the stored firms (shared by all sessions)."""
    return threading.Lock()


def firm_results() -> list[Any]:
    """Every stored firm's results for the build answering now (matched once, with a progress bar, then reused)."""
    from matcher.work import batch

    store = get_store()
    if not store.count_firms():
        st.info("数据库中还没有企业：清单只含知识库内容。请在“数据导入”页导入企业名单。")
        return []
    build = index_state().build
    if build.results is not None:  # matched with the build, before it was switched to
        return build.results
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
            run = batch.firms_run(store, progress=ui.progress_reporter(progress), matcher=build.matcher)
        except batch.BatchError as exc:
            st.warning(f"{exc}。请稍后刷新页面。")
            st.stop()
    if bar is not None:
        bar.empty()
    return shared_results(str(store.path), int(run["id"]))


@st.cache_resource(show_spinner="正在读取库内企业的匹配结果……", max_entries=2)
def shared_results(db_path: str, run_id: int) -> list[Any]:
    """One stored-firms run's results, read once per server process and shared (read-only) by every session.

    Args:
        db_path: the database file.
        run_id: the finished stored-firms run; a new run (new firms, knowledge base or indexes) is a new entry.
    """
    from matcher.work.results import run_results

    store = kb.open_store(db_path)
    try:
        return run_results(store, run_id)
    finally:
        store.close()


def export_buttons(which: str, label: str, chain: str | None, region: str | None, key: str) -> None:
    """Make the list as XLSX or CSV on request (``matcher.work.export``, the layouts of ``matcher export``), then offer it.

    A file is written only when asked for, not on every view of the page, so many officers browsing the lists do not
    each rewrite them; its cover names who exported it and when. The made file stays offered while the filters stay.

    Args:
        which: the list (``cobuild`` or ``supply-demand``).
        label: its Chinese name on the buttons.
        chain: the chain filter, or ``None``.
        region: the region filter, or ``None``.
        key: the widget-key prefix.
    """
    from matcher.work import export

    store = get_store()
    for col, fmt, mime in zip(st.columns(2), ("xlsx", "csv"), (XLSX_MIME, CSV_MIME), strict=True):
        kind = "Excel" if fmt == "xlsx" else "CSV"
        name = export.default_filename(export.LISTS[which], [chain, region], fmt)
        wanted = (which, chain, region, name, store.user)
        made = st.session_state.get(f"{key}_{fmt}_made")
        if not (made and made[0] == wanted):
            if not col.button(f"生成{label}（{kind}）", key=f"{key}_{fmt}_make"):
                continue
            with st.spinner(f"正在生成{label}……"):
                made = (wanted, make_export(str(store.path), store.user, store.role, which, chain, region, name)())
            st.session_state[f"{key}_{fmt}_made"] = made
        col.download_button(f"下载{label}（{kind}）", made[1], file_name=name, mime=mime, key=f"{key}_{fmt}",
                            type="primary" if fmt == "xlsx" else "secondary")


# -- the map -----------------------------------------------------------------------------------------------------
def map_chart(points: list[dict[str, Any]], height: int = 420) -> dict[str, Any]:
    """西咸新区 drawn offline (a Vega-Lite spec over approximate coordinates, no tiles): new cities, parks, the firm's place.

    Recommended places are highlighted; every position is approximate (约), its source and confidence in the tooltip.
    Show it with ``st.vega_lite_chart``. The layers are built with altair once per height, over a named data set;
    each call only fills in the points (building and validating the altair chart cost ≈0.35 s of CPU).
    """
    # a fresh copy each time: Streamlit moves the data out of the spec it is given
    spec = json.loads(_map_spec(height))
    spec["datasets"] = {MAP_DATA: [dict(p, confidence_label=ui.confidence_label(p.get("confidence")),
                                        推荐="推荐落地" if p["highlight"] and p["kind"] != "企业现址" else
                                        ("企业现址" if p["kind"] == "企业现址" else "其他"))
                                   for p in json.loads(json.dumps(points, ensure_ascii=False, default=str))]}
    return spec


MAP_DATA = "places"  # the name of the map's data set in the spec


@functools.lru_cache(maxsize=8)
def _map_spec(height: int) -> str:
    import altair as alt

    base = alt.Chart(alt.NamedData(name=MAP_DATA)).project(type="mercator").encode(
        longitude="lon:Q", latitude="lat:Q",
        tooltip=[alt.Tooltip("name:N", title="名称"), alt.Tooltip("kind:N", title="类型"),
                 alt.Tooltip("position:N", title="位置"), alt.Tooltip("source:N", title="位置来源"),
                 alt.Tooltip("confidence_label:N", title="可信度")])
    colors = alt.Scale(domain=["推荐落地", "企业现址", "其他"], range=["#d62728", "#1f77b4", "#9e9e9e"])
    cities = base.transform_filter(alt.datum.kind == "新城").mark_circle(opacity=0.25).encode(
        size=alt.value(2600), color=alt.Color("推荐:N", scale=colors, title=None))
    parks = base.transform_filter(alt.datum.kind == "园区").mark_point(filled=True, shape="square").encode(
        size=alt.value(70), color=alt.Color("推荐:N", scale=colors, title=None))
    firm = base.transform_filter(alt.datum.kind == "企业现址").mark_point(filled=True, shape="triangle-up").encode(
        size=alt.value(260), color=alt.Color("推荐:N", scale=colors, title=None))
    labels = base.transform_filter((alt.datum.kind == "新城") | (alt.datum.kind == "企业现址")).mark_text(
        dy=-16, fontSize=13, fontWeight="bold").encode(text="name:N")
    towns = base.transform_filter(alt.datum.kind == "参照").mark_text(fontSize=12, color="#757575").encode(
        text="name:N")
    return json.dumps((cities + parks + firm + labels + towns).properties(height=height).to_dict(), ensure_ascii=False)


def position_rows(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The map's places as table rows: each position marked 约, with where it comes from and how sure it is."""
    return [{"名称": p["name"], "类型": p["kind"], "所属新城": p.get("new_city") or "", "推荐": "是" if p["highlight"] else "",
             "位置": p["position"], "位置来源": p.get("source") or "", "可信度": ui.confidence_label(p.get("confidence"))}
            for p in points]


def make_export(db_path: str, user: str, role: str | None, which: str, chain: str | None, region: str | None,
                name: str) -> Callable[[], bytes]:
    """The list file's maker: written by a child process as this user into that user's folder; returns the bytes."""

    def make() -> bytes:
        from matcher.work import offload

        folder = Path(db_path).parent / "outputs" / "app" / safe_filename(user, 60)
        folder.mkdir(parents=True, exist_ok=True)
        return Path(offload.export_list_file(db_path, user, role, which, str(folder / name), chain, region)).read_bytes()

    return make
