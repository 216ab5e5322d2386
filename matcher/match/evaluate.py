"""Evaluation on labelled CSVs (``text``, ``label``; ``|`` separates several right answers)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from matcher import paths
from matcher.files import atomic_path
from matcher.match.query import parse
from matcher.match.text import normalize


class EvalFileError(ValueError):
    """A labelled file that cannot be evaluated (missing columns, no rows)."""


def read_labelled(path: str | Path) -> list[dict[str, str]]:
    """Rows of a labelled CSV, with ``id`` defaulting to the row number."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise EvalFileError(f"{path}: 无法读取（{e}）") from e
    if not rows or "text" not in rows[0] or "label" not in rows[0]:
        raise EvalFileError(f"{path}: 需要 text 和 label 两列且至少一行数据")
    for i, r in enumerate(rows, start=2):
        r.setdefault("id", str(i))
        r["id"] = r.get("id") or str(i)
    return rows


def _labels(row: dict[str, str]) -> list[str]:
    return [x.strip() for x in row["label"].split("|") if x.strip()]


def ranking_metrics(rows: list[dict[str, str]], predict: Callable[[str], list[str]]) -> tuple[dict[str, Any], list[list[str]]]:
    """top-1, top-5 and MRR of ranked predictions."""
    top1 = top5 = 0
    rr = 0.0
    preds = []
    for r in rows:
        ranked = predict(r["text"])
        preds.append(ranked[:5])
        gold = set(_labels(r))
        top1 += bool(ranked) and ranked[0] in gold
        top5 += any(p in gold for p in ranked[:5])
        rank = next((i for i, p in enumerate(ranked) if p in gold), None)
        rr += 1.0 / (rank + 1) if rank is not None else 0.0
    n = len(rows)
    return {"n": n, "top1": round(top1 / n, 4), "top5": round(top5 / n, 4), "mrr": round(rr / n, 4)}, preds


def chain_metrics(gold: list[str], pred: list[str], top5: list[list[str]]) -> dict[str, Any]:
    """accuracy, macro-F1 over the gold labels, accuracy on in-chain rows and on ``none`` rows, top-3, F1 per label.

    Macro-F1 weighs every gold label alike, so a label with one or two rows moves it by up to 1 / (number of labels).
    """
    from sklearn.metrics import f1_score

    g, p = np.array(gold), np.array(pred)
    in_chain = g != "none"
    top3 = np.mean([gg in t[:3] if gg != "none" else pp == "none" for gg, pp, t in zip(gold, pred, top5)])
    labels = sorted(set(gold))
    per_label = f1_score(g, p, labels=labels, average=None, zero_division=0)
    return {
        "n": len(gold),
        "accuracy": round(float(np.mean(g == p)), 4),
        "macro_f1": round(float(np.mean(per_label)), 4),
        "in_chain_accuracy": round(float(np.mean(g[in_chain] == p[in_chain])) if in_chain.any() else 0.0, 4),
        "none_accuracy": round(float(np.mean(p[~in_chain] == "none")) if (~in_chain).any() else 0.0, 4),
        "top3": round(float(top3), 4),
        "f1_by_label": {lab: f"{f:.2f} (n={int((g == lab).sum())})" for lab, f in zip(labels, per_label)},
    }


