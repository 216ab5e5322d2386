"""Import firm lists (CSV in any common Chinese encoding, or XLSX) into the store, explaining every bad row.

Three steps, each usable alone: `read_table` (file → canonical rows, or `ImportFileError` for a file that cannot be
used at all), `validate_rows` (row rules: name required, USCC check digit, merging, region, normalisation) and
`import_file` (both, then one transaction and a CSV report).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import sys
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from matcher.files import atomic_path, safe_filename
from matcher.ingest.columns import FIELDS, TEXT_FIELDS, map_headers
from matcher.knowledge import kb
from matcher.knowledge.regions import parse_region
from matcher.store import Store, now
from matcher.store import firms as firm_store
from matcher.store import runs as run_store
from matcher.store.firms import name_key

# Excel keeps a cell under 32,767 characters, but CSV files have no limit: allow any cell that fits in memory.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

HEADER_SCAN_ROWS = 20  # a title line or two may sit above the header row
REPORT_COLUMNS = ("行号", "字段", "类型", "原因", "值")
LEVEL_LABELS = {"rejected": "拒绝", "warning": "警告", "duplicate": "合并", "quarantined": "隔离"}
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_URL = re.compile(r"(?i)(https?://|ftp://|www\.|\bmailto:)")
XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
DAMAGED_WORKBOOK = ("Excel 工作簿（.xlsx）已损坏或不完整，无法打开（可能没有完整下载或复制）。请向提供方重新索取文件，"
                    "或在 Excel 中打开后重新保存再导入")


class ImportFileError(Exception):
    """The whole file cannot be imported (unreadable, corrupt, no 企业名称 column, no data rows).

    Args:
        path: the file.
        message: what is wrong, in Chinese, for the user.
    """

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"文件 {self.path}：{message}")


@dataclass
class Issue:
    """One line of the import report: a rejected row, a warning or a merged duplicate."""

    row: int | None
    field: str
    reason: str
    value: str = ""
    level: str = "warning"  # rejected | warning | duplicate | quarantined


@dataclass
class TableRow:
    """One data row of the file.

    Attributes:
        row: 1-based row number as a spreadsheet program shows it.
        fields: canonical field → value (several source columns of one field are joined).
        original: source header → raw cell text, for every non-empty cell.
        formulas: canonical field → the formula of an XLSX formula cell feeding it (its cached value is in fields).
    """

    row: int
    fields: dict[str, str]
    original: dict[str, str]
    formulas: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedTable:
    """A firm list read from one file, with its columns mapped to canonical fields."""

    path: Path
    format: str  # csv | xlsx | parquet
    encoding: str | None
    sheet: str | None
    header_row: int
    headers: list[str]
    columns: dict[str, list[str]]  # canonical field → the source headers mapped to it
    unknown_columns: list[str]
    rows: list[TableRow]
    notes: list[Issue] = field(default_factory=list)  # file-level warnings (mixed encodings, formula cells)


@dataclass
class GoodRow:
    """A valid firm ready to store: ``firm`` holds the ``firms`` table columns (``original`` still a dict)."""

    row: int
    firm: dict[str, Any]
    merged_rows: list[int] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did; ``as_dict`` is the CLI's JSON line."""

    file: Path
    rows: int
    stored: int
    inserted: int
    updated: int
    rejected: int
    duplicates: int
    warnings: int
    report: Path
    run_id: int
    encoding: str | None
    unknown_columns: list[str]
    issues: list[Issue]
    quarantined: int = 0
    number: int | None = None  # the import's number as users know it (导入 1, 2 …), the one `import --undo` takes

    def as_dict(self) -> dict[str, Any]:
        """The counts and paths, JSON-ready (issues are in the report file)."""
        return {
            "rows": self.rows, "stored": self.stored, "rejected": self.rejected, "duplicates": self.duplicates,
            "warnings": self.warnings, "report": str(self.report), "inserted": self.inserted, "updated": self.updated,
            "run": self.number, "run_id": self.run_id, "file": str(self.file), "encoding": self.encoding,
            "unknown_columns": self.unknown_columns, "quarantined": self.quarantined,
        }


