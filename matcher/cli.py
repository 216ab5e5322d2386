"""The ``matcher`` command line: a thin layer over the library; every command works on a fresh clone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="西咸新区产业链招商匹配工具")
kb_app = typer.Typer(no_args_is_help=True, help="知识库：产业体系、产业链、园区")
eval_app = typer.Typer(no_args_is_help=True, help="在标注集上评估")
app.add_typer(kb_app, name="kb")
config_app = typer.Typer(no_args_is_help=True, help="匹配参数（权重与阈值，models/matcher.toml）")
app.add_typer(eval_app, name="eval")
app.add_typer(config_app, name="config")

DbOption = typer.Option(None, "--db", help="数据库文件（默认 MATCHER_DB 或 data/matcher.db）")


def _store(db: Path | None):
    from matcher.knowledge.kb import open_store

    return open_store(db)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def echo_json(obj: object) -> None:
    """Print one JSON object on one line: the machine-readable last line of a command."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="企业名单：CSV（UTF-8 / GBK 自动识别）或 XLSX")],
    db: Path | None = DbOption,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX 工作表名（默认第一个工作表）")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="导入报告 CSV（默认写在数据库旁的 reports/ 下）")] = None,
) -> None:
    """导入企业名单；被拒绝的行和警告（行号、字段、原因）写入报告，最后一行输出 JSON 统计。"""
    import sqlite3

    from matcher.ingest.importer import ImportFileError, import_file

    try:
        store = _store(db)
        try:
            result = import_file(store, file, sheet=sheet, report_path=report)
        finally:
            store.close()
    except ImportFileError as exc:
        _fail(f"导入失败，数据库未改动。{exc}")
        return
    except (OSError, sqlite3.Error) as exc:
        _fail(f"导入失败，数据库未改动。文件 {file}：{exc}")
        return
    typer.echo(f"导入 {file}：读取 {result.rows} 行，保存 {result.stored} 家企业（新增 {result.inserted}，更新 "
               f"{result.updated}），拒绝 {result.rejected} 行，合并重复 {result.duplicates} 行，警告 {result.warnings} 条；"
               f"报告：{result.report}")
    echo_json(result.as_dict())


@kb_app.command("validate")
def kb_validate(
    path: Annotated[Path | None, typer.Option("--dir", help="知识库文件目录（默认 data/kb）")] = None,
    stored: Annotated[bool, typer.Option("--stored", help="检查数据库中的当前版本，而不是文件")] = False,
    db: Path | None = DbOption,
) -> None:
    """检查知识库：字段、引用（体系和园区提到的产业链都存在）、来源与可信度、GB/T 4754 代码与环节关键词。"""
    from matcher import paths
    from matcher.knowledge import kb

    try:
        if stored:
            store = _store(db)
            try:
                data, label = kb.current(store), f"数据库 {store.path} 知识库版本 {kb.version(store)}"
            finally:
                store.close()
        else:
            data, label = kb.load_dir(path), str(path or paths.KB_DIR)
    except kb.KBError as exc:
        _fail(f"知识库无法读取：{exc}")
        return
    problems = kb.validate(data)
    for p in problems:
        typer.secho(str(p), fg=typer.colors.RED, err=True)
    counts = {k: len(data[k]) for k in kb.KINDS}
    summary = f"{label}：体系 {counts['systems']} 个、产业链 {counts['chains']} 条、园区 {counts['parks']} 个；"
    if problems:
        _fail(summary + f"发现 {len(problems)} 个问题。")
        return
    typer.echo(summary + "检查通过。")
    echo_json({"ok": True, "problems": 0, **counts})


@kb_app.command("dump")
def kb_dump(
    db: Path | None = DbOption,
    indent: Annotated[int | None, typer.Option("--indent", help="缩进空格数（默认单行）")] = None,
) -> None:
    """以一个 JSON 对象输出整个知识库（version、systems、chains、parks）。"""
    from matcher.knowledge import kb

    store = _store(db)
    try:
        data = kb.dump(store)
    finally:
        store.close()
    typer.echo(json.dumps(data, ensure_ascii=False, indent=indent))


