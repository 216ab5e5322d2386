"""Sentence embeddings: any sentence-transformers model, and the project's own compact Chinese domain model.

No Chinese-capable pretrained model can be fetched offline, so the default is a static-embedding model
(sentence-transformers ``StaticEmbedding`` over a jieba word + character vocabulary) that ``train_embedder``
trains in a few minutes on CPU from the files this repository ships.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from matcher import paths
from matcher.files import replace_dir
from matcher.knowledge.gbt import note_items
from matcher.match.text import Tokenizer, normalize

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PRETOKENIZED_MARKER = "matcher_pretokenize.json"


class Embedder:
    """Encode texts to L2-normalised float32 vectors with a sentence-transformers model.

    Args:
        name_or_path: model name or folder; default ``MATCHER_EMBED_MODEL`` or ``models/embedder``.
    """

    def __init__(self, name_or_path: str | None = None, backend: str | None = None) -> None:
        self.name = name_or_path or paths.embed_model_name()
        path = Path(self.name)
        if not path.exists() and not _looks_like_hub_name(self.name):
            raise FileNotFoundError(f"找不到向量模型 {self.name}：请先运行 `matcher train-embedder`")
        marker = path / PRETOKENIZED_MARKER
        self.tokenizer: Tokenizer | None = None
        if marker.exists():
            vocab = json.loads(marker.read_text(encoding="utf-8"))["words"]
            self.tokenizer = Tokenizer(vocab)
        # The project's static model is a lookup-and-average: numpy computes it exactly, without importing torch.
        self.backend = backend or os.environ.get("MATCHER_EMBED_BACKEND") or ("numpy" if marker.exists() else "torch")
        self.model: Any = None
        if self.backend == "numpy":
            from safetensors.numpy import load_file

            self.weights_ = load_file(str(path / "model.safetensors"))["embedding.weight"].astype(np.float32)
            tok = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))["model"]
            self.vocab_ = tok["vocab"]
            self.unk_ = self.vocab_.get(tok.get("unk_token") or "[UNK]", 0)
            self.dim = int(self.weights_.shape[1])
        else:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(self.name, device="cpu", local_files_only=True)
            get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            self.dim = int(get_dim() or 0)
        manifest = path / "MANIFEST.json"
        self.version = (
            json.loads(manifest.read_text(encoding="utf-8")).get("version", self.name) if manifest.exists() else self.name
        )

    def prepare(self, texts: Iterable[str]) -> list[str]:
        """The text the model sees: jieba words + characters for the project's model, normalised text otherwise."""
        if self.tokenizer is None:
            return [normalize(t)[:2000] for t in texts]
        return [" ".join(self.tokenizer(t)[:512]) or "∅" for t in texts]

    def encode(self, texts: list[str], batch_size: int = 512, tokens: list[list[str]] | None = None) -> np.ndarray:
        """Vectors for ``texts`` (rows L2-normalised).

        Args:
            tokens: the texts already split by this embedder's ``tokenizer`` (saves segmenting them twice when the
                caller indexes the same tokens for BM25); ignored for models that do not use it.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend == "numpy":
            if tokens is None or len(tokens) != len(texts):
                assert self.tokenizer is not None
                tokens = [self.tokenizer(t) for t in texts]
            return self._encode_numpy(tokens)
        vecs = self.model.encode(self.prepare(texts), batch_size=batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def _encode_numpy(self, tokens: list[list[str]], chunk: int = 65536) -> np.ndarray:
        """Mean of the word vectors: what ``StaticEmbedding`` (an ``EmbeddingBag`` in mean mode) computes.

        One sparse (texts × vocabulary, weight 1/length) by dense (vocabulary × dim) product per ``chunk`` texts:
        no tokens × dim temporary (gathering the rows first took ≈ 4 GB at 100,000 firms) and 8× faster.
        Equal to the sentence-transformers output within float32 rounding (tests/test_index_speed.py).
        """
        from scipy import sparse

        vocab, unk, weights = self.vocab_, self.unk_, self.weights_
        out = np.empty((len(tokens), self.dim), dtype=np.float32)
        for start in range(0, len(tokens), chunk):
            part = tokens[start:start + chunk]
            lengths = np.fromiter((min(len(t), 512) or 1 for t in part), dtype=np.int64, count=len(part))
            ids = np.fromiter((vocab.get(w, unk) for t in part for w in (t[:512] or ["∅"])), dtype=np.int64,
                              count=int(lengths.sum()))
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            share = np.repeat((1.0 / lengths).astype(np.float32), lengths)
            bags = sparse.csr_matrix((share, ids, indptr), shape=(len(part), weights.shape[0]))
            vecs = np.asarray(bags @ weights, dtype=np.float32)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            out[start:start + len(part)] = vecs / np.maximum(norms, 1e-12)
        return out


def _looks_like_hub_name(name: str) -> bool:
    # A hub name is only usable if it is already in the local cache (local_files_only=True).
    return "/" in name and not name.startswith((".", "/"))


# --------------------------------------------------------------------------------------------------------------
# Training the project's own model
# --------------------------------------------------------------------------------------------------------------

def training_pairs(data_dir: Path = paths.DATA_DIR, exclude_texts: set[str] | None = None) -> list[tuple[str, str]]:
    """(anchor, positive) pairs from shipped data: GB/T 4754 notes, 战新 products, chain keywords, sample firms.

    Args:
        exclude_texts: normalised texts (e.g. an evaluation set) whose rows must not be trained on.
    """
    exclude = exclude_texts or set()
    pairs: list[tuple[str, str]] = []
    classes: dict[str, dict[str, str]] = {}
    with open(data_dir / "gbt4754" / "gbt4754_2017_notes_tags.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            classes[row["code"]] = row
    for row in classes.values():
        if row["level"] != "4":
            continue
        desc = _clean_note(row["description"])
        parent = classes.get(row["parent"], {}).get("name", "")
        if desc:
            pairs.append((row["name"], desc))
            for item in note_items(row["description"])[:30]:
                pairs.append((item, row["name"] + " " + desc[:200]))
        if parent:
            pairs.append((row["name"], parent))
    with open(data_dir / "gbt4754" / "sei2018_to_gbt4754_mapping.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if normalize(row["products"]) in exclude:
                continue
            target = row["gb_name"] + " " + _clean_note(classes.get(row["gb_code"], {}).get("description", ""))[:200]
            items = [p for p in row["products"].split("；") if p.strip()]
            for item in items[:40]:
                pairs.append((item, target))
            pairs.append((row["sei_path"].split(" > ")[-1], row["gb_name"]))
    kb_file = data_dir / "kb" / "chains.json"
    if kb_file.exists():
        chains = json.loads(kb_file.read_text(encoding="utf-8"))
        chains = chains.get("chains", chains) if isinstance(chains, dict) else chains
        for chain in chains:
            for seg in chain.get("segments", []):
                words = list(seg.get("keywords", [])) + list(seg.get("products", []))
                label = f"{chain['name']} {seg.get('name', '')}"
                for w in words:
                    pairs.append((w, label))
                for a, b in zip(words, words[1:], strict=False):
                    pairs.append((a, b))
            for alias in chain.get("aliases", []):
                pairs.append((alias, chain["name"]))
    for sample in sorted((data_dir / "sample").glob("*.csv")) if (data_dir / "sample").exists() else []:
        with open(sample, encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                desc = row.get("主营业务") or row.get("description") or ""
                prod = row.get("主要产品") or row.get("products") or ""
                if desc and prod:
                    pairs.append((prod, desc))
    return [(a.strip(), b.strip()) for a, b in pairs if a.strip() and b.strip()]


def _clean_note(text: str) -> str:
    return normalize(text.replace("◇", " ").replace("◆", " 不包括 "))


def train_embedder(out_dir: Path | None = None, *, dim: int = 128, epochs: int = 4, batch_size: int = 256,
                   lr: float = 0.05, seed: int = 13, min_count: int = 2,
                   exclude_texts: set[str] | None = None, log: Any = print) -> dict[str, Any]:
    """Train the static-embedding model with in-batch negatives (MultipleNegativesRankingLoss) and save it.

    Reproducible: fixed seeds, single-threaded batches in a fixed order, data hashes recorded in ``MANIFEST.json``.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    out_dir = Path(out_dir or paths.MODELS_DIR / "embedder")
    started = time.time()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    pairs = training_pairs(exclude_texts=exclude_texts)
    # The vocabulary: jieba words of the training text (with the class names and chain keywords as user words).
    domain_words = {a for a, _ in pairs if len(a) <= 12}
    tok = Tokenizer(domain_words)
    counts: Counter[str] = Counter()
    seen: dict[str, list[str]] = {}
    for a, b in pairs:
        for t in (a, b):
            if t not in seen:
                seen[t] = tok(t)
                counts.update(set(seen[t]))
    words = sorted(w for w, c in counts.items() if c >= min_count or len(w) == 1)
    vocab = {"[UNK]": 0, "[PAD]": 1}
    for w in words:
        vocab.setdefault(w, len(vocab))
    hf_tok = HFTokenizer(WordLevel(vocab, unk_token="[UNK]"))
    hf_tok.pre_tokenizer = WhitespaceSplit()
    static = StaticEmbedding(hf_tok, embedding_dim=dim)
    with torch.no_grad():
        static.embedding.weight.normal_(0, 0.1)
    model = SentenceTransformer(modules=[static], device="cpu")
    loss_fn = MultipleNegativesRankingLoss(model, scale=20.0, directions=("query_to_doc", "doc_to_query"))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    texts_a = [" ".join(seen[a]) or "∅" for a, _ in pairs]
    texts_b = [" ".join(seen[b]) or "∅" for _, b in pairs]
    order = list(range(len(pairs)))
    rng = random.Random(seed)
    history = []
    for epoch in range(epochs):
        rng.shuffle(order)
        total, n = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            # In-batch negatives are wrong when two anchors share a positive; keep the first of each positive.
            uniq, used = [], set()
            for j in idx:
                if texts_b[j] not in used:
                    used.add(texts_b[j])
                    uniq.append(j)
            if len(uniq) < 2:
                continue
            fa = model.preprocess([texts_a[j] for j in uniq])
            fb = model.preprocess([texts_b[j] for j in uniq])
            loss = loss_fn([fa, fb], None)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            n += 1
        history.append(round(total / max(n, 1), 4))
        log(f"epoch {epoch + 1}/{epochs}: loss {history[-1]}")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    model.save(str(tmp))
    (tmp / PRETOKENIZED_MARKER).write_text(
        json.dumps({"words": sorted(w for w in vocab if len(w) > 1 and not w.startswith("["))}, ensure_ascii=False),
        encoding="utf-8")
    manifest = {
        "version": f"static-zh-{dim}d-{_hash_pairs(pairs)[:8]}",
        "kind": "sentence-transformers StaticEmbedding over jieba words + characters",
        "dim": dim, "vocab_size": len(vocab), "pairs": len(pairs), "epochs": epochs, "batch_size": batch_size,
        "lr": lr, "seed": seed, "min_count": min_count, "loss_per_epoch": history,
        "excluded_texts": len(exclude_texts or ()),
        "data_sha256": _data_hashes(),
        "train_seconds": round(time.time() - started, 1),
        "trained_from": "GB/T 4754-2017 notes and 战新2018 products (data/gbt4754, MIT, see PROVENANCE.md), "
                        "knowledge-base keywords (data/kb), sample firms (data/sample)",
    }
    (tmp / "MANIFEST.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    replace_dir(tmp, out_dir)
    return manifest


def _hash_pairs(pairs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for a, b in pairs:
        h.update(f"{a}\t{b}\n".encode())
    return h.hexdigest()


def _data_hashes() -> dict[str, str]:
    out = {}
    for sub in ("gbt4754", "kb", "sample"):
        for p in sorted((paths.DATA_DIR / sub).glob("*.*")):
            if p.suffix in (".csv", ".json"):
                out[f"{sub}/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