# ---------------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------------
def read_table(path: str | os.PathLike[str], sheet: str | None = None) -> ParsedTable:
    """Read a CSV, XLSX or Parquet firm list and map its columns.

    Args:
        path: the file; the format is told by its content (XLSX is a ZIP, Parquet starts with ``PAR1``), not only by
            its name.
        sheet: XLSX worksheet name; ``None`` means the first sheet. Ignored for CSV.

    Raises:
        ImportFileError: the file is missing, unreadable, corrupt, not a table, has no 企业名称 column or no data rows.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFileError(p, "文件不存在")
    if not p.is_file():
        raise ImportFileError(p, "不是文件")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImportFileError(p, f"无法读取文件（{exc.strerror or exc}）") from exc
    if not data.strip():
        raise ImportFileError(p, "文件为空")
    if data[:4] == b"PAR1":
        return _build_table(p, "parquet", None, None, _read_parquet(p), [], [])
    if data[:4] == b"PK\x03\x04":
        records, sheet_name, notes, others, formulas = _read_xlsx(p, data, sheet)
        return _build_table(p, "xlsx", None, sheet_name, records, notes, others, formulas)
    if p.suffix.lower() in XLSX_SUFFIXES and data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and _looks_binary_bytes(data):
        # Named as a workbook, binary, but not a ZIP: a damaged or cut-off workbook, not a text file to re-save.
        raise ImportFileError(p, DAMAGED_WORKBOOK)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(p, "这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入")
    if data[:5] == b"%PDF-":
        raise ImportFileError(p, "这是 PDF 文件，不是表格；请提供 CSV 或 XLSX 文件")
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and (b"<html" in head or b"<table" in head or b"<?xml" in head):
        # Many systems export "Excel" files that are really web pages; they need one "save as" in Excel.
        raise ImportFileError(p, "这是网页（HTML/XML）格式的表格，不是真正的 Excel 文件；请在 Excel 中打开后另存为 .xlsx 或 CSV")
    # Anything else is read as delimited text, whatever its name: exports named .xls are often tab-separated text.
    try:
        text, encoding, notes = _decode(p, data)
    except ImportFileError:
        if p.suffix.lower() in XLSX_SUFFIXES:
            raise ImportFileError(p, DAMAGED_WORKBOOK) from None
        raise
    records = _parse_csv(p, text)
    return _build_table(p, "csv", encoding, None, records, notes, [])


def _decode(path: Path, data: bytes) -> tuple[str, str, list[Issue]]:
    """Bytes → text: UTF-8 (with or without BOM), UTF-16 with BOM, GBK/GB18030, mixed lines, else charset detection."""
    notes: list[Issue] = []
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16", notes
        except UnicodeDecodeError as exc:
            raise ImportFileError(path, "文件是 UTF-16 编码但内容已损坏") from exc
    nuls = data.count(b"\x00")
    if nuls > max(8, len(data) // 200):
        raise ImportFileError(path, "文件含二进制内容，不是 CSV 文本表格；请提供 CSV 或 XLSX 文件")
    if nuls:  # a few stray NUL bytes from an export tool: drop them, say so
        data = data.replace(b"\x00", b"")
        notes.append(Issue(None, "", f"文件含 {nuls} 个空字符（NUL），已删除", "", "warning"))
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if bom else data
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8", notes
    except UnicodeDecodeError as exc:
        if exc.start >= len(body) - 3 and "end of data" in exc.reason:
            raise ImportFileError(path, "文件末尾不完整（最后一个字符被截断），文件可能没有完整保存或复制") from exc
    # Not UTF-8: decode line by line. A line that is valid UTF-8 is UTF-8 (GBK text almost never is), the others
    # GBK/GB18030. A file mixing both (rows pasted from different sources) is read whole, with a warning naming
    # the lines read the minority way; a few undecodable lines (damaged bytes) are kept with � and named too.
    lines = body.split(b"\n")
    kinds: list[str] = []
    for line in lines:
        kinds.append("ascii" if max(line, default=0) < 0x80 else _line_kind(line))
    n_utf8, n_gb, n_bad = kinds.count("utf8"), kinds.count("gb"), kinds.count("bad")
    if n_bad == 0 and n_utf8 == 0:
        text = body.decode("gb18030")
        if not _has_name_header(text):
            try:  # Big5 bytes often decode as GB18030 too, into nonsense: try Big5 before giving up
                big5 = body.decode("big5")
                if _has_name_header(big5):
                    return big5, "big5", notes
            except UnicodeDecodeError:
                pass
        return text, "gb18030", notes
    if n_bad <= max(2, (n_utf8 + n_gb) // 10):
        minority = "gb" if n_gb <= n_utf8 else "utf8"
        parts = []
        for line, kind in zip(lines, kinds, strict=True):
            if kind == "utf8":
                parts.append(line.decode("utf-8"))
            else:
                parts.append(line.decode("gb18030", errors="replace"))
        if n_utf8 and n_gb:
            shown = _line_list(kinds, minority)
            how = "GB18030" if minority == "gb" else "UTF-8"
            notes.append(Issue(None, "", f"文件混用了 UTF-8 和 GBK 编码：第 {shown} 行（文件行号）按 {how} 读取，请核对这些行"))
        if n_bad:
            notes.append(Issue(None, "", f"第 {_line_list(kinds, 'bad')} 行（文件行号）含无法识别的字节，已用 � 代替，请核对"))
        return "\n".join(parts), ("utf-8+gb18030" if n_utf8 >= n_gb else "gb18030+utf-8"), notes
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is None:
        raise ImportFileError(path, "无法识别文件编码，也不像文本表格；请另存为 UTF-8 编码的 CSV 或 XLSX")
    text = str(best)
    if _looks_binary(text):
        raise ImportFileError(path, "文件内容不是文本表格（可能是二进制文件或已损坏）；请提供 CSV 或 XLSX 文件")
    return text, str(best.encoding), notes


def _line_kind(line: bytes) -> str:
    """How one non-ASCII line decodes: ``utf8``, ``gb`` (GB18030) or ``bad``."""
    for kind, codec in (("utf8", "utf-8"), ("gb", "gb18030")):
        try:
            line.decode(codec)
            return kind
        except UnicodeDecodeError:
            pass
    return "bad"


def _line_list(kinds: list[str], kind: str, limit: int = 20) -> str:
    """``3、7、12……``: the 1-based file lines of one kind, for a message."""
    found = [str(i) for i, k in enumerate(kinds, start=1) if k == kind]
    return "、".join(found[:limit]) + ("……" if len(found) > limit else "")


def _has_name_header(text: str) -> bool:
    """Whether one of the first lines maps to a 企业名称 column: a sanity check of a guessed encoding."""
    for line in text.splitlines()[:HEADER_SCAN_ROWS]:
        for delimiter in (",", "\t", ";", "|"):
            mapping, _ = map_headers(line.split(delimiter))
            if "name" in mapping.values():
                return True
    return False


def _looks_binary_bytes(data: bytes) -> bool:
    """True when the start of a file holds NUL or many control bytes: not a text table in any encoding we read."""
    sample = data[:4096]
    odd = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return b"\x00" in sample or odd > max(3, len(sample) // 50)


def _looks_binary(text: str) -> bool:
    """True when many characters are control or unassigned codes: a binary file that happened to decode."""
    sample = text[:20000]
    if not sample:
        return False
    odd = sum(1 for ch in sample if ch not in "\t\r\n" and unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs"))
    return odd > max(3, len(sample) // 50)


def _parse_csv(path: Path, text: str) -> list[tuple[int, list[Any]]]:
    """CSV text → (row number, cells); the delimiter is the most frequent of , tab ; | in the first line."""
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max([",", "\t", ";", "|"], key=lambda d: (first.count(d), d == ","))
    try:
        # A strict pass only to detect a quote left open at the end of the file: a file cut off mid-cell.
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ImportFileError(path, "文件不完整：最后一个带引号的单元格没有结束（文件可能被截断）") from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(i, row) for i, row in enumerate(reader, start=1)]
    except csv.Error as exc:  # pragma: no cover - the non-strict reader accepts any text
        raise ImportFileError(path, f"CSV 格式错误（第 {reader.line_num} 行）：{exc}") from exc


def _read_parquet(path: Path) -> list[tuple[int, list[Any]]]:
    """A Parquet table as numbered records: the column names are row 1 (the header), data rows from row 2."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        records: list[tuple[int, list[Any]]] = [(1, list(pf.schema_arrow.names))]
        for batch in pf.iter_batches(batch_size=65_536):
            cols = [c.to_pylist() for c in batch.columns]
            start = len(records) + 1
            records += [(start + i, [col[i] for col in cols]) for i in range(batch.num_rows)]
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise ImportFileError(path, f"Parquet 文件无法读取（{type(exc).__name__}: {exc}）") from exc
    return records