@kb_app.command("show")
def kb_show(
    name: Annotated[str, typer.Argument(help="产业链名称或别名、体系 id 或名称、园区名称")],
    db: Path | None = DbOption,
) -> None:
    """查看一条产业链、一个产业体系或一个园区。"""
    from matcher.knowledge import kb

    store = _store(db)
    try:
        from matcher.terminal import kb_view

        typer.echo(kb_view(store, name))
    except kb.KBError as exc:
        _fail(str(exc))
    finally:
        store.close()


@kb_app.command("edit")
def kb_edit(
    kind: Annotated[str, typer.Argument(help="chain / system / park（或 产业链 / 体系 / 园区）")],
    name: Annotated[str, typer.Argument(help="产业链名称、体系 id 或园区名称；不存在时新建")],
    author: Annotated[str, typer.Option("--author", help="修改人")],
    reason: Annotated[str, typer.Option("--reason", help="修改原因")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="字段=值，值可写 JSON（如 aliases='[\"光伏\"]'）；可重复")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="JSON 文件：要设置的字段对象")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="删除该条目")] = False,
    db: Path | None = DbOption,
) -> None:
    """修改知识库并保存为新版本（记录修改人、时间、原因；旧版本保留可查）。"""
    from matcher.knowledge import kb

    changes: dict[str, object] = {}
    if file:
        try:
            loaded = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            _fail(f"{file}：无法读取为 JSON（{exc}）")
            return
        if not isinstance(loaded, dict):
            _fail(f"{file}：应为 JSON 对象（字段: 值）")
            return
        changes.update(loaded)
    for pair in set_ or []:
        field, sep, raw = pair.partition("=")
        if not sep or not field.strip():
            _fail(f"--set {pair!r}：应写成 字段=值")
            return
        changes[field.strip()] = kb.parse_value(raw)  # JSON, or plain text
    store = _store(db)
    try:
        new_version = kb.edit(store, kind, name, changes, author, reason, delete=delete)
    except kb.KBError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"已保存为知识库版本 {new_version}（修改人 {author}）。")
    echo_json({"version": new_version, "kind": kind, "name": name})


@kb_app.command("history")
def kb_history(
    name: Annotated[str | None, typer.Argument(help="条目名称；不填则列出全部版本")] = None,
    db: Path | None = DbOption,
) -> None:
    """列出某条目（或整个知识库）的修改历史：版本、时间、修改人、原因、改动字段。"""
    from matcher.knowledge import kb

    store = _store(db)
    try:
        rows = kb.history(store, name)
    except kb.KBError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    for r in rows:
        fields = f"（字段：{'、'.join(r['fields'])}）" if r["fields"] else ""
        typer.echo(f"版本 {r['version']}　{r['created_at']}　{r['author']}　{r['change']}{fields}　{r['reason']}")
    echo_json(rows)


@kb_app.command("import")
def kb_import(
    author: Annotated[str, typer.Option("--author", help="导入人")],
    path: Annotated[Path | None, typer.Option("--dir", help="知识库文件目录（默认 data/kb）")] = None,
    reason: Annotated[str, typer.Option("--reason", help="导入原因")] = "导入知识库文件",
    db: Path | None = DbOption,
) -> None:
    """把知识库文件（校验通过后）导入数据库，保存为新版本。"""
    from matcher.knowledge import kb

    store = _store(db)
    try:
        new_version = kb.import_dir(store, path, author=author, reason=reason)
    except kb.KBError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"已导入为知识库版本 {new_version}。")
    echo_json({"version": new_version})


