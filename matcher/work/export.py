"""The official lists as workbooks and CSV: 重点产业链共建清单, 企业供需信息清单 and 匹配结果.

Every list's columns are defined once, here (`LISTS`); the README section "清单格式" documents the same layouts and a
test keeps the two in step. Writers are atomic (temp file in the target folder, then ``os.replace``) and every text
cell that Excel could read as a formula (``= + - @``, tab, CR) is written as inert text.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain as _chain
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wcwidth import wcswidth

from matcher.files import atomic_path, safe_filename
from matcher.ingest.importer import REPORT_COLUMNS, safe_cell
from matcher.knowledge import kb
from matcher.knowledge.regions import parse_region
from matcher.match.reasons import part_labels
from matcher.match.results import Hit
from matcher.store import runs as run_store
from matcher.work.results import (
    MATCH_RUN_KINDS,
    FirmMatch,
    firm_match,
    iter_results,
    latest_run,
    run_issues,
)

if TYPE_CHECKING:
    from matcher.store import Store

EXCEL_CELL_LIMIT = 32_767  # characters Excel keeps in one cell
EXCEL_MAX_ROWS = 1_048_576  # rows of one worksheet
COUNTERPARTS = 3  # counterpart column groups in 企业供需信息清单
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters an XLSX file cannot hold


class ExportError(Exception):
    """An export that cannot be made (unknown list, chain or run, bad file name); the message is for the user."""


# ---------------------------------------------------------------------------------------------------------------
# Layouts: the one definition of every list's columns
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of a list.

    Attributes:
        key: the field of a row dict that fills it.
        header: the Chinese header shown in the file.
        note: what the column holds (cover sheet and README).
        width: the widest the column is drawn (characters; CJK counts two).
        example: a sample value for the README.
    """

    key: str
    header: str
    note: str
    width: int = 30
    example: str = ""


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its name and columns, in order."""

    name: str
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        """The Chinese headers in order."""
        return [c.header for c in self.columns]


@dataclass(frozen=True)
class ListSpec:
    """One list: its id (CLI word), title (file name and cover), purpose and sheets; the first sheet is what CSV holds."""

    id: str
    title: str
    purpose: str
    sheets: tuple[Sheet, ...]

    @property
    def main(self) -> Sheet:
        """The sheet written to CSV."""
        return self.sheets[0]


def _counterpart_columns(n: int) -> tuple[Column, ...]:
    cols: list[Column] = []
    for i in range(1, n + 1):
        ex = i == 1
        cols += [
            Column(f"cp{i}_name", f"对接企业{i}", f"第 {i} 个推荐对接企业（供方行为客户，需方行为供应商）", 28,
                   "示例·卓宸光伏系统集成有限公司" if ex else ""),
            Column(f"cp{i}_region", f"对接企业{i}所在地区", "对接企业的地区与区县/新城", 14, "西安 长安区" if ex else ""),
            Column(f"cp{i}_score", f"对接得分{i}", "对接匹配得分（各分项之和）", 10, "1" if ex else ""),
            Column(f"cp{i}_reason", f"对接理由{i}", "推荐理由（中文说明，含得分构成）", 50,
                   "……可作为潜在客户（下游），产业链路径 太阳能光伏：电池片与组件 → 系统与电站……" if ex else ""),
        ]
    return tuple(cols)


_FIRM_HEAD = (
    Column("row", "行号", "输入文件中的行号（与导入报告一致）", 8, "2"),
    Column("name", "企业名称", "企业名称", 30, "隆基绿能科技股份有限公司"),
    Column("uscc", "统一社会信用代码", "统一社会信用代码（原文；无效代码照录）", 22, ""),
    Column("region", "所在地区", "西安 / 咸阳 / 西咸新区（或其他城市）", 10, "西安"),
    Column("district", "区县/新城", "区县、开发区或西咸新区的新城", 14, "长安区"),
)

MATCHES = ListSpec(
    id="matches",
    title="匹配结果",
    purpose="批量匹配或一次查询的结果：每家企业的重点产业链（含环节）、产业体系归属、国民经济行业小类、推荐落地新城/园区、"
            "推荐供应商和客户，各附得分与理由。",
    sheets=(
        Sheet("匹配结果", _FIRM_HEAD + (
            Column("products", "主要产品", "企业填报的主要产品（无则为主营业务摘要）", 30, "单晶硅片；光伏电池；光伏组件"),
            Column("needs", "采购需求", "企业填报的采购需求", 24, ""),
            Column("key_chain", "属重点产业链", "是 / 否（否：不属于任何重点产业链）", 10, "是"),
            Column("chain", "首选产业链", "得分最高的重点产业链", 16, "太阳能光伏"),
            Column("segment", "环节", "首选产业链中的环节（上游/中游/下游·环节名称）", 18, "中游·电池片与组件"),
            Column("chain_score", "产业链得分", "首选产业链得分（各分项之和）", 10, "0.6"),
            Column("chain_reason", "产业链理由", "首选产业链的推荐理由", 50, "属于太阳能光伏产业链中游「电池片与组件」环节，命中关键词「单晶硅」……"),
            Column("other_chains", "其他产业链", "其余候选产业链（名称·环节 得分）", 36, "氢能·上游·制氢 0.200"),
            Column("sys_xixian", "西咸新区体系归属", "在西咸新区产业体系（“4+1”）中的归属", 30, "西咸新区“4+1”重点产业集群·新能源"),
            Column("sys_xian", "西安体系归属", "在西安“6+5+6+1”、19条重点产业链等体系中的归属", 36,
                   "西安市19条重点产业链（链长制）·太阳能光伏"),
            Column("sys_xianyang", "咸阳体系归属", "在咸阳“544”/“16+8+3”体系中的归属", 30, "咸阳市“16+8+3”产业链架构·光伏"),
            Column("sys_shaanxi", "陕西省体系归属", "在陕西省重点产业链中的归属", 30, "陕西省23条重点产业链（2021）·太阳能光伏"),
            Column("industry", "国民经济行业小类", "GB/T 4754-2017 小类（代码 名称）", 30, "3985 电子专用材料制造"),
            Column("industry_score", "行业得分", "行业小类得分", 10, "0.7764"),
            Column("other_industries", "其他行业小类", "其余候选小类", 36, "3825 光伏设备及元器件制造 0.773"),
            Column("park", "推荐落地载体", "最适合的新城/园区", 18, "泾河新城"),
            Column("park_new_city", "所属新城", "推荐载体所在的西咸新区新城", 12, "泾河新城"),
            Column("park_score", "载体得分", "载体匹配得分", 10, "1"),
            Column("park_reason", "载体理由", "推荐落地的理由", 50, "推荐落地泾河新城：主导产业链含「氢能」、「太阳能光伏」……"),
            Column("other_parks", "其他载体", "其余候选新城/园区（得分）", 30, "泾河双碳光伏产业园 0.925"),
            Column("suppliers", "推荐供应商", "库内上游企业（名称 得分）", 40, "示例·浩越光伏基础材料有限公司 0.965"),
            Column("customers", "推荐客户", "库内下游企业（名称 得分）", 40, "示例·卓宸光伏系统集成有限公司 1.000"),
            Column("peers", "同行企业", "产品相同或相近的库内企业（竞争或合作伙伴，不作为供应商或客户）", 36,
                   "示例·晶澜光伏科技有限公司 0.712"),
            Column("firm_id", "库内企业ID", "该企业在数据库中的编号（未入库为空）", 10, "1"),
        )),
        Sheet("匹配明细", (
            Column("row", "行号", "输入文件中的行号", 8, "2"),
            Column("name", "企业名称", "企业名称", 30, "隆基绿能科技股份有限公司"),
            Column("kind", "类别", "产业链 / 产业体系 / 行业小类 / 落地载体 / 供应商 / 客户 / 同行", 10, "产业链"),
            Column("rank", "排名", "该类别中的名次", 6, "1"),
            Column("target", "匹配对象", "产业链、体系条目、行业小类、载体或对接企业", 30, "太阳能光伏"),
            Column("segment", "环节", "产业链环节或对接关系", 18, "中游·电池片与组件"),
            Column("region", "对象所在地区", "对接企业或载体所在地区", 14, ""),
            Column("score", "得分", "匹配得分（各分项之和）", 10, "0.6"),
            Column("parts", "得分构成", "各分项及分值，相加等于得分", 40, "文本模型 0.000 + 关键词命中 0.600"),
            Column("reason", "理由", "中文推荐理由", 60, "属于太阳能光伏产业链中游「电池片与组件」环节……"),
        )),
        Sheet("未导入行", tuple(
            Column(key, header, note, width, "")
            for key, header, note, width in zip(
                ("row", "field", "level", "reason", "value"), REPORT_COLUMNS,
                ("输入文件中的行号", "有问题的列", "拒绝 / 警告 / 合并", "原因", "原值（过长时截断）"), (8, 16, 8, 50, 40),
                strict=True)
        )),
    ),
)

SUPPLY_DEMAND = ListSpec(
    id="supply-demand",
    title="企业供需信息清单",
    purpose="每家企业按“供”（能提供的产品）和“需”（需要采购的产品）各占一行，列出所属产业链与环节、地区，"
            f"以及最合适的 {COUNTERPARTS} 个对接企业（供方行列客户，需方行列供应商）及得分和理由。",
    sheets=(
        Sheet("企业供需信息清单", (
            Column("name", "企业名称", "企业名称", 30, "隆基绿能科技股份有限公司"),
            Column("uscc", "统一社会信用代码", "统一社会信用代码", 22, ""),
            Column("region", "所在地区", "西安 / 咸阳 / 西咸新区", 10, "西安"),
            Column("district", "区县/新城", "区县、开发区或新城", 14, "长安区"),
            Column("role", "供/需", "供：企业能提供的产品；需：企业需要的产品", 6, "供"),
            Column("offer", "产品或需求", "供方为主要产品（无则主营业务），需方为采购需求", 40, "单晶硅片；光伏电池；光伏组件"),
            Column("basis", "依据", "企业填报 / 按投入品关系与产业链环节推断（未填写需求时）", 16, "企业填报"),
            Column("chain", "产业链", "企业的首选重点产业链", 16, "太阳能光伏"),
            Column("segment", "环节", "企业所在环节", 18, "中游·电池片与组件"),
            Column("industry", "国民经济行业小类", "GB/T 4754-2017 小类", 30, "3985 电子专用材料制造"),
        ) + _counterpart_columns(COUNTERPARTS) + (
            Column("peers", "同行企业", "产品相同或相近的库内企业（参考，不作为对接企业）", 30, "示例·晶澜光伏科技有限公司"),
            Column("firm_id", "库内企业ID", "该企业在数据库中的编号", 10, "1"),
        )),
    ),
)

_STAGE_COLUMNS = tuple(
    Column(f"n_{stage}", f"{stage}企业数", f"本地{stage}环节的企业数（按各企业首选产业链及环节计）", 10, ex)
    for stage, ex in zip(kb.STAGES, ("3", "3", "2"), strict=True)
) + (Column("n_unknown", "环节未定企业数", "属于该链但环节无法判断的本地企业数", 10, "2"),)

COBUILD = ListSpec(
    id="cobuild",
    title="重点产业链共建清单",
    purpose="每条重点产业链一行（“环节明细”表每个环节一行）：哪些产业体系（西咸新区“4+1”、西安“6+5+6+1”与19条重点产业链、"
            "咸阳“544”/“16+8+3”、陕西省）包含它，在西咸新区落在哪个新城/园区，两地链主/龙头企业，本地已有和缺失的环节"
            "（补链方向，按库内企业的匹配结果统计），以及知识库版本和来源。",
    sheets=(
        Sheet("重点产业链共建清单", (
            Column("chain", "产业链", "重点产业链名称", 16, "太阳能光伏"),
            Column("focus", "西安19条+新型显示", "是否属于西安19条重点产业链或新型显示", 10, "是"),
            Column("sys_xixian", "西咸新区体系", "西咸新区“4+1”中的归属（含上级条目；旧表述标“待核实”）", 36,
                   "西咸新区“4+1”重点产业集群·先进制造业·新能源"),
            Column("sys_xian", "西安体系", "西安“6+5+6+1”、19条重点产业链等中的归属", 44,
                   "西安市19条重点产业链（链长制）·太阳能光伏"),
            Column("sys_xianyang", "咸阳体系", "咸阳“544”/“16+8+3”中的归属", 36, "咸阳市“16+8+3”产业链架构·光伏"),
            Column("sys_shaanxi", "陕西省体系", "陕西省重点产业链中的归属", 36, "陕西省23条重点产业链（2021）·太阳能光伏"),
            Column("system_count", "涉及地区数", "包含该链的体系覆盖几个地区（西咸新区/西安/咸阳/陕西）", 8, "4"),
            Column("new_cities", "西咸落地新城", "以该链为主导的西咸新区新城", 20, "泾河新城"),
            Column("landing", "落地园区/载体", "以该链为主导的西咸新区承接地：新城、园区、组团（城市）", 40,
                   "泾河新城（新城，西咸新区）；泾河双碳光伏产业园（园区，西咸新区）"),
            Column("clusters", "主城同类集聚", "以该链为主导的西安主城、咸阳园区（仅作参考，不作落地推荐）", 30,
                   "西安经开区（园区，西安）；高陵区（园区，西安）"),
            Column("anchors_xian", "西安链主/龙头", "西安一侧的链主、龙头企业（角色，可信度）", 36, "隆基绿能（龙头，confirmed）"),
            Column("anchors_xianyang", "咸阳链主/龙头", "咸阳一侧的链主、龙头企业", 36, ""),
            Column("anchors_xixian", "西咸新区链主/龙头", "西咸新区的链主、龙头企业", 36, "拉普拉斯（配套，single-source）"),
            Column("anchors_other", "其他地区链主/龙头", "省内其他城市的链主、龙头企业", 30, ""),
            Column("firms", "本地企业数", "首选产业链为该链的本地企业数（西安、咸阳、西咸新区及地区不详；按筛选地区）", 10,
                   "10"),
            Column("firms_xian", "西安企业数", "其中西安的企业数", 10, "10"),
            Column("firms_xianyang", "咸阳企业数", "其中咸阳的企业数", 10, "0"),
            Column("firms_xixian", "西咸新区企业数", "其中西咸新区的企业数", 10, "0"),
        ) + _STAGE_COLUMNS + (
            Column("present", "本地已有环节", "至少有一家本地企业的环节", 20, "上游、中游、下游"),
            Column("missing", "缺失环节（补链）", "没有本地企业的环节：补链招商方向（如物联网：上游·感知与识别）", 24, ""),
            Column("top_firms", "本地代表企业", "得分最高的本地企业（环节，地区）", 50, "隆基绿能科技股份有限公司（中游，西安）；……"),
            Column("gb_codes", "国民经济行业小类", "对应的 GB/T 4754-2017 小类", 36, "3825 光伏设备及元器件制造；3218 硅冶炼；……"),
            Column("confidence", "可信度", "confirmed / single-source / 待核实", 12, "confirmed"),
            Column("kb_version", "知识库版本", "生成本行所用的知识库版本", 8, "1"),
            Column("sources", "来源", "知识库中该链的来源（网址，每行一个）", 60, "https://justxa.com/thread-369065-1-1.html"),
        )),
        Sheet("环节明细", (
            Column("chain", "产业链", "重点产业链名称", 16, "太阳能光伏"),
            Column("stage", "环节", "上游 / 中游 / 下游", 6, "上游"),
            Column("segment", "环节名称", "环节名称", 18, "硅料与硅片"),
            Column("keywords", "关键词", "识别该环节所用的关键词", 40, "工业硅、多晶硅、单晶硅、单晶硅棒、硅片……"),
            Column("products", "典型产品", "该环节的典型产品", 36, "多晶硅、单晶硅棒、硅片"),
            Column("firms", "本地企业数", "库内首选为该链该环节的企业数（按筛选地区）", 10, "3"),
            Column("firms_xian", "西安企业数", "其中西安", 10, "3"),
            Column("firms_xianyang", "咸阳企业数", "其中咸阳", 10, "0"),
            Column("firms_xixian", "西咸新区企业数", "其中西咸新区", 10, "0"),
            Column("gap", "补链缺口", "是：本地暂无该环节企业", 8, "否"),
            Column("top_firms", "本地代表企业", "得分最高的本地企业（地区）", 50, "西安奕斯伟硅片技术有限公司（西安）；……"),
            Column("new_cities", "西咸落地新城", "以该链为主导的西咸新区新城", 20, "泾河新城"),
            Column("kb_version", "知识库版本", "知识库版本", 8, "1"),
        )),
    ),
)

LISTS: dict[str, ListSpec] = {spec.id: spec for spec in (COBUILD, SUPPLY_DEMAND, MATCHES)}
COVER_SHEET = "封面"


def layouts_markdown() -> str:
    """The README section "清单格式 / List layouts": each list, its sheets and columns, with a one-row example."""
    out = ["## 清单格式 / List layouts", "",
           "三种清单的列在 `matcher/export.py` 的 `LISTS` 中统一定义；工作簿第一张为“封面”（清单名称、筛选条件、导出日期、"
           "数据/知识库/模型版本和列说明），其后为数据表：中文表头、冻结首行、自动筛选。CSV 只含第一张数据表，"
           "编码为带 BOM 的 UTF-8（Excel 可直接打开）。以 = + - @、制表符或回车开头的文本一律加前缀 ' 写为文本，不会被当作公式。",
           "默认文件名为“清单名_筛选条件_日期”，如 `重点产业链共建清单_太阳能光伏_2026-11-27.xlsx`。", ""]
    for spec in LISTS.values():
        out += [f"### {spec.title}（`matcher export {spec.id}`）", "", spec.purpose, ""]
        for sheet in spec.sheets:
            out += [f"工作表“{sheet.name}”：", "", "| 列 | 说明 | 示例 |", "|---|---|---|"]
            for c in sheet.columns:
                note = c.note.replace("|", "/")
                out.append(f"| {c.header} | {note} | {c.example.replace('|', '/')} |")
            out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------------------------
def cell_value(value: Any) -> Any:
    """A value as written to a file: numbers stay numbers; text is cleaned, capped and made inert.

    Lists become ``、``-joined text, booleans 是/否, dicts JSON; characters an XLSX file cannot hold are removed;
    text longer than Excel's cell limit is cut with a note; text starting with ``= + - @`` tab or CR gets a
    leading apostrophe (`importer.safe_cell`).
    """
    if type(value) is str:  # most cells: checked first, and the regex runs only on text with control characters
        text = value if value.isprintable() else _ILLEGAL.sub("", value)
    elif value is None:
        return None
    elif isinstance(value, bool):
        return "是" if value else "否"
    elif isinstance(value, int):
        return value
    elif isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    else:
        if isinstance(value, (list, tuple)):
            value = "、".join(str(v) for v in value if v not in (None, ""))
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        text = _ILLEGAL.sub("", str(value))
    if len(text) > EXCEL_CELL_LIMIT - 20:
        text = text[:EXCEL_CELL_LIMIT - 20] + "……（超长截断）"
    return safe_cell(text)


def _width(text: str) -> int:
    return max(wcswidth(text), len(text))  # wide (CJK) characters take two columns; -1 means unprintable


def _widths(sheet: Sheet, rows: Sequence[dict[str, Any]], sample: int = 300) -> list[float]:
    """Column widths from the header and the first rows, capped by each column's width."""
    widths: list[float] = []
    for c in sheet.columns:
        w = _width(c.header) + 2
        for r in rows[:sample]:
            v = r.get(c.key)
            if v not in (None, ""):
                w = max(w, min(_width(str(cell_value(v)).split("\n")[0]) + 2, 200))
        widths.append(max(6, min(w, max(c.width, _width(c.header) + 2))))
    return widths