def _read_xlsx(path: Path, data: bytes, sheet: str | None) -> tuple[list[tuple[int, list[Any]]], str, list[Issue],
                                                                      list[str], dict[tuple[int, int], str]]:
    """XLSX → (row number, cells) of one sheet; formula cells give their cached value, else their text."""
    import openpyxl

    notes: list[Issue] = []
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except zipfile.BadZipFile as exc:
        raise ImportFileError(path, DAMAGED_WORKBOOK) from exc
    except Exception as exc:  # openpyxl raises many kinds on damaged XML
        raise ImportFileError(path, f"{DAMAGED_WORKBOOK}（{type(exc).__name__}）") from exc
    try:
        names = list(wb.sheetnames)
        if sheet is None:
            if not wb.worksheets:
                raise ImportFileError(path, "工作簿中没有工作表")
            ws = wb.worksheets[0]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise ImportFileError(path, f"找不到工作表「{sheet}」（现有：{'、'.join(names)}）")
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # saved dimensions are often wrong; read every row that is there
        records: list[tuple[int, list[Any]]] = []
        formulas: dict[tuple[int, int], str] = {}
        for r, row in enumerate(ws.iter_rows(min_row=1), start=1):
            cells = []
            for c, cell in enumerate(row):
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f" and value is not None:
                    value = getattr(value, "text", None) or str(value)
                    formulas[(r, c)] = value
                cells.append(value)
            records.append((r, cells))
        other_sheets = [n for n in names if n != ws.title]
        title = ws.title
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(path, f"XLSX 文件已损坏或不完整，读取失败（{type(exc).__name__}）") from exc
    finally:
        wb.close()
    if formulas:
        _fill_cached_values(path, data, title, records, formulas, notes)
    return records, title, notes, other_sheets, formulas


