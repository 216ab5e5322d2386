"""Small helpers of the Streamlit app that are logic, not layout: password check, upload limits, report shaping."""

from __future__ import annotations

import csv
import hashlib
import hmac
import html
import io
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wcwidth import wcswidth

from matcher.files import atomic_path, safe_filename
from matcher.ingest.columns import FIELDS
from matcher.ingest.importer import (
    REPORT_COLUMNS,
    ImportFileError,
    Issue,
    ParsedTable,
    read_table,
    report_rows,
    safe_cell,
    validate_rows,
)

DEFAULT_UPLOAD_MB = 50  # keep in step with server.maxUploadSize in .streamlit/config.toml
# Plain text (no emoji): office PCs and servers often lack an emoji font, and tables cannot show icons.
CONFIDENCE_LABELS = {"confirmed": "已核实", "single-source": "单一来源", "待核实": "【待核实】"}
# the knowledge base's field names as the edit form shows them
KB_FIELD_LABELS = {"id": "编号", "name": "名称", "region": "地区", "document": "文件", "status": "状态",
                   "as_of": "截至时间", "source": "来源（每行一条）", "confidence": "可信度", "note": "备注",
                   "items": "条目", "aliases": "别名（每行一个）", "description": "说明", "focus": "西安19条+新型显示",
                   "segments": "环节", "gb_codes": "国民经济行业小类代码（每行一个）", "sei": "战略性新兴产业（每行一个）",
                   "sw_industries": "申万行业（每行一个）", "systems": "所属产业体系", "anchors": "链主/龙头企业",
                   "crosswalk_note": "对照说明", "kind": "类型", "new_city": "所属新城", "city": "城市",
                   "parent": "上级", "members": "成员（每行一个）", "lead_industries": "主导产业（每行一个）",
                   "lead_chains": "主导产业链（每行一个）", "features": "承载条件（每行一条）",
                   "features_unconfirmed": "待核实的承载条件（每行一条）", "firms": "企业（每行一个）",
                   "location": "位置",
                   "position": "地图位置（lon 经度、lat 纬度、approx 是否约数、source 来源或估计方法、confidence 可信度）"}
# Material Symbols names, drawn by Streamlit's bundled icon font (no network, no emoji font needed).
VERDICT_ICONS = {"有效": ":material/thumb_up:", "无效": ":material/thumb_down:", "已对接": ":material/handshake:",
                 "已签约": ":material/edit_document:"}
# Colours of the score-bar parts; a part kind always gets the same one.
PART_COLOURS = ("#2f6fdf", "#20a387", "#f0a030", "#9b59b6", "#e4572e", "#7f8c8d", "#17becf", "#bcbd22",
                "#8c564b", "#e377c2", "#1f3a93", "#6ab04c")


# -- access ------------------------------------------------------------------------------------------------------
def password_required() -> str | None:
    """The password that protects the app (``MATCHER_PASSWORD``), or ``None`` when the app is open."""
    value = os.environ.get("MATCHER_PASSWORD", "")
    return value or None


def is_loopback(address: str | None) -> bool:
    """Whether the server listens on this machine only (``server.address`` 127.0.0.1 / localhost / ::1)."""
    return (address or "").strip().lower() in ("127.0.0.1", "localhost", "::1")


