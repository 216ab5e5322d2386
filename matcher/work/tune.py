"""Learning fusion weights from staff marks and labelled sets: logistic regression over each answerer's parts.

A mark (有效 / 已对接 / 已签约 = good, 无效 = bad) on a supplier, customer, chain or landing place is one example: the
unweighted parts of that answer for that query, and the verdict. A labelled set adds, per query, the candidates the
answerer brings up, labelled by whether they are right (the firm's industry among the gold industries, the gold
chain, a place in a gold new city). The learned weights are the regression's coefficients (clipped at 0; scaled to
sum 1 for counterparts and places, to the text model's weight for chains); they are written only when they rank
the held-out folds at least as well as the current ones.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from matcher.match.counterparts import PARTS, states_needs
from matcher.match.query import parse

GOOD = frozenset({"有效", "已对接", "已签约"})
BAD = frozenset({"无效"})
ROLES = {"supplier": "suppliers", "customer": "customers"}
CHAIN_PARTS = ("model", "keywords", "dense")  # the text model's probability, keyword share, similarity
PARK_PARTS = ("chain", "lead", "needs", "dense")


@dataclass
class Examples:
    """Rows of parts (``X``, columns = ``parts``), labels ``y`` (1 good, 0 bad) and the query group of each row."""

    X: list[list[float]] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    parts: tuple[str, ...] = PARTS

    def add(self, parts: list[float], label: int, group: str) -> None:
        """One example."""
        self.X.append(parts)
        self.y.append(label)
        self.group.append(group)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, y, group) as arrays."""
        return (np.array(self.X, dtype=np.float64).reshape(-1, len(self.parts)), np.array(self.y, dtype=np.int64),
                np.array(self.group, dtype=object))


def _features(matcher: Any, queries: list[Any]) -> dict[str, Any]:
    """Unweighted parts of every stored firm for each query (see ``CounterpartFinder.features``)."""
    parsed = [parse(q) for q in queries]
    chains = [matcher.chains_.rank(q.product_text() or q.text, k=1)[0] for q in parsed]
    segments = [matcher._segments_around(c[0] if c else None) for c in chains]
    feats = matcher.counterparts_.features(parsed, segments)
    for role in ("suppliers", "customers", "peer"):  # the registers learnt from are small: dense rows are simpler
        feats[role] = {p: m.toarray() for p, m in feats[role].items()}
    return feats


def from_feedback(matcher: Any, store: Any, examples: Examples | None = None) -> Examples:
    """Examples from the marks on suppliers and customers stored in ``store``."""
    examples = examples or Examples()
    rows = [r for r in store.feedback_rows(tuple(ROLES)) if r["verdict"] in GOOD | BAD]
    by_query: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_query.setdefault((r["firm_id"], r["query"] or ""), []).append(r)
    keys = list(by_query)
    queries = []
    for firm_id, text in keys:
        firm = store.firm(int(firm_id)) if firm_id is not None else None
        queries.append(firm if firm is not None else text)
    if not queries:
        return examples
    feats = _features(matcher, queries)
    position = {int(i): p for p, i in enumerate(matcher.ids_)}
    latest: dict[tuple[int, str, int], int] = {}
    for qi, key in enumerate(keys):
        for r in by_query[key]:  # oldest first: a later mark on the same firm replaces an earlier one
            row = position.get(int(r["target"])) if str(r["target"]).isdigit() else None
            if row is not None:
                latest[(qi, r["kind"], row)] = int(r["verdict"] in GOOD)
    parsed = [parse(q) for q in queries]
    for (qi, kind, row), label in latest.items():
        parts = feats[ROLES[kind]]
        asked = states_needs(parsed[qi])
        role = f"{ROLES[kind]}_asked" if asked else ROLES[kind]
        examples.add([float(np.clip(parts[p][qi][row], 0, 1)) for p in PARTS], label, f"mark:{qi}|{role}")
    return examples


def from_labelled(matcher: Any, texts: list[str], gold: list[set[str]], role: str,
                  label_of: Callable[[int], str | None], per_part: int = 20,
                  examples: Examples | None = None, tag: str = "set", variant: str = "") -> Examples:
    """Examples from a labelled set: per query, the top candidates of every part, good when their label is gold.

    Args:
        texts: query texts.
        gold: per query, the labels (e.g. industries) a good counterpart has.
        role: ``suppliers`` or ``customers``.
        label_of: a stored firm's label by its row in the matcher.
        per_part: candidates taken from each part.
        tag: names the set; ``variant`` another wording of the same queries (kept in the same cross-validation fold).
    """
    examples = examples or Examples()
    feats = _features(matcher, texts)
    parts = feats[role]
    finder = matcher.counterparts_
    threshold = finder.weights.get("peer_threshold", 0.5)
    asked = [states_needs(parse(t)) for t in texts]
    for qi in range(len(texts)):
        key = f"{role}_asked" if asked[qi] else role
        ok = finder.offer_ & (feats["peer"]["peer"][qi] < threshold)
        rows: set[int] = set()
        for p in PARTS:
            col = np.where(ok, parts[p][qi], -1.0)
            rows |= {int(r) for r in np.argsort(-col)[:per_part] if col[r] > 0}
        for r in sorted(rows):
            examples.add([float(np.clip(parts[p][qi][r], 0, 1)) for p in PARTS], int(label_of(r) in gold[qi]),
                         f"{tag}:{qi}|{key}:{variant}")
    return examples