def write_predictions(path: str | Path, rows: list[dict[str, str]], preds: list[list[str]]) -> None:
    """``id, label, prediction, top5`` per input row, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "prediction", "top5"])
        for r, p in zip(rows, preds):
            w.writerow([r["id"], r["label"], p[0] if p else "", "|".join(p[:5])])


def holdout_texts(rows: list[dict[str, str]]) -> set[str]:
    """Normalised texts of an evaluation file, to leave out of anything built from shipped crosswalks."""
    return {normalize(r["text"]) for r in rows}


# --------------------------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------------------------

MODES = ("lexical", "dense", "fused")


def evaluate_industries(rows: list[dict[str, str]], embedder: Any, mode: str = "fused",
                        weights: dict[str, float] | None = None,
                        matcher: Any = None) -> tuple[dict[str, Any], list[list[str]]]:
    """top-1/top-5/MRR of GB/T 4754 小类 ranking; the rows' own 战新 product lists are left out of the index.

    Args:
        matcher: a fitted matcher whose chain answers give the ``chain`` part, as ``match`` ranks classes; without
            one (or in the lexical and dense modes) classes are ranked from the text alone.
    """
    from matcher.match.industries import IndustryClassifier

    clf = IndustryClassifier(weights=weights, holdout=holdout_texts(rows)).fit(
        embedder, matcher.tokenizer_ if matcher is not None else None)
    parts = {"lexical": ("lexical", "items"), "dense": ("dense",), "fused": None}[mode]
    texts = [r["text"] for r in rows]
    queries = [parse(t) for t in texts]
    chains = None
    if matcher is not None and mode == "fused" and clf.weights.get("chain"):
        chains = matcher.chain_classes(matcher.chains_.answer_many(queries))
    # classes are ranked on what the firm makes, as ``match`` ranks them (a customer or a need is no evidence)
    products = [q.product_text() or t for q, t in zip(queries, texts)]
    ranked = dict(zip(texts, clf.rank_many(products, k=10, parts=parts, chains=chains)))
    return ranking_metrics(rows, lambda t: [h.target for h in ranked[t]])


def evaluate_parks(rows: list[dict[str, str]], matcher: Any, mode: str = "fused",
                   k: int = 5) -> tuple[dict[str, Any], list[list[str]]]:
    """Score what the officer sees under 推荐园区: the new city of the top park shown, as ``match`` ranks it.

    ``hit1``: the top park lies in a gold new city; ``hit3``: one of the first three new cities in the order the
    ranking shows them does; ``top_park_in_gold`` (= hit1, said outright) and ``top_park_outside_xixian`` (the top
    park is not a 西咸新区 承接地). Predictions are the new cities in shown order.
    """
    import copy

    ranker = copy.copy(matcher.parks_)  # a shallow copy with its own weights: the matcher is never changed
    ranker.embedder_ = matcher.parks_.embedder_  # (not part of the copied state, see ParkRanker.__getstate__)
    weights = dict(ranker.weights)
    if mode == "lexical":
        weights["dense"] = 0.0
    elif mode == "dense":
        weights.update({key: (1.0 if key == "dense" else 0.0) for key in ("chain", "lead", "needs", "dense")})
    ranker.weights = weights
    texts = [r["text"] for r in rows]
    # the same steps as Matcher.match_many: chains from classify_many, then the park ranking of the shown list
    chain_lists = [chains for chains, _, _ in matcher.classify_many(texts, k=max(k, 8))]
    full = ranker.rank_many(texts, chain_lists, k=len(ranker.parks_))
    preds = []
    hit1 = hit3 = outside = 0
    for r, hits in zip(rows, full):
        cities: list[str] = []
        for h in hits:
            city = h.data.get("new_city")
            if city and city not in cities:
                cities.append(city)
        preds.append(cities[:5])
        gold = set(_labels(r))
        top = hits[0] if hits else None
        outside += top is None or not top.data.get("landing")
        hit1 += top is not None and top.data.get("new_city") in gold
        hit3 += any(c in gold for c in cities[:3])
    n = len(rows)
    return {"n": n, "hit1": round(hit1 / n, 4), "hit3": round(hit3 / n, 4), "top_park_in_gold": round(hit1 / n, 4),
            "top_park_outside_xixian": round(outside / n, 4)}, preds


def _training_files(clf: Any, rows: list[dict[str, str]]) -> list[Path]:
    """The labelled files the shipped chain model learnt from, other than the one being evaluated (by content)."""
    own = holdout_texts(rows)
    out = []
    for name in ((clf.model_ or {}).get("sources") or {}).get("labelled_files", []):
        path = Path(name) if Path(name).is_absolute() else paths.ROOT / name
        if path.exists() and not holdout_texts(read_labelled(path)) <= own:
            out.append(path)
    return out


def evaluate_chains(rows: list[dict[str, str]], matcher: Any, mode: str = "fused",
                    chainkg: Path | None = None, folds: int = 5,
                    negatives: list[str] | None = None) -> tuple[dict[str, Any], list[list[str]]]:
    """Chain accuracy / macro-F1 over the focus chains (西安19条 + 新型显示) and ``none``.

    When the shipped text model was trained on some of these rows, it is not used: the model is retrained in
    ``folds``-fold cross-validation, each fold predicted by a model that never saw it, built like the shipped one
    (``training.training_set`` with the other folds as labelled rows, no listed company of this file).

    Args:
        chainkg: the listed-company data the shipped model was also trained on.
        negatives: without ``chainkg``, ``none`` examples to add to each fold.
    """
    from matcher.match.chains import ChainClassifier, build_pipeline, text_hash, understand

    clf: ChainClassifier = matcher.chains_
    focus = {c["name"] for c in clf.kb["chains"] if c.get("focus")}
    use = {"lexical": ("model", "keywords"), "dense": ("dense",), "fused": ("model", "keywords", "dense")}[mode]
    gold = [(_labels(r) or ["none"])[0] for r in rows]
    texts = [r["text"] for r in rows]
    probs: list[Any] = [None] * len(rows)
    weak: list[set[str] | None] = [None] * len(rows)  # per row: the weak chains of the model that predicted it
    trained = set((clf.model_ or {}).get("trained_on", []))
    overlap = sum(text_hash(t) in trained for t in texts)
    note = "shipped model"
    if "model" in use and clf.model_ is not None and overlap:
        if negatives is None and chainkg is None:
            raise EvalFileError(f"评估集有 {overlap} 行在文本模型的训练数据中：需要 --chainkg 提供负例以做交叉验证")
        from sklearn.model_selection import StratifiedKFold

        from matcher.match.training import training_set

        note = f"{folds}-fold cross-validation ({overlap} rows were in the shipped model's training data)"
        y = np.array(gold)
        counts = {lab: int((y == lab).sum()) for lab in set(gold)}
        strat = np.array([lab if counts[lab] >= folds else "rare" for lab in gold])
        queries = [understand(t) for t in texts]
        prep = [clf.model_text(q) for q in queries]
        # The shipped model also learnt from other labelled files (the project's officer-style training rows):
        # each fold learns from them too, minus any row of this file.
        own = holdout_texts(rows)
        others = [(r["text"], (_labels(r) or ["none"])[0]) for f in _training_files(clf, rows)
                  for r in read_labelled(f) if normalize(r["text"]) not in own]
        if others:
            note += f" + {len(others)} rows of the model's other labelled files"
        if chainkg is not None:
            more, more_labels, _ = training_set(others, clf.kb, chainkg, exclude_ids={r["id"] for r in rows})
        else:
            more = [t for t, _ in others] + list(negatives or [])
            more_labels = [y for _, y in others] + ["none"] * len(negatives or [])
        extra = ([clf.model_text(understand(t)) for t in more], more_labels)
        for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, strat):
            fold_labels = [gold[i] for i in train_idx] + extra[1]
            pipe = build_pipeline().fit([prep[i] for i in train_idx] + extra[0], fold_labels)
            p = clf.model_probs(pipe, [queries[i] for i in test_idx])
            # the fold's own model decides which chains it saw too rarely, as the shipped model's counts do
            fold_weak = clf.weak_classes({c: fold_labels.count(c) for c in pipe.classes_})
            for j, i in enumerate(test_idx):
                probs[i] = (list(pipe.classes_), p[j:j + 1])
                weak[i] = fold_weak
    preds, top5 = [], []
    shipped_weak = clf.weak_classes_
    try:
        for t, pr, wk in zip(texts, probs, weak):
            clf.weak_classes_ = shipped_weak if wk is None else wk
            hits, _ = clf.rank(t, k=10, probs=pr, use=use)
            ranked = [h.target for h in hits if h.target in focus]
            first = hits[0].target if hits and hits[0].target in focus else "none"
            preds.append(first)
            top5.append(([first] if first == "none" else []) + ranked[:5])
    finally:
        clf.weak_classes_ = shipped_weak
    metrics = chain_metrics(gold, preds, top5)
    metrics["protocol"] = note
    return metrics, [[p] + [x for x in t if x != p] for p, t in zip(preds, top5)]