def _fill_cached_values(path: Path, data: bytes, title: str, records: list[tuple[int, list[Any]]],
                        formulas: dict[tuple[int, int], str], notes: list[Issue]) -> None:
    """Replace formula cells with the value Excel last computed; keep the formula as plain text when there is none."""
    import openpyxl

    cached: dict[tuple[int, int], Any] = {}
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb[title]
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            for r, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
                for c, value in enumerate(row):
                    if (r, c) in formulas:
                        cached[(r, c)] = value
        finally:
            wb.close()
    except Exception:  # the first pass read the file; a failure here only loses cached values
        cached = {}
    by_row = dict(records)
    for (r, c), formula in formulas.items():
        value = cached.get((r, c))
        if value is not None:
            by_row[r][c] = value
        else:
            notes.append(Issue(r, f"第{c + 1}列", "单元格是公式且没有计算结果，按原文本保存（不会执行）", formula))


def _cell_text(value: Any) -> str:
    """One cell as text: numbers without a spurious ``.0``, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:-9] if text.endswith("T00:00:00") else text
    return str(value)


def _build_table(path: Path, fmt: str, encoding: str | None, sheet: str | None, records: list[tuple[int, list[Any]]],
                 notes: list[Issue], other_sheets: list[str],
                 formulas: dict[tuple[int, int], str] | None = None) -> ParsedTable:
    """Find the header row (the first one with a 企业名称 column), then turn data rows into `TableRow`s."""
    nonempty = [(r, cells) for r, cells in records if any(_cell_text(c).strip() for c in cells)]
    if not nonempty:
        raise ImportFileError(path, "文件没有内容（没有任何非空单元格）")
    header_at = None
    for idx, (_r, cells) in enumerate(nonempty[:HEADER_SCAN_ROWS]):
        mapping, _unknown = map_headers([_cell_text(c) for c in cells])
        if "name" in mapping.values():
            header_at = idx
            break
    if header_at is None:
        first = [_cell_text(c).strip() for c in nonempty[0][1] if _cell_text(c).strip()]
        shown = "、".join(h[:30] for h in first[:12]) or "（空）"
        where = f"工作表「{sheet}」" if sheet else "表头"
        hint = f"；可用 --sheet 指定其他工作表（现有：{'、'.join(other_sheets)}）" if other_sheets else ""
        raise ImportFileError(path, f"{where}中找不到企业名称列（第一行为：{shown}）。请把企业名称所在列命名为"
                                    f"“企业名称”（或 公司名称 / 名称 / name / company）{hint}")
    header_row, header_cells = nonempty[header_at]
    raw_headers = [_cell_text(c).strip() for c in header_cells]
    mapping, unknown = map_headers(raw_headers)
    headers = _unique_headers(raw_headers)
    for note in notes:  # a cell note names its column by its header, as the user sees it
        m = re.fullmatch(r"第(\d+)列", note.field)
        if m and int(m.group(1)) <= len(raw_headers) and raw_headers[int(m.group(1)) - 1]:
            note.field = headers[int(m.group(1)) - 1]
    columns: dict[str, list[str]] = {}
    for i, f in sorted(mapping.items()):
        columns.setdefault(f, []).append(headers[i])
    rows: list[TableRow] = []
    for r, cells in nonempty[header_at + 1:]:
        texts = [_cell_text(c) for c in cells]
        original = {}
        for i, t in enumerate(texts):
            if t.strip():
                original[headers[i] if i < len(headers) else f"第{i + 1}列"] = t
        values: dict[str, str] = {}
        row_formulas: dict[str, str] = {}
        for i, f in sorted(mapping.items()):
            v = _clean(texts[i]) if i < len(texts) else ""
            if formulas and (r, i) in formulas:
                row_formulas.setdefault(f, formulas[(r, i)])
            if not v:
                continue
            if f not in values:
                values[f] = v
            elif f in TEXT_FIELDS and v not in values[f]:
                values[f] = f"{values[f]}；{v}"
        rows.append(TableRow(r, values, original, row_formulas))
    if not rows:
        raise ImportFileError(path, f"只有表头（第 {header_row} 行），没有数据行")
    for h in unknown:
        notes.append(Issue(header_row, h, "未识别的列，已忽略", "", "warning"))
    return ParsedTable(path, fmt, encoding, sheet, header_row, headers, columns, unknown, rows, notes)


def _unique_headers(headers: list[str]) -> list[str]:
    """Headers usable as dict keys: empty ones named by position, repeated ones numbered."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        h = h or f"第{i + 1}列"
        if h in seen:
            seen[h] += 1
            h = f"{h}（{seen[h]}）"
        else:
            seen[h] = 1
        out.append(h)
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(value: str) -> str:
    """A stored value: control characters and lone surrogates removed, CRLF → LF, outer whitespace stripped.

    Leading ``= + - @`` are kept: values are data, never formulas; exports escape them.
    """
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