def fit_weights(X: np.ndarray, y: np.ndarray, names: tuple[str, ...] = PARTS) -> dict[str, float]:
    """Logistic regression over the parts; coefficients clipped at 0 and scaled to sum 1."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        raise ValueError("学习需要既有有效也有无效的样本")
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(X, y)
    coef = np.clip(model.coef_[0], 0.0, None)
    if coef.sum() <= 0:
        raise ValueError("学习到的权重全为零")
    return {p: round(float(c / coef.sum()), 4) for p, c in zip(names, coef)}


def ranking_quality(X: np.ndarray, y: np.ndarray, group: np.ndarray, weights: dict[str, float], k: int = 5,
                    names: tuple[str, ...] = PARTS) -> float:
    """Mean average precision of the top k per query group (groups without a good row left out) when its rows are
    ranked by the weighted parts: 1 when every good firm comes first, lower the further down they sit."""
    w = np.array([weights.get(p, 0.0) for p in names])
    scores = X @ w
    out = []
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        good = int(y[rows].sum())
        if not good:
            continue
        ranked = y[rows[np.lexsort((rows, -scores[rows]))]][:k]
        hits = np.cumsum(ranked)
        out.append(float((hits / np.arange(1, len(ranked) + 1) * ranked).sum() / min(good, k)))
    return float(np.mean(out)) if out else 0.0


def top_hits(X: np.ndarray, y: np.ndarray, group: list[str] | np.ndarray, weights: dict[str, float], k: int,
             names: tuple[str, ...] = PARTS) -> float:
    """Share of query groups (with a good row) that have a good row among their top ``k`` by the weighted parts."""
    group = np.asarray(group, dtype=object)
    scores = X @ np.array([weights.get(p, 0.0) for p in names])
    hits = []
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        if y[rows].any():
            hits.append(bool(y[rows[np.lexsort((rows, -scores[rows]))]][:k].any()))
    return float(np.mean(hits)) if hits else 0.0


def cross_validate(examples: Examples, current: dict[str, float], folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Folds by query group: learn on the others, compare learned and current weights on the held-out groups."""
    X, y, group = examples.arrays()
    scenario = np.array([g.split("|")[0] for g in group], dtype=object)  # one query's rows, whatever the wording
    groups = np.unique(scenario)
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    folds = max(2, min(folds, len(groups)))
    report = []
    for f in range(folds):
        test_groups = set(groups[f::folds].tolist())
        test = np.array([g in test_groups for g in scenario])
        if len(set(y[~test].tolist())) < 2:
            continue
        learned = fit_weights(X[~test], y[~test], examples.parts)
        report.append({"fold": f, "queries": len(test_groups),
                       "current": ranking_quality(X[test], y[test], group[test], current, names=examples.parts),
                       "learned": ranking_quality(X[test], y[test], group[test], learned, names=examples.parts)})
    mean = {s: float(np.mean([r[s] for r in report])) if report else 0.0 for s in ("current", "learned")}
    return {"folds": report, **mean}


def current_weights(weights: dict[str, float], key: str) -> dict[str, float]:
    """The weights one role (``suppliers``, ``customers``, or ``…_asked`` for queries stating needs) ranks with now."""
    role = key.removesuffix("_asked")
    plain = {p: weights.get(f"{role}_{p}", weights.get(p, 0.0)) for p in PARTS}
    return {p: weights.get(f"{key}_{p}", plain[p]) for p in PARTS} if key != role else plain


def tune(examples: Examples, current: dict[str, float], folds: int = 5) -> dict[str, Any]:
    """Learn each role's weights from its examples, with the cross-validated comparison per role; ``weights`` holds
    ``{role}_{part}`` keys for the roles whose learned weights are not worse (``accept``)."""
    X, y, group = examples.arrays()
    role_of = np.array([g.split("|")[1].split(":")[0] if "|" in g else "" for g in group], dtype=object)
    report: dict[str, Any] = {"examples": int(len(y)), "good": int(y.sum()),
                              "queries": len({g.split("|")[0] for g in group}), "roles": {}, "weights": {}}
    for role in ("suppliers", "suppliers_asked", "customers", "customers_asked"):
        rows = role_of == role
        if len(set(y[rows].tolist())) < 2:
            continue
        sub = Examples([list(x) for x in X[rows]], y[rows].tolist(), group[rows].tolist())
        now = current_weights(current, role)
        cv = cross_validate(sub, now, folds)
        learned = fit_weights(X[rows], y[rows])
        accept = cv["learned"] >= cv["current"]
        report["roles"][role] = {"examples": int(rows.sum()), "current": now, "learned": learned, "cv": cv,
                                 "accept": accept}
        if accept:
            report["weights"].update({f"{role}_{p}": w for p, w in learned.items()})
    report["accept"] = bool(report["weights"])
    return report