class _Bar:
    """A tqdm progress bar on stderr (rate and ETA) fed by the library's ``(done, total)`` callback."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        import shutil

        from tqdm import tqdm

        if self.bar is None:
            size = shutil.get_terminal_size((100, 20))  # a terminal that reports no size gets 100×20
            self.bar = tqdm(total=total, initial=done, desc=self.desc, unit="家", ncols=size.columns or 100,
                            nrows=size.lines or 20, mininterval=0.5)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def _task(bar: _Bar, interrupted: str, failures: dict[Any, Callable[[Exception], str]]) -> Iterator[None]:
    """Run a long step behind a progress bar: on every way out the bar is closed first, then a Ctrl-C says what was
    kept (exit 130) and each expected failure becomes one Chinese line (exit 1)."""
    try:
        yield
    except KeyboardInterrupt:
        bar.close()
        typer.secho(interrupted, fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(code=130) from None
    except Exception as exc:
        for kinds, message in failures.items():
            if isinstance(exc, kinds):
                bar.close()
                _fail(message(exc))
        raise
    finally:
        bar.close()


@app.command("batch")
def batch_cmd(
    file: Annotated[Path, typer.Argument(help="企业名单：CSV 或 XLSX（与 matcher import 相同的格式和规则）")],
    output: Annotated[Path, typer.Option("-o", "--output", help="结果工作簿 .xlsx（原子写入）")],
    db: Path | None = DbOption,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX 工作表名（默认第一个工作表）")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="每类保留前 k 项（产业链、行业、载体、供应商、客户）")] = 3,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="每批写入检查点的企业数")] = 200,
    restart: Annotated[bool, typer.Option("--restart", help="不续跑未完成的同一任务，重新开始")] = False,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=16,
                                                help="并行匹配的进程数（默认每个 CPU 核一个，最多 4 个）")] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="在 Dask 集群上匹配：local（本机启动 --workers 个"
                                                "工作进程）或调度器地址 tcp://主机:8786；结果与本机运行相同")] = None,
) -> None:
    """批量匹配企业名单并写出结果工作簿；中断后再次运行同一命令从检查点继续。最后一行输出 JSON。"""
    import sqlite3

    from matcher.ingest.importer import ImportFileError
    from matcher.parallel import default_workers
    from matcher.work.batch import BatchError, run_batch
    from matcher.work.cluster import ClusterError

    bar = _Bar("匹配")
    failures: dict[Any, Callable[[Exception], str]] = {
        ImportFileError: lambda exc: f"批量匹配失败，未写出结果。{exc}",
        BatchError: lambda exc: f"批量匹配失败：{exc}",
        ClusterError: lambda exc: f"批量匹配失败：{exc}；已完成的分区已保存，再次运行同一命令可续跑。",
        (OSError, sqlite3.Error): lambda exc: f"批量匹配失败（文件 {file} → {output}）：{exc}；再次运行同一命令可从最后的检查点继续。",
    }
    with _task(bar, "已中断；再次运行同一命令即可从最后的检查点继续。", failures), closing(_store(db)) as store:
        result = run_batch(store, file, output, sheet=sheet, k=k, chunk_size=chunk_size, progress=bar,
                           restart=restart, status=lambda line: typer.echo(line, err=True),
                           workers=workers or default_workers(), cluster=cluster)
    resumed = f"（从第 {result.resumed_from + 1} 家续跑）" if result.resumed_from else ""
    typer.echo(f"批量匹配 {file}：读取 {result.rows} 行，匹配 {result.matched} 家企业{resumed}，拒绝 {result.rejected} 行；"
               f"用时 {result.elapsed:.1f} 秒（其中匹配 {result.match_seconds:.1f} 秒，{result.rate:.1f} 家/秒）；"
               f"结果：{result.output}；报告：{result.report}")
    if result.parquet:
        typer.echo(f"企业数超过 Excel 单个工作表的上限（1,048,575 行）：匹配结果和匹配明细已写为 Parquet："
                   f"{'、'.join(str(p) for p in result.parquet)}；{result.output} 为汇总工作簿（封面、各产业链企业数、未导入行）。")
    echo_json(result.as_dict())


@app.command("screen")
def screen_cmd(
    file: Annotated[Path, typer.Argument(help="企业池：Parquet（或 UTF-8 CSV），列名与 matcher import 相同")],
    output: Annotated[Path, typer.Option("-o", "--output", help="筛查结果 .parquet（原子写入，按输入顺序）")],
    db: Path | None = DbOption,
    block: Annotated[int, typer.Option("--block", min=100, help="每块企业数（Parquet 行组；集群上的一个任务）")] = 2000,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64,
                                                help="工作进程数（本机或 --cluster local；默认每个 CPU 核一个）")] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="在 Dask 集群上筛查：local 或调度器地址 tcp://主机:8786")] = None,
) -> None:
    """全国/全省企业池筛查：只给产业链归属、行业小类和落地载体（不含供应商与客户），结果写为 Parquet。最后一行输出 JSON。"""
    from matcher.knowledge import kb
    from matcher.parallel import default_workers
    from matcher.work.cluster import ClusterError
    from matcher.work.screen import ScreenError, run_screen

    bar = _Bar("筛查")
    failures: dict[Any, Callable[[Exception], str]] = {
        ScreenError: lambda exc: f"筛查失败：{exc}",
        ClusterError: lambda exc: f"筛查失败：{exc}",
        OSError: lambda exc: f"筛查失败（文件 {file} → {output}）：{exc}",
    }
    with _task(bar, "已中断；未写出结果文件。", failures), closing(_store(db)) as store:
        kb_dict = kb.current(store)
        result = run_screen(kb_dict, file, output, block=block, cluster=cluster,
                            workers=workers or default_workers(), progress=bar)
    typer.echo(f"筛查 {file}：读取 {result.rows} 行，筛查 {result.screened} 家企业，跳过无名称 {result.skipped} 行；"
               f"用时 {result.elapsed:.1f} 秒（每秒 {result.as_dict()['firms_per_s']} 家，{result.workers} 个工作进程）；"
               f"结果：{result.output}")
    echo_json(result.as_dict())


@app.command("audit")
def audit_cmd(
    db: Path | None = DbOption,
    user: Annotated[str | None, typer.Option("--user", help="只看该用户的修改")] = None,
    since: Annotated[str | None, typer.Option("--since", help="从该日期（YYYY-MM-DD，北京时间）起")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多列出几条（最新的在前）")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
) -> None:
    """审计记录：每一次修改（导入、知识库修改、反馈、批量匹配……）由谁、何时做出，改前改后各是什么。最后一行输出 JSON。"""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from matcher.store.audit import entries

    local = ZoneInfo("Asia/Shanghai")
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since).replace(tzinfo=local).astimezone(ZoneInfo("UTC")).isoformat()
        except ValueError:
            _fail(f"--since 应为日期，如 2026-11-30，收到 {since!r}")
            return
    store = _store(db)
    try:
        rows = entries(store, user=user, since=start, limit=limit)
    finally:
        store.close()
    for r in rows:
        r["at_local"] = datetime.fromisoformat(r["at"]).astimezone(local).strftime("%Y-%m-%d %H:%M:%S")
    if not as_json:
        for r in rows:
            typer.echo(f"{r['at_local']}  {r['user']}  {r['action']}  {r.get('target') or ''}  {r.get('note') or ''}")
        if not rows:
            typer.echo("没有审计记录。")
    echo_json(rows)


@app.command("runs")
def runs_cmd(
    db: Path | None = DbOption,
    kind: Annotated[str | None, typer.Option("--kind", help="只列出一类：import / batch / firms")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多列出几条（最新的在前）")] = 20,
) -> None:
    """列出导入和批量匹配的运行记录：输入文件、行数、版本、参数、起止时间、输出文件。最后一行输出 JSON。"""
    from matcher.store.runs import list_runs
    from matcher.terminal import runs_table

    store = _store(db)
    try:
        runs = list_runs(store, kind=kind, limit=limit)
    finally:
        store.close()
    typer.echo(runs_table(runs) if runs else "还没有运行记录。")
    echo_json(runs)


@app.command("export")
def export_cmd(
    which: Annotated[str, typer.Argument(help="cobuild（重点产业链共建清单）/ supply-demand（企业供需信息清单）/ matches（匹配结果）")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="输出 .xlsx 或 .csv（或文件夹）；默认“清单名_筛选_日期.xlsx”")] = None,
    run: Annotated[int | None, typer.Option("--run", help="取该次批量匹配的结果（matches 默认最近一次）")] = None,
    chain: Annotated[str | None, typer.Option("--chain", help="只导出该产业链（名称或别名）")] = None,
    region: Annotated[str | None, typer.Option("--region", help="只导出该地区：西安 / 咸阳 / 西咸新区 / 新城或区县")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="库内企业需要重新匹配时，每类保留前 k 项")] = 3,
    db: Path | None = DbOption,
) -> None:
    """导出清单（中文表头、冻结首行、筛选、封面说明；CSV 为带 BOM 的 UTF-8）。最后一行输出 JSON。"""
    import sqlite3

    from matcher.work.batch import BatchError, firms_run
    from matcher.work.export import ExportError, export_list

    bar = _Bar("匹配库内企业")
    failures: dict[Any, Callable[[Exception], str]] = {
        (ExportError, BatchError): lambda exc: f"导出失败：{exc}",
        (OSError, sqlite3.Error): lambda exc: f"导出失败（{output or which}）：{exc}",
    }
    with _task(bar, "已中断，未写出文件；库内企业的匹配已按检查点保存，再次导出时继续。", failures), \
            closing(_store(db)) as store:
        firms = None
        if run is None and which != "matches" and store.count_firms():
            # The lists rest on every stored firm's matches: made once per index version, kept in the database.
            firms = firms_run(store, k=k, progress=bar)["id"]
        result = export_list(store, which, output, run_id=run, firms_run_id=firms, chain=chain, region=region, k=k)
    typer.echo(f"已导出 {result.rows} 行 → {result.path}")
    echo_json(result.as_dict())



# -- matching -----------------------------------------------------------------------------------------------------

def _store_matcher(store):
    from matcher.match.engine import Matcher
    from matcher.parallel import default_workers

    return Matcher.for_store(store, workers=default_workers())


@app.command("index")
def index_cmd(
    db: Path | None = DbOption,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="即使索引是最新的也重建")] = False,
    samples: Annotated[bool, typer.Option("--samples/--no-samples", help="数据库没有企业时导入 data/sample 示例企业")] = True,
    lists: Annotated[bool | None, typer.Option("--lists/--no-lists",
                                               help="同时匹配库内全部企业（共建清单、供需清单所需；默认仅在不超过 20000 家时）")] = None,
) -> None:
    """建立（或确认已是最新的）检索索引：企业词法索引、向量索引、产业链与行业分类器。"""
    import time

    from matcher.ingest.samples import load_samples
    from matcher.match.engine import Matcher
    from matcher.parallel import default_workers

    store = _store(db)
    loaded = load_samples(store) if samples and store.count_firms() == 0 else 0
    started = time.time()
    m = Matcher.for_store(store, rebuild=rebuild, workers=default_workers())
    typer.echo(f"索引就绪：{len(m.ids_)} 家企业，知识库版本 {m.kb_version_}，向量模型 {m.model_version_}")
    if lists is None:  # matching every firm takes a few ms each: do it up front only for small stores
        lists = 0 < len(m.ids_) <= 20_000
        if not lists and len(m.ids_):
            typer.echo("库内企业较多：共建清单、供需清单会在首次导出时匹配全部企业（或运行 matcher index --lists）")
    if lists and len(m.ids_):
        from matcher.work.batch import firms_run

        bar = _Bar("匹配库内企业")
        try:
            firms_run(store, progress=bar, workers=default_workers())
        finally:
            bar.close()
    echo_json({"firms": int(len(m.ids_)), "samples_loaded": loaded, "kb_version": m.kb_version_,
               "model": m.model_version_, "build": m.build_key_, "seconds": round(time.time() - started, 2)})


@app.command("search")
def search_cmd(
    text: Annotated[str, typer.Argument(help="查询文本，如“光伏组件 逆变器”")],
    db: Path | None = DbOption,
    k: Annotated[int, typer.Option("-k", help="返回条数")] = 10,
    region: Annotated[str | None, typer.Option("--region", help="西安 / 咸阳 / 西咸新区")] = None,
    chain: Annotated[str | None, typer.Option("--chain", help="只看某条产业链上的企业")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """在已存企业中检索（关键词 + 语义混合检索，筛选在截断前生效）。"""
    from matcher.match.results import Filters

    store = _store(db)
    hits = _store_matcher(store).search(text, k=k, filters=Filters(region=region, chain=chain))
    if as_json:
        echo_json([h.as_dict() for h in hits])
        return
    for i, h in enumerate(hits, 1):
        typer.echo(f"{i:>2}. [{h.score:.3f}] {h.label}（{h.data.get('region') or '地区未知'}）— {h.reason}")
    echo_json({"query": text, "hits": len(hits)})


@app.command("match")
def match_cmd(
    query: Annotated[str, typer.Argument(help="企业编号，或一段企业描述文本")],
    db: Path | None = DbOption,
    k: Annotated[int, typer.Option("-k", help="每类返回条数")] = 5,
    region: Annotated[str | None, typer.Option("--region", help="供需对象所在地区：西安 / 咸阳 / 西咸新区")] = None,
    system: Annotated[str | None, typer.Option("--system", help="只看某个产业体系（编号或名称）")] = None,
    park: Annotated[str | None, typer.Option("--park", help="只看某个园区或新城")] = None,
    all_parks: Annotated[bool, typer.Option("--all-parks", help="推荐园区含西安主城、咸阳的园区（默认只推荐西咸新区承接地）")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出完整 JSON")] = False,
) -> None:
    """匹配一家企业：所属产业链与环节、国民经济行业小类、推荐园区、潜在供应商与客户，附理由。"""
    from matcher.match.results import Filters

    store = _store(db)
    m = _store_matcher(store)
    try:
        res = m.match(query, filters=Filters(region=region, system=system, park=park, all_parks=all_parks), k=k,
                      store=store)
    except (KeyError, ValueError) as exc:
        _fail(str(exc.args[0] if exc.args else exc))
        return
    if as_json:
        echo_json(res.as_dict())
        return
    title = res.firm["name"] if res.firm else res.query_text[:40]
    typer.echo(f"== {title}")
    typer.echo("产业链：" + (f"不属于重点产业链（none，概率 {res.none_prob:.2f}）" if res.none else ""))
    for h in res.chains:
        typer.echo(f"  [{h.score:.2f}] {h.reason}")
    for s in res.systems:
        typer.echo(f"  · {s['system']}：" + "、".join(f"{i['item']}" for i in s["items"]))
    typer.echo("行业小类：")
    for h in res.industries[:3]:
        typer.echo(f"  [{h.score:.2f}] {h.label}")
    typer.echo("推荐园区：")
    for h in res.parks:
        typer.echo(f"  [{h.score:.2f}] {h.reason}")
    for name, hits in (("潜在供应商", res.suppliers), ("潜在客户", res.customers)):
        typer.echo(f"{name}：" + ("（暂无）" if not hits else ""))
        for h in hits:
            typer.echo(f"  [{h.score:.2f}] {h.reason}")
    echo_json({"firm": res.firm["id"] if res.firm else None, "none": res.none,
               "chain": res.chains[0].target if res.chains else "none",
               "industry": res.industries[0].target if res.industries else None,
               "park": res.parks[0].target if res.parks else None,
               "suppliers": len(res.suppliers), "customers": len(res.customers)})


@config_app.command("show")
def config_show(
    file: Annotated[Path | None, typer.Option("--file", help="参数文件（默认 models/matcher.toml）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示匹配参数：每个回答器（产业链、行业、园区、供需、检索）的权重与阈值。"""
    from matcher.match.config import ConfigError, MatcherConfig

    try:
        cfg = MatcherConfig.load(file)
    except ConfigError as exc:
        _fail(str(exc))
        return
    if not as_json:
        typer.echo(f"# {cfg.source}（摘要 {cfg.digest()}）")
        typer.echo(cfg.to_toml())
    echo_json({"file": cfg.source, "digest": cfg.digest(), **cfg.as_dict()})


