"""Checking a knowledge base before it is accepted: fields, allowed values, references, sources, GB/T and 战新 codes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from matcher.knowledge import gbt
from matcher.knowledge.schema import (
    _KIND_WORD,
    CONFIDENCE,
    FIELDS,
    KINDS,
    NEW_CITIES,
    PARK_CITIES,
    PARK_KINDS,
    POSITION_BOUNDS,
    POSITION_FIELDS,
    REGIONS,
    ROLES,
    STAGES,
    STATUSES,
    Problem,
    entry_key,
)


def position_problems(pos: Any) -> list[str]:
    """What is wrong with a park's map position (``{lon, lat, approx, source, confidence}``); empty when sound.

    Both coordinates are numbers inside 陕西省, ``approx`` says whether the position is a 约数, ``source`` says where it
    comes from (or, when no public source gives one, how it was estimated) and ``confidence`` is one of CONFIDENCE.
    """
    if not isinstance(pos, dict):
        return ["应为对象 {lon, lat, approx, source, confidence}"]
    out = []
    extra = sorted(set(pos) - set(POSITION_FIELDS))
    if extra:
        out.append(f"有未知字段 {'、'.join(extra)}（可用：{'、'.join(POSITION_FIELDS)}）")
    for axis, (low, high) in POSITION_BOUNDS.items():
        value = pos.get(axis)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{axis} 应为数字（经纬度，WGS-84），实为 {value!r}")
        elif not low <= value <= high:
            out.append(f"{axis} = {value} 不在陕西省范围（{low}–{high}）内：是否写错或经纬度颠倒？")
    if not isinstance(pos.get("approx"), bool):
        out.append("缺少 approx（是否为约数：true / false）")
    if not isinstance(pos.get("source"), str) or not pos["source"].strip():
        out.append("缺少 source（来源；没有公开出处时写明如何估计）")
    if pos.get("confidence") not in CONFIDENCE:
        out.append(f"confidence 应为 {' / '.join(CONFIDENCE)}，实为 {pos.get('confidence')!r}")
    return out


def validate(kb: dict[str, Any], gb_codes: Iterable[str] | None = None,
             sei_paths: Iterable[str] | None = None) -> list[Problem]:
    """Check schema, references and sourcing of a KB dict; an empty list means it is sound.

    Checks: required fields and allowed values; every entry and system item has ``source`` and ``confidence``
    (a non-empty source unless the confidence is 待核实); every chain a system item or park names exists;
    every chain has the three segments with keywords and at least one valid GB/T 4754-2017 小类 code; 战新 paths
    exist; the chains' ``systems`` lists agree with the systems' items.

    Args:
        kb: the KB dict (from :func:`load_dir` or :func:`current`).
        gb_codes: valid 小类 codes; default those of ``data/gbt4754``.
        sei_paths: valid 战新2018 paths; default those of ``data/gbt4754``.
    """
    codes = frozenset(gb_codes) if gb_codes is not None else gbt.gb_codes()
    seis = frozenset(gbt.normalize_sei_path(p) for p in sei_paths) if sei_paths is not None else gbt.sei_paths()
    files = kb.get("files") or {}
    where = (lambda kind, key: files.get(kind, {}).get(key, f"{kind}.json")) if files else \
        (lambda kind, key: f"知识库版本 {kb.get('version', '?')}")
    problems: list[Problem] = []

    def add(kind: str, key: str, message: str) -> None:
        problems.append(Problem(where(kind, key), f"{_KIND_WORD[kind]} {key or '（无名）'}", message))

    def sourced(kind: str, key: str, row: dict[str, Any], label: str = "") -> None:
        conf = row.get("confidence")
        if conf not in CONFIDENCE:
            add(kind, key, f"{label}confidence 应为 {' / '.join(CONFIDENCE)}，实为 {conf!r}")
        src = row.get("source")
        if src is None:
            add(kind, key, f"{label}缺少 source（来源）")
        elif not isinstance(src, list) or not all(isinstance(s, str) and s.strip() for s in src):
            add(kind, key, f"{label}source 应为非空字符串列表")
        elif not src and conf != "待核实":
            add(kind, key, f"{label}source 为空，但可信度为 {conf}（无来源只能标 待核实）")

    def str_list(kind: str, key: str, row: dict[str, Any], field: str, required: bool = True) -> list[str]:
        value = row.get(field)
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            add(kind, key, f"{field} 应为字符串列表")
            return []
        return value

    def unknown(kind: str, key: str, row: dict[str, Any], fields: str, label: str = "") -> None:
        extra = sorted(set(row) - FIELDS[fields])
        if extra:
            add(kind, key, f"{label}有未知字段 {'、'.join(extra)}（拼写错误？可用字段见 data/kb/README.md）")

    for kind in KINDS:
        if not isinstance(kb.get(kind), list):
            problems.append(Problem(f"{kind}.json", kind, f"缺少 {kind} 列表"))
    chain_names = {c.get("name") for c in kb.get("chains") or [] if isinstance(c, dict)}
    alias_owner: dict[str, str] = {}
    for c in kb.get("chains") or []:
        for a in c.get("aliases") or []:
            alias_owner.setdefault(a, c.get("name", ""))

    def chain_ref(kind: str, key: str, name: Any, context: str) -> None:
        if name in chain_names:
            return
        hint = f"（应写规范名称 “{alias_owner[name]}”）" if name in alias_owner else ""
        add(kind, key, f"{context}引用的产业链 “{name}” 不存在{hint}")

    # systems
    systems_by_id: dict[str, dict[str, Any]] = {}
    for s in kb.get("systems") or []:
        key = entry_key("systems", s)
        if not key:
            add("systems", key, "缺少 id")
            continue
        if key in systems_by_id:
            add("systems", key, "id 重复")
        systems_by_id[key] = s
        for field in ("name", "document", "as_of"):
            if not isinstance(s.get(field), str) or (field == "name" and not s.get(field)):
                add("systems", key, f"缺少 {field}")
        if s.get("region") not in REGIONS:
            add("systems", key, f"region 应为 {' / '.join(REGIONS)}，实为 {s.get('region')!r}")
        if s.get("status") not in STATUSES:
            add("systems", key, f"status 应为 current / superseded，实为 {s.get('status')!r}")
        sourced("systems", key, s)
        unknown("systems", key, s, "systems")
        items = s.get("items")
        if not isinstance(items, list):
            add("systems", key, "items 应为列表")
            continue
        item_names = [it.get("name") for it in items if isinstance(it, dict)]
        seen: set[str] = set()
        for i, it in enumerate(items):
            if not isinstance(it, dict) or not it.get("name"):
                add("systems", key, f"第 {i + 1} 个条目缺少 name")
                continue
            label = f"条目 “{it['name']}” "
            if it["name"] in seen:
                add("systems", key, f"{label}重复")
            seen.add(it["name"])
            if it.get("parent") is not None and it.get("parent") not in item_names:
                add("systems", key, f"{label}的上级 “{it.get('parent')}” 不在本体系条目中")
            for c in str_list("systems", key, it, "chains"):
                chain_ref("systems", key, c, label)
            sourced("systems", key, it, label)
            unknown("systems", key, it, "items", label)

    # chains
    seen_chains: set[str] = set()
    for c in kb.get("chains") or []:
        key = entry_key("chains", c)
        if not key:
            add("chains", key, "缺少 name")
            continue
        if key in seen_chains:
            add("chains", key, "名称重复")
        seen_chains.add(key)
        for a in str_list("chains", key, c, "aliases"):
            if a in chain_names and a != key:
                add("chains", key, f"别名 “{a}” 与另一条产业链同名")
            elif alias_owner.get(a) not in (None, key):
                add("chains", key, f"别名 “{a}” 同时属于 “{alias_owner[a]}”")
        if not isinstance(c.get("as_of"), str):
            add("chains", key, "缺少 as_of")
        sourced("chains", key, c)
        unknown("chains", key, c, "chains")
        segs = c.get("segments")
        if not isinstance(segs, list) or not segs:
            add("chains", key, "缺少 segments（上游/中游/下游）")
            segs = []
        stages = [sg.get("stage") for sg in segs if isinstance(sg, dict)]
        for stage in STAGES:
            if stage not in stages:
                add("chains", key, f"缺少{stage}环节")
        for sg in segs:
            if not isinstance(sg, dict):
                add("chains", key, "segments 中每项应为对象")
                continue
            label = f"{sg.get('stage')}环节 “{sg.get('name')}” "
            if sg.get("stage") not in STAGES:
                add("chains", key, f"{label}stage 应为 上游 / 中游 / 下游")
            if not str_list("chains", key, sg, "keywords"):
                add("chains", key, f"{label}没有关键词")
            str_list("chains", key, sg, "products", required=False)
            if "source" in sg or "confidence" in sg:
                sourced("chains", key, sg, label)
            unknown("chains", key, sg, "segments", label)
        gb = str_list("chains", key, c, "gb_codes")
        if not gb:
            add("chains", key, "没有 GB/T 4754-2017 行业代码（gb_codes）")
        for code in gb:
            if code not in codes:
                add("chains", key, f"GB/T 4754-2017 中没有小类代码 “{code}”（须为4位小类）")
        for p in str_list("chains", key, c, "sei", required=False):
            if gbt.normalize_sei_path(p) not in seis:
                add("chains", key, f"战新2018 分类中没有 “{p}”")
        str_list("chains", key, c, "sw_industries", required=False)
        listed = set()
        for ref in c.get("systems") or []:
            sid, item = (ref or {}).get("system"), (ref or {}).get("item")
            listed.add((sid, item))
            s = systems_by_id.get(str(sid))
            if s is None:
                add("chains", key, f"所属体系 “{sid}” 不存在")
                continue
            match = [it for it in s.get("items") or [] if it.get("name") == item]
            if not match:
                add("chains", key, f"体系 {sid} 中没有条目 “{item}”")
            elif key not in (match[0].get("chains") or []):
                add("chains", key, f"体系 {sid} 的条目 “{item}” 并未指向本链（请同步 systems）")
        for sid, s in systems_by_id.items():
            for it in s.get("items") or []:
                if isinstance(it, dict) and key in (it.get("chains") or []) and (sid, it.get("name")) not in listed:
                    add("chains", key, f"体系 {sid} 的条目 “{it.get('name')}” 指向本链，但本链 systems 未列出")
        for a in c.get("anchors") or []:
            label = f"链主/龙头 “{a.get('name')}” "
            if not a.get("name"):
                add("chains", key, "anchors 中有企业缺少 name")
            if a.get("role") not in ROLES:
                add("chains", key, f"{label}role 应为 {' / '.join(ROLES)}")
            if not a.get("region"):
                add("chains", key, f"{label}缺少 region")
            sourced("chains", key, a, label)
            unknown("chains", key, a, "anchors", label)

    # parks
    seen_parks: set[str] = set()
    for p in kb.get("parks") or []:
        key = entry_key("parks", p)
        if not key:
            add("parks", key, "缺少 name")
            continue
        if key in seen_parks:
            add("parks", key, "名称重复")
        seen_parks.add(key)
        if p.get("kind") not in PARK_KINDS:
            add("parks", key, f"kind 应为 {' / '.join(PARK_KINDS)}，实为 {p.get('kind')!r}")
        if p.get("new_city") is not None and p.get("new_city") not in NEW_CITIES:
            add("parks", key, f"new_city 应为 {' / '.join(NEW_CITIES)} 或 null，实为 {p.get('new_city')!r}")
        if p.get("kind") == "新城" and p.get("new_city") != key:
            add("parks", key, "新城的 new_city 应为其自身名称")
        if p.get("city") not in PARK_CITIES:
            add("parks", key, f"city 应为 {' / '.join(PARK_CITIES)}，实为 {p.get('city')!r}")
        if not isinstance(p.get("as_of"), str):
            add("parks", key, "缺少 as_of")
        str_list("parks", key, p, "lead_industries")
        for c in str_list("parks", key, p, "lead_chains"):
            chain_ref("parks", key, c, "lead_chains ")
        feats = str_list("parks", key, p, "features")
        for f in str_list("parks", key, p, "features_unconfirmed", required=False):
            if f not in feats:
                add("parks", key, f"features_unconfirmed 中的 “{f}” 不在 features 中")
        sourced("parks", key, p)
        unknown("parks", key, p, "parks")
        if p.get("position") is not None:
            for message in position_problems(p["position"]):
                add("parks", key, f"position {message}")
        elif p.get("kind") == "新城":
            add("parks", key, "缺少 position（地图位置：lon、lat、approx、source、confidence）")
    park_names = seen_parks
    for p in kb.get("parks") or []:
        if p.get("parent") and p["parent"] not in park_names:
            add("parks", entry_key("parks", p), f"所属新城/园区 “{p['parent']}” 不存在")
    return problems
