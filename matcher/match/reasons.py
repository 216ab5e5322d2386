"""Chinese reasons rendered from a hit's data: the one function used by the CLI, the app and the exports."""

from __future__ import annotations

from matcher.match.results import Hit

PART_LABELS: dict[str, str] = {
    "model": "文本模型",
    "keywords": "关键词命中",
    "lexical": "关键词检索",
    "dense": "语义相似",
    "items": "产品条目匹配",
    "prior": "战新行业加权",
    "chain": "产业链契合",
    "lead": "主导产业契合",
    "needs": "需求条件契合",
    "graph": "产业链上下游",
    "products": "产品与需求对应",
    "pair": "单项需求对应",
    "inputs": "产品投入关系",
    "near": "相邻行业",
    "peer": "产品相同程度",
    "trade": "未说明销售",
    "service": "只说明服务",
}


def _kw(words: list[str], n: int = 4) -> str:
    return "、".join(f"「{w}」" for w in words[:n])


def render(hit: Hit) -> str:
    """One plain-Chinese sentence saying why ``hit`` was proposed, naming its strongest parts and evidence."""
    if hit.kind in ("supplier", "customer", "peer"):
        return _counterpart(hit)  # their parts have their own names
    d = hit.data
    top = sorted(((v, k) for k, v in hit.parts.items() if v > 0), reverse=True)[:2]
    why = "，".join(f"{PART_LABELS.get(k, k)}贡献 {v:.2f}" for v, k in top)
    if hit.kind == "chain":
        seg = f"{d.get('stage', '')}「{d['segment']}」环节" if d.get("segment") else ""
        kws = f"，命中关键词{_kw(d.get('keywords', []))}" if d.get("keywords") else ""
        return f"属于{hit.label}产业链{seg}{kws}（{why}）。"
    if hit.kind == "industry":
        kws = f"，对应条目{_kw(d.get('evidence', []), 3)}" if d.get("evidence") else ""
        chain = f"，是{d['chain']}产业链所列行业" if d.get("chain") else ""
        trade = hit.parts.get("trade", 0.0)
        untraded = f"；属批发和零售业，文本未说明销售，扣 {-trade:.2f}" if trade < 0 else ""
        service = hit.parts.get("service", 0.0)
        unmade = f"；属制造业，文本只说明提供服务、未说明生产，扣 {-service:.2f}" if service < 0 else ""
        return f"国民经济行业分类为 {hit.label}{kws}{chain}（{why}{untraded}{unmade}）。"
    if hit.kind == "park":
        return _park_reason(hit, why)
    kws = f"，命中{_kw(d.get('keywords', []))}" if d.get("keywords") else ""
    return f"{hit.label}与查询相关{kws}（{why}）。"


def _park_reason(hit: Hit, why: str) -> str:
    """Why a landing place fits: the chain it leads, the need it meets (with the firm's words), the lead industry."""
    d = hit.data
    bits = []
    if d.get("by_intent"):
        bits.append("企业表示意向落地于此，按意向列出（适配程度低于以上各处）")
    elif d.get("intent"):
        bits.append("企业表示意向落地于此")
    if d.get("chains"):
        bits.append(f"主导产业链含{_kw(d['chains'], 3)}")
    elif d.get("unled"):
        bits.append(f"西咸新区暂无以{_kw(d['unled'], 2)}为主导产业链的承接地")
    if d.get("needs"):
        asked = f"（企业提到{_kw(d['asked'], 3)}）" if d.get("asked") else ""
        bits.append(f"可满足{_kw(d['needs'], 3)}{asked}")
    elif d.get("asked"):
        bits.append(f"具备{_kw(d['asked'], 3)}条件")
    if d.get("lead"):
        bits.append(f"主导产业{_kw(d['lead'], 3)}相符")
    if not any(d.get(x) for x in ("chains", "needs", "asked", "lead")) and d.get("lead_industries"):
        # no single piece of evidence: name what the place leads, so the officer can judge the likeness
        bits.append(f"未见产业链、需求或主导产业的直接对应，主导产业为{_kw(d['lead_industries'], 3)}，仅描述相近（证据较弱）")
    if d.get("members"):
        bits.append(f"组团成员{_kw(d['members'], 4)}")
    if d.get("new_city") and d.get("new_city") != hit.label:
        where = f"（{d['new_city']}）"
    elif not d.get("new_city") and d.get("city"):
        where = f"（{d['city']}，非西咸新区承接地）"
    else:
        where = ""
    cluster = f"；同类集聚（主城、咸阳）：{'、'.join(d['cluster'])}" if d.get("cluster") else ""
    verb = "意向落地" if d.get("by_intent") else "推荐落地" if d.get("landing", True) else "参考"
    return f"{verb}{hit.label}{where}：" + "；".join(bits) + f"（{why}）{cluster}。"