@dataclass
class Cover:
    """What the cover sheet (封面/说明) states: list name, filters, date, versions, and free lines."""

    title: str
    purpose: str
    filters: str
    lines: list[tuple[str, Any]] = field(default_factory=list)
    day: str = field(default_factory=lambda: date.today().isoformat())


_WIDTH_SAMPLE = 300  # rows of a sheet read for its column widths before any row is written
_COVER_COLUMNS = ("项目", "内容", "备注")


def _formats() -> dict[str, Any]:
    import rustpy_xlsxwriter as rx

    return {"bold": rx.Format().set_bold(),
            "head": rx.Format().set_bold().set_background_color("#DDEBF7").set_text_wrap().set_align("top"),
            "wrap": rx.Format().set_text_wrap().set_align("top")}


def _cover_records(cover: Cover, spec: ListSpec) -> tuple[list[dict[str, Any]], int]:
    """The cover sheet as rows under the header 项目 | 内容 | 备注: list name, purpose, filters, date, the cover's own
    lines (versions, the run's record), then the table of every sheet's columns; returns the rows and the row index
    of that table's header."""
    rows: list[tuple[Any, Any, Any]] = [("清单名称", cover.title, None), ("说明", cover.purpose, None),
                                        ("筛选条件", cover.filters, None), ("导出日期", cover.day, None)]
    rows += [(label, value, None) for label, value in cover.lines]
    rows += [(None, None, None), ("工作表", "列名", "说明")]
    table_at = len(rows)  # the sheet's row of that header (the column header is row 0)
    rows += [(sheet.name, c.header, c.note) for sheet in spec.sheets for c in sheet.columns]
    return [dict(zip(_COVER_COLUMNS, (cell_value(v) for v in r))) for r in rows], table_at