# ---------------------------------------------------------------------------------------------------------------
# Row rules
# ---------------------------------------------------------------------------------------------------------------
_CONTENT = ("name", "region", "district", "description", "products", "needs", "industry", "employees", "revenue",
            "registered_capital")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")
_UNIT_TAIL = re.compile(r"(万元|亿元|元|万|人|名|个)$")


def _check_uscc(code: str) -> tuple[str, bool, str]:
    """(compact code, valid, reason when invalid) by GB 32100-2015 via python-stdnum."""
    compact = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", code)).upper()
    try:
        stdnum_uscc.validate(compact)
        return compact, True, ""
    except stdnum_errors.InvalidLength:
        return compact, False, f"统一社会信用代码应为 18 位（此处 {len(compact)} 位），按无效代码保存，不用于去重"
    except stdnum_errors.InvalidChecksum:
        return compact, False, "统一社会信用代码校验位不符（GB 32100-2015），按无效代码保存，不用于去重"
    except stdnum_errors.ValidationError:
        return compact, False, "统一社会信用代码含非法字符（GB 32100-2015），按无效代码保存，不用于去重"


def _number(text: str) -> float | None:
    """A count or amount from a cell (``1,200``, ``350人``, ``1.5万元`` → 1200, 350, 1.5); ``None`` when not a number."""
    t = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    t = _UNIT_TAIL.sub("", t)
    if _NUMBER.match(t):
        value = float(t)
        return value if abs(value) < 1e300 else None
    return None