def from_counterparts_set(folder: Path, work: Path, examples: Examples | None = None) -> Examples:
    """Examples from a counterparts set (``store.csv`` register, ``store_labels.csv``, ``queries.csv``): its
    register is imported into a fresh database under ``work``; each query counts as plain products text and as
    products-and-needs text, for suppliers and customers."""
    from matcher.ingest.importer import import_file
    from matcher.match.engine import Matcher
    from matcher.store.database import Store

    def read(name: str) -> list[dict[str, str]]:
        with open(folder / name, encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))

    def key(name: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).replace("（", "(").replace("）", ")")

    labels = {key(r["企业名称"]): r["sw_l3_name"] for r in read("store_labels.csv")}
    queries = read("queries.csv")
    store = Store(work / "tune.db")
    try:
        import_file(store, folder / "store.csv")
        matcher = Matcher.for_store(store)
        names = [key(str(m["name"] or "")) for m in matcher.firms_meta_]
        examples = examples or Examples()
        for variant in ("products_text", "needs_text"):
            texts = [q[variant] for q in queries]
            for role, column in (("suppliers", "supplier_l3"), ("customers", "customer_l3")):
                gold = [set(q[column].split("|")) for q in queries]
                from_labelled(matcher, texts, gold, role, lambda r: labels.get(names[r]), examples=examples,
                              tag=f"{folder.name}", variant=variant)
    finally:
        store.close()
    return examples


def write_weights(path: Path, weights: dict[str, float], note: str, section_name: str = "counterparts") -> None:
    """Set weights in one section of a config file (replacing a key's value, or adding the key at the section's
    end), keeping every other line, with ``note`` (where the values came from) as the section's comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    section, keys_seen, written = "", False, set()

    def close_section() -> None:
        if section != section_name:
            return
        at = len(out)
        while at and not out[at - 1].strip():
            at -= 1
        out[at:at] = [f"{name} = {value:g}" for name, value in weights.items() if name not in written]

    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            close_section()
            section, keys_seen = stripped[1:-1], False
            out.append(line)
            if section == section_name:
                out.append(f"# {note}")
            continue
        if section == section_name:
            if stripped.startswith("#") and not keys_seen:
                continue  # the section's previous note is replaced by the new one
            keys_seen = keys_seen or "=" in stripped
            name = stripped.split("=", 1)[0].strip()
            if name in weights:
                comment = line[line.index("#"):] if "#" in line else ""
                line = f"{f'{name} = {weights[name]:g}':<24}{comment}".rstrip()
                written.add(name)
        out.append(line)
    close_section()
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# -- chains and landing places ---------------------------------------------------------------------------------------
def _chain_features(matcher: Any, text: str) -> dict[str, list[float]]:
    """Every chain's unweighted parts for one text: the text model's probability, the keyword share, the similarity."""
    from matcher.match.chains import understand

    chains = matcher.chains_
    query = understand(text)
    share, _, _ = chains.keyword_view(query)
    classes, p = chains.model_view([query])
    prob = dict(zip(classes, p[0])) if len(classes) and p is not None else {}
    dense = chains.dense_view(query) if chains.blend_.get("dense", 0) > 0 else {}
    return {c: [float(prob.get(c, 0.0)), min(float(share.get(c, 0.0)), 1.0), float(dense.get(c, 0.0))]
            for c in chains.chains_}


def _park_features(matcher: Any, text: str) -> dict[str, tuple[list[float], str | None]]:
    """Every landing place's unweighted parts for one text (each part divided by its weight), and its new city."""
    chains = matcher.chains_.rank(text, k=8)[0]
    weights = matcher.parks_.weights
    out = {}
    for h in matcher.parks_.rank(text, chains, k=len(matcher.parks_.parks_)):
        out[h.target] = ([h.parts.get(p, 0.0) / weights[p] if weights.get(p) else 0.0 for p in PARK_PARTS],
                         h.data.get("new_city"))
    return out


def _query_text(store: Any, r: dict[str, Any]) -> str | None:
    """The text a mark was given for: its query, else the marked firm's own profile."""
    if r.get("query"):
        return str(r["query"])
    firm = store.firm(int(r["firm_id"])) if r.get("firm_id") is not None else None
    if firm is None:
        return None
    from matcher.match.engine import firm_text

    return firm_text(firm)