# -- evaluation and training ---------------------------------------------------------------------------------------

ModeOption = typer.Option("--mode", help="fused（默认）/ lexical / dense")
PredOption = typer.Option("--predictions", help="逐行预测写入 CSV：id, label, prediction, top5")


def _eval_rows(file: Path):
    from matcher.match.evaluate import EvalFileError, read_labelled

    try:
        return read_labelled(file)
    except EvalFileError as exc:
        _fail(str(exc))


@eval_app.command("industries")
def eval_industries_cmd(file: Path, mode: Annotated[str, ModeOption] = "fused",
                        predictions: Annotated[Path | None, PredOption] = None) -> None:
    """国民经济行业小类：输出 n, top1, top5, mrr（评估行自身的战新产品清单不进入索引）。"""
    from matcher.match.embed import Embedder
    from matcher.match.evaluate import evaluate_industries, write_predictions

    rows = _eval_rows(file)
    metrics, preds = evaluate_industries(rows, Embedder(), mode=mode)
    if predictions:
        write_predictions(predictions, rows, preds)
    echo_json({**metrics, "mode": mode})


@eval_app.command("parks")
def eval_parks_cmd(file: Path, db: Path | None = DbOption, mode: Annotated[str, ModeOption] = "fused",
                   predictions: Annotated[Path | None, PredOption] = None) -> None:
    """园区（新城）推荐：输出 n, hit1, hit3。"""
    from matcher.knowledge import kb
    from matcher.match.engine import Matcher
    from matcher.match.evaluate import evaluate_parks, write_predictions

    rows = _eval_rows(file)
    store = _store(db)
    metrics, preds = evaluate_parks(rows, Matcher().fit_kb(kb.current(store)), mode=mode)
    if predictions:
        write_predictions(predictions, rows, preds)
    echo_json({**metrics, "mode": mode})


