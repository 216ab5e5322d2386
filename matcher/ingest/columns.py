"""Column-name mapping: the Chinese and English headers staff spreadsheets use → the canonical firm fields."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import zhconv

# Canonical field → its Chinese label (used in messages and reports).
FIELDS: dict[str, str] = {
    "name": "企业名称",
    "uscc": "统一社会信用代码",
    "region": "所在地区",
    "address": "地址",
    "description": "主营业务",
    "products": "主要产品",
    "needs": "采购需求",
    "industry": "行业",
    "employees": "从业人数",
    "revenue": "营业收入",
    "registered_capital": "注册资本",
}

# Fields whose values are joined when several columns map to them (主营业务 + 经营范围); others take the first value.
TEXT_FIELDS = frozenset({"description", "products", "needs", "industry"})

# Header synonyms, compared after `header_key` (NFKC, lower case, no spaces or punctuation).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "公司名称", "名称", "企业名", "公司名", "单位名称", "企业", "公司", "市场主体名称", "主体名称",
             "name", "company", "companyname", "enterprise", "enterprisename", "firm", "firmname"),
    "uscc": ("统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码", "统一代码", "uscc", "code", "creditcode",
             "socialcreditcode", "unifiedsocialcreditcode"),
    "region": ("所在地区", "地区", "区县", "所在区县", "所属地区", "所在地", "所属区域", "区域", "城市", "所在城市", "地市",
               "region", "city", "district", "area", "location"),
    "address": ("地址", "注册地址", "企业地址", "住所", "经营地址", "办公地址", "通讯地址", "address", "regaddress"),
    "description": ("主营业务", "经营范围", "业务范围", "主营", "企业简介", "公司简介", "简介", "业务描述", "企业描述",
                    "businessscope", "scope", "business", "description", "desc", "mainbusiness", "profile"),
    "products": ("主要产品", "产品", "主营产品", "产品名称", "主导产品", "products", "product", "mainproducts"),
    "needs": ("采购需求", "需求", "配套需求", "合作需求", "需求描述", "needs", "need", "demand", "demands", "procurement"),
    "industry": ("行业", "所属行业", "行业分类", "国民经济行业", "行业门类", "industry", "sector"),
    "employees": ("从业人数", "员工人数", "职工人数", "人数", "从业人员", "员工数", "employees", "staff", "headcount"),
    "revenue": ("营业收入", "营收", "主营业务收入", "年营业收入", "销售收入", "revenue", "sales", "income", "turnover"),
    "registered_capital": ("注册资本", "注册资金", "资本", "capital", "registeredcapital", "regcapital"),
}

_PUNCT = re.compile(r"[\s_\-·•.:：/\\|'\"“”‘’*#]+")
_BRACKETS = re.compile(r"[(（\[【<《].*?[)）\]】>》]")


def header_key(header: object) -> str:
    """Comparable form of a header: NFKC, simplified Chinese, lower case, no punctuation or spaces.

    ``Business Scope`` → ``businessscope``, ``企業名稱`` → ``企业名称``.
    """
    text = unicodedata.normalize("NFKC", "" if header is None else str(header)).lower()
    if any(ord(ch) > 0x2E7F for ch in text):
        text = zhconv.convert(text, "zh-cn")
    return _PUNCT.sub("", text.replace("\ufeff", ""))


_LOOKUP: dict[str, str] = {header_key(s): field for field, names in SYNONYMS.items() for s in names}


def field_of(header: object) -> str | None:
    """The canonical field of one header, or ``None`` when unknown.

    Units and remarks in brackets are ignored, so ``营业收入（万元）`` and ``从业人数(人)`` still map.
    """
    key = header_key(header)
    if not key:
        return None
    if key in _LOOKUP:
        return _LOOKUP[key]
    stripped = header_key(_BRACKETS.sub("", unicodedata.normalize("NFKC", str(header))))
    return _LOOKUP.get(stripped) if stripped else None


def map_headers(headers: Sequence[object]) -> tuple[dict[int, str], list[str]]:
    """Map a header row to fields.

    Args:
        headers: the header cells, in column order.

    Returns:
        ``(mapping, unknown)``: column index → canonical field (several columns may share a field), and the names of
        the non-empty headers that map to nothing (ignored, reported to the user).
    """
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for i, header in enumerate(headers):
        field = field_of(header)
        if field:
            mapping[i] = field
        elif header is not None and str(header).strip():
            unknown.append(str(header).strip())
    return mapping, unknown
