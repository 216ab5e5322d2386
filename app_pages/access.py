"""Who uses the app: per-user login with roles, idle expiry, the first 管理 account, or single-user mode on this machine.

``gate()`` runs before every page. With accounts in the database it asks for a login; without any, the app runs as one
user when it listens on this machine only (and says so), and otherwise asks for the first 管理 account. The
session's store is then opened with the user's name and role, so the library itself refuses what the role may not do.
"""

from __future__ import annotations

import time

import streamlit as st

from matcher import paths, ui
from matcher.store.database import Store
from matcher.store.users import IDLE_MINUTES, AccountError, LoginError, User, add_user, authenticate, has_users

SINGLE_USER_NOTE = "单用户模式：数据库中还没有账户，本应用只在本机（127.0.0.1）访问，所有功能对当前使用者开放。"


def current_user() -> User | None:
    """The logged-in user of this session, or ``None`` (single-user mode or not logged in)."""
    value = st.session_state.get("_user")
    return User(*value) if value else None


def _probe() -> Store:
    """A store opened without any role, only to read whether accounts exist and to check logins."""
    path = str(paths.db_path())
    store = st.session_state.get("_probe")
    if store is None or str(store.path) != path:
        store = Store(path)
        st.session_state["_probe"] = store
    return store


def mode() -> str:
    """``accounts`` (log in), ``password`` (the shared MATCHER_PASSWORD), ``single`` (this machine) or ``setup``."""
    try:
        if has_users(_probe()):
            return "accounts"
    except Exception:  # no usable database (a folder, no permission): every page says so in its own message
        pass
    if ui.password_required():
        return "password"
    return "single" if ui.is_loopback(st.get_option("server.address")) else "setup"


def _expired() -> bool:
    """Log out a session idle for longer than ``IDLE_MINUTES``; True when that just happened."""
    now, seen = time.time(), st.session_state.get("_seen")
    st.session_state["_seen"] = now
    if current_user() and seen and now - seen > IDLE_MINUTES * 60:
        st.session_state.pop("_user", None)
        return True
    return False


def still_in() -> bool:
    """For a click that reruns only part of a page (a fragment): the idle clock runs as on a page run; False when
    the session has to go through the login gate first (it was logged out, or has just been for idling)."""
    if _expired():
        st.session_state["_expired_notice"] = True  # the gate of the whole-app rerun that follows says why
        return False
    return not locked()


def locked() -> bool:
    """Whether this session must log in (or set up the first account) before any page shows."""
    m = mode()
    if m == "accounts":
        return current_user() is None
    if m == "password":
        return not st.session_state.get("_authed")
    return m == "setup"


def gate() -> None:
    """Stop every page until the session has logged in (or the shared password is typed, or the first account made)."""
    expired = _expired() | bool(st.session_state.pop("_expired_notice", False))
    if not locked():
        return
    st.title("西咸新区产业链招商匹配")
    m = mode()
    if m == "password":
        _password_form()
    elif m == "setup":
        st.info("首次使用：请创建第一个“管理”账户。之后每位使用者用自己的账户登录。")
        first_account_form()
    else:
        if expired:
            st.warning(f"超过 {IDLE_MINUTES} 分钟未操作，已退出登录，请重新登录。")
        _login_form()
    st.stop()


def _password_form() -> None:
    with st.form("login"):
        given = st.text_input("访问密码", type="password", key="login_password")
        ok = st.form_submit_button("进入")
    if ok:
        if ui.password_ok(given, ui.password_required() or ""):
            st.session_state["_authed"] = True
            st.rerun()
        st.error("密码不正确，请重试。")


def _login_form() -> None:
    with st.form("login"):
        name = st.text_input("用户名", key="login_user")
        given = st.text_input("密码", type="password", key="login_password")
        ok = st.form_submit_button("登录")
    if ok:
        try:
            user = authenticate(_probe(), name, given)
        except LoginError as exc:
            st.error(str(exc))
            return
        st.session_state["_user"] = (user.name, user.role)
        st.session_state["_seen"] = time.time()
        st.rerun()


def first_account_form() -> None:
    """Create the first 管理 account (refused by the library once any account exists)."""
    with st.form("first_admin"):
        name = st.text_input("管理员用户名", key="setup_user")
        pw = st.text_input("密码（至少 8 位）", type="password", key="setup_password")
        again = st.text_input("再输入一次密码", type="password", key="setup_password2")
        ok = st.form_submit_button("创建管理账户")
    if ok:
        if pw != again:
            st.error("两次输入的密码不一致。")
            return
        # Opened as a 查看 user: if someone created an account meanwhile, the library refuses this one.
        store = Store(paths.db_path(), user=(name or "").strip() or "未命名", role="查看")
        try:
            add_user(store, name, pw, "管理")
        except (AccountError, PermissionError) as exc:
            st.error(str(exc))
            return
        finally:
            store.close()
        st.session_state["_user"] = ((name or "").strip(), "管理")
        st.session_state["_seen"] = time.time()
        st.rerun()


def sidebar() -> None:
    """Who is logged in (with a 退出 button), or the single-user notice."""
    user, m = current_user(), mode()
    if user:
        st.caption(f"当前用户：{user.name}（{user.role}）")
        if st.button("退出登录", key="logout"):
            for key in ("_user", "_store"):
                st.session_state.pop(key, None)
            st.rerun()
    elif m == "single":
        st.caption(SINGLE_USER_NOTE)
        with st.expander("启用多用户账户"):
            first_account_form()

