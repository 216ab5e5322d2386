"""西咸新区产业链招商匹配 — the Streamlit app: login and navigation; each page is a file in ``app_pages/``.

Start with ``make run`` (or ``streamlit run app.py``). The database is ``MATCHER_DB`` (default ``data/matcher.db``).
With accounts (``matcher users add``) every session logs in and acts with its role; without any, the app runs as one
user on this machine, or behind ``MATCHER_PASSWORD`` when set. ``?page=<页面名称>`` opens a page directly.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import streamlit as st

from app_pages import access
from app_pages.common import page_error, render_lock
from matcher import paths

log = logging.getLogger("matcher.app")

st.set_page_config(page_title="西咸新区产业链招商匹配", page_icon=":material/hub:", layout="wide")

# (page file, title, icon) in menu order; the first is the home page
PAGES = (("app_pages/match.py", "智能匹配", ":material/search:"),
         ("app_pages/batch.py", "批量匹配", ":material/playlist_add_check:"),
         ("app_pages/cobuild.py", "共建清单", ":material/list_alt:"),
         ("app_pages/supply.py", "供需对接", ":material/handshake:"),
         ("app_pages/graph.py", "产业链图谱", ":material/account_tree:"),
         ("app_pages/map.py", "地图", ":material/map:"),
         ("app_pages/kb.py", "知识库", ":material/menu_book:"),
         ("app_pages/data_import.py", "数据导入", ":material/upload_file:"),
         ("app_pages/lists.py", "承接清单", ":material/checklist:"),
         ("app_pages/projects.py", "项目库", ":material/work:"),
         ("app_pages/progress.py", "进度", ":material/monitoring:"),
         ("app_pages/events.py", "洽谈会", ":material/groups:"),
         ("app_pages/firms.py", "企业管理", ":material/domain:"),
         ("app_pages/audit.py", "审计记录", ":material/history:"),
         ("app_pages/users.py", "用户管理", ":material/manage_accounts:"))


def navigation() -> tuple[dict[str, Any], Any]:
    """The pages, with the sidebar menu only once logged in (a page's address meets the same gate either way)."""
    pages = {title: st.Page(path, title=title, icon=icon, default=n == 0)
             for n, (path, title, icon) in enumerate(PAGES)}
    return pages, st.navigation(list(pages.values()), position="hidden" if access.locked() else "sidebar",
                                expanded=True)


def open_link(pages: dict[str, Any], nav: Any) -> None:
    """Follow a ``?page=<页面名称>`` link once: switch to that page and drop the parameter."""
    wanted = st.query_params.get("page")
    if wanted is not None:
        del st.query_params["page"]
        if wanted in pages and wanted != nav.title:
            st.switch_page(pages[wanted])


def demo_banner() -> None:
    """Say plainly in the sidebar when this database holds 示例 firms (a demo database, not real data)."""
    from app_pages.common import get_store
    from matcher.work.firms import sample_count

    n = sample_count(get_store())
    if n:
        st.sidebar.warning(f"演示数据库：含 {n} 家示例企业，并非真实数据。")


def main() -> None:
    """Login gate, navigation, then the chosen page; a refused change or an unexpected error is shown in Chinese."""
    st.session_state["_run"] = st.session_state.get("_run", 0) + 1  # which run of this session (notices show once per run)
    pages, page = navigation()
    access.gate()
    open_link(pages, page)
    st.session_state["page"] = page.title  # the page this run shows
    with st.sidebar:
        st.markdown("### 西咸新区产业链招商匹配")
        st.caption(f"数据库：{paths.db_path().name}")
        access.sidebar()
    started = time.perf_counter()
    # A newer rerun of this session may start before the previous one has stopped: render one at a time, so the
    # session's database connection never carries two interleaved transactions.
    try:
        with render_lock():
            demo_banner()
            page.run()
    except Exception as exc:  # a refused change or an error: a Chinese message, the log keeps the traceback
        page_error(page.title, exc)
    log.debug("page %s rendered in %.3f s", page.title, time.perf_counter() - started)


main()