# Counterpart parts read differently from the park parts of the same name.
COUNTERPART_LABELS: dict[str, str] = {
    "needs": "需求与产品对应",
    "pair": "单项需求对应",
    "asked": "需求品类对应",
    "inputs": "投入品关系",
    "chain": "产业链上下游",
    "near": "相邻行业",
    "peer": "产品相同程度",
    "similar": "需求语义相近",
}


def _counterpart(hit: Hit) -> str:
    """Supplier / customer / 同行 reason: the need ↔ product pair or the input link it rests on, then the parts."""
    d = hit.data
    top = sorted(((v, k) for k, v in hit.parts.items() if v > 0), reverse=True)[:2]
    why = "，".join(f"{COUNTERPART_LABELS.get(k, k)}贡献 {v:.2f}" for v, k in top)
    region = f"，位于{d['region']}" if d.get("region") else ""
    if hit.kind == "peer":
        alike = f"，「{d['pair'][0]}」与其「{d['pair'][1]}」相近" if d.get("pair") else ""
        return f"{hit.label}与本企业产品相同或相近，属同行（竞争或合作伙伴），不作为供应商{alike}{region}（{why}）。"
    bits = []
    pair, fam, asked = d.get("pair"), d.get("family_link"), d.get("asked")
    if asked and tuple(pair or ()) == (asked["need"], asked["product"]):
        asked = None  # the family pair is the word-for-word pair already named
    if hit.kind == "supplier":
        if pair:
            bits.append(f"采购需求「{pair[0]}」对应其产品「{pair[1]}」")
        if asked:
            bits.append(f"采购需求「{asked['need']}」与其产品「{asked['product']}」同属{asked['family']}")
        if fam:
            bits.append(f"其产品「{fam['theirs']}」（{fam['their_family']}）是本企业「{fam['ours']}」"
                        f"（{fam['our_family']}）的投入品")
        similar = d.get("similar")
        named = {pair[0] if pair else None, asked["need"] if asked else None}
        if similar and similar[0] not in named:  # a need the pairs above have not named
            bits.append(f"采购需求「{similar[0]}」与其主营（{similar[1]}）语义相近")
    else:
        if pair:
            bits.append(f"其采购需求「{pair[0]}」对应本企业产品「{pair[1]}」")
        if asked:
            bits.append(f"其采购需求「{asked['need']}」与本企业产品「{asked['product']}」同属{asked['family']}")
        if fam:
            bits.append(f"本企业「{fam['ours']}」（{fam['our_family']}）是其「{fam['theirs']}」"
                        f"（{fam['their_family']}）的投入品")
    if d.get("near"):
        bits.append(f"其产品「{d['near'][1]}」与本企业「{d['near'][0]}」属相邻行业")
    if hit.parts.get("chain", 0) >= 0.05:
        bits.append(f"产品与本企业所在产业链{'上游' if hit.kind == 'supplier' else '下游'}环节相符")
    role = "供应商（上游）" if hit.kind == "supplier" else "客户（下游）"
    fill = "（库内满足所述采购需求的企业不足，按本企业产品的投入品补充）" if d.get("fill") else ""
    return f"{hit.label}可作为潜在{role}{fill}：" + ("；".join(bits) or "产品相关") + f"{region}（{why}）。"


def part_labels(kind: str) -> dict[str, str]:
    """The Chinese names of a hit kind's score parts (counterpart parts read differently from park parts)."""
    return {**PART_LABELS, **COUNTERPART_LABELS} if kind in ("supplier", "customer", "peer") else PART_LABELS
