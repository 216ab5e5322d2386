"""The knowledge base: industrial systems, key chains and parks, as sourced data with whole-snapshot versions.

The files in ``data/kb/*.json`` are what staff read and correct; the database holds every version ever loaded or
edited (table ``kb_versions``), plus flat tables (``systems``, ``chains``, ``segments``, ``parks``) of the current
version for SQL users. Everyone else reads the knowledge base through :func:`current`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher import paths
from matcher.knowledge import gbt
from matcher.store import knowledge as knowledge_store

if TYPE_CHECKING:
    from matcher.store.database import Store

from matcher.knowledge.schema import (  # noqa: F401 - the schema's names are part of this module's API
    CONFIDENCE,
    FIELDS,
    FILE_AUTHOR,
    KINDS,
    NEW_CITIES,
    PARK_CITIES,
    PARK_KINDS,
    REGIONS,
    ROLES,
    STAGES,
    STATUSES,
    KBError,
    Problem,
    entry_key,
)
from matcher.knowledge.validate import validate

_KIND_ALIASES = {
    "system": "systems", "systems": "systems", "体系": "systems",
    "chain": "chains", "chains": "chains", "产业链": "chains", "链": "chains",
    "park": "parks", "parks": "parks", "园区": "parks",
}


# -- files ----------------------------------------------------------------------------------------------------
def load_dir(path: str | Path | None = None) -> dict[str, Any]:
    """Read ``data/kb/*.json`` into a KB dict ``{"version": 0, "systems", "chains", "parks", "files"}``.

    Each file is a JSON object holding any of the lists ``systems``, ``chains``, ``parks`` (other keys, such as
    ``description``, are notes for readers). ``files`` maps each entry to the file it came from, for messages.

    Args:
        path: the folder; default ``data/kb``.

    Raises:
        KBError: the folder is missing, or a file is not valid JSON of that shape.
    """
    folder = Path(path) if path else paths.KB_DIR
    if not folder.is_dir():
        raise KBError(f"{folder}：知识库目录不存在")
    kb: dict[str, Any] = {"version": 0, "systems": [], "chains": [], "parks": [], "files": {k: {} for k in KINDS}}
    for file in sorted(folder.glob("*.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KBError(f"{file.name}：不是有效的 UTF-8 JSON（{exc}）") from exc
        if not isinstance(data, dict):
            raise KBError(f"{file.name}：顶层应为对象，含 systems / chains / parks 列表")
        for kind in KINDS:
            rows = data.get(kind)
            if rows is None:
                continue
            if not isinstance(rows, list):
                raise KBError(f"{file.name}：{kind} 应为列表")
            for i, row in enumerate(rows):
                if not isinstance(row, dict):
                    raise KBError(f"{file.name}：{kind} 第 {i + 1} 项应为对象")
                kb[kind].append(row)
                kb["files"][kind][entry_key(kind, row) or f"#{i + 1}"] = file.name
    return kb


def files_digest(path: str | Path | None = None) -> str:
    """SHA-256 over the knowledge-base files (names and bytes), to tell whether they changed since the last import."""
    folder = Path(path) if path else paths.KB_DIR
    h = hashlib.sha256()
    for file in sorted(folder.glob("*.json")):
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()


def _snapshot(kb: dict[str, Any]) -> dict[str, Any]:
    """The part of a KB dict that is versioned: the three lists."""
    return {k: kb.get(k, []) for k in KINDS}


# -- validation -----------------------------------------------------------------------------------------------
def sync_crosswalk(kb: dict[str, Any]) -> None:
    """Rebuild each chain's ``systems`` list from the systems' items, so the crosswalk is edited in one place."""
    membership: dict[str, list[dict[str, str]]] = {}
    for s in kb.get("systems") or []:
        for it in s.get("items") or []:
            for c in it.get("chains") or []:
                membership.setdefault(c, []).append({"system": s.get("id"), "item": it.get("name")})
    for c in kb.get("chains") or []:
        c["systems"] = membership.get(c.get("name"), [])


# -- the database ---------------------------------------------------------------------------------------------
_CACHE: dict[tuple[str, int, str], dict[str, Any]] = {}
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def open_store(path: str | Path | None = None) -> Store:
    """Open (or create) a database with its knowledge base loaded, and shipped corrections of ``data/kb`` applied."""
    from matcher.store import Store

    store = Store(path)
    ensure_loaded(store)
    return store


def version(store: Store) -> int:
    """The current (highest) knowledge-base version in the database; 0 when none is loaded."""
    return knowledge_store.latest_version(store)


def ensure_loaded(store: Store) -> None:
    """Load ``data/kb`` into the database as version 1 when it has none; cheap when already loaded.

    Also imports the files as a new version when they changed since their last import and no staff edit came
    after it, so a shipped correction reaches existing databases without overwriting anyone's edits.
    """
    if version(store) and store.get_meta("kb_files_sha") in (None, _digest_cached()):
        return
    with store.transaction():
        latest = version(store)  # re-read inside the write lock: another process may have loaded meanwhile
        if latest == 0:
            _import_files(store, None, author=FILE_AUTHOR, reason="初始载入知识库文件")
        elif store.get_meta("kb_files_sha") != files_digest() and \
                store.get_meta("kb_files_version") == str(latest):  # nobody edited since the last file import
            _import_files(store, None, author=FILE_AUTHOR, reason="知识库文件已更新，重新载入")


def _import_files(store: Store, path: str | Path | None, *, author: str, reason: str,
                  kb: dict[str, Any] | None = None) -> int:
    """Write the files as a version and remember which files and version that was; the caller holds the transaction."""
    v = _write_version(store, kb if kb is not None else load_dir(path), author=author, reason=reason)
    if path is None or Path(path).resolve() == paths.KB_DIR.resolve():
        store.set_meta("kb_files_sha", files_digest(path))
        store.set_meta("kb_files_version", str(v))
    return v


_DIGEST: dict[str, tuple[tuple[Any, ...], str]] = {}


def _digest_cached() -> str:
    """The files' digest, recomputed only when a file's modification time changed (opening a store stays cheap)."""
    folder = paths.KB_DIR
    stamp = tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in folder.glob("*.json"))) \
        if folder.is_dir() else ()
    key = str(folder)
    if key not in _DIGEST or _DIGEST[key][0] != stamp:
        _DIGEST[key] = (stamp, files_digest(folder) if folder.is_dir() else "")
    return _DIGEST[key][1]


def import_dir(store: Store, path: str | Path | None = None, *, author: str, reason: str) -> int:
    """Store the files of ``path`` (default ``data/kb``) as a new version; returns the version number.

    Raises:
        KBError: the files fail :func:`validate`.
    """
    kb = load_dir(path)
    problems = validate(kb)
    if problems:
        raise KBError("知识库文件有误，未导入：\n" + "\n".join(str(p) for p in problems))
    with store.transaction():
        return _import_files(store, path, author=author or FILE_AUTHOR, reason=reason or "导入知识库文件", kb=kb)


def _write_version(store: Store, kb: dict[str, Any], *, author: str, reason: str) -> int:
    """Append one version and refresh the flat tables; the caller holds the transaction."""
    return knowledge_store.write_version(store, _snapshot(kb), author=author, reason=reason)


def at_version(store: Store, v: int) -> dict[str, Any]:
    """The KB dict of one stored version (old versions stay readable). Do not mutate the result: it is cached.

    Raises:
        KBError: no such version.
    """
    stamp = knowledge_store.version_stamp(store, v)
    if stamp is None:
        raise KBError(f"知识库没有版本 {v}")
    # created_at is in the key so a database file recreated at the same path never serves a stale snapshot
    key = (str(store.path), int(v), stamp)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    kb = knowledge_store.read_version(store, v)
    with _CACHE_LOCK:
        _CACHE[key] = kb
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))  # oldest first: dicts keep insertion order
    return kb


def current(store: Store) -> dict[str, Any]:
    """The KB dict of the current version: ``{"version", "systems", "chains", "parks", ...}`` (cached; do not mutate)."""
    ensure_loaded(store)
    return at_version(store, version(store))


def versions(store: Store) -> list[dict[str, Any]]:
    """All versions, oldest first: ``version``, ``created_at``, ``author``, ``reason``."""
    return knowledge_store.list_versions(store)


# -- reading ----------------------------------------------------------------------------------------------------
def focus_chains(kb: dict[str, Any]) -> list[dict[str, Any]]:
    """The chains the matching focuses on (``focus: true``: 西安19条重点产业链 and 新型显示)."""
    return [c for c in kb["chains"] if c.get("focus")]


def find(kb: dict[str, Any], name: str) -> tuple[str, dict[str, Any]] | None:
    """Look an entry up by chain name or alias, system id or name, or park name; returns ``(kind, entry)``."""
    name = (name or "").strip()
    for c in kb["chains"]:
        if c.get("name") == name:
            return "chains", c
    for s in kb["systems"]:
        if name in (s.get("id"), s.get("name")):
            return "systems", s
    for p in kb["parks"]:
        if p.get("name") == name:
            return "parks", p
    for c in kb["chains"]:
        if name in (c.get("aliases") or []):
            return "chains", c
    return None


def not_found(kb: dict[str, Any], name: str) -> KBError:
    """The error for a name that is not in the knowledge base, listing close names."""
    names = [c["name"] for c in kb["chains"]] + [s["id"] for s in kb["systems"]] + [s["name"] for s in kb["systems"]] \
        + [p["name"] for p in kb["parks"]]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.3)
    hint = f"；相近的有：{'、'.join(close)}" if close else ""
    return KBError(f"知识库中没有 “{name}”（可查产业链名称或别名、体系 id 或名称、园区名称）{hint}")


def dump(store: Store) -> dict[str, Any]:
    """The whole current knowledge base as one JSON-ready object: ``version``, ``systems``, ``chains``, ``parks``."""
    kb = current(store)
    out = {"version": kb["version"], "created_at": kb.get("created_at"), "author": kb.get("author"),
           "reason": kb.get("reason")}
    out.update(copy.deepcopy(_snapshot(kb)))
    return out


def item_path(system: dict[str, Any], item: str | None) -> str:
    """An item with its parent, as the system lists it (先进制造业·新能源, not 新能源 alone)."""
    parent = next((it.get("parent") for it in system.get("items") or [] if it.get("name") == item), None)
    return f"{parent}·{item}" if parent else str(item or "")


def old_wording_mark(system: dict[str, Any]) -> str:
    """The mark shown after a superseded system's name: its wording is old, and unverified when no source has it."""
    if system.get("status") != "superseded":
        return ""
    return "（旧表述，待核实）" if system.get("confidence") == "待核实" else "（旧表述）"


def cobuild_rows(kb: dict[str, Any]) -> list[dict[str, Any]]:
    """Per chain, the systems that carry it and where it lands in 西咸 (the basis of the 重点产业链共建清单)."""
    systems = {s["id"]: s for s in kb["systems"]}
    rows = []
    for c in kb["chains"]:
        carried: dict[str, list[str]] = {r: [] for r in REGIONS}
        for ref in c.get("systems") or []:
            s = systems.get(ref.get("system"))
            if not s:
                continue
            label = f"{s['name']}{old_wording_mark(s)}·{item_path(s, ref.get('item'))}"
            carried.setdefault(s.get("region", ""), []).append(label)
        led = [
            {"park": p["name"], "kind": p.get("kind"), "new_city": p.get("new_city"), "city": p.get("city"),
             "confidence": p.get("confidence")}
            for p in kb["parks"] if c["name"] in (p.get("lead_chains") or [])
        ]
        # 承接地 (a new city, its parks, a 组团 led by one) are landing places; other parks are context only
        landing = [x for x in led if x["new_city"]]
        rows.append({
            "chain": c["name"],
            "focus": bool(c.get("focus")),
            "systems": carried,
            "system_count": sum(1 for r in REGIONS if carried.get(r)),
            "new_cities": sorted({x["new_city"] for x in landing if x["city"] == "西咸新区" and x["new_city"]},
                                 key=lambda n: NEW_CITIES.index(n) if n in NEW_CITIES else 99),
            "landing": landing,
            "clusters": [x for x in led if not x["new_city"]],
            "anchors": [{"name": a.get("name"), "region": a.get("region"), "role": a.get("role"),
                         "confidence": a.get("confidence")} for a in c.get("anchors") or []],
            "confidence": c.get("confidence"),
        })
    return rows


def cobuild_view(store: Store) -> list[dict[str, Any]]:
    """:func:`cobuild_rows` on the current version."""
    return cobuild_rows(current(store))


def chain_relations(kb: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    """What a chain is tied to: its GB/T classes (with names), its items in each system, and the parks that lead it.

    Args:
        kb: a knowledge-base version.
        c: one of its chains.

    Returns:
        ``gb`` (``{"code", "name"}``), ``systems`` (``{"system", "name", "superseded", "item"}``), ``parks`` (park
        entries whose lead chains include this one).
    """
    names = {r["code"]: r["name"] for r in gbt.gb_classes()}
    systems = {s["id"]: s for s in kb["systems"]}
    refs = []
    for ref in c.get("systems") or []:
        s = systems.get(ref.get("system"), {})
        refs.append({"system": ref.get("system"), "name": s.get("name", ref.get("system")),
                     "superseded": s.get("status") == "superseded", "item": ref.get("item"),
                     "mark": old_wording_mark(s), "path": item_path(s, ref.get("item"))})
    led = [p for p in kb["parks"] if c["name"] in (p.get("lead_chains") or [])]
    return {"gb": [{"code": g, "name": names.get(g, "（未知代码）")} for g in c.get("gb_codes") or []],
            "systems": refs, "parks": led, "landing": [p for p in led if p.get("new_city")],
            "clusters": [p for p in led if not p.get("new_city")]}


def parse_value(raw: str) -> Any:
    """A field value typed by a person: JSON when it parses (lists, numbers, quoted text), else the plain text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def edit(store: Store, kind: str, name: str, changes: dict[str, Any] | None, author: str, reason: str,
         *, delete: bool = False) -> int:
    """Apply a staff edit as a new version (the previous one stays readable); returns the new version number.

    ``changes`` replaces whole top-level fields of the entry (e.g. ``{"aliases": [...]}``); an entry that does not
    exist yet is created from ``changes``. Renaming a chain also renames it wherever systems and parks name it.
    Each chain's ``systems`` list is rebuilt from the systems' items. The edit is refused when it introduces a
    validation problem.

    Args:
        store: the database.
        kind: ``system`` / ``chain`` / ``park`` (or 体系 / 产业链 / 园区).
        name: a system id, chain name (or alias), or park name.
        changes: fields to set.
        author: who made the change (required).
        reason: why (required).
        delete: remove the entry instead.

    Raises:
        KBError: unknown kind, missing author/reason, nothing to change, or the result fails validation.
    """
    store.require("管理", "修改知识库")
    kind_key = _KIND_ALIASES.get((kind or "").strip().lower())
    if kind_key is None:
        raise KBError(f"未知的类别 “{kind}”，应为 system / chain / park")
    if not (author or "").strip():
        raise KBError("请填写修改人（author）")
    if not (reason or "").strip():
        raise KBError("请填写修改原因（reason）")
    changes = dict(changes or {})
    if not changes and not delete:
        raise KBError("没有要修改的字段")
    base = current(store)
    kb = copy.deepcopy(_snapshot(base))
    rows = kb[kind_key]
    idx = next((i for i, r in enumerate(rows) if name in (entry_key(kind_key, r), r.get("name"))), None)
    if idx is None and kind_key == "chains":
        idx = next((i for i, r in enumerate(rows) if name in (r.get("aliases") or [])), None)
    rows_before = copy.deepcopy(rows[idx]) if idx is not None else None
    if delete:
        if idx is None:
            raise not_found(base, name)
        rows.pop(idx)
    elif idx is None:
        entry = dict(changes)
        entry.setdefault("id" if kind_key == "systems" else "name", name)
        rows.append(entry)
    else:
        old_key = entry_key(kind_key, rows[idx])
        rows[idx].update(changes)
        new_key = entry_key(kind_key, rows[idx])
        if kind_key == "chains" and new_key != old_key:
            _rename_chain(kb, old_key, new_key)
    sync_crosswalk(kb)
    before = {str(p) for p in validate({"version": base["version"], **_snapshot(base)})}
    after = validate({"version": base["version"] + 1, **kb})
    new = [str(p) for p in after if str(p) not in before]
    if new:
        raise KBError("修改未保存，会引入以下问题：\n" + "\n".join(new))
    found_after = None if delete else _entry_in(kb, entry_key(kind_key, rows[idx]) if idx is not None else name)
    with store.transaction():
        v = _write_version(store, kb, author=author.strip(), reason=reason.strip())
        store.audit("知识库修改", f"{kind_key}:{name}", before=rows_before, after=found_after[1] if found_after else None,
                    note=f"版本 {v}；{reason.strip()}")
        return v


def _rename_chain(kb: dict[str, Any], old: str, new: str) -> None:
    """Follow a chain's rename everywhere it is named, keeping the old name as an alias."""
    for s in kb["systems"]:
        for it in s.get("items") or []:
            it["chains"] = [new if c == old else c for c in it.get("chains") or []]
    for p in kb["parks"]:
        p["lead_chains"] = [new if c == old else c for c in p.get("lead_chains") or []]
    for c in kb["chains"]:
        if c.get("name") == new and old not in (c.get("aliases") or []):
            c["aliases"] = [*(c.get("aliases") or []), old]


def _entry_in(kb: dict[str, Any], name: str) -> tuple[str, dict[str, Any]] | None:
    """Like :func:`find` but by exact identifier only (aliases change between versions)."""
    for kind in KINDS:
        for r in kb.get(kind) or []:
            if name in (entry_key(kind, r), r.get("name")):
                return kind, r
    return None


def history(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """The versions in which one entry (or, with no name, the knowledge base) changed, oldest first.

    Each row: ``version``, ``created_at``, ``author``, ``reason``, ``change`` (新增 / 修改 / 删除 / 载入) and
    ``fields`` (the top-level fields that changed).
    """
    out = []
    prev: dict[str, Any] | None = None
    for meta in versions(store):
        kb = at_version(store, meta["version"])
        row = dict(meta)
        if name is None:
            row.update(change="载入" if meta["author"] == FILE_AUTHOR else "修改", fields=[])
            out.append(row)
            continue
        hit = _entry_in(kb, name)
        if hit is None and prev is None:
            continue
        if hit is None:
            out.append({**row, "change": "删除", "fields": []})
        elif prev is None:
            out.append({**row, "change": "载入" if meta["author"] == FILE_AUTHOR else "新增", "fields": []})
        else:
            fields = sorted(k for k in set(prev) | set(hit[1]) if prev.get(k) != hit[1].get(k))
            if fields:
                out.append({**row, "change": "修改", "fields": fields})
        prev = hit[1] if hit else None
    if not out and name is not None:
        raise not_found(current(store), name)
    return out
