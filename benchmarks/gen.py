"""Seeded synthetic firm profiles at any size, for benchmarks: realistic Chinese text, never real firms.

Profiles are built only from files this repository ships: GB/T 4754-2017 class names and notes and 战新2018 key
products (``data/gbt4754``) and the chain segments and keywords of the knowledge base (``data/kb/chains.json``).
Regions and districts are those of 西安, 咸阳 and 西咸新区. The same ``seed`` and ``n`` give the same rows.

Usage: ``python benchmarks/gen.py --firms 1000 --out firms.csv`` (CSV with the import column names), or
``generate(n, seed)`` / ``firm_rows(n, seed)`` from Python.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEED = 20240601

# Where firms sit: (region, district label, weight). 西安's districts and zones dominate, as in real registers.
PLACES: tuple[tuple[str, str, int], ...] = (
    ("西安", "高新区", 14), ("西安", "经开区", 8), ("西安", "雁塔区", 8), ("西安", "未央区", 7), ("西安", "长安区", 6),
    ("西安", "碑林区", 4), ("西安", "莲湖区", 4), ("西安", "新城区", 3), ("西安", "灞桥区", 3), ("西安", "高陵区", 3),
    ("西安", "鄠邑区", 2), ("西安", "临潼区", 2), ("西安", "阎良区", 2), ("西安", "航天基地", 3), ("西安", "航空基地", 1),
    ("西安", "国际港务区", 2), ("西安", "浐灞生态区", 2), ("西安", "曲江新区", 2), ("西安", "蓝田县", 1),
    ("西安", "周至县", 1),
    ("咸阳", "秦都区", 4), ("咸阳", "渭城区", 3), ("咸阳", "兴平市", 2), ("咸阳", "三原县", 1), ("咸阳", "泾阳县", 1),
    ("咸阳", "乾县", 1), ("咸阳", "礼泉县", 1), ("咸阳", "彬州市", 1), ("咸阳", "武功县", 1), ("咸阳", "杨陵区", 1),
    ("咸阳", "高新区", 2),
    ("西咸新区", "沣东新城", 4), ("西咸新区", "沣西新城", 3), ("西咸新区", "空港新城", 3), ("西咸新区", "秦汉新城", 3),
    ("西咸新区", "泾河新城", 3),
)
CITY_PREFIX = {"西安": ("西安", "陕西", ""), "咸阳": ("咸阳", "陕西", ""), "西咸新区": ("陕西", "西咸新区", "")}
BRAND = "启恒瑞博卓远晟睿弘鼎嘉锐拓融信泰德宏盛翔浩澜辰科达元创越峰源川石誉宸安和景航微联通华秦汉唐长丰金银鑫凯正" \
        "天星光明润泽海蓝云智慧中宇力强新开诚兴祥福康永隆昌佳美立方舟晨曦若"
SUFFIX = {"上游": ("材料科技", "新材料", "元器件", "基础材料", "化工"), "中游": ("科技", "智能装备", "制造", "工业技术", "机电"),
          "下游": ("技术服务", "应用科技", "系统集成", "科技服务", "实业")}
FORMS = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")
SHORT = {"半导体和集成电路": "半导体", "乘用车(新能源)": "新能源汽车", "煤制烯烃(芳烃)深加工": "化工",
         "陶瓷基复合材料": "复合材料", "软件和信息服务": "软件", "大数据与云计算": "云计算", "清洁低碳能化": "能源化工",
         "钛及钛合金": "钛业", "输变电装备": "电气", "钢铁深加工": "钢材", "铝镁深加工": "轻合金", "太阳能光伏": "光伏",
         "临空经济": "航空物流", "检验检测": "检测", "文化旅游": "文旅"}
GENERIC_NEEDS = ("工业气体", "检测仪器", "自动化生产线", "工业软件", "包装材料", "物流运输", "实验室设备", "模具",
                 "电子元器件", "钢材", "办公设备", "仓储服务")
PLANS = ("现有厂区空间受限，计划外迁扩产，需工业用地约{n}亩", "计划新建生产基地，需要标准厂房约{m}平方米",
         "拟设立研发中试基地，需要研发楼宇约{m}平方米", "订单增长较快，计划扩大产能并就近配套上下游",
         "产品已进入多家整机企业供应链", "拥有省级企业技术中心", "")
ACTIVITY = ("研发、生产与销售", "生产与销售", "研发与技术服务", "设计、制造与安装", "销售与售后服务", "加工与批发")
BOILERPLATE = ("一般项目：", "许可项目：", "（依法须经批准的项目，经相关部门批准后方可开展经营活动）", "货物进出口；技术进出口",
               "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广")
# Shares of the profile kinds: chain segment, 战新 key products, any GB/T 4754 小类 (many firms fit no key chain).
MIX = (("chain", 0.45), ("sei", 0.30), ("gb", 0.25))
COLUMNS = ("name", "uscc", "uscc_valid", "region", "district", "description", "products", "needs", "industry",
           "employees", "revenue", "registered_capital")
CSV_HEADERS = {"name": "企业名称", "uscc": "统一社会信用代码", "region": "所在地区", "description": "主营业务",
               "products": "主要产品", "needs": "采购需求", "industry": "行业", "employees": "从业人数",
               "revenue": "营业收入（万元）", "registered_capital": "注册资本"}


@dataclass
class Sources:
    """The shipped material profiles are drawn from."""

    chains: list[dict[str, Any]]
    gb: dict[str, str]  # 4-digit code → 小类 name
    gb_items: dict[str, list[str]]  # 4-digit code → items listed in its note
    sei: list[tuple[str, str, list[str]]]  # (sei leaf, gb name, key products)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _split_products(text: str) -> list[str]:
    """Key products of a 战新 entry, without the specs in brackets."""
    text = re.sub(r"（[^）]*）|\([^)]*\)", "", text or "")
    return [p.strip() for p in re.split(r"[；;]", text) if 1 < len(p.strip()) <= 20 and "其他" not in p]


def _note_items(desc: str) -> list[str]:
    """Items a GB/T 4754 note lists as included (the part before 不包括)."""
    head = desc.replace("◇", " ").split("◆")[0].split("不包括")[0]
    head = re.sub(r"（[^）]*）|\([^)]*\)", "", head)  # specs and examples in brackets
    parts = re.split(r"[;；:：,，、—。\s]+", head)
    return [p.strip() for p in parts
            if 1 < len(p.strip()) <= 16 and not re.search(r"[包括本类指（）()]", p)]


def _terms(segment: dict[str, Any]) -> list[str]:
    pool = dict.fromkeys(list(segment.get("products", [])) + list(segment.get("keywords", [])))
    return [t for t in pool if len(t) > 1 and not (t.isascii() and t.isalpha() and not t.isupper())]


def load_sources(data_dir: Path = DATA) -> Sources:
    """Read the GB/T 4754 notes, the 战新 crosswalk and the knowledge-base chains."""
    rows = _read_csv(data_dir / "gbt4754" / "gbt4754_2017_notes_tags.csv")
    gb = {r["code"]: r["name"] for r in rows if r["level"] == "4"}
    gb_items = {r["code"]: _note_items(r["description"]) for r in rows if r["level"] == "4"}
    sei = []
    for r in _read_csv(data_dir / "gbt4754" / "sei2018_to_gbt4754_mapping.csv"):
        products = _split_products(r["products"])
        if products:
            sei.append((r["sei_path"].split(" > ")[-1], r["gb_name"], products))
    chains: list[dict[str, Any]] = []
    chains_file = data_dir / "kb" / "chains.json"
    if chains_file.exists():
        raw = json.loads(chains_file.read_text(encoding="utf-8"))
        chains = [c for c in (raw["chains"] if isinstance(raw, dict) else raw) if c.get("segments")]
    return Sources(chains=chains, gb=gb, gb_items=gb_items, sei=sei)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_for(i: int, division: str) -> str:
    """A valid, unique 统一社会信用代码 (GB 32100-2015 check digit) for firm number ``i``."""
    body = "91" + division
    n = i
    org = []
    for _ in range(9):  # organisation code part: base-31 digits of i, unique per firm
        n, r = divmod(n, 31)
        org.append(_USCC_ALPHABET[r])
    body += "".join(reversed(org))
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


_DIVISION = {"西安": "610131", "咸阳": "610400", "西咸新区": "611100"}


class Generator:
    """Draws profiles; one instance per seed, rows in a fixed order."""

    def __init__(self, seed: int = SEED, sources: Sources | None = None) -> None:
        self.rng = random.Random(seed)
        self.src = sources or load_sources()
        self.places = [p[:2] for p in PLACES]
        self.place_weights = [p[2] for p in PLACES]
        self.gb_codes = [c for c, items in self.src.gb_items.items() if items]
        self.kinds = [k for k, _ in MIX] if self.src.chains else ["sei", "gb"]
        self.kind_weights = [w for k, w in MIX if k in self.kinds]

    def _name(self, region: str, core: str, suffix: str) -> str:
        rng = self.rng
        prefix = rng.choice(CITY_PREFIX[region])
        brand = "".join(rng.choice(BRAND) for _ in range(rng.choice((2, 2, 2, 3))))
        return f"{prefix}{brand}{core}{suffix}{rng.choice(FORMS)}"

    def _plan(self) -> str:
        plan = self.rng.choice(PLANS)
        return plan.format(n=self.rng.choice((10, 20, 30, 50, 80, 120)),
                           m=self.rng.choice((2000, 5000, 8000, 15000, 30000)))

    def _chain(self, region: str) -> dict[str, Any]:
        rng = self.rng
        chain = rng.choice(self.src.chains)
        segments = chain["segments"]
        i = rng.randrange(len(segments))
        seg = segments[i]
        pool = _terms(seg) or [seg["name"]]
        products = rng.sample(pool, min(len(pool), rng.randint(2, 4)))
        if i > 0:
            up = _terms(segments[i - 1]) or [segments[i - 1]["name"]]
            needs = rng.sample(up, min(len(up), rng.randint(1, 3)))
        else:
            needs = rng.sample(GENERIC_NEEDS, 2)
        codes = [c for c in chain.get("gb_codes", []) if c in self.src.gb]
        industry = self.src.gb[rng.choice(codes)] if codes else ""
        core = SHORT.get(chain["name"], re.sub(r"\(.*?\)", "", chain["name"]))[:4]
        name = self._name(region, core, rng.choice(SUFFIX.get(seg["stage"], SUFFIX["中游"])))
        verb = "提供" if seg["stage"] == "下游" else "从事"
        desc = f"{seg['name']}领域企业，主要{verb}{'、'.join(products[:3])}的{rng.choice(ACTIVITY)}"
        return {"name": name, "description": desc, "products": "；".join(products), "needs": "；".join(needs),
                "industry": industry}

    def _sei(self, region: str) -> dict[str, Any]:
        rng = self.rng
        field, gb_name, pool = rng.choice(self.src.sei)
        products = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
        other = rng.choice(self.src.sei)[2]
        needs = rng.sample(other, min(len(other), 2))
        core = re.sub(r"(制造|产业|服务|活动|设备)$", "", field)[:4]
        name = self._name(region, core, rng.choice(("科技", "技术", "实业", "工程", "电子")))
        desc = f"属于{field}，主要{rng.choice(ACTIVITY)}{'、'.join(products[:3])}"
        return {"name": name, "description": desc, "products": "；".join(products), "needs": "；".join(needs),
                "industry": gb_name}

    def _gb(self, region: str) -> dict[str, Any]:
        rng = self.rng
        code = rng.choice(self.gb_codes)
        pool = self.src.gb_items[code]
        products = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
        gb_name = self.src.gb[code]
        core = re.sub(r"(制造|加工|服务|批发|零售|活动)$", "", gb_name)[:4]
        name = self._name(region, core, rng.choice(("商贸", "实业", "科技", "服务", "发展")))
        desc = f"主营{gb_name}，主要{rng.choice(ACTIVITY)}{'、'.join(products[:3])}"
        if rng.random() < 0.3:  # 经营范围-style boilerplate, as in registry extracts
            desc = f"{rng.choice(BOILERPLATE)}{desc}；{rng.choice(BOILERPLATE)}"
        needs = rng.sample(GENERIC_NEEDS, rng.randint(0, 2))
        return {"name": name, "description": desc, "products": "；".join(products), "needs": "；".join(needs),
                "industry": gb_name if rng.random() < 0.8 else ""}

    def firm(self, i: int) -> dict[str, Any]:
        """Profile number ``i`` (the stream's next draw): the ``firms`` table columns of :data:`COLUMNS`."""
        rng = self.rng
        region, district = rng.choices(self.places, self.place_weights)[0]
        kind = rng.choices(self.kinds, self.kind_weights)[0]
        row = getattr(self, "_" + kind)(region)
        plan = self._plan()
        if plan:
            row["description"] += "；" + plan
        employees = int(rng.lognormvariate(4.0, 1.2)) + 3
        row.update({
            "uscc": uscc_for(i, _DIVISION[region]), "uscc_valid": 1, "region": region, "district": district,
            "employees": float(employees), "revenue": float(int(employees * rng.uniform(20, 200))),
            "registered_capital": f"{rng.choice((50, 100, 200, 500, 1000, 3000, 5000))}万元",
        })
        return {c: row.get(c) for c in COLUMNS}


def generate(n: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``n`` profiles in a fixed order for a given seed (a stream: 1M rows never sit in memory at once)."""
    gen = Generator(seed)
    for i in range(n):
        yield gen.firm(i)


def firm_rows(n: int, seed: int = SEED, source_file: str = "synthetic") -> Iterator[dict[str, Any]]:
    """Rows ready for ``store.db["firms"].insert_all``: :func:`generate` plus provenance."""
    from matcher.store.database import now

    stamp = now()
    for i, firm in enumerate(generate(n, seed)):
        firm.update({"source_file": source_file, "source_row": i + 2, "imported_at": stamp, "updated_at": stamp})
        yield firm


def write_csv(n: int, out: Path, seed: int = SEED) -> None:
    """Write ``n`` profiles as an importable CSV (Chinese headers), atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([CSV_HEADERS[c] for c in COLUMNS if c in CSV_HEADERS])
        for firm in generate(n, seed):
            w.writerow([firm[c] if firm[c] is not None else "" for c in COLUMNS if c in CSV_HEADERS])
    os.replace(tmp, out)


def write_parquet(n: int, out: Path, seed: int = SEED, block: int = 100_000) -> None:
    """Write ``n`` profiles as a Parquet pool (Chinese headers, one row group per ``block``), streamed and atomic."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = [c for c in COLUMNS if c in CSV_HEADERS]
    schema = pa.schema([(CSV_HEADERS[c], pa.string()) for c in cols])
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        buf: list[dict[str, Any]] = []
        for firm in generate(n, seed):
            buf.append(firm)
            if len(buf) == block:
                writer.write_table(_parquet_block(buf, cols, schema))
                buf = []
        if buf:
            writer.write_table(_parquet_block(buf, cols, schema))
    os.replace(tmp, out)


def _parquet_block(firms: list[dict[str, Any]], cols: list[str], schema: Any) -> Any:
    import pyarrow as pa

    return pa.table([pa.array([None if f[c] is None else str(f[c]) for f in firms], pa.string()) for c in cols],
                    schema=schema)


def main(argv: list[str] | None = None) -> None:
    """CLI: write a CSV of synthetic profiles."""
    ap = argparse.ArgumentParser(description="生成可复现的合成企业画像（基准测试用）")
    ap.add_argument("--firms", type=int, default=1000, help="企业数量")
    ap.add_argument("--seed", type=int, default=SEED, help="随机种子")
    ap.add_argument("--out", type=Path, default=None, help="输出 CSV（默认打印前 5 条）")
    args = ap.parse_args(argv)
    if args.out is None:
        for firm in generate(min(args.firms, 5), args.seed):
            print(json.dumps(firm, ensure_ascii=False))
        return
    write_csv(args.firms, args.out, args.seed)
    print(f"{args.out}: {args.firms} 家合成企业", file=sys.stderr)


if __name__ == "__main__":
    main()