def password_ok(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a typed password with the configured one."""
    return hmac.compare_digest((given or "").encode("utf-8"), expected.encode("utf-8"))


# -- uploads -----------------------------------------------------------------------------------------------------
def upload_limit_mb(server_limit_mb: float | None = None) -> float:
    """The upload limit in MB: ``MATCHER_MAX_UPLOAD_MB`` when set (and not above the server's), else the server's.

    Args:
        server_limit_mb: Streamlit's ``server.maxUploadSize``; the app can only lower it.
    """
    server = float(server_limit_mb) if server_limit_mb else float(DEFAULT_UPLOAD_MB)
    raw = os.environ.get("MATCHER_MAX_UPLOAD_MB", "").strip()
    try:
        own = float(raw) if raw else None
    except ValueError:
        own = None
    return min(server, own) if own and own > 0 else server


def upload_error(name: str, size: int, limit_mb: float) -> str | None:
    """A Chinese message when an uploaded file is over the limit (or empty), else ``None``."""
    if size <= 0:
        return f"文件 {name} 是空文件，请检查后重新上传。"
    if size > limit_mb * 1024 * 1024:
        return (f"文件 {name} 大小为 {size / 1024 / 1024:.1f} MB，超过上限 {limit_mb:g} MB，未处理。"
                "请把名单拆分成几个较小的文件分批上传。")
    return None


def save_upload(folder: str | os.PathLike[str], name: str, data: bytes) -> Path:
    """Keep an uploaded file under ``folder`` (``<时间>-<哈希>-<名称>``) so imports and runs can name their source.

    The write is atomic (temp file + ``os.replace``); the same bytes uploaded twice map to the same file.
    """
    target_dir = Path(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:10]
    base = safe_filename(Path(str(name).replace("\\", "/")).name, 80)  # the name without any folder
    existing = sorted(target_dir.glob(f"*-{digest}-{base}"))
    if existing:
        return existing[-1]
    target = target_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}-{base}"
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return target


def upload_display_name(path: str | os.PathLike[str] | None) -> str:
    """The name a user gave a file kept by :func:`save_upload` (without the time and hash prefix)."""
    name = Path(str(path or "")).name
    return re.sub(r"^\d{8}-\d{6}-[0-9a-f]{10}-", "", name)


def check_upload(path: str | os.PathLike[str], name: str, error_note: str = "") -> dict[str, Any]:
    """Read and check a kept upload the way an import would, without storing anything.

    Args:
        path: the file kept by :func:`save_upload`.
        name: the name the user gave it (for the message).
        error_note: added to the message when the file cannot be read.

    Returns:
        ``{"table", "good", "issues"}``, or ``{"error": 中文说明}`` when the file cannot be read at all.
    """
    try:
        table = read_table(path)
    except ImportFileError as exc:
        return {"error": f"文件 {name}：{exc.message}{error_note}"}
    good, issues = validate_rows(table)
    return {"table": table, "good": good, "issues": issues}


def column_mapping(table: ParsedTable) -> str:
    """Which uploaded headers feed which field, e.g. ``企业名称←公司名称；主营业务←经营范围``."""
    return "；".join(f"{FIELDS.get(field, field)}←{'、'.join(headers)}"
                    for field, headers in table.columns.items() if headers)


# -- import report ------------------------------------------------------------------------------------------------
def issue_rows(issues: Iterable[Issue]) -> list[dict[str, Any]]:
    """The import report as table rows (行号, 字段, 类型, 原因, 值), for display."""
    return [dict(zip(REPORT_COLUMNS, row, strict=True)) for row in report_rows(issues)]


def issue_counts(issues: Iterable[Issue]) -> dict[str, int]:
    """How many rejected rows, merged duplicates and warnings a report holds."""
    counts = {"rejected": 0, "duplicate": 0, "warning": 0, "quarantined": 0}
    for i in issues:
        counts[i.level] = counts.get(i.level, 0) + 1
    return counts


def rejected_rows_csv(table: ParsedTable, issues: Iterable[Issue]) -> bytes:
    """The rejected rows with their original cells and the reason, as UTF-8-BOM CSV (opens in Excel; no formulas).

    Staff correct this file and import it again, so the original headers come first and 行号/拒绝原因 last.
    """
    reasons: dict[int, list[str]] = {}
    for i in issues:
        if i.level in ("rejected", "quarantined") and i.row is not None:
            reasons.setdefault(i.row, []).append(i.reason)
    headers = [h for h in table.headers if h not in ("", None)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*headers, "行号", "拒绝原因"])
    for r in table.rows:
        if r.row in reasons:
            w.writerow([safe_cell(r.original.get(h, "")) for h in headers] + [r.row, "；".join(reasons[r.row])])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def confidence_label(confidence: str | None) -> str:
    """A visible label for a confidence value; 待核实 gets a warning sign."""
    return CONFIDENCE_LABELS.get(confidence or "", confidence or "【未标注】")


# -- score bars --------------------------------------------------------------------------------------------------
def score_parts(parts: Mapping[str, float], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A hit's score parts as rows ``{"key", "label", "value"}``, largest first; zero parts dropped."""
    rows = [{"key": k, "label": labels.get(k, k), "value": float(v)} for k, v in parts.items() if abs(float(v)) > 1e-9]
    return sorted(rows, key=lambda r: -r["value"])


def score_bar_html(score: float, parts: Mapping[str, float], labels: Mapping[str, str],
                   scale: float = 1.0) -> str:
    """A horizontal bar whose coloured segments are the score's parts, with a legend; plain HTML, values escaped.

    Args:
        score: the total (the sum of the parts).
        parts: part key → value.
        labels: part key → Chinese label.
        scale: the score that fills the whole bar (scores above it are clipped).
    """
    rows = score_parts(parts, labels)
    if scale <= 0:
        scale = max(sum(r["value"] for r in rows if r["value"] > 0), 1e-9)
    segs, legend = [], []
    order = list(labels)
    for r in rows:
        # one colour per part kind (its place in the labels), so a part looks the same in every bar
        n = order.index(r["key"]) if r["key"] in order else len(order) + sum(map(ord, r["key"]))
        colour = PART_COLOURS[n % len(PART_COLOURS)]
        label = html.escape(r["label"])
        if r["value"] > 0:
            width = min(100.0, 100.0 * r["value"] / scale)
            segs.append(f'<span title="{label} {r["value"]:.3f}" style="display:inline-block;height:12px;'
                        f'width:{width:.2f}%;background:{colour}"></span>')
        legend.append(f'<span style="white-space:nowrap;margin-right:10px">'
                      f'<span style="display:inline-block;width:9px;height:9px;background:'
                      f'{colour if r["value"] > 0 else "#ccc"};margin-right:3px"></span>{label} {r["value"]:+.3f}</span>')
    bar = ('<div style="background:#eef0f3;border-radius:3px;overflow:hidden;height:12px;white-space:nowrap;'
           f'font-size:0;line-height:0">{"".join(segs)}</div>')
    return (f'<div class="score-bar" data-score="{score:.4f}" style="margin:2px 0 6px 0">{bar}'
            f'<div style="font-size:12px;color:#555;margin-top:2px">得分 {score:.3f}：{"".join(legend)}</div></div>')


# -- feedback ------------------------------------------------------------------------------------------------------
def feedback_summary(rows: Iterable[Mapping[str, Any]], kind: str, target: str) -> str:
    """The feedback already given on one match, newest first, e.g. ``已对接（2026-11-27）· 有效（2026-11-26）``."""
    found = [r for r in rows if r.get("kind") == kind and str(r.get("target")) == str(target)]
    return " · ".join(f"{r['verdict']}（{local_time(r.get('created_at'))}）" for r in found)


# -- firms, progress, list views -------------------------------------------------------------------------------------
def progress_reporter(update: Any, min_interval: float = 0.25) -> Any:
    """Wrap a ``(done, total)`` progress callback so it fires at most every ``min_interval`` s (and at the end)."""
    last = [float("-inf")]

    def report(done: int, total: int) -> None:
        now_ = time.monotonic()
        if done >= total or now_ - last[0] >= min_interval:
            last[0] = now_
            update(done, total)

    return report


def sheet_records(sheet: Any, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of an export sheet keyed by its Chinese headers, in its column order, for an on-screen table."""
    out = []
    for r in rows:
        rec = {}
        for c in sheet.columns:
            v = r.get(c.key)
            if isinstance(v, bool):
                v = "是" if v else "否"
            elif isinstance(v, (list, tuple)):
                v = "、".join(str(x) for x in v)
            elif c.key == "confidence":
                v = confidence_label(v)
            rec[c.header] = "" if v is None else v
        out.append(rec)
    return out


def _text_units(markup: str) -> int:
    """Display width of a label row without its tags and entities: wide (CJK) characters count two."""
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return max(wcswidth(text), len(text))  # -1 means unprintable


def _dot(text: object) -> str:
    """Text safe inside a double-quoted DOT string."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def chain_dot(chain: Mapping[str, Any], segments: Iterable[Mapping[str, Any]], max_firms: int = 6) -> str:
    """Graphviz DOT of one chain: 上游 → 中游 → 下游 segments, each listing its local firms; gaps drawn in red.

    Args:
        chain: the chain of the knowledge base.
        segments: rows of the 环节明细 sheet (``stage``, ``segment``, ``firms``, ``gap``, ``top_firms``).
        max_firms: firms listed per segment; the rest are counted.
    """
    esc = html.escape
    lines = ["digraph chain {", "  rankdir=LR;", '  graph [fontname="sans-serif", nodesep=0.3, ranksep=0.7];',
             '  node [fontname="sans-serif", fontsize=11, shape=plain];', '  edge [color="#2f6fdf", penwidth=2];',
             f'  label="{_dot(chain.get("name"))}：上游 → 中游 → 下游"; labelloc=t; fontsize=16;']
    by_stage: dict[str, list[str]] = {}
    for n, sg in enumerate(segments):
        node = f"seg{n}"
        by_stage.setdefault(str(sg.get("stage")), []).append(node)
        count = int(sg.get("firms") or 0)
        head = f"<B>{esc(str(sg.get('stage')))}·{esc(str(sg.get('segment')))}</B>"
        if sg.get("gap"):
            rows = [head, '<FONT COLOR="#d62728">本地暂无企业（补链缺口）</FONT>']
            style = 'BGCOLOR="#fde2e1" COLOR="#d62728" STYLE="dashed"'
        else:
            firms = [f for f in str(sg.get("top_firms") or "").split("；") if f][:max_firms]
            rows = [head, f"本地企业 {count} 家"] + [f'<FONT POINT-SIZE="10">{esc(f)}</FONT>' for f in firms]
            if count > len(firms):
                rows.append(f'<FONT POINT-SIZE="10" COLOR="#555555">…… 共 {count} 家</FONT>')
            style = 'BGCOLOR="#eef4ff" COLOR="#2f6fdf"'
        # The browser's Graphviz underestimates the width of Chinese text: give the cells their real width.
        width = 16 + 5.4 * max(_text_units(r) for r in rows)
        cells = "".join(f'<TR><TD WIDTH="{width:.0f}">{r}</TD></TR>' for r in rows)
        lines.append(f'  {node} [label=<<TABLE BORDER="2" CELLBORDER="0" CELLPADDING="3" {style}>{cells}</TABLE>>];')
    stages = [s for s in ("上游", "中游", "下游") if s in by_stage]
    for a, b in zip(stages, stages[1:], strict=False):
        for x in by_stage[a]:
            for y in by_stage[b]:
                lines.append(f"  {x} -> {y};")
    lines.append("}")
    return "\n".join(lines)


def local_time(stamp: str | None, seconds: bool = False) -> str:
    """A stored UTC ISO time as Beijing time in plain form (``2026-11-30 09:46``); empty for none."""
    from matcher.store.audit import local_time as beijing

    return beijing(stamp, seconds)


def refresh_notice(state: Any) -> str | None:
    """The line a page shows while it answers from a build older than the data (``matcher.work.refresh.State``)."""
    if state.current:
        return None
    what = []
    if state.new_firms > 0:
        what.append(f"新导入 {state.new_firms} 家企业")
    elif state.new_firms < 0:
        what.append(f"减少 {-state.new_firms} 家企业")
    if state.kb_changed:
        what.append("知识库已修改")
    changed = "，".join(what) or "企业信息已修改"
    made = datetime.fromtimestamp(state.build.made_at, UTC).isoformat(timespec="seconds")
    at, today = local_time(made), local_time(datetime.now(UTC).isoformat(timespec="seconds"))
    at = at[11:] if at[:10] == today[:10] else at  # HH:MM today, with the date otherwise
    if state.updating:
        return f"索引正在更新（{changed}），当前结果基于 {at} 的数据；更新完成后自动切换。"
    if state.error:
        return (f"索引更新未成功（{state.error}），当前结果基于 {at} 的数据；稍后自动重试，若一直出现请告诉管理员。")
    return f"索引待更新（{changed}），当前结果基于 {at} 的数据。"


def change_text(values: Any) -> str:
    """A change's before/after values in plain Chinese (``所在地区：西安；从业人数：12``); empty for none."""
    from matcher.work.firms import FIELD_LABELS

    if not values:
        return ""
    if not isinstance(values, Mapping):
        return str(values)
    return "；".join(f"{FIELD_LABELS.get(k, k)}：{'（空）' if v in (None, '') else v}" for k, v in values.items()
                    if not isinstance(v, (dict, list)))


def first_columns(records: list[dict[str, Any]], names: Iterable[str]) -> list[dict[str, Any]]:
    """Table rows with the named columns moved to the front (the ones officers look for), the rest after."""
    front = list(names)
    return [{**{n: r[n] for n in front if n in r}, **{k: v for k, v in r.items() if k not in front}} for r in records]


def kb_value_text(value: Any) -> str:
    """A knowledge-base value as the edit form shows it: lists one item per line, text as is, the rest as JSON."""
    import json

    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "\n".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)


def kb_value_parse(text: str, current: Any) -> Any:
    """What staff typed back into the shape of the field: one item per line for a list of words, JSON for structures."""
    import json

    if isinstance(current, list) and all(isinstance(x, str) for x in current):
        if text.strip().startswith("["):  # a JSON list typed in is taken as such
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return parsed
        return [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(current, bool):
        return text.strip() in ("是", "true", "True", "1")
    if isinstance(current, (list, dict)):
        return json.loads(text)
    return text.strip() or None


def name_contains(name: str | None, text: str) -> bool:
    """Whether a firm name contains ``text``, simplified and traditional spellings alike (华晶 ~ 華晶)."""
    import zhconv

    def fold(t: str) -> str:
        return zhconv.convert(unicodedata.normalize("NFKC", t), "zh-hans").lower()

    return fold(text.strip()) in fold(name or "")
