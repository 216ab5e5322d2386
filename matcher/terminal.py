"""Text views for the terminal (the CLI's presentation): a knowledge-base entry, the runs table."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wcwidth import wcswidth

from matcher.knowledge import kb as knowledge
from matcher.store import Store
from matcher.store.runs import STATUS_LABELS


def kb_view(store: Store, name: str) -> str:
    """A readable Chinese view of one chain, system or park of the current version.

    Raises:
        KBError: nothing by that name (the message lists close names).
    """
    kb = knowledge.current(store)
    hit = knowledge.find(kb, name)
    if hit is None:
        raise knowledge.not_found(kb, name)
    kind, entry = hit
    head = f"知识库版本 {kb['version']}"
    if kind == "chains":
        return _show_chain(kb, entry) + "\n" + head
    if kind == "systems":
        return _show_system(entry) + "\n" + head
    return _show_park(kb, entry) + "\n" + head


def _conf(row: dict[str, Any]) -> str:
    return f"可信度 {row.get('confidence', '?')}" + (f"，截至 {row['as_of']}" if row.get("as_of") else "")


def _sources(row: dict[str, Any]) -> list[str]:
    return [f"  来源：{s}" for s in row.get("source") or []] or ["  来源：（无，待核实）"]


def _show_chain(kb: dict[str, Any], c: dict[str, Any]) -> str:
    rel = knowledge.chain_relations(kb, c)
    alias = f"（又称：{'、'.join(c.get('aliases') or [])}）" if c.get("aliases") else ""
    lines = [f"产业链：{c['name']}{alias}　[{_conf(c)}]" + ("　★重点关注" if c.get("focus") else "")]
    if c.get("description"):
        lines.append(f"说明：{c['description']}")
    for sg in c.get("segments") or []:
        lines.append(f"{sg.get('stage')}·{sg.get('name')}"
                     + (f"　[{sg['confidence']}]" if sg.get("confidence") else ""))
        lines.append(f"  关键词：{'、'.join(sg.get('keywords') or [])}")
        if sg.get("products"):
            lines.append(f"  典型产品：{'、'.join(sg['products'])}")
    lines.append("国民经济行业（GB/T 4754-2017 小类）：" + "；".join(f"{g['code']} {g['name']}" for g in rel["gb"]))
    if c.get("sei"):
        lines.append("战略性新兴产业（2018）：" + "；".join(c["sei"]))
    if c.get("sw_industries"):
        lines.append("申万行业（2021）：" + "、".join(c["sw_industries"]))
    lines.append("所属产业体系：")
    for ref in rel["systems"]:
        lines.append(f"  {ref['name']}{ref['mark']} · {ref['path']}")
    if not rel["systems"]:
        lines.append("  （无）")
    led, land = rel["parks"], rel["landing"]
    if land:
        lines.append("落地载体（西咸新区承接地）：" + "；".join(f"{p['name']}（{p.get('kind')}，{p['new_city']}）" for p in land))
    if len(land) < len(led):
        lines.append("同类集聚（主城、咸阳，仅作参考）：" +
                     "；".join(f"{p['name']}（{p.get('city')}）" for p in led if not p.get("new_city")))
    if c.get("anchors"):
        lines.append("链主/龙头企业：")
        for a in c["anchors"]:
            lines.append(f"  {a.get('name')}（{a.get('role')}，{a.get('location') or a.get('region')}，{a.get('confidence')}）")
    lines.extend(_sources(c))
    return "\n".join(lines)


def _show_system(s: dict[str, Any]) -> str:
    status = "现行" if s.get("status") == "current" else "已被取代" + (knowledge.old_wording_mark(s) or "（旧表述）")
    lines = [f"产业体系：{s['name']}（id: {s['id']}，{s.get('region')}，{status}）　[{_conf(s)}]"]
    if s.get("document"):
        lines.append(f"文件：{s['document']}")
    if s.get("note"):
        lines.append(f"备注：{s['note']}")
    items = s.get("items") or []
    if not items:
        lines.append("（条目内容待核实，尚未录入）")

    def walk(parent: str | None, depth: int) -> None:
        for it in items:
            if it.get("parent") == parent:
                chains = f" → {'、'.join(it['chains'])}" if it.get("chains") else ""
                note = f"（{it['note']}）" if it.get("note") else ""
                lines.append(f"{'  ' * (depth + 1)}- {it['name']}{chains}　[{it.get('confidence')}]{note}")
                walk(it["name"], depth + 1)

    walk(None, 0)
    lines.extend(_sources(s))
    return "\n".join(lines)


def _show_park(kb: dict[str, Any], p: dict[str, Any]) -> str:
    where = p.get("new_city") if p.get("new_city") and p.get("kind") != "新城" else p.get("city")
    lines = [f"{p.get('kind')}：{p['name']}（{where}）　[{_conf(p)}]"]
    if p.get("location"):
        lines.append(f"位置：{p['location']}")
    if p.get("position"):
        pos = p["position"]
        lines.append(f"地图位置：{'约 ' if pos.get('approx') else ''}{pos.get('lat')}°N，{pos.get('lon')}°E"
                     f"　[{pos.get('confidence')}]　来源：{pos.get('source')}")
    if p.get("members"):
        lines.append(f"组团成员：{'、'.join(p['members'])}")
    if p.get("lead_industries"):
        lines.append(f"主导产业：{'、'.join(p['lead_industries'])}")
    if p.get("lead_chains"):
        lines.append(f"对应产业链：{'、'.join(p['lead_chains'])}")
    unconfirmed = set(p.get("features_unconfirmed") or [])
    if p.get("features"):
        lines.append("承载条件：" + "、".join(f + ("（待核实）" if f in unconfirmed else "") for f in p["features"]))
    inside = [q["name"] for q in kb["parks"] if q.get("parent") == p["name"]]
    if inside:
        lines.append(f"内设园区：{'、'.join(inside)}")
    if p.get("firms"):
        lines.append(f"代表企业：{'、'.join(p['firms'])}")
    if p.get("note"):
        lines.append(f"备注：{p['note']}")
    lines.extend(_sources(p))
    return "\n".join(lines)


# -- editing ----------------------------------------------------------------------------------------------------


RUN_KIND_LABELS = {"import": "导入", "batch": "批量匹配", "firms": "库内企业匹配"}


def _width(text: str) -> int:
    return max(wcswidth(text), len(text))  # wide (CJK) characters take two columns; -1 means unprintable


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _time(stamp: str | None) -> str:
    return (stamp or "")[:19].replace("T", " ")


def runs_table(runs: Sequence[dict[str, Any]]) -> str:
    """The runs as an aligned text table for the terminal (newest first), failures with their reason.

    编号 is the number users know a run by (each kind counted from 1: 批次 1, 导入 1 …), the one commands take.
    """
    from matcher.work.batch import pid_alive

    head = ["编号", "类型", "状态", "输入", "行数", "企业", "拒绝", "已匹配", "知识库", "开始", "结束", "输出"]
    rows = []
    for r in runs:
        p = r.get("params") or {}
        name = Path(r.get("input_path") or "").name or (r.get("input_path") or "")
        status = STATUS_LABELS.get(r.get("status") or "", r.get("status") or "")
        if r.get("status") == "running" and p.get("host") == socket.gethostname() and p.get("pid") \
                and not pid_alive(int(p["pid"])):
            status = "已中断（再次运行同一命令可续跑）"
        elif r.get("status") == "failed" and p.get("error"):
            status += f"（{str(p['error'])[:40]}）"
        rows.append([str(r["number"]), RUN_KIND_LABELS.get(r.get("kind") or "", r.get("kind") or ""), status, name[:40],
                     str(r.get("rows") or 0), str(r.get("stored") or 0), str(r.get("rejected") or 0),
                     str(r.get("done") or 0) if r.get("kind") in ("batch", "firms") else "—", f"v{r.get('kb_version')}",
                     _time(r.get("started_at")), _time(r.get("ended_at")), r.get("output_path") or ""])
    widths = [max(_width(x[i]) for x in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(_pad(x[i], widths[i]) for i in range(len(head))).rstrip() for x in [head, *rows])