def answer_examples(matcher: Any, store: Any | None, kind: str, labelled: Sequence[tuple[str, set[str]]] = (),
                    tag: str = "set") -> Examples:
    """Examples for the chain (``kind="chain"``) or landing-place (``"park"``) answerer, from the marks in
    ``store`` and from labelled (text, gold labels) pairs — gold chains, or gold new cities for places."""
    examples = Examples(parts=CHAIN_PARTS if kind == "chain" else PARK_PARTS)

    def candidates(text: str) -> dict[str, tuple[list[float], str | None]]:
        if kind == "chain":
            return {c: (x, c) for c, x in _chain_features(matcher, text).items()}
        return _park_features(matcher, text)

    marks: dict[str, dict[str, int]] = {}
    for r in store.feedback_rows((kind,)) if store is not None else []:
        if r["verdict"] in GOOD | BAD:
            text = _query_text(store, r)
            if text:
                marks.setdefault(text, {})[str(r["target"])] = int(r["verdict"] in GOOD)  # later marks win
    for qi, (text, verdicts) in enumerate(marks.items()):
        found = candidates(text)
        for target, label in verdicts.items():
            if target in found:
                examples.add(found[target][0], label, f"mark:{qi}|{kind}")
    for qi, (text, gold) in enumerate(labelled):
        for x, key in candidates(text).values():
            if any(x):
                examples.add(x, int(key in gold), f"{tag}:{qi}|{kind}")
    return examples


def current_answer_weights(matcher: Any, kind: str) -> dict[str, float]:
    """The weights the chain or place answerer ranks with now, over its unweighted parts."""
    if kind == "chain":
        blend = matcher.chains_.blend_
        return {"model": 1.0, "keywords": float(blend["keywords"]), "dense": float(blend.get("dense", 0.0))}
    return {p: float(matcher.parks_.weights[p]) for p in PARK_PARTS}


def tune_answer(examples: Examples, current: dict[str, float], kind: str, folds: int = 5) -> dict[str, Any]:
    """Learn one answerer's weights with the cross-validated comparison; ``weights`` holds the config keys of
    ``[chains]`` or ``[parks]`` when the learned weights are not worse (``accept``)."""
    X, y, _ = examples.arrays()
    report: dict[str, Any] = {"examples": int(len(y)), "good": int(y.sum()), "current": current, "weights": {},
                              "accept": False}
    if len(set(y.tolist())) < 2:
        report["note"] = "样本不足：需要既有有效也有无效的样本"
        return report
    cv = cross_validate(examples, current, folds)
    learned = fit_weights(X, y, examples.parts)
    if kind == "chain":  # the text model's probability keeps weight 1; the other views are set relative to it
        if learned["model"] <= 0:
            report.update(cv=cv, learned=learned, note="学到的文本模型权重为零，无法换算为 [chains] 的权重")
            return report
        learned = {"model": 1.0, **{p: round(learned[p] / learned["model"], 4) for p in ("keywords", "dense")}}
    # Also no worse at the top: the first answer, and the first three (what the pages show first).
    top = {f"hit@{k}": {"current": top_hits(X, y, examples.group, current, k, examples.parts),
                        "learned": top_hits(X, y, examples.group, learned, k, examples.parts)} for k in (1, 3)}
    report.update(cv=cv, learned=learned, top=top, accept=cv["learned"] >= cv["current"]
                  and all(t["learned"] >= t["current"] for t in top.values()))
    if report["accept"]:
        report["weights"] = {p: v for p, v in learned.items() if p != "model" or kind != "chain"}
    return report


def check_on_sets(store: Any, config: Any, section: str, weights: dict[str, float],
                  sets: list[Path]) -> dict[str, Any]:
    """The labelled sets' own measures (``matcher eval``) with the current and the learned weights: learned weights
    that make any of them worse are not written, whatever the cross-validated ranking says."""
    from matcher.knowledge import kb
    from matcher.match.engine import Matcher
    from matcher.match.evaluate import evaluate_chains, evaluate_parks, read_labelled

    measures = ("hit1", "hit3") if section == "parks" else ("accuracy", "macro_f1")
    evaluate = evaluate_parks if section == "parks" else evaluate_chains
    kb_now = kb.current(store)
    out: dict[str, Any] = {"sets": {}, "worse": False}
    for path in sets:
        rows = read_labelled(path)
        now = evaluate(rows, Matcher(config=config).fit_kb(kb_now))[0]
        new = evaluate(rows, Matcher(config=config.with_values(section, **weights)).fit_kb(kb_now))[0]
        out["sets"][path.name] = {m: {"current": now[m], "learned": new[m]} for m in measures}
        out["worse"] = out["worse"] or any(new[m] < now[m] for m in measures)
    return out