def validate_rows(table: ParsedTable) -> tuple[list[GoodRow], list[Issue]]:
    """Apply the row rules to a parsed table.

    Rows without 企业名称 are rejected; an invalid USCC is kept (``uscc_valid=0``) with a warning; rows with the same
    valid USCC, or without one and with the same name, are merged (later non-empty values win) and reported as
    duplicates.

    Returns:
        ``(good_rows, issues)``: one `GoodRow` per firm, and every rejected row, warning and merge.
    """
    issues: list[Issue] = list(table.notes)
    good: list[GoodRow] = []
    by_code: dict[str, GoodRow] = {}
    by_name: dict[str, list[GoodRow]] = {}
    label = {f: (hs[0] if hs else FIELDS[f]) for f, hs in table.columns.items()}
    name_header_keys = {name_key(h) for h in table.columns.get("name", [])}

    for trow in table.rows:
        values, r = trow.fields, trow.row
        name = values.get("name", "")
        if not name:
            issues.append(Issue(r, label.get("name", "企业名称"), "缺少企业名称，整行未导入",
                                _preview(" | ".join(trow.original.values())), "rejected"))
            continue
        if name_key(name) in name_header_keys:
            issues.append(Issue(r, label["name"], "重复的表头行，已跳过", _preview(name), "rejected"))
            continue
        suspect = suspicious_name(name, trow.formulas.get("name"))
        if suspect:
            issues.append(Issue(r, label["name"], f"{suspect}，不作为企业保存：已隔离，改正后重新导入",
                                _preview(trow.formulas.get("name") or name), "quarantined"))
            continue
        if len(name) > 200:
            issues.append(Issue(r, label["name"], f"企业名称过长（{len(name)} 字），请核对", _preview(name)))
        firm: dict[str, Any] = {"name": name, "uscc": None, "uscc_valid": None}
        if values.get("uscc"):
            code, valid, reason = _check_uscc(values["uscc"])
            firm["uscc"], firm["uscc_valid"] = code, int(valid)
            if not valid:
                issues.append(Issue(r, label["uscc"], reason, _preview(values["uscc"])))
        for f in ("description", "products", "needs", "industry", "registered_capital"):
            firm[f] = values.get(f) or None
        for f in ("employees", "revenue"):
            firm[f] = None
            if values.get(f):
                firm[f] = _number(values[f])
                if firm[f] is None:
                    issues.append(Issue(r, label[f], f"{FIELDS[f]}不是数字，未保存该值（原文保留）",
                                        _preview(values[f])))
        region, district = _region_of(values, name)
        if values.get("region") and region is None:
            issues.append(Issue(r, label["region"], "无法识别所在地区（应为西安/咸阳/西咸新区及区县），地区留空",
                                _preview(values["region"])))
        firm["region"], firm["district"] = region, district
        firm["source_row"] = r
        firm["original"] = dict(trow.original)

        key = name_key(name)
        target, dup = None, None
        if firm["uscc_valid"] == 1 and firm["uscc"] in by_code:
            target = by_code[firm["uscc"]]
            dup = Issue(r, label["uscc"], f"统一社会信用代码与第 {target.row} 行相同，已合并", firm["uscc"], "duplicate")
        else:
            candidates = [g for g in by_name.get(key, []) if firm["uscc_valid"] != 1 or g.firm["uscc_valid"] != 1]
            if len(candidates) == 1:
                target = candidates[0]
                dup = Issue(r, label["name"], f"企业名称与第 {target.row} 行相同（无可区分的有效信用代码），已合并",
                            _preview(name), "duplicate")
        if target is not None and dup is not None:
            merge_firm(target.firm, firm)
            target.merged_rows.append(r)
            if target.firm["uscc_valid"] == 1:
                by_code[target.firm["uscc"]] = target
            issues.append(dup)
            continue
        g = GoodRow(r, firm)
        good.append(g)
        if firm["uscc_valid"] == 1:
            by_code[firm["uscc"]] = g
        by_name.setdefault(key, []).append(g)
    return good, issues


