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
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from matcher import paths
from matcher.knowledge import gbt
from matcher.store import knowledge as knowledge_store

if TYPE_CHECKING:
    from matcher.store.database import Store

KINDS = ("systems", "chains", "parks")
STAGES = ("上游", "中游", "下游")
CONFIDENCE = ("confirmed", "single-source", "待核实")
REGIONS = ("西咸新区", "西安", "咸阳", "陕西")
STATUSES = ("current", "superseded")
PARK_KINDS = ("新城", "园区", "组团")
PARK_CITIES = ("西咸新区", "西安", "咸阳")
NEW_CITIES = ("空港新城", "沣东新城", "秦汉新城", "沣西新城", "泾河新城")
ROLES = ("链主", "龙头", "配套")
FILE_AUTHOR = "data/kb"  # author of versions imported from the files, as opposed to staff edits
_KIND_WORD = {"systems": "体系", "chains": "产业链", "parks": "园区"}
# The fields each entry may carry; anything else is almost always a typo (e.g. "lead_chain") and is reported.
FIELDS = {
    "systems": {"id", "name", "region", "document", "status", "as_of", "source", "confidence", "note", "items"},
    "items": {"name", "parent", "chains", "source", "confidence", "as_of", "note"},
    "chains": {"name", "aliases", "description", "focus", "segments", "gb_codes", "sei", "sw_industries", "systems",
               "anchors", "source", "confidence", "as_of", "crosswalk_note", "note"},
    "segments": {"stage", "name", "keywords", "products", "source", "confidence", "note"},
    "anchors": {"name", "region", "location", "role", "source", "confidence", "note"},
    "parks": {"name", "kind", "new_city", "city", "parent", "members", "lead_industries", "lead_chains", "features",
              "features_unconfirmed", "firms", "location", "source", "confidence", "as_of", "note"},
}
_KIND_ALIASES = {
    "system": "systems", "systems": "systems", "体系": "systems",
    "chain": "chains", "chains": "chains", "产业链": "chains", "链": "chains",
    "park": "parks", "parks": "parks", "园区": "parks",
}


class KBError(ValueError):
    """A knowledge-base file or edit that cannot be accepted; the message names the file/entry and the problem."""


class Problem(NamedTuple):
    """One validation finding: where (file and entry) and what is wrong, in Chinese."""

    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} · {self.entry}：{self.message}"


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
                kb["files"][kind][_key(kind, row) or f"#{i + 1}"] = file.name
    return kb


def files_digest(path: str | Path | None = None) -> str:
    """SHA-256 over the knowledge-base files (names and bytes), to tell whether they changed since the last import."""
    folder = Path(path) if path else paths.KB_DIR
    h = hashlib.sha256()
    for file in sorted(folder.glob("*.json")):
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()


def _key(kind: str, row: dict[str, Any]) -> str:
    """The identifier of an entry: a system's id, a chain's or park's name."""
    return str(row.get("id") if kind == "systems" else row.get("name") or "")


def _snapshot(kb: dict[str, Any]) -> dict[str, Any]:
    """The part of a KB dict that is versioned: the three lists."""
    return {k: kb.get(k, []) for k in KINDS}


# -- validation -----------------------------------------------------------------------------------------------
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
        key = _key("systems", s)
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
        key = _key("chains", c)
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
        key = _key("parks", p)
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
    park_names = seen_parks
    for p in kb.get("parks") or []:
        if p.get("parent") and p["parent"] not in park_names:
            add("parks", _key("parks", p), f"所属新城/园区 “{p['parent']}” 不存在")
    return problems


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


def _not_found(kb: dict[str, Any], name: str) -> KBError:
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


def show(store: Store, name: str) -> str:
    """A readable Chinese view of one chain, system or park of the current version.

    Raises:
        KBError: nothing by that name (the message lists close names).
    """
    kb = current(store)
    hit = find(kb, name)
    if hit is None:
        raise _not_found(kb, name)
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


def _show_chain(kb: dict[str, Any], c: dict[str, Any]) -> str:
    rel = chain_relations(kb, c)
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
    status = "现行" if s.get("status") == "current" else "已被取代" + (old_wording_mark(s) or "（旧表述）")
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
    idx = next((i for i, r in enumerate(rows) if name in (_key(kind_key, r), r.get("name"))), None)
    if idx is None and kind_key == "chains":
        idx = next((i for i, r in enumerate(rows) if name in (r.get("aliases") or [])), None)
    rows_before = copy.deepcopy(rows[idx]) if idx is not None else None
    if delete:
        if idx is None:
            raise _not_found(base, name)
        rows.pop(idx)
    elif idx is None:
        entry = dict(changes)
        entry.setdefault("id" if kind_key == "systems" else "name", name)
        rows.append(entry)
    else:
        old_key = _key(kind_key, rows[idx])
        rows[idx].update(changes)
        new_key = _key(kind_key, rows[idx])
        if kind_key == "chains" and new_key != old_key:
            _rename_chain(kb, old_key, new_key)
    sync_crosswalk(kb)
    before = {str(p) for p in validate({"version": base["version"], **_snapshot(base)})}
    after = validate({"version": base["version"] + 1, **kb})
    new = [str(p) for p in after if str(p) not in before]
    if new:
        raise KBError("修改未保存，会引入以下问题：\n" + "\n".join(new))
    found_after = None if delete else _entry_in(kb, _key(kind_key, rows[idx]) if idx is not None else name)
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
            if name in (_key(kind, r), r.get("name")):
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
        raise _not_found(current(store), name)
    return out