def _records(sheet: Sheet, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A sheet's rows as the writer takes them: header → cell value; a sheet without rows still gets its header."""
    cols = [(c.key, c.header) for c in sheet.columns]
    empty = True
    for r in rows:
        empty = False
        yield {h: cell_value(r.get(k)) for k, h in cols}
    if empty:
        yield dict.fromkeys(h for _, h in cols)


RowSource = Iterable[dict[str, Any]] | Callable[[], Iterable[dict[str, Any]]]


def write_xlsx(path: str | os.PathLike[str], spec: ListSpec, data: Mapping[str, RowSource], cover: Cover,
               max_rows: int = EXCEL_MAX_ROWS - 1, bounds: Mapping[str, int] | None = None) -> Path:
    """Write a list as a workbook: cover sheet, then each sheet of ``spec`` with its rows; atomic and streamed.

    Each data sheet has its header bold and shaded, frozen and filtered, and its column widths from its first rows.

    Args:
        path: the ``.xlsx`` file; replaced in one step, never left half-written.
        spec: the list.
        data: sheet name → row dicts (keys as in the columns), any iterable read once in sheet order, or a function
            giving them anew (read twice when the rows must be counted); a missing sheet gets headers only.
        cover: the cover sheet's content.
        max_rows: data rows per worksheet; more continue on sheets named ``<name>（续2）`` and so on.
        bounds: sheet name → at most this many rows, for rows given without a length: a sheet whose bound fits one
            worksheet is written as it streams, others are counted first (or read into memory, when not a function).
    """
    import rustpy_xlsxwriter as rx

    fmt = _formats()
    cover_rows, table_at = _cover_records(cover, spec)
    entries: list[tuple[str, Iterable[dict[str, Any]]]] = [(COVER_SHEET, cover_rows)]
    widths: dict[str, dict[str, float] | list[float]] = {COVER_SHEET: [18, 90, 60]}
    data_sheets: list[str] = []
    for sheet in spec.sheets:
        source = data.get(sheet.name, ())
        rows: Iterable[dict[str, Any]] = source() if callable(source) else source
        n = len(rows) if isinstance(rows, Sized) else (bounds or {}).get(sheet.name)
        if n is None or n > max_rows:
            if callable(source):
                n = sum(1 for _ in rows)
                rows = source()
            else:
                rows = list(rows)
                n = len(rows)
        stream = iter(rows)
        first = list(islice(stream, _WIDTH_SAMPLE))  # a sample for the column widths, then the rest streamed
        stream = _chain(first, stream)
        sheet_widths = _widths(sheet, first)
        for part in range(max(1, -(-n // max_rows))):
            # Excel holds 1,048,576 rows per sheet: longer lists continue on further sheets
            name = sheet.name if part == 0 else f"{sheet.name}（续{part + 1}）"
            entries.append((name, _records(sheet, islice(stream, max_rows))))
            widths[name] = sheet_widths
            data_sheets.append(name)
    target = Path(path)
    with atomic_path(target) as tmp:
        rx.write_worksheets(
            entries, str(tmp), column_widths=widths,
            header_format={COVER_SHEET: fmt["head"], **{name: fmt["head"] for name in data_sheets}},
            column_formats={COVER_SHEET: {"项目": fmt["bold"], "内容": fmt["wrap"]}},
            row_formats={COVER_SHEET: {table_at: fmt["head"]}},
            freeze_panes={name: {"row": 1, "col": 0} for name in data_sheets},
            autofilter={name: True for name in data_sheets})
    return target


def write_csv(path: str | os.PathLike[str], sheet: Sheet, rows: Iterable[dict[str, Any]]) -> Path:
    """Write one sheet as CSV, UTF-8 with BOM (Excel opens it correctly), formula-like text inert; atomic."""
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(sheet.headers)
        keys = [c.key for c in sheet.columns]
        for r in rows:
            w.writerow(["" if (v := cell_value(r.get(k))) is None else v for k in keys])
    return target


# ---------------------------------------------------------------------------------------------------------------
# File names
# ---------------------------------------------------------------------------------------------------------------
def default_filename(spec: ListSpec, filters: Sequence[str | None], fmt: str = "xlsx", day: str | None = None) -> str:
    """``<list>_<filters>_<date>.<fmt>``, e.g. ``重点产业链共建清单_太阳能光伏_2026-11-27.xlsx``, sanitised."""
    parts = [spec.title, *(safe_filename(f) for f in filters if f), day or date.today().isoformat()]
    return safe_filename("_".join(parts) + f".{fmt}")


def resolve_output(spec: ListSpec, out: str | os.PathLike[str] | None, filters: Sequence[str | None]) -> Path:
    """The output file: ``out`` as given (a folder gets the default name inside it), or the default name here.

    Raises:
        ExportError: the suffix is not .xlsx/.csv, or the name holds control characters.
    """
    if out is None:
        return Path(default_filename(spec, filters))
    p = Path(out)
    if p.is_dir() or str(out).endswith(("/", os.sep)):
        return p / default_filename(spec, filters)
    if _ILLEGAL.search(p.name) or "\x7f" in p.name:
        raise ExportError(f"输出文件名 {p.name!r} 含控制字符，请换一个文件名")
    if p.suffix.lower() not in (".xlsx", ".csv"):
        raise ExportError(f"输出文件 {p}：只支持 .xlsx 或 .csv")
    if p.name.startswith("."):
        p = p.with_name(safe_filename(p.name))
    return p


# ---------------------------------------------------------------------------------------------------------------
# Rows of each list
# ---------------------------------------------------------------------------------------------------------------
LOCAL_REGIONS = ("西安", "咸阳", "西咸新区", None)  # firms counted as local in the 共建清单 (None: region unknown)
COBUILD_RULE = ("每家企业只按其得分最高的重点产业链及所在环节计一次；本地企业 = 库内西安、咸阳、西咸新区（及地区不详）的企业；"
                "某环节没有本地企业即为补链缺口。")
HIT_KIND_LABELS = {"chain": "产业链", "system": "产业体系", "industry": "行业小类", "park": "落地载体",
               "supplier": "供应商", "customer": "客户", "peer": "同行"}
_REGION_KEYS = {"西咸新区": "xixian", "西安": "xian", "咸阳": "xianyang", "陕西": "shaanxi"}


def _score(x: Any) -> float | None:
    return None if x is None else round(float(x), 4)


def parts_text(parts: dict[str, float] | None, kind: str = "") -> str:
    """``关键词匹配 0.412 + 语义相似 0.322``: the score parts in Chinese, in the order the engine gave them."""
    if not parts:
        return ""
    labels = part_labels(kind)
    return " + ".join(f"{labels.get(k, k)} {float(v):.3f}" for k, v in parts.items())


def segment_text(data: dict[str, Any]) -> str:
    """``中游·电池片与组件`` from a hit's data (stage and segment name, either may be missing)."""
    stage = data.get("stage") or ""
    name = data.get("segment_name") or data.get("segment") or ""
    if name == stage:
        name = ""
    return "·".join(x for x in (stage, name) if x)


def _hit_short(h: Hit, with_segment: bool = False) -> str:
    seg = segment_text(h.data) if with_segment else ""
    return f"{h.label}{'·' + seg if seg else ''} {h.score:.3f}"


def _firm_region(data: dict[str, Any]) -> str:
    return " ".join(x for x in (data.get("region"), data.get("district") or data.get("new_city")) if x)


def summary_rows(results: Iterable[FirmMatch], systems: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows of the 匹配结果 sheet, one per firm, streamed.

    Args:
        results: firm results in output order (any iterable, read once).
        systems: system id → system of the knowledge base (for its region and name).
    """
    for fm in results:
        f = fm.firm
        hits = fm.hits
        chains, inds, parks = hits.get("chain", []), hits.get("industry", []), hits.get("park", [])
        row: dict[str, Any] = {
            "row": fm.row, "name": f.get("name"), "uscc": uscc_cell(f), "region": f.get("region"),
            "district": f.get("district"), "products": f.get("products") or _short(f.get("description")),
            "needs": f.get("needs"), "key_chain": not fm.none and bool(chains), "firm_id": fm.firm_id,
        }
        if chains:
            top = chains[0]
            row.update(chain=top.label, segment=segment_text(top.data),
                       chain_score=_score(top.score), chain_reason=top.reason,
                       other_chains="；".join(_hit_short(h, True) for h in chains[1:]))
        by_region: dict[str, list[str]] = {}
        for it in fm.systems:
            d = it.get("data") or {}
            s = systems.get(it["target"], {})
            label = f"{d.get('system') or s.get('name') or it['target']}·{d.get('item') or d.get('label') or ''}"
            by_region.setdefault(_REGION_KEYS.get(s.get("region", ""), "shaanxi"), []).append(label)
        for key, labels in by_region.items():
            row[f"sys_{key}"] = "；".join(dict.fromkeys(labels))
        if inds:
            row.update(industry=inds[0].label, industry_score=_score(inds[0].score),
                       other_industries="；".join(_hit_short(h) for h in inds[1:]))
        if parks:
            row.update(park=parks[0].label, park_new_city=parks[0].data.get("new_city"),
                       park_score=_score(parks[0].score), park_reason=parks[0].reason,
                       other_parks="；".join(_hit_short(h) for h in parks[1:]))
        row["suppliers"] = "；".join(_hit_short(h) for h in hits.get("supplier", []))
        row["customers"] = "；".join(_hit_short(h) for h in hits.get("customer", []))
        row["peers"] = "；".join(_hit_short(h) for h in hits.get("peer", []))
        yield row


def detail_rows(results: Iterable[FirmMatch]) -> Iterator[dict[str, Any]]:
    """Rows of the 匹配明细 sheet, one per hit (with its score parts and reason), streamed."""
    for fm in results:
        for kind in ("chain", "system", "industry", "park", "supplier", "customer", "peer"):
            if kind == "system":
                for it in fm.systems:
                    d = it.get("data") or {}
                    yield {"row": fm.row, "name": fm.firm.get("name"), "kind": HIT_KIND_LABELS[kind], "rank": it["rank"],
                           "target": f"{d.get('system') or it['target']}·{d.get('item') or ''}",
                           "segment": d.get("chain", ""), "region": "", "score": _score(it.get("score")),
                           "parts": parts_text({}), "reason": ""}
                continue
            for rank, h in enumerate(fm.hits.get(kind, []), start=1):
                d = h.data
                seg = segment_text(d) if kind in ("chain", "supplier", "customer", "peer") else d.get("chain", "")
                yield {
                    "row": fm.row, "name": fm.firm.get("name"), "kind": HIT_KIND_LABELS[kind], "rank": rank,
                    "target": h.label, "segment": seg, "region": _firm_region(d),
                    "score": _score(h.score), "parts": parts_text(h.parts, kind), "reason": h.reason,
                }


def match_rows(results: Sequence[FirmMatch], systems: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the 匹配结果 and 匹配明细 sheets as lists (for small result sets, e.g. one search or the app)."""
    return {"匹配结果": list(summary_rows(results, systems)), "匹配明细": list(detail_rows(results))}


def _short(text: Any, limit: int = 120) -> str | None:
    if not text:
        return None
    s = str(text)
    return s if len(s) <= limit else s[:limit] + "……"


def supply_demand_rows(results: Iterable[FirmMatch]) -> list[dict[str, Any]]:
    """Rows of 企业供需信息清单: a 供 row per firm, and a 需 row when it states needs or has upstream suppliers."""
    return list(iter_supply_demand(results))


def iter_supply_demand(results: Iterable[FirmMatch]) -> Iterator[dict[str, Any]]:
    """:func:`supply_demand_rows`, streamed."""
    for fm in results:
        f, hits = fm.firm, fm.hits
        chains, inds = hits.get("chain", []), hits.get("industry", [])
        base = {
            "name": f.get("name"), "uscc": uscc_cell(f), "region": f.get("region"), "district": f.get("district"),
            "chain": chains[0].label if chains else "（不属于重点产业链）",
            "segment": segment_text(chains[0].data) if chains else "",
            "industry": inds[0].label if inds else "",
            "firm_id": fm.firm_id, "peers": "；".join(h.label for h in hits.get("peer", [])[:COUNTERPARTS]),
        }
        offer = f.get("products") or _short(f.get("description"), 200)
        roles = [("供", offer, "企业填报" if offer else "", hits.get("customer", []))]
        if f.get("needs"):
            roles.append(("需", f.get("needs"), "企业填报", hits.get("supplier", [])))
        elif hits.get("supplier"):
            roles.append(("需", "（未填写采购需求）", "按投入品关系与产业链环节推断", hits.get("supplier", [])))
        for role, text, basis, cps in roles:
            row = dict(base, role=role, offer=text, basis=basis)
            for i, h in enumerate(cps[:COUNTERPARTS], start=1):
                row.update({f"cp{i}_name": h.label, f"cp{i}_region": _firm_region(h.data),
                            f"cp{i}_score": _score(h.score), f"cp{i}_reason": h.reason})
            yield row


def _anchor_text(a: dict[str, Any]) -> str:
    extra = "，".join(x for x in (a.get("role"), a.get("confidence")) if x)
    return f"{a.get('name')}（{extra}）" if extra else str(a.get("name"))


def cobuild_rows(kbd: dict[str, Any], results: Iterable[FirmMatch], chain: str | None = None,
                 region: str | None = None, district: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows of 重点产业链共建清单 and 环节明细 from the knowledge base and the local firms' results.

    Each local firm counts once, for its first-ranked chain and that chain's segment (stage); a stage of a chain with
    no local firm is a 补链 gap.

    Args:
        kbd: the knowledge base (`kb.current`).
        results: the local firms' results (stored firms, or a batch run's firms).
        chain: only this chain (official name).
        region: only firms of this region when counting (西安 / 咸阳 / 西咸新区).
        district: only firms of this district / new city when counting.
    """
    counts: dict[str, list[tuple[FirmMatch, Hit]]] = {}
    for fm in results:
        if fm.none or not fm.hits.get("chain"):
            continue
        if fm.firm.get("region") not in LOCAL_REGIONS:
            continue
        if region and fm.firm.get("region") != region:
            continue
        if district and fm.firm.get("district") != district:
            continue
        top = fm.hits["chain"][0]
        counts.setdefault(top.target, []).append((fm, top))
    names = {r["code"]: r["name"] for r in _gb_classes()}
    chains = {c["name"]: c for c in kbd["chains"]}
    main, seg_rows = [], []
    for base in kb.cobuild_rows(kbd):
        if chain and base["chain"] != chain:
            continue
        c = chains[base["chain"]]
        members = sorted(counts.get(base["chain"], []), key=lambda x: (-x[1].score, x[0].firm.get("name") or ""))
        by_stage = {s: [m for m in members if m[1].data.get("stage") == s] for s in kb.STAGES}
        seg_name = {sg.get("stage"): sg.get("name") for sg in c.get("segments") or []}
        row: dict[str, Any] = {
            "chain": base["chain"], "focus": base["focus"], "system_count": base["system_count"],
            "new_cities": "、".join(base["new_cities"]),
            "landing": "；".join(f"{x['park']}（{x.get('kind')}，{x.get('city')}）" for x in base["landing"]),
            "clusters": "；".join(f"{x['park']}（{x.get('kind')}，{x.get('city')}）" for x in base["clusters"]),
            "firms": len(members), "present": "、".join(s for s in kb.STAGES if by_stage[s]),
            "missing": "、".join(f"{s}·{seg_name.get(s)}" if seg_name.get(s) else s
                                 for s in kb.STAGES if not by_stage[s]),
            "top_firms": "；".join(f"{m.firm.get('name')}（{h.data.get('stage') or '—'}，"
                                  f"{m.firm.get('region') or '地区不详'}）" for m, h in members[:5]),
            "gb_codes": "；".join(f"{g} {names.get(g, '')}".strip() for g in c.get("gb_codes") or []),
            "confidence": base["confidence"], "kb_version": kbd.get("version"),
            "sources": "\n".join(c.get("source") or []) or "（无，待核实）",
        }
        for reg, key in _REGION_KEYS.items():
            row[f"sys_{key}"] = "；".join(base["systems"].get(reg) or [])
            row[f"firms_{key}"] = sum(1 for m, _ in members if m.firm.get("region") == reg)
        anchors: dict[str, list[str]] = {}
        for a in base["anchors"]:
            key = _REGION_KEYS.get(a.get("region") or "", "other")
            anchors.setdefault("other" if key == "shaanxi" else key, []).append(_anchor_text(a))
        for key in ("xian", "xianyang", "xixian", "other"):
            row[f"anchors_{key}"] = "；".join(anchors.get(key, []))
        for s in kb.STAGES:
            row[f"n_{s}"] = len(by_stage[s])
        row["n_unknown"] = len(members) - sum(len(v) for v in by_stage.values())
        main.append(row)
        for sg in c.get("segments") or []:
            s = sg.get("stage")
            ms = by_stage.get(s, [])
            seg_rows.append({
                "chain": base["chain"], "stage": s, "segment": sg.get("name"),
                "keywords": "、".join(sg.get("keywords") or []), "products": "、".join(sg.get("products") or []),
                "firms": len(ms), "gap": not ms, "new_cities": row["new_cities"], "kb_version": kbd.get("version"),
                "firms_xian": sum(1 for m, _ in ms if m.firm.get("region") == "西安"),
                "firms_xianyang": sum(1 for m, _ in ms if m.firm.get("region") == "咸阳"),
                "firms_xixian": sum(1 for m, _ in ms if m.firm.get("region") == "西咸新区"),
                "top_firms": "；".join(f"{m.firm.get('name')}（{m.firm.get('region') or '地区不详'}）" for m, _ in ms[:5]),
            })
    return {"重点产业链共建清单": main, "环节明细": seg_rows}


def _gb_classes() -> list[dict[str, Any]]:
    from matcher.knowledge import gbt

    return list(gbt.gb_classes())


# ---------------------------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class ExportResult:
    """What an export wrote; ``as_dict`` is the CLI's JSON line."""

    path: Path
    list: str
    rows: int
    filters: dict[str, Any]
    run_id: int | None
    run: str | None = None  # the run as users name it (批次 3, 库内企业匹配 2)

    def as_dict(self) -> dict[str, Any]:
        """Path, list, row count, filters and the run the rows came from, JSON-ready."""
        return {"path": str(self.path), "list": self.list, "rows": self.rows, "filters": self.filters,
                "run": self.run, "run_id": self.run_id}


def resolve_chain(kbd: dict[str, Any], name: str | None) -> str | None:
    """The official chain name for a name or alias; ``None`` for no filter.

    Raises:
        ExportError: no such chain (the message lists close names).
    """
    if not name:
        return None
    hit = kb.find(kbd, name)
    if hit and hit[0] == "chains":
        return str(hit[1]["name"])
    all_names = [c["name"] for c in kbd["chains"]] + [a for c in kbd["chains"] for a in c.get("aliases") or []]
    close = difflib.get_close_matches(name, all_names, n=5, cutoff=0.3)
    hint = f"；相近的有：{'、'.join(close)}" if close else f"；现有：{'、'.join(c['name'] for c in kbd['chains'])}"
    raise ExportError(f"知识库中没有产业链 “{name}”{hint}")


def resolve_region(name: str | None) -> tuple[str | None, str | None]:
    """(region, district) for a region filter such as 西安, 咸阳, 西咸新区, 沣东新城 or 秦都区.

    Raises:
        ExportError: not a place the importer recognises.
    """
    if not name:
        return None, None
    region, district = parse_region(name)
    if region is None:
        raise ExportError(f"无法识别地区 “{name}”（可用：西安、咸阳、西咸新区，或区县、新城名称）")
    return region, district


def filter_results(results: Iterable[FirmMatch], chain: str | None, region: str | None,
                   district: str | None = None) -> Iterator[FirmMatch]:
    """The firms of the given region/district whose first chain is ``chain`` (``None`` = no filter), as every list uses.

    Args:
        results: stored firms' results.
        chain: the chain a firm's top (non-"none") chain must be.
        region: 西安 / 咸阳 / 西咸新区.
        district: the district within the region.
    """
    for fm in results:
        if region and fm.firm.get("region") != region:
            continue
        if district and fm.firm.get("district") != district:
            continue
        if chain:
            chains = fm.hits.get("chain") or []
            if fm.none or not chains or chains[0].target != chain:
                continue
        yield fm


def _filters_text(chain: str | None, region_label: str | None, run: dict[str, Any] | None) -> str:
    parts = []
    if chain:
        parts.append(f"产业链：{chain}")
    if region_label:
        parts.append(f"地区：{region_label}")
    if run and run.get("kind") == "batch":
        parts.append(f"批次：{run.get('number')}（{Path(run.get('input_path') or '').name}）")
    return "；".join(parts) or "无（全部）"


def batch_run(store: Store, number: int) -> dict[str, Any]:
    """The batch run users know as 批次 ``number`` (1 is the first batch; ``matcher runs --kind batch`` lists them).

    Raises:
        ExportError: no batch has that number.
    """
    run = run_store.run_by_number(store, "batch", number)
    if run is None:
        raise ExportError(f"没有批次 {number}（用 matcher runs --kind batch 查看批次编号）")
    return run


def export_list(store: Store, which: str, out: str | os.PathLike[str] | None = None, *, run_id: int | None = None,
                firms_run_id: int | None = None, chain: str | None = None, region: str | None = None,
                k: int = 3) -> ExportResult:
    """Write one list (``cobuild``, ``supply-demand`` or ``matches``) to an ``.xlsx`` or ``.csv`` file.

    Rows come from a batch run's stored results when ``run_id`` is given (``matches`` defaults to the latest
    finished batch); otherwise from the stored firms' results (``firms_run_id``, made by
    :func:`matcher.work.batch.firms_run`; default the latest finished one). Exporting never matches anything.

    Args:
        store: the open store.
        which: the list id.
        out: the file (suffix picks the format) or a folder; default ``<list>_<filters>_<date>.xlsx`` here.
        run_id: take firms and results from this run (its database id; :func:`batch_run` finds a 批次 by number).
        chain: only this chain (name or alias).
        region: only this region, district or new city.
        firms_run_id: the stored-firms run to list (when ``run_id`` is not given).
        k: results kept per kind (stated on the cover when no run is used).

    Raises:
        ExportError: unknown list, chain, region or run, or a bad output name.
    """
    spec = LISTS.get(which)
    if spec is None:
        raise ExportError(f"没有清单 “{which}”（可选：{'、'.join(LISTS)}）")
    kbd = kb.current(store)
    chain_name = resolve_chain(kbd, chain)
    reg, district = resolve_region(region)
    region_label = (district or reg) if region else None
    run = None
    if run_id is not None:
        run = run_store.get_run(store, run_id)
        if run is None:
            raise ExportError(f"没有这条运行记录（{run_id}；用 matcher runs 查看）")
        if run["kind"] not in MATCH_RUN_KINDS or run["status"] != "done":
            status = run_store.STATUS_LABELS.get(run["status"], run["status"])
            raise ExportError(f"{run_store.run_label(run)} 不是已完成的匹配（状态：{status}）")
    elif which == "matches":
        run = latest_run(store, kind="batch")
        if run is None:
            raise ExportError("还没有完成的批量匹配；请先运行 matcher batch，或用 --run 指定批次编号")
    run_tag = f"批次{run['number']}" if run is not None and run["kind"] == "batch" else None
    path = resolve_output(spec, out, [chain_name, region_label, run_tag])
    if run is None:
        run = run_store.get_run(store, firms_run_id) if firms_run_id is not None else latest_run(store, "firms")
        if run is None:  # no firm matched yet: the lists still show the knowledge base, with no local firms counted
            run = {"id": None, "kind": "firms", "kb_version": kbd.get("version"), "params": {"k": k}, "rows": 0,
                   "done": 0, "rejected": 0}
    filters = {"chain": chain_name, "region": region_label, "run": run.get("number")}
    filters_text = _filters_text(chain_name, region_label, run)

    def results() -> Iterator[FirmMatch]:
        return iter_results(store, run["id"]) if run["id"] is not None else iter(())

    if which == "matches":
        n = write_matches(store, run, path, filters_text, chain=chain_name, region=reg, district=district,
                          generated=True)
        return ExportResult(path, spec.id, n, filters, run["id"], run_store.run_label(run) if run["id"] else None)
    counted = _Count()
    data: Mapping[str, Iterable[dict[str, Any]]]
    if which == "cobuild":
        lists = cobuild_rows(kbd, results(), chain_name, reg, district)
        counted.n = len(lists["重点产业链共建清单"])
        data = lists
    else:
        data = {spec.main.name: counted(iter_supply_demand(filter_results(results(), chain_name, reg, district)))}
    if path.suffix.lower() == ".csv":
        write_csv(path, spec.main, data.get(spec.main.name, []))
    else:
        cover = make_cover(store, spec, run, filters_text, kbd.get("version"))
        cover.lines.extend(generated_by(store))  # a list export names who made it and when (a batch workbook does not)
        if which == "cobuild":
            cover.lines.insert(0, ("统计口径", COBUILD_RULE))
        write_xlsx(path, spec, data, cover)
    return ExportResult(path, spec.id, counted.n, filters, run["id"], run_store.run_label(run) if run["id"] else None)


class _Count:
    """Counts the rows of a stream as it is written (the total is known only at the end)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for r in rows:
            self.n += 1
            yield r


def write_matches(store: Store, run: dict[str, Any], path: str | os.PathLike[str], filters_text: str, *,
                  chain: str | None = None, region: str | None = None, district: str | None = None,
                  ended_at: str | None = None, generated: bool = False, excel_rows: int = EXCEL_MAX_ROWS - 1) -> int:
    """Write a run's stored results as 匹配结果 (.xlsx with every sheet, or .csv of the main sheet), streamed from the
    database so any number of firms fits in memory; returns the number of firms written (``generated``: the cover
    names who exported it and when, as an export does; a batch run's own workbook stays the same however it ran).

    Args:
        store: the open store.
        run: the ``runs`` row (`matcher.store.runs.get_run`).
        path: the output file.
        filters_text: the filters as stated on the cover.
        chain: only firms whose first chain is this one.
        region: only firms of this region.
        district: only firms of this district / new city.
        ended_at: the end time to state on the cover (a batch writes its workbook just before it records the end).
        excel_rows: firms a worksheet may hold; a run with more gets its results as Parquet beside a summary workbook
            (`large_output_paths`).
    """
    target = Path(path)
    systems = run_systems(store, run)

    def picked() -> Iterator[FirmMatch]:
        return filter_results(iter_results(store, run["id"]), chain, region, district)

    counted = _Count()
    summary = counted(summary_rows(picked(), systems))
    if target.suffix.lower() == ".csv":
        write_csv(target, MATCHES.main, summary)
        return counted.n
    info = dict(run, ended_at=ended_at) if ended_at else run
    cover = make_cover(store, MATCHES, info, filters_text, kb.version(store))
    if generated:
        cover.lines.extend(generated_by(store))
    if int(run.get("done") or 0) > excel_rows:
        return _write_large_matches(store, run, target, summary, detail_rows(picked()), cover, counted, excel_rows)
    data: dict[str, RowSource] = {"匹配结果": summary, "匹配明细": lambda: detail_rows(picked())}
    if run.get("kind") == "batch":
        data["未导入行"] = run_issues(store, run["id"])
    # 匹配明细 is streamed when the run's stored hits fit one worksheet, else counted first (it may continue on more)
    write_xlsx(target, MATCHES, data, cover,
               bounds={"匹配结果": int(run.get("done") or 0), "匹配明细": run_store.hit_count(store, run["id"])})
    return counted.n


def run_systems(store: Store, run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The industrial systems of the knowledge base as the run matched with it (its recorded version)."""
    kbd = kb.at_version(store, int(run.get("kb_version") or kb.version(store)))
    return {s["id"]: s for s in kbd["systems"]}


def large_output_paths(path: Path) -> tuple[Path, Path]:
    """The Parquet files that hold 匹配结果 and 匹配明细 when a run has more firms than a worksheet holds."""
    return path.with_name(f"{path.stem}-匹配结果.parquet"), path.with_name(f"{path.stem}-匹配明细.parquet")


def write_parquet(path: Path, sheet: Sheet, rows: Iterable[dict[str, Any]], block: int = 50_000,
                  on_row: Any = None) -> int:
    """Write one sheet's rows as Parquet (Chinese headers as column names), streamed in row groups and atomic.

    A column is numeric when every value of the first block is a number (scores, ranks, row numbers), else text;
    returns the number of rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys, n = [c.key for c in sheet.columns], 0
    schema, writer = None, None
    rows = iter(rows)
    with atomic_path(path) as tmp:
        try:
            while True:
                chunk = list(islice(rows, block))
                if not chunk and schema is not None:
                    break
                if on_row is not None:
                    for r in chunk:
                        on_row(r)
                cols = [[r.get(k) for r in chunk] for k in keys]
                if schema is None:
                    numeric = [all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in c if v is not None)
                               and any(v is not None for v in c) for c in cols]
                    schema = pa.schema([(c.header, pa.float64() if num else pa.string())
                                        for c, num in zip(sheet.columns, numeric)])
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                arrays = [pa.array([None if v is None else (float(v) if f.type == pa.float64() else str(cell_value(v)))
                                    for v in c], f.type) for c, f in zip(cols, schema)]
                assert writer is not None
                writer.write_table(pa.table(arrays, schema=schema))
                n += len(chunk)
                if not chunk:
                    break
        finally:
            if writer is not None:
                writer.close()
    return n


def _write_large_matches(store: Store, run: dict[str, Any], target: Path, summary: Iterable[dict[str, Any]],
                         detail: Iterable[dict[str, Any]], cover: Cover, counted: _Count, excel_rows: int) -> int:
    """More firms than a worksheet holds: 匹配结果 and 匹配明细 as Parquet beside the workbook, which keeps the cover,
    a per-chain summary and 未导入行, and says where the results are."""
    main_path, detail_path = large_output_paths(target)
    per_chain: dict[str, int] = {}

    def tally(r: dict[str, Any]) -> None:
        key = r.get("chain") or "（不属于重点产业链）"
        per_chain[key] = per_chain.get(key, 0) + 1

    write_parquet(main_path, MATCHES.main, summary, on_row=tally)
    detail_n = write_parquet(detail_path, MATCHES.sheets[1], detail)
    note = (f"共 {counted.n} 家企业，超过 Excel 单个工作表可容纳的 {excel_rows:,} 行：匹配结果（每家企业一行）写在 "
            f"{main_path.name}，匹配明细（{detail_n} 行）写在 {detail_path.name}（Parquet，列名与工作簿相同）；"
            "本工作簿只含封面、各产业链企业数和未导入行。")
    cover = Cover(cover.title, cover.purpose, cover.filters, [("结果文件", note), *cover.lines], cover.day)
    spec = ListSpec(MATCHES.id, MATCHES.title, MATCHES.purpose, (LARGE_SUMMARY, MATCHES.sheets[2]))
    chains = [{"chain": c, "firms": n} for c, n in sorted(per_chain.items(), key=lambda kv: (-kv[1], kv[0]))]
    data: dict[str, Iterable[dict[str, Any]]] = {LARGE_SUMMARY.name: chains}
    if run.get("kind") == "batch":
        data["未导入行"] = run_issues(store, run["id"])
    write_xlsx(target, spec, data, cover)
    return counted.n


LARGE_SUMMARY = Sheet("产业链汇总", (Column("chain", "首选产业链", "首选重点产业链（或不属于重点产业链）", 24, "太阳能光伏"),
                                 Column("firms", "企业数", "首选该产业链的企业数", 10, "120")))


def make_cover(store: Store, spec: ListSpec, run: dict[str, Any], filters: str, kb_version: Any) -> Cover:
    """The cover of a list made from one run: data, knowledge-base, model and index versions and the run's record."""
    params = run.get("params") or {}
    source = "数据库中的全部企业" if run.get("kind") == "firms" else f"{run.get('input_path')}"
    lines: list[tuple[str, Any]] = [
        ("数据", f"{source}（数据库 {store.path.name}，库内企业 {store.count_firms()} 家）"),
        ("知识库版本", f"{kb_version}（匹配时 {run.get('kb_version')}）"),
        ("模型版本", run.get("model_version")),
        ("索引版本", params.get("index_version")),
        ("运行编号", run_store.run_label(run) if run.get("number") else None),
        ("输入文件 SHA-256", run.get("input_sha256")),
        ("行数", f"读取 {run.get('rows')} 行，匹配 {run.get('done')} 家，拒绝 {run.get('rejected')} 行"),
        ("参数", f"每类保留前 {params.get('k')} 项" + (f"；工作表 {params['sheet']}" if params.get("sheet") else "")),
        ("开始时间", run.get("started_at")),
        ("结束时间", run.get("ended_at")),
    ]
    return Cover(spec.title, spec.purpose, filters, lines)


def uscc_cell(firm: dict[str, Any]) -> str | None:
    """The credit code as listed, flagged when it fails its check digit."""
    code = firm.get("uscc")
    return f"{code}（校验位不符，请核对）" if code and firm.get("uscc_valid") == 0 else code


def generated_by(store: Store) -> list[tuple[str, Any]]:
    """Cover lines naming who generated an export and when (local time)."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return [("导出人", f"{store.user}" + (f"（{store.role}）" if store.role else "")), ("导出时间", stamp)]


def export_result(store: Store, res: Any, out: str | os.PathLike[str], k: int = 5) -> ExportResult:
    """Write one search's match result (`matcher.results.MatchResult`) in the 匹配结果 layout (.xlsx or .csv)."""
    fm = firm_match(res, k)
    kbd = kb.current(store)
    data = match_rows([fm], {s["id"]: s for s in kbd["systems"]})
    name = fm.firm.get("name") or (res.query_text or "")[:20]
    path = resolve_output(MATCHES, out, [name])
    if path.suffix.lower() == ".csv":
        write_csv(path, MATCHES.main, data[MATCHES.main.name])
    else:
        cover = Cover(MATCHES.title, MATCHES.purpose, f"查询：{(res.query_text or '')[:200]}", [
            ("数据", f"数据库 {store.path.name}，库内企业 {store.count_firms()} 家"),
            ("知识库版本", kbd.get("version")),
            *generated_by(store),
        ])
        write_xlsx(path, MATCHES, data, cover)
    return ExportResult(path, MATCHES.id, 1, {"query": res.query_text}, None)