@eval_app.command("chains")
def eval_chains_cmd(file: Path, db: Path | None = DbOption, mode: Annotated[str, ModeOption] = "fused",
                    predictions: Annotated[Path | None, PredOption] = None,
                    chainkg: Annotated[Path | None, typer.Option("--chainkg", help="交叉验证所需负例来源（上市公司产品数据）")] = None) -> None:
    """重点产业链：输出 n, accuracy, macro_f1, in_chain_accuracy, none_accuracy, top3。"""
    from matcher.ingest.samples import default_chainkg, negatives_for
    from matcher.knowledge import kb
    from matcher.match.engine import Matcher
    from matcher.match.evaluate import EvalFileError, evaluate_chains, write_predictions

    rows = _eval_rows(file)
    store = _store(db)
    m = Matcher().fit_kb(kb.current(store))
    folder = chainkg or default_chainkg()
    negatives = negatives_for(m.kb_, folder, rows) if folder else None
    try:
        metrics, preds = evaluate_chains(rows, m, mode=mode, negatives=negatives)
    except EvalFileError as exc:
        _fail(str(exc))
        return
    if predictions:
        write_predictions(predictions, rows, preds)
    echo_json({**metrics, "mode": mode})


@app.command("train-embedder")
def train_embedder_cmd(
    out: Annotated[Path | None, typer.Option("--out", help="模型目录（默认 models/embedder）")] = None,
    epochs: Annotated[int, typer.Option("--epochs")] = 4,
    dim: Annotated[int, typer.Option("--dim")] = 128,
    exclude: Annotated[list[Path] | None, typer.Option("--exclude", help="不参与训练的评估集 CSV（可多次）")] = None,
) -> None:
    """用仓库自带数据训练中文领域向量模型（固定随机种子，数据哈希记入 MANIFEST.json）。"""
    from matcher.match.embed import train_embedder
    from matcher.match.evaluate import holdout_texts, read_labelled

    texts: set[str] = set()
    for f in exclude or []:
        texts |= holdout_texts(read_labelled(f))
    manifest = train_embedder(out, dim=dim, epochs=epochs, exclude_texts=texts, log=typer.echo)
    echo_json({k: manifest[k] for k in ("version", "dim", "vocab_size", "pairs", "train_seconds", "excluded_texts")})


