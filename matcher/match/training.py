"""Training data of the chain text model: listed companies in both styles, and sentences written from the KB.

Firms arrive as '公司名，主营产品：a、b、c' and as an officer's sentence ("一家做X的企业，计划在泾河扩产，需要Y").
The model learns both: every listed company (labelled by its 申万 industry through the KB's ``sw_industries``) once
as it is and once re-worded as a short sentence with plan, site and need clauses that must not change its label
(its needs are real upstream materials of its products); and short sentences built from each chain's segment
keywords, products and the abbreviation table; and ``none`` sentences about firms that only sell, carry, design for
or house a chain's products (a 4S店 of 新能源汽车 makes no car). Deterministic for a seed; no evaluation row is ever
written in.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matcher.match.chains import NONE

# Ways officers open and close a product phrase, and clauses about plans, sites and needs that never change the chain.
OPENERS = ("一家做{p}的企业", "{p}生产企业", "主要生产{p}", "{p}厂家", "做{p}的", "专业从事{p}研发和生产", "{p}",
           "{p}制造商", "从事{p}业务", "我们是做{p}的")
PLACES = ("泾河新城", "沣西新城", "秦汉新城", "空港新城", "沣东新城", "西咸新区", "咸阳", "高新区", "经开区", "长安区")
PLANS = ("计划在{place}扩产", "想在{place}新建生产基地", "拟迁建到{place}", "打算在{place}设立子公司", "准备在{place}落地研发中心",
         "现在在{place}租厂房", "计划投资{n}亿元", "需要{n}0亩工业用地", "需要标准化厂房{n}000平方米", "年产值约{n}亿元")
NEEDS = ("需要采购{m}", "原材料主要是{m}", "需要本地{m}供应商", "希望对接{m}配套企业", "要{m}")
CUSTOMERS = ("给{c}配套", "客户主要是{c}", "产品供应给{c}")
GENERIC_CUSTOMERS = ("主机厂", "电网公司", "医院", "整车厂", "手机厂商", "科研院所", "大型国企")
# Sentences written from the KB per chain. 5-fold CV on the listed-company set with the officer-style set beside it
# (macro-F1 listed, accuracy officer; ranges over seeds 0–2 of the sentences): 0 → 0.775, 0.79; 5 → 0.705–0.740,
# 0.84–0.86; 10 → 0.710–0.739, 0.90–0.94; 20 → 0.692–0.738, 0.94–0.95; 60 → 0.697, 0.94 (README "评估").
KB_SENTENCES_PER_CHAIN = 20
SERVICE_SENTENCES_PER_CHAIN = 8


def chain_of_industries(kb: dict[str, Any]) -> dict[str, set[str]]:
    """申万 industry name → chains the KB maps it to."""
    out: dict[str, set[str]] = {}
    for c in kb["chains"]:
        for s in c.get("sw_industries", []):
            out.setdefault(s, set()).add(c["name"])
    return out


def read_chainkg(chainkg: Path) -> tuple[dict[str, str], dict[str, set[str]], dict[str, list[tuple[float, str]]]]:
    """ChainKG's listed companies: names by code, 申万 industries by company, (−revenue weight, product) lists."""
    names = {}
    for line in open(chainkg / "company.json", encoding="utf-8"):
        d = json.loads(line)
        names[d["code"]] = d.get("fullname") or d.get("name") or ""
    industries: dict[str, set[str]] = {}
    for line in open(chainkg / "company_industry.json", encoding="utf-8"):
        d = json.loads(line)
        industries.setdefault(d["company_code"], set()).add(d["industry_name"])
    products: dict[str, list[tuple[float, str]]] = {}
    with open(chainkg / "company_product.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            products.setdefault(r["company_code"], []).append((-float(r["rel_weight"] or 0), r["product_name"]))
    return names, industries, products


def listed_companies(chainkg: Path, kb: dict[str, Any], exclude_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Listed companies with a label: the focus chain their 申万 industries map to, or ``none``.

    Companies mapped to several chains are left out (ambiguous), as are those in ``exclude_ids``; a company in a
    chain outside the focus set is ``none``, as in the labelled sets.
    """
    exclude = set(exclude_ids)
    focus = {c["name"] for c in kb["chains"] if c.get("focus")}
    sw = chain_of_industries(kb)
    names, industries, products = read_chainkg(chainkg)
    out = []
    for code, ps in sorted(products.items()):
        if code in exclude or code not in industries:
            continue
        chains = set().union(*(sw.get(i, set()) for i in industries[code]))
        if len(chains) > 1:
            continue
        label = next(iter(chains)) if chains else NONE
        items = [p for _, p in sorted(ps)]
        out.append({"id": code, "name": names.get(code.split(".")[0], ""), "products": items,
                    "label": label if label in focus else NONE})
    return out


def upstream_materials(chainkg: Path) -> dict[str, list[str]]:
    """Product → its upstream materials (the ChainKG 上游材料 relation)."""
    out: dict[str, list[str]] = {}
    with open(chainkg / "product_product.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["rel"] == "上游材料":
                out.setdefault(r["from_entity"], []).append(r["to_entity"])
    return out


def officer_sentence(products: list[str], rng: random.Random, materials: list[str] | None = None) -> str:
    """A short officer-style sentence about a firm making ``products``, with clauses that do not change its chain."""
    p = "和".join(products) if len(products) <= 2 else "、".join(products[:-1]) + "和" + products[-1]
    parts = [rng.choice(OPENERS).format(p=p)]
    if rng.random() < 0.6:
        parts.append(rng.choice(PLANS).format(place=rng.choice(PLACES), n=rng.randint(1, 9)))
    if materials and rng.random() < 0.5:
        parts.append(rng.choice(NEEDS).format(m="、".join(rng.sample(materials, min(len(materials), 2)))))
    if rng.random() < 0.2:
        parts.append(rng.choice(CUSTOMERS).format(c=rng.choice(GENERIC_CUSTOMERS)))
    return "，".join(parts) + "。"


def kb_sentences(kb: dict[str, Any], terms: dict[str, Any], rng: random.Random,
                 per_chain: int = KB_SENTENCES_PER_CHAIN) -> list[tuple[str, str]]:
    """Sentences written from each chain's segment keywords and products (and their abbreviations), labelled.

    Only words that belong to one chain are used; chains outside the focus set give ``none`` examples.
    """
    focus = {c["name"] for c in kb["chains"] if c.get("focus")}
    owners: dict[str, set[str]] = {}
    for c in kb["chains"]:
        for seg in c.get("segments", []):
            for w in [*seg.get("keywords", []), *seg.get("products", [])]:
                owners.setdefault(w, set()).add(c["name"])
    for term, targets in terms.get("synonyms", {}).items():
        chains = set().union(*(owners.get(t, set()) for t in targets))
        if chains:
            owners.setdefault(term, set()).update(chains)
    by_chain: dict[str, list[str]] = {}
    for w, chains in sorted(owners.items()):
        if len(chains) == 1:
            by_chain.setdefault(next(iter(chains)), []).append(w)
    out = []
    for chain, words in sorted(by_chain.items()):
        label = chain if chain in focus else NONE
        for _ in range(per_chain):
            picked = rng.sample(words, min(len(words), rng.choice((1, 1, 2, 3))))
            out.append((officer_sentence(picked, rng), label))
    return out


# Businesses that sell, carry, design for or house a chain's products without making them: ``none`` by the labelling
# rules (dealers and rental, logistics, design institutes, real estate and property, labour and cleaning services).
SERVICES = ("{p}4S店", "{p}经销", "代理销售{p}", "{p}销售门店", "{p}租赁", "{p}运输", "{p}冷链运输", "{p}物流配送", "{p}仓储",
            "{p}货运代理", "{p}厂房工程设计", "{p}项目勘察设计", "{p}展厅", "{p}交易市场", "{p}产业园物业管理",
            "{p}产业园开发运营", "{p}企业招聘和劳务派遣", "{p}展会服务", "{p}工厂保洁", "{p}厂房钢结构")


def service_none_sentences(kb: dict[str, Any], rng: random.Random,
                           per_chain: int = SERVICE_SENTENCES_PER_CHAIN) -> list[tuple[str, str]]:
    """``none`` sentences about firms that only sell, carry, design for or house a key chain's typical products
    (新能源汽车4S店, 乳品冷链运输, 变电站项目勘察设计): the chain's words are in them, the firm makes none of it."""
    out = []
    for c in kb["chains"]:
        if not c.get("focus"):
            continue
        products = sorted({p for seg in c.get("segments", []) for p in seg.get("products", [])})
        for _ in range(per_chain if products else 0):
            service = rng.choice(SERVICES).format(p=rng.choice(products))
            out.append((officer_sentence([service], rng), NONE))
    return out


def training_set(labelled: list[tuple[str, str]], kb: dict[str, Any], chainkg: Path | None,
                 exclude_ids: Iterable[str] = (), terms: dict[str, Any] | None = None,
                 seed: int = 0) -> tuple[list[str], list[str], dict[str, int]]:
    """Texts and labels for the chain model, and how many came from each source.

    Args:
        labelled: (text, label) rows of labelled files the model may learn from.
        chainkg: the listed-company data; without it only ``labelled`` and the KB sentences are used.
        exclude_ids: listed companies to leave out (the rows of an evaluation set and of ``labelled``).
        terms: the abbreviation table (``chains.load_terms``).
    """
    from matcher.match.chains import load_terms

    rng = random.Random(seed)
    terms = terms if terms is not None else load_terms()
    texts = [t for t, _ in labelled]
    labels = [y for _, y in labelled]
    counts = {"labelled": len(labelled), "listed": 0, "listed_sentences": 0, "kb_sentences": 0, "service_sentences": 0}
    if chainkg is not None:
        materials = upstream_materials(chainkg)
        for firm in listed_companies(chainkg, kb, exclude_ids):
            texts.append(f"{firm['name']}，主营产品：{'、'.join(firm['products'])}")
            labels.append(firm["label"])
            counts["listed"] += 1
            top = firm["products"][:rng.choice((1, 2, 3))]
            needs = [m for p in top for m in materials.get(p, [])][:6]
            texts.append(officer_sentence(top, rng, needs))
            labels.append(firm["label"])
            counts["listed_sentences"] += 1
    written = {"kb_sentences": kb_sentences(kb, terms, rng), "service_sentences": service_none_sentences(kb, rng)}
    for source, sentences in written.items():
        texts += [t for t, _ in sentences]
        labels += [y for _, y in sentences]
        counts[source] += len(sentences)
    return texts, labels, counts


def chainkg_negatives(chainkg: Path, exclude_ids: set[str], chain_industries: set[str]) -> list[str]:
    """Profiles of listed companies none of whose 申万 industries belongs to a key chain: examples of ``none``.

    Args:
        chainkg: folder with company.json, company_industry.json and company_product.csv.
        exclude_ids: stock codes to leave out (e.g. the rows of an evaluation set).
        chain_industries: 申万 industry names that the knowledge base maps to a chain (``sw_industries``).
    """
    companies, industries, products = read_chainkg(chainkg)
    out = []
    for code, ps in sorted(products.items()):
        if code in exclude_ids or code not in industries or industries[code] & chain_industries:
            continue
        out.append(f"{companies.get(code.split('.')[0], '')}，主营产品：{'、'.join(p for _, p in sorted(ps))}")
    return out