def suspicious_name(name: str, formula: str | None = None) -> str | None:
    """Why a firm name cannot be a firm's name (a formula, a link), or ``None`` when it can."""
    if formula or name.lstrip().startswith(("=", "+", "@")) or re.search(r"(?i)\b(HYPERLINK|IMPORTXML|WEBSERVICE)\s*\(", name):
        return "企业名称是公式"
    if _URL.search(name):
        return "企业名称是网址或链接"
    return None


def _region_of(values: dict[str, str], name: str) -> tuple[str | None, str | None]:
    """Region from the region column first, the address next (its district when consistent), the name last."""
    region, district = parse_region(values.get("region"))
    a_region, a_district = parse_region(values.get("address"))
    if region is None:
        region, district = a_region, a_district
    elif district is None and a_region == region:
        district = a_district
    if region is None:
        region, district = parse_region(name)
    return region, district


def merge_firm(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge a later row into a firm in place: non-empty later values fill or update; a valid code is never lost."""
    for f in _CONTENT:
        if f == "district":
            continue
        if new.get(f) not in (None, ""):
            if f == "region":
                same = target.get("region") == new["region"]
                target["district"] = new.get("district") or (target.get("district") if same else None)
            target[f] = new[f]
    if new.get("uscc") and (new.get("uscc_valid") == 1 or target.get("uscc_valid") != 1):
        target["uscc"], target["uscc_valid"] = new["uscc"], new["uscc_valid"]
    original = target.get("original")
    if not isinstance(original, dict):
        original = {} if original in (None, "") else {"_previous": original}
    original.update({k: v for k, v in (new.get("original") or {}).items() if v not in (None, "")})
    target["original"] = original
    target["source_row"] = new.get("source_row", target.get("source_row"))


def _preview(value: object, limit: int = 200) -> str:
    """A value shortened for the report."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + f"……（共 {len(text)} 字）"


# ---------------------------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------------------------
def import_file(store: Store, path: str | os.PathLike[str], sheet: str | None = None,
                report_path: str | os.PathLike[str] | None = None) -> ImportResult:
    """Import a firm list into the store in one transaction and write the report.

    An existing firm with the same valid USCC (or, lacking one, the same name) is updated; all others are inserted.
    A ``runs`` row (kind ``import``) records the file, its SHA-256 and the counts.

    Args:
        store: the open store.
        path: CSV or XLSX file.
        sheet: XLSX worksheet (default: the first).
        report_path: where to write the report CSV; default ``<db folder>/reports/import-<run>-<file>.csv``.

    Raises:
        ImportFileError: the whole file cannot be used; the database is left untouched.
    """
    store.require("招商", "导入企业名单")
    p = Path(path)
    table = read_table(p, sheet)
    good, issues = validate_rows(table)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    started = now()
    quarantined = [i for i in issues if i.level == "quarantined"]
    rejected = sum(1 for i in issues if i.level == "rejected") + len(quarantined)  # a quarantined row is not stored
    duplicates = sum(1 for i in issues if i.level == "duplicate")
    warnings = sum(1 for i in issues if i.level == "warning")
    for g in good:
        g.firm["source_file"] = str(p)
    originals = {t.row: t.original for t in table.rows}
    run = {"input_path": str(p), "input_sha256": digest, "rows": len(table.rows), "rejected": rejected,
           "kb_version": kb.current(store)["version"], "started_at": started,
           "params": {"sheet": table.sheet, "encoding": table.encoding, "format": table.format,
                      "duplicates": duplicates, "warnings": warnings, "unknown_columns": table.unknown_columns}}
    reports: list[Path] = []
    numbers: list[int] = []

    def finish(run_id: int, inserted: int, updated: int) -> str:
        numbers.append(run_store.run_number(store, run_id) or 0)
        reports.append(write_report(Path(report_path) if report_path else _default_report(store.path, p, numbers[0]),
                                    issues))
        store.quarantine_rows(run_id, str(p), [{"source_row": i.row, "name": i.value, "field": i.field,
                                                 "reason": i.reason, "original": originals.get(i.row or 0)}
                                                for i in quarantined])
        store.audit("导入企业名单", str(p), after={"run": numbers[0], "rows": len(table.rows), "inserted": inserted,
                                                  "updated": updated, "rejected": rejected, "sha256": digest,
                                                  "quarantined": len(quarantined)})
        return str(reports[0])

    inserted, updated, run_id = firm_store.save_import(store, [g.firm for g in good], merge_firm, run, finish)
    report = reports[0]
    return ImportResult(p, len(table.rows), inserted + updated, inserted, updated, rejected, duplicates, warnings,
                        report, run_id, table.encoding, table.unknown_columns, issues, len(quarantined), numbers[0])


def _default_report(db_path: Path, source: Path, number: int) -> Path:
    """``<db folder>/reports/import-00012-<file stem>.csv`` (导入 12), the stem sanitised for any file system."""
    stem = safe_filename(source.stem, 60)
    return db_path.parent / "reports" / f"import-{number:05d}-{stem}.csv"


def safe_cell(value: object) -> str:
    """A cell Excel shows as text: values starting with = + - @ tab or CR get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def report_rows(issues: Iterable[Issue]) -> list[list[Any]]:
    """The import report's rows (行号, 字段, 类型, 原因, 值), cells safe to open in Excel."""
    ordered = sorted(issues, key=lambda i: -1 if i.row is None else i.row)  # file notes first, then by row
    return [["" if i.row is None else i.row, safe_cell(i.field), LEVEL_LABELS.get(i.level, i.level), i.reason,
             safe_cell(i.value)] for i in ordered]


def report_bytes(issues: Iterable[Issue]) -> bytes:
    """The import report as CSV, UTF-8 with BOM so Excel opens it (the file `write_report` writes)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(REPORT_COLUMNS)
    w.writerows(report_rows(issues))
    return buf.getvalue().encode("utf-8-sig")


def write_report(path: str | os.PathLike[str], issues: Iterable[Issue]) -> Path:
    """Write the import report (see `report_bytes`); atomic replace."""
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(report_bytes(issues))
    return target