@app.command("train-chains")
def train_chains_cmd(
    labelled: Annotated[list[Path], typer.Argument(help="标注 CSV（text, label），如 chains_dev.csv")],
    chainkg: Annotated[Path | None, typer.Option("--chainkg", help="上市公司产品数据目录（提供 none 负例）")] = None,
    db: Path | None = DbOption,
) -> None:
    """训练产业链文本模型（TF-IDF + 逻辑回归），写入 models/chains.joblib。"""
    from matcher.ingest.samples import default_chainkg, negatives_for
    from matcher.knowledge import kb
    from matcher.match.chains import train
    from matcher.match.evaluate import read_labelled

    store = _store(db)
    rows = [r for f in labelled for r in read_labelled(f)]
    folder = chainkg or default_chainkg()
    negatives = negatives_for(kb.current(store), folder, rows) if folder else []
    texts = [r["text"] for r in rows] + negatives
    labels = [r["label"].split("|")[0] for r in rows] + ["none"] * len(negatives)
    info = train(texts, labels, sources={"labelled": ", ".join(p.name for p in labelled),
                                         "negatives": f"{len(negatives)} listed companies outside the key chains"})
    echo_json({k: v for k, v in info.items() if k != "classes"} | {"classes": len(info["classes"])})


def main() -> None:
    """Entry point of the ``matcher`` console script."""
    app()


if __name__ == "__main__":
    main()
