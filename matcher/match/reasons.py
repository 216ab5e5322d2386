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
}


def _kw(words: list[str], n: int = 4) -> str:
    return "、".join(f"「{w}」" for w in words[:n])


def render(hit: Hit) -> str:
    """One plain-Chinese sentence saying why ``hit`` was proposed, naming its strongest parts and evidence."""
    d = hit.data
    top = sorted(((v, k) for k, v in hit.parts.items() if v > 0), reverse=True)[:2]
    why = "，".join(f"{PART_LABELS.get(k, k)}贡献 {v:.2f}" for v, k in top)
    if hit.kind == "chain":
        seg = f"{d.get('stage', '')}「{d['segment']}」环节" if d.get("segment") else ""
        kws = f"，命中关键词{_kw(d.get('keywords', []))}" if d.get("keywords") else ""
        return f"属于{hit.label}产业链{seg}{kws}（{why}）。"
    if hit.kind == "industry":
        kws = f"，对应条目{_kw(d.get('evidence', []), 3)}" if d.get("evidence") else ""
        return f"国民经济行业分类为 {hit.label}{kws}（{why}）。"
    if hit.kind == "park":
        return _park_reason(hit, why)
    if hit.kind in ("supplier", "customer"):
        role = "供应商（上游）" if hit.kind == "supplier" else "客户（下游）"
        path = f"，产业链路径 {d['path']}" if d.get("path") else ""
        kws = f"，对应{_kw(d.get('keywords', []), 3)}" if d.get("keywords") else ""
        region = f"，位于{d['region']}" if d.get("region") else ""
        return f"{hit.label}可作为潜在{role}{path}{kws}{region}（{why}）。"
    kws = f"，命中{_kw(d.get('keywords', []))}" if d.get("keywords") else ""
    return f"{hit.label}与查询相关{kws}（{why}）。"


def _park_reason(hit: Hit, why: str) -> str:
    """Why a landing place fits: the chain it leads, the need it meets (with the firm's words), the lead industry."""
    d = hit.data
    bits = []
    if d.get("chains"):
        bits.append(f"主导产业链含{_kw(d['chains'], 3)}")
    if d.get("needs"):
        asked = f"（企业提到{_kw(d['asked'], 3)}）" if d.get("asked") else ""
        bits.append(f"可满足{_kw(d['needs'], 3)}{asked}")
    elif d.get("asked"):
        bits.append(f"具备{_kw(d['asked'], 3)}条件")
    if d.get("lead"):
        bits.append(f"主导产业{_kw(d['lead'], 3)}相符")
    if not bits and d.get("lead_industries"):
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
    verb = "推荐落地" if d.get("landing", True) else "参考"
    return f"{verb}{hit.label}{where}：" + "；".join(bits) + f"（{why}）{cluster}。"
