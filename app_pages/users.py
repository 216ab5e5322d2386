"""用户管理: accounts of the people using this server — add, change role, reset password, disable (管理 only)."""

from __future__ import annotations

import streamlit as st

from app_pages.common import frame, get_store
from matcher.store import ROLES, PermissionDenied
from matcher.store.users import AccountError, add_user, list_users, set_disabled, set_password, set_role


def main() -> None:
    """The account list, then one form per change; the library refuses every change unless the user is 管理."""
    st.header("用户管理")
    store = get_store()
    if store.role is None:
        st.info("单用户模式：还没有账户。可在侧栏“启用多用户账户”中创建第一个管理账户，或在服务器上运行 matcher users add。")
        return
    if store.role != "管理":
        st.warning(f"用户 {store.user}（{store.role}）无权管理用户：需要“管理”权限。")
        return
    users = list_users(store)
    frame([{"用户名": u["name"], "角色": u["role"], "状态": "已停用" if u["disabled"] else "可用",
            "最近登录": u.get("last_login_at") or "", "连续失败登录": u["failed"]} for u in users])
    names = [u["name"] for u in users]
    add, change = st.columns(2)
    with add.form("user_add", clear_on_submit=True):
        st.markdown("**添加用户**")
        name = st.text_input("用户名", key="ua_name")
        role = st.selectbox("角色", ROLES, index=1, key="ua_role")
        pw = st.text_input("初始密码（至少 8 位）", type="password", key="ua_pw")
        if st.form_submit_button("添加"):
            _do(lambda: add_user(store, name, pw, role), f"已添加用户 {name}（{role}）")
    with change.form("user_change"):
        st.markdown("**修改用户**")
        who = st.selectbox("用户", names, key="uc_name")
        what = st.radio("操作", ["改角色", "重设密码", "停用", "启用"], horizontal=True, key="uc_what")
        new_role = st.selectbox("新角色", ROLES, key="uc_role")
        new_pw = st.text_input("新密码（重设密码时）", type="password", key="uc_pw")
        if st.form_submit_button("确定"):
            actions = {"改角色": lambda: set_role(store, who, new_role), "重设密码": lambda: set_password(store, who, new_pw),
                       "停用": lambda: set_disabled(store, who, True), "启用": lambda: set_disabled(store, who, False)}
            _do(actions[what], f"{who}：{what}完成")


def _do(action: object, done: str) -> None:
    """Run one account change; show the library's reason when it is refused."""
    try:
        action()  # type: ignore[operator]
    except (AccountError, PermissionDenied) as exc:
        st.error(str(exc))
        return
    st.toast(done)
    st.rerun()


main()
