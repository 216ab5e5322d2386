"""Generate ``spillover_profiles.csv``: clearly labelled example profiles of firms in 西安's central districts.

The profiles are invented, deterministic (seeded) and built only from licence-compatible files of this repository:
GB/T 4754-2017 class names and 战新2018 key products (``data/gbt4754``, MIT, see its PROVENANCE.md) and the chain
segments and keywords of the project's own knowledge base (``data/kb/chains.json``). Every name starts with ``示例·``.

Run from the repository root: ``python data/sample/make_samples.py`` (rewrites the CSV; same output every time).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
OUT = HERE / "spillover_profiles.csv"
SEED = 4754
COUNT = 300
CHAIN_SHARE = 0.7  # the rest is built from 战新 key products alone

DISTRICTS = ("新城区", "碑林区", "莲湖区", "雁塔区", "未央区", "灞桥区", "长安区")  # 西安主城区
BRAND_1 = "启恒瑞博卓远晟睿弘鼎嘉锐拓融信泰德宏盛翔浩澜"
BRAND_2 = "辰科达元创新越峰源川石誉宸安和景航微联通"
SUFFIX = {"上游": ("材料科技", "新材料", "元器件", "基础材料"), "中游": ("科技", "智能装备", "制造", "工业技术"),
          "下游": ("技术服务", "应用科技", "系统集成", "科技服务")}
SHORT = {"半导体和集成电路": "半导体", "乘用车(新能源)": "新能源汽车", "煤制烯烃(芳烃)深加工": "化工",
         "陶瓷基复合材料": "复合材料", "软件和信息服务": "软件", "大数据与云计算": "云计算", "清洁低碳能化": "能源化工",
         "钛及钛合金": "钛业", "输变电装备": "电气", "钢铁深加工": "钢材", "铝镁深加工": "轻合金", "太阳能光伏": "光伏",
         "临空经济": "航空物流", "检验检测": "检测", "文化旅游": "文旅", "智能终端": "智能终端"}
SEI_SHORT = {"新一代信息技术产业": "信息技术", "高端装备制造产业": "高端装备", "相关服务业": "科技服务"}
# What any upstream manufacturer buys; a chain's first segment has no segment above it to buy from.
GENERIC_NEEDS = ("工业气体", "检测仪器", "自动化生产线", "工业软件", "包装材料", "物流运输", "实验室设备", "模具")
PLANS = (
    "现有厂区位于主城区，空间受限，计划外迁扩产，需工业用地约{n}亩",
    "计划新建生产基地，需要标准厂房约{m}平方米",
    "拟设立研发中试基地，需要研发楼宇约{m}平方米",
    "订单增长较快，计划扩大产能并就近配套上下游",
    "",
    "",
)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _split(text: str) -> list[str]:
    """Key products of a 战新 entry, without the technical specs in brackets."""
    text = re.sub(r"（[^）]*）|\([^)]*\)", "", text or "")
    return [p.strip() for p in re.split(r"[；;]", text) if 1 < len(p.strip()) <= 20 and "其他" not in p]


def _terms(segment: dict) -> list[str]:
    """Products and keywords of a chain segment, without bare fragments such as ``Micro``."""
    pool = dict.fromkeys(segment.get("products", []) + segment.get("keywords", []))
    return [t for t in pool if len(t) > 1 and not (t.isascii() and t.isalpha() and not t.isupper())]


def load_sources() -> tuple[list[dict], dict[str, str], list[dict[str, str]]]:
    """Chains (may be empty when the knowledge base is absent), GB 小类 names and 战新 rows with products."""
    chains_file = DATA / "kb" / "chains.json"
    chains: list[dict] = []
    if chains_file.exists():
        raw = json.loads(chains_file.read_text(encoding="utf-8"))
        chains = raw["chains"] if isinstance(raw, dict) else raw
    gb = {r["code"]: r["name"] for r in _read_csv(DATA / "gbt4754" / "gbt4754_2017_notes_tags.csv") if r["level"] == "4"}
    sei = [r for r in _read_csv(DATA / "gbt4754" / "sei2018_to_gbt4754_mapping.csv") if _split(r["products"])]
    return chains, gb, sei


def _name(rng: random.Random, core: str, suffix: str, taken: set[str]) -> str:
    while True:
        name = f"示例·{rng.choice(BRAND_1)}{rng.choice(BRAND_2)}{core}{suffix}有限公司"
        if name not in taken:
            taken.add(name)
            return name


def _plan(rng: random.Random) -> str:
    plan = rng.choice(PLANS)
    return plan.format(n=rng.choice((10, 20, 30, 50, 80, 120)), m=rng.choice((2000, 5000, 8000, 15000, 30000)))


def from_chain(rng: random.Random, chain: dict, gb: dict[str, str], taken: set[str]) -> dict:
    """One profile in one segment of a chain; its needs come from the segment upstream of it."""
    segments = chain["segments"]
    i = rng.randrange(len(segments))
    seg = segments[i]
    pool = _terms(seg)
    products = rng.sample(pool, min(len(pool), rng.randint(2, 3)))
    if i > 0:
        up = segments[i - 1]
        up_pool = _terms(up)
        needs = rng.sample(up_pool, min(len(up_pool), 2))
    else:
        needs = rng.sample(GENERIC_NEEDS, 2)
    codes = [c for c in chain.get("gb_codes", []) if c in gb]
    industry = gb[rng.choice(codes)] if codes else ""
    core = SHORT.get(chain["name"], re.sub(r"\(.*?\)", "", chain["name"]))
    name = _name(rng, core, rng.choice(SUFFIX.get(seg["stage"], SUFFIX["中游"])), taken)
    if seg["stage"] == "下游":
        desc = f"{seg['name']}领域企业，主要提供{'、'.join(products[:2])}相关产品与服务"
    else:
        desc = f"{seg['name']}领域企业，主要从事{'、'.join(products[:2])}的研发、生产与销售"
    plan = _plan(rng)
    return {"企业名称": name, "所在地区": f"西安市{rng.choice(DISTRICTS)}",
            "主营业务": desc + (f"；{plan}" if plan else ""), "主要产品": "；".join(products),
            "采购需求": "；".join(needs), "行业": industry}


def from_sei(rng: random.Random, sei: list[dict[str, str]], taken: set[str]) -> dict:
    """One profile from a 战新 entry: its key products; needs from another entry of the same industry."""
    row = rng.choice(sei)
    pool = _split(row["products"])
    products = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
    top = row["sei_path"].split(" > ")[0]
    peers = [r for r in sei if r["sei_path"].startswith(top) and r is not row]
    needs = _split(rng.choice(peers)["products"])[:2] if peers else []
    field = row["sei_path"].split(" > ")[-1]
    core = SEI_SHORT.get(top, top.removesuffix("产业"))
    name = _name(rng, core, rng.choice(("科技", "技术", "实业", "工程")), taken)
    plan = _plan(rng)
    desc = f"属于{field}，主要提供{'、'.join(products)}" + (f"；{plan}" if plan else "")
    return {"企业名称": name, "所在地区": f"西安市{rng.choice(DISTRICTS)}", "主营业务": desc,
            "主要产品": "；".join(products), "采购需求": "；".join(needs), "行业": row["gb_name"]}


def generate(count: int = COUNT, seed: int = SEED) -> list[dict]:
    """The profiles, in a fixed order for a given seed."""
    rng = random.Random(seed)
    chains, gb, sei = load_sources()
    taken: set[str] = set()
    rows = []
    for _ in range(count):
        if chains and rng.random() < CHAIN_SHARE:
            row = from_chain(rng, rng.choice(chains), gb, taken)
        else:
            row = from_sei(rng, sei, taken)
        employees = rng.randint(15, 800)
        row["从业人数"] = employees
        row["营业收入（万元）"] = int(employees * rng.uniform(30, 150))
        rows.append(row)
    return rows


def main() -> None:
    """Write the CSV atomically."""
    rows = generate()
    fields = ["企业名称", "所在地区", "主营业务", "主要产品", "采购需求", "行业", "从业人数", "营业收入（万元）"]
    fd, tmp = tempfile.mkstemp(dir=HERE, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, OUT)
    print(f"{OUT.name}: {len(rows)} profiles")


if __name__ == "__main__":
    main()
