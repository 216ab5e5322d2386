"""Stored match results of a run, as one shape: per firm its fields and its ranked `Hit`s (batch and export share it).

A run's results are rows of ``matches``: one ``firm`` row per matched firm (its fields), then one row per hit
(chain, industry, park, supplier, customer) and per industrial-system item. Batch writes them; the lists, the
workbooks and the app read them back here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from matcher.ingest.importer import LEVEL_LABELS, Issue
from matcher.match.results import Hit, MatchResult
from matcher.store import Store, now
from matcher.store import runs as run_store

HIT_KINDS = ("chain", "industry", "park", "supplier", "customer", "peer")
FIRM_FIELDS = ("name", "uscc", "uscc_valid", "region", "district", "description", "products", "needs", "industry")
MATCH_RUN_KINDS = ("batch", "firms")  # runs whose results are stored


@dataclass
class FirmMatch:
    """One firm's results: its fields, its hits per kind (best first) and where its chains sit in each system.

    Attributes:
        row: row number in the input file (for a ``firms`` run: position in id order).
        firm_id: the stored firm, when the firm is in the database.
        firm: name, uscc, region, district, description, products, needs, industry.
        none: the firm fits no key chain.
        hits: kind (chain, industry, park, supplier, customer) → ranked `Hit`s.
        systems: system items of the firm's chains: ``{target (system id), rank, score, data: {system, item,
            chain, label}}``.
    """

    row: int
    firm_id: int | None
    firm: dict[str, Any]
    none: bool = False
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    systems: list[dict[str, Any]] = field(default_factory=list)

    def top(self, kind: str) -> Hit | None:
        """The best hit of one kind, or ``None``."""
        hits = self.hits.get(kind) or []
        return hits[0] if hits else None

    def top_chain(self) -> str | None:
        """The firm's key chain, or ``None`` when it fits none."""
        top = self.top("chain")
        return None if self.none or top is None else top.target


def _json_default(value: Any) -> Any:
    """numpy scalars and other odd values in hit data → plain JSON."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def dumps(value: Any) -> str:
    """JSON of a result cell (orjson: a batch writes about 30 of them per firm)."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def firm_match(res: MatchResult, k: int, row: int = 1, firm_id: int | None = None,
               firm: dict[str, Any] | None = None) -> FirmMatch:
    """A match result as a `FirmMatch`, keeping ``k`` hits per kind (what a run stores and a list shows)."""
    source = dict(firm if firm is not None else (res.firm or {"name": res.query_text}))
    fm = FirmMatch(row, firm_id if firm is not None else source.get("id"), {f: source.get(f) for f in FIRM_FIELDS},
                   bool(res.none))
    for kind, hits in zip(HIT_KINDS, (res.chains, res.industries, res.parks, res.suppliers, res.customers,
                                       res.peers)):
        if hits[:k]:
            fm.hits[kind] = list(hits[:k])
    rank = 0
    for s in res.systems or []:
        for it in s.get("items") or []:
            rank += 1
            score = it.get("score")
            fm.systems.append({"target": str(s.get("system_id")), "rank": rank,
                               "score": None if score is None else float(score),
                               "data": {"system": s.get("system"), "item": it.get("item"), "chain": it.get("chain"),
                                        "label": it.get("item")}})
    return fm


def result_rows(fm: FirmMatch, none_prob: float = 0.0) -> list[tuple[Any, ...]]:
    """The ``matches`` rows (without run id) of one firm's results: its ``firm`` row, its hits, its system items."""
    stamp = now()
    summary = dict(fm.firm, none=fm.none, none_prob=float(none_prob or 0.0))
    rows: list[tuple[Any, ...]] = [(fm.firm_id, fm.row, "firm", fm.firm.get("name"), 0, None, "{}", "",
                                    dumps(summary), stamp)]
    for kind in HIT_KINDS:
        for rank, h in enumerate(fm.hits.get(kind, []), start=1):
            d = h.as_dict(digits=None)
            rows.append((fm.firm_id, fm.row, kind, h.target, rank, d["score"], dumps(d["parts"]), h.reason or "",
                         dumps(dict(h.data or {}, label=h.label)), stamp))
    for s in fm.systems:
        rows.append((fm.firm_id, fm.row, "system", s["target"], s["rank"], s["score"], "{}", "", dumps(s["data"]),
                     stamp))
    return rows


def issue_rows(issues: Sequence[Issue]) -> list[tuple[Any, ...]]:
    """The import issues of a batch as ``matches`` rows (kind ``issue``), so the run's record is self-contained."""
    stamp = now()
    return [(None, i.row, "issue", i.field, n, None, "{}", i.reason, dumps({"level": i.level, "value": i.value}),
             stamp) for n, i in enumerate(issues, start=1)]


def iter_results(store: Store, run_id: int) -> Iterator[FirmMatch]:
    """The stored results of a run, one `FirmMatch` per firm in row order, streamed from the database."""
    return firm_matches(run_store.match_rows(store, run_id))


def firm_matches(rows: Iterable[Sequence[Any]]) -> Iterator[FirmMatch]:
    """`FirmMatch` objects from ``matches`` rows (row, firm_id, kind, target, rank, score, parts, reason, data) in
    firm order: as stored, or a chunk's rows as they are checkpointed (`result_rows`)."""
    fm: FirmMatch | None = None
    for row, firm_id, kind, target, rank, score, parts, reason, data in rows:
        d = orjson.loads(data or "{}")
        if kind == "firm":
            if fm is not None:
                yield fm
            fm = FirmMatch(row, firm_id, {f: d.get(f) for f in FIRM_FIELDS}, bool(d.get("none")))
            continue
        if fm is None or fm.row != row:  # pragma: no cover - the firm record is always written first
            continue
        if kind == "system":
            fm.systems.append({"target": target, "rank": rank, "score": score, "data": d})
            continue
        # (``Hit.from_dict`` without its copies: the decoded parts are floats and the evidence is this row's own)
        fm.hits.setdefault(kind, []).append(Hit(kind=kind, target=str(target), label=d.get("label") or str(target),
                                                parts=orjson.loads(parts or "{}"), data=d, reason=reason or ""))
    if fm is not None:
        yield fm


def run_results(store: Store, run_id: int) -> list[FirmMatch]:
    """The stored results of a run, one `FirmMatch` per firm, in row order."""
    return list(iter_results(store, run_id))


def run_issues(store: Store, run_id: int) -> list[dict[str, Any]]:
    """The rejected rows, warnings and merges recorded with a batch run (rows of the 未导入行 sheet)."""
    out = []
    for row, target, reason, data in run_store.issue_rows(store, run_id):
        d = orjson.loads(data or "{}")
        out.append({"row": row, "field": target, "level": LEVEL_LABELS.get(d.get("level"), d.get("level")),
                    "reason": reason, "value": d.get("value")})
    return out


def latest_run(store: Store, kind: str = "batch") -> dict[str, Any] | None:
    """The newest finished run of one kind, or ``None``."""
    runs = run_store.list_runs(store, kind=kind, status="done", limit=1)
    return runs[0] if runs else None


def current_firms_run(store: Store, key: dict[str, Any]) -> dict[str, Any] | None:
    """The finished stored-firms run made with these parameters and versions (``key``), or ``None``."""
    for r in run_store.list_runs(store, kind="firms", status="done", limit=20):
        p = r["params"]
        if p.get("index_version") == key["index_version"] and p.get("k") == key["k"] and \
                r.get("model_version") == key["model_version"] and r.get("kb_version") == key["kb_version"]:
            return r
    return None
