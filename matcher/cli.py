"""The ``matcher`` command line: a thin layer over the library; every command works on a fresh clone."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer carries its own copy of click from 0.16 on: its commands raise that copy's exceptions
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click  # type: ignore[no-redef]

# Help is plain text in Chinese, as wide as the terminal (at least HELP_WIDTH columns): nothing is cut off.
HELP_WIDTH = 120
_HELP_WORDS = (("Usage: ", "用法："), ("Options:", "选项："), ("Commands:", "命令："), ("Arguments:", "参数："),
               ("Show this message and exit.", "显示本帮助并退出。"), ("[default: ", "[默认："), ("[required]", "[必填]"),
               ("[default:", "[默认："), ("[OPTIONS]", "[选项]"), ("COMMAND [ARGS]...", "命令 [参数]..."),
               ("[ARGS]...", "[参数]..."))


def _zh(text: str) -> str:
    for en, zh in _HELP_WORDS:
        text = text.replace(en, zh)
    return text


# click's usage errors, said in Chinese (the message patterns of click 8).
_ERROR_WORDS = (
    (r"No such option: (\S+)(?: Did you mean (\S+)\?)?", lambda m: f"没有这个选项：{m[1]}" + (f"（是否想用 {m[2]}？）" if m[2] else "")),
    (r"No such option: (\S+)\s*\(Possible options: (.+)\)", lambda m: f"没有这个选项：{m[1]}（可用：{m[2]}）"),
    (r"Missing argument '(.+?)'\.?", lambda m: f"缺少参数 {m[1]}。"),
    (r"Missing option '(.+?)'\.?", lambda m: f"缺少选项 {m[1]}。"),
    (r"Got unexpected extra arguments? \((.+)\)", lambda m: f"多余的参数：{m[1]}"),
    (r"No such command '(.+?)'\.?", lambda m: f"没有这个命令：{m[1]}。"),
    (r"Option '(.+?)' requires an argument\.?", lambda m: f"选项 {m[1]} 需要一个值。"),
    (r"Invalid value for '(.+?)': (.+)", lambda m: f"{m[1]} 的取值无效：{_zh_value(m[2])}"),
)


def _zh_value(text: str) -> str:
    for en, zh in (("Input should be a valid integer, unable to parse string as an integer", "应为整数"),
                   ("Input should be a valid number, unable to parse string as a number", "应为数字"),
                   ("Input should be a valid boolean", "应为是/否"), ("Input should be", "应为"),
                   ("is not a valid integer", "不是整数"), ("is not a valid float", "不是数字"),
                   ("is not one of", "不在可选值中："), ("does not exist", "不存在"), ("is not in the range", "不在范围内："),
                   ("Path ", "路径 "), ("File ", "文件 ")):
        text = text.replace(en, zh)
    return text


class ChineseUsageError(click.exceptions.UsageError):
    """A usage error (unknown option, missing argument …) told in Chinese, with the usage line and the help hint."""

    def show(self, file: Any = None) -> None:
        file = file or sys.stderr
        message = self.message
        for pattern, say in _ERROR_WORDS:
            if m := re.fullmatch(pattern, message.strip()):
                message = say(m)
                break
        if self.ctx is not None:
            click.echo(_zh(self.ctx.get_usage()), file=file)
            click.echo(f"查看帮助：{self.ctx.command_path} --help\n", file=file)
        click.echo(f"错误：{message}", file=file)


@contextmanager
def _in_chinese(ctx: Any) -> Iterator[None]:
    """click's usage errors raised inside, raised again as :class:`ChineseUsageError`."""
    try:
        yield
    except click.exceptions.UsageError as exc:
        if isinstance(exc, ChineseUsageError):
            raise
        raise ChineseUsageError(exc.format_message(), exc.ctx or ctx) from None


class _ChineseHelp:
    """Help text of a command or group in Chinese, full width, with its first paragraph never shortened; usage
    errors in Chinese too."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with _in_chinese(ctx):
            return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        with _in_chinese(ctx):
            return super().resolve_command(ctx, args)  # type: ignore[misc]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super().format_help(ctx, formatter)  # type: ignore[misc]
        formatter.buffer[:] = [_zh(piece) for piece in formatter.buffer]

    def get_short_help_str(self, limit: int = 45) -> str:
        text = getattr(self, "short_help", None) or (getattr(self, "help", None) or "").strip().split("\n\n")[0]
        return " ".join(text.split())


class ChineseCommand(_ChineseHelp, TyperCommand):
    """A command whose ``--help`` is in Chinese and not cut at 80 columns."""


class ChineseGroup(_ChineseHelp, TyperGroup):
    """A command group whose ``--help`` is in Chinese and not cut at 80 columns."""


def _typer(help_text: str, **kwargs: Any) -> typer.Typer:
    """A command group with Chinese plain-text help at least ``HELP_WIDTH`` wide."""
    width = max(HELP_WIDTH, shutil.get_terminal_size((HELP_WIDTH, 24)).columns)
    return typer.Typer(no_args_is_help=True, help=help_text, cls=ChineseGroup, rich_markup_mode=None,
                       context_settings={"max_content_width": width, "terminal_width": width}, **kwargs)


app = _typer("西咸新区产业链招商匹配工具", add_completion=False)
kb_app = _typer("知识库：产业体系、产业链、园区")
eval_app = _typer("在标注集上评估")
app.add_typer(kb_app, name="kb")
config_app = _typer("匹配参数（权重与阈值，models/matcher.toml）")
users_app = _typer("账户：添加、列出、改密码、停用、改角色（在服务器上由管理员运行）")
app.add_typer(eval_app, name="eval")
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")

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
    file: Annotated[Path | None, typer.Argument(help="企业名单：CSV（UTF-8 / GBK 自动识别）或 XLSX")] = None,
    db: Path | None = DbOption,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX 工作表名（默认第一个工作表）")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="导入报告 CSV（默认写在数据库旁的 reports/ 下）")] = None,
    undo: Annotated[int | None, typer.Option("--undo", help="撤销该编号的导入（matcher runs 中导入的编号，从 1 起）：新增的企业删除，被更新的企业恢复原值")] = None,
    force: Annotated[bool, typer.Option("--force", help="与 --undo 同用：之后的导入也改过这些企业时仍然撤销")] = False,
) -> None:
    """导入企业名单；被拒绝的行和警告（行号、字段、原因）写入报告，最后一行输出 JSON 统计。--undo 编号 撤销一次导入。"""
    import sqlite3

    from matcher.ingest.importer import ImportFileError, import_file

    if undo is not None:
        _undo_import(db, undo, force)
        return
    if file is None:
        _fail("请给出要导入的文件，或用 --undo 编号 撤销一次导入。")
        return
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
    typer.echo(f"导入 {file}（导入 {result.number}）：读取 {result.rows} 行，保存 {result.stored} 家企业（新增 {result.inserted}，更新 "
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
            self.bar = None

    def say(self, line: str) -> None:
        """A status line on stderr, below the bar (which it ends: the step it counted is over)."""
        self.close()
        typer.echo(line, err=True)


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
                           restart=restart, status=bar.say, workers=workers or default_workers(), cluster=cluster)
    resumed = f"（从第 {result.resumed_from + 1} 家续跑）" if result.resumed_from else ""
    typer.echo(f"批量匹配 {file}（批次 {result.number}）：读取 {result.rows} 行，匹配 {result.matched} 家企业{resumed}，拒绝 {result.rejected} 行；"
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
    from matcher.store.audit import entries, since_utc

    start = None
    if since:
        try:
            start = since_utc(since)
        except ValueError:
            _fail(f"--since 应为日期，如 2026-11-30，收到 {since!r}")
            return
    store = _store(db)
    try:
        rows = entries(store, user=user, since=start, limit=limit)
    finally:
        store.close()
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
    """列出导入和批量匹配的运行记录：编号、输入文件、行数、版本、参数、起止时间、输出文件。最后一行输出 JSON。

    编号按类型各自从 1 起（批次 1、2 …，导入 1、2 …），即 matcher export --run 和 matcher import --undo 所用的编号。"""
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
    run: Annotated[int | None, typer.Option("--run", help="取该批次的结果：批次编号，即 matcher runs 中批量匹配的编号，从 1 起（matches 默认最近一次）")] = None,
    chain: Annotated[str | None, typer.Option("--chain", help="只导出该产业链（名称或别名）")] = None,
    region: Annotated[str | None, typer.Option("--region", help="只导出该地区：西安 / 咸阳 / 西咸新区 / 新城或区县")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="库内企业需要重新匹配时，每类保留前 k 项")] = 3,
    db: Path | None = DbOption,
) -> None:
    """导出清单（中文表头、冻结首行、筛选、封面说明；CSV 为带 BOM 的 UTF-8）。最后一行输出 JSON。"""
    import sqlite3

    from matcher.work.batch import BatchError, firms_run
    from matcher.work.export import ExportError, batch_run, export_list

    bar = _Bar("匹配库内企业")
    failures: dict[Any, Callable[[Exception], str]] = {
        (ExportError, BatchError): lambda exc: f"导出失败：{exc}",
        (OSError, sqlite3.Error): lambda exc: f"导出失败（{output or which}）：{exc}",
    }
    with _task(bar, "已中断，未写出文件；库内企业的匹配已按检查点保存，再次导出时继续。", failures), \
            closing(_store(db)) as store:
        firms = None
        run_id = batch_run(store, run)["id"] if run is not None else None
        if run is None and which != "matches" and store.count_firms():
            # The lists rest on every stored firm's matches: made once per index version, kept in the database.
            firms = firms_run(store, k=k, progress=bar)["id"]
        result = export_list(store, which, output, run_id=run_id, firms_run_id=firms, chain=chain, region=region, k=k)
    typer.echo(f"已导出 {result.rows} 行 → {result.path}")
    echo_json(result.as_dict())



# -- accounts, backups --------------------------------------------------------------------------------------------
RoleArg = Annotated[str, typer.Argument(help="角色：查看（检索、查看、导出）/ 招商（另可反馈、导入、批量匹配）/ 管理（另可改知识库、管理用户）")]
UserArg = Annotated[str, typer.Argument(help="用户名")]


def _password(confirm: bool = True) -> str:
    """A password typed twice, never echoed nor taken from the command line (it would stay in the shell history)."""
    return str(typer.prompt("密码（至少 8 位）", hide_input=True, confirmation_prompt=confirm and "再输入一次"))


def _users_do(db: Path | None, action: Any, *args: Any) -> None:
    """Run one account change on the store; a refused change exits non-zero with the reason."""
    from matcher.store import PermissionDenied
    from matcher.store.users import AccountError

    store = _store(db)
    try:
        action(store, *args)
    except (AccountError, PermissionDenied) as exc:
        _fail(str(exc))
    finally:
        store.close()


@users_app.command("add")
def users_add(name: UserArg, role: Annotated[str, typer.Option("--role", help="查看 / 招商 / 管理（第一个账户须为管理）")] = "招商",
              db: Path | None = DbOption) -> None:
    """添加账户；密码在提示时输入两次（不回显、不写入命令历史），以 argon2 哈希保存。"""
    from matcher.store.users import add_user

    _users_do(db, add_user, name, _password(), role)
    typer.echo(f"已添加用户 {name}（{role}）")
    echo_json({"user": name, "role": role, "ok": True})


@users_app.command("list")
def users_list(db: Path | None = DbOption) -> None:
    """列出账户：用户名、角色、是否停用、最近登录时间。最后一行输出 JSON。"""
    from matcher.store.users import list_users

    store = _store(db)
    try:
        rows = list_users(store)
    finally:
        store.close()
    for r in rows:
        typer.echo(f"{r['name']}  {r['role']}  {'已停用' if r['disabled'] else '可用'}  最近登录：{_local_time(r['last_login_at'])}")
    if not rows:
        typer.echo("还没有账户：应用在本机以单用户模式运行。用 matcher users add 名字 --role 管理 添加第一个管理账户。")
    echo_json(rows)


@users_app.command("passwd")
def users_passwd(name: UserArg, db: Path | None = DbOption) -> None:
    """重设账户密码（同时清除失败登录计数）。"""
    from matcher.store.users import set_password

    _users_do(db, set_password, name, _password())
    typer.echo(f"已修改 {name} 的密码")
    echo_json({"user": name, "ok": True})


@users_app.command("disable")
def users_disable(name: UserArg, enable: Annotated[bool, typer.Option("--enable", help="改为重新启用该账户")] = False,
                  db: Path | None = DbOption) -> None:
    """停用账户（不能再登录，其审计记录保留）；加 --enable 重新启用。"""
    from matcher.store.users import set_disabled

    _users_do(db, set_disabled, name, not enable)
    typer.echo(f"已{'启用' if enable else '停用'}用户 {name}")
    echo_json({"user": name, "disabled": not enable, "ok": True})


@users_app.command("role")
def users_role(name: UserArg, role: RoleArg, db: Path | None = DbOption) -> None:
    """修改账户角色。"""
    from matcher.store.users import set_role

    _users_do(db, set_role, name, role)
    typer.echo(f"{name} 的角色已改为 {role}")
    echo_json({"user": name, "role": role, "ok": True})


@app.command("backup")
def backup_cmd(
    folder: Annotated[Path | None, typer.Argument(help="备份文件夹（默认数据库旁的 backups/）")] = None,
    keep: Annotated[int, typer.Option("--keep", min=1, help="保留最近几份备份（更早的删除）")] = 7,
    db: Path | None = DbOption,
) -> None:
    """在线备份数据库（应用运行、导入进行时也可以）：复制、完整性检查、轮换旧备份。最后一行输出 JSON。"""
    from matcher.store.backup import BackupError, backup

    try:
        result = backup(db, folder, keep=keep)
    except BackupError as exc:
        _fail(str(exc))
        return
    typer.echo(f"已备份 → {result['backup']}（{result['bytes']} 字节，{result['firms']} 家企业，完整性检查通过）")
    echo_json(result)


@app.command("restore")
def restore_cmd(
    copy: Annotated[Path, typer.Argument(help="要恢复的备份文件")],
    db: Path | None = DbOption,
) -> None:
    """用备份替换数据库：先检查备份和版本，当前文件另存一份，再原子替换。请先停止应用。最后一行输出 JSON。"""
    import os

    from matcher.store.backup import BackupError, restore

    try:
        result = restore(copy, db, user=os.environ.get("MATCHER_USER"))
    except BackupError as exc:
        _fail(str(exc))
        return
    typer.echo(f"已恢复 {result['restored']} → {result['db']}；原数据库另存为 {result['previous'] or '（无）'}")
    echo_json(result)



# -- matching -----------------------------------------------------------------------------------------------------

def _store_matcher(store):
    from matcher.match.engine import Matcher
    from matcher.parallel import default_workers

    return Matcher.for_store(store, workers=default_workers())


def _check_query(text: str) -> str:
    """The query trimmed; an empty or whitespace-only query exits non-zero with a plain message."""
    if not (text or "").strip():
        _fail("查询不能为空：请输入企业编号，或一段企业描述（如“光伏组件 逆变器”）。")
    return text.strip()


def _unknown(what: str, value: str, valid: Sequence[str]) -> None:
    import difflib

    valid = list(dict.fromkeys(valid))
    close = difflib.get_close_matches(value, valid, n=5, cutoff=0.3)
    hint = f"相近的有：{'、'.join(close)}；" if close else ""
    _fail(f"没有{what}“{value}”。{hint}可用的值：{'、'.join(valid)}")


def _check_filters(store: Any, region: str | None = None, chain: str | None = None, system: str | None = None,
                   park: str | None = None) -> str | None:
    """Refuse a filter value the knowledge base or region list does not know (listing the valid ones).

    Returns:
        the official chain name for ``chain`` (an alias is accepted), or ``None``.
    """
    from matcher.knowledge import kb
    from matcher.knowledge.regions import local_regions

    if region and region not in local_regions():
        _unknown("地区", region, local_regions())
    data = kb.current(store)
    if chain:
        names = {c["name"]: c["name"] for c in data["chains"]}
        names.update({a: c["name"] for c in data["chains"] for a in c.get("aliases") or []})
        if chain not in names:
            _unknown("产业链", chain, [c["name"] for c in data["chains"]])
        chain = names[chain]
    if system:
        systems = [s["id"] for s in data["systems"]] + [s["name"] for s in data["systems"]]
        if system not in systems:
            _unknown("产业体系", system, [f"{s['name']}（{s['id']}）" for s in data["systems"]])
    if park:
        places = [p["name"] for p in data["parks"]] + [p["new_city"] for p in data["parks"] if p.get("new_city")]
        if park not in places:
            _unknown("园区或新城", park, places)
    return chain



@app.command("index")
def index_cmd(
    db: Path | None = DbOption,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="即使索引是最新的也重建")] = False,
    samples: Annotated[bool, typer.Option("--samples/--no-samples",
                                          help="演示库：数据库没有企业时导入 data/sample 的示例企业（工作库不要用）")] = False,
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
    reused = int(getattr(m, "reused_", 0))
    typer.echo(f"索引就绪：{len(m.ids_)} 家企业，知识库版本 {m.kb_version_}，向量模型 {m.model_version_}"
               + (f"（{reused} 家未改动的企业沿用上次的计算）" if reused else ""))
    if lists is None:  # matching every firm takes a few ms each: do it up front only for small stores
        from matcher.work.batch import LISTS_UP_TO

        lists = 0 < len(m.ids_) <= LISTS_UP_TO
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
               "model": m.model_version_, "build": m.build_key_, "reused": reused,
               "seconds": round(time.time() - started, 2)})


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

    text = _check_query(text)
    store = _store(db)
    chain = _check_filters(store, region=region, chain=chain)
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

    query = _check_query(query)
    store = _store(db)
    _check_filters(store, region=region, system=system, park=park)
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
    if res.query is not None and res.query.summary():
        typer.echo(f"识别为：{res.query.summary()}")
    typer.echo("产业链：" + (f"不属于重点产业链（none，概率 {res.none_prob:.2f}）" if res.none else ""))
    for h in res.chains:
        typer.echo(f"  [{h.score:.2f}] {h.reason}")
    if res.none and res.nearest:
        typer.echo("  最接近的产业链（证据不足以归入）：")
        for h in res.nearest:
            typer.echo(f"  [{h.score:.2f}] {h.reason}")
    for s in res.systems:
        typer.echo(f"  · {s['system']}：" + "、".join(f"{i['item']}" for i in s["items"]))
    typer.echo("行业小类：")
    for h in res.industries[:3]:
        typer.echo(f"  [{h.score:.2f}] {h.reason}")
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
def eval_industries_cmd(file: Path, db: Path | None = DbOption, mode: Annotated[str, ModeOption] = "fused",
                        predictions: Annotated[Path | None, PredOption] = None) -> None:
    """国民经济行业小类：输出 n, top1, top5, mrr（评估行自身的战新产品清单不进入索引；产业链取自知识库当前版本）。"""
    from matcher.knowledge import kb
    from matcher.match.embed import Embedder
    from matcher.match.engine import Matcher
    from matcher.match.evaluate import evaluate_industries, write_predictions

    rows = _eval_rows(file)
    matcher = Matcher().fit_kb(kb.current(_store(db)))
    metrics, preds = evaluate_industries(rows, Embedder(), mode=mode, matcher=matcher)
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
    from matcher.ingest.samples import default_chainkg
    from matcher.knowledge import kb
    from matcher.match.engine import Matcher
    from matcher.match.evaluate import EvalFileError, evaluate_chains, write_predictions

    rows = _eval_rows(file)
    store = _store(db)
    m = Matcher().fit_kb(kb.current(store))
    try:
        metrics, preds = evaluate_chains(rows, m, mode=mode, chainkg=chainkg or default_chainkg())
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


def _relative(path: Path) -> str:
    """A path as the project root sees it (``../shared/…``, ``data/train/…``), so a saved model names its sources
    the same way on every checkout."""
    from matcher import paths

    return os.path.relpath(path.resolve(), paths.ROOT)


@app.command("train-chains")
def train_chains_cmd(
    labelled: Annotated[list[Path], typer.Argument(help="标注 CSV（text, label），如 chains_dev.csv")],
    chainkg: Annotated[Path | None, typer.Option("--chainkg", help="上市公司产品数据目录（按申万行业标注的训练样本）")] = None,
    exclude: Annotated[list[Path] | None, typer.Option("--exclude", help="不参与训练的评估集 CSV（可多次）")] = None,
    db: Path | None = DbOption,
) -> None:
    """训练产业链文本模型（TF-IDF + 逻辑回归）：上市公司数据的两种写法、知识库生成的句子，写入 models/chains.joblib。"""
    from matcher.ingest.samples import default_chainkg
    from matcher.knowledge import kb
    from matcher.match.chains import ChainClassifier, train, understand
    from matcher.match.evaluate import holdout_texts, read_labelled
    from matcher.match.text import normalize
    from matcher.match.training import training_set

    store = _store(db)
    kb_dict = kb.current(store)
    rows = [r for f in labelled for r in read_labelled(f)]
    held = [r for f in exclude or [] for r in read_labelled(f)]
    held_texts = holdout_texts(held)
    rows = [r for r in rows if normalize(r["text"]) not in held_texts]
    folder = chainkg or default_chainkg()
    texts, labels, counts = training_set([(r["text"], r["label"].split("|")[0]) for r in rows], kb_dict, folder,
                                         exclude_ids={r["id"] for r in rows + held})
    from matcher import paths
    clf = ChainClassifier(kb_dict, model_path=paths.MODELS_DIR / "none.joblib").fit()  # keywords and synonyms only
    info = train(texts, labels, prepare=lambda t: clf.model_text(understand(t)),
                 sources={"labelled_files": [_relative(p) for p in labelled], "excluded": len(held), **counts,
                          "listed_data": "ChainKG listed companies (申万2021 industries → chains via the KB)"})
    echo_json({k: v for k, v in info.items() if k != "classes"} | {"classes": len(info["classes"])})


@app.command("tune")
def tune_cmd(
    db: Path | None = DbOption,
    counterparts_set: Annotated[list[Path] | None, typer.Option(
        "--counterparts-set", help="供需标注集目录（store.csv、store_labels.csv、queries.csv），可多次给出")] = None,
    chains_set: Annotated[list[Path] | None, typer.Option(
        "--chains-set", help="产业链标注集（CSV：text,label），可多次给出")] = None,
    parks_set: Annotated[list[Path] | None, typer.Option(
        "--parks-set", help="落地载体标注集（CSV：text,label，label 为新城，多个用 | 分隔），可多次给出")] = None,
    folds: Annotated[int, typer.Option("--folds", help="交叉验证折数")] = 5,
    write: Annotated[bool, typer.Option("--write", help="学到的权重在交叉验证中不差于现有权重时写入 models/matcher.toml")] = False,
) -> None:
    """从反馈标记（有效/无效/已对接/已签约）和标注集学习供需、产业链、落地载体的融合权重（逻辑回归），输出交叉验证报告。"""
    import tempfile

    from matcher import paths
    from matcher.match.config import CONFIG_FILE
    from matcher.match.evaluate import read_labelled
    from matcher.work.tune import (
        Examples,
        answer_examples,
        check_on_sets,
        current_answer_weights,
        from_counterparts_set,
        from_feedback,
        tune,
        tune_answer,
        write_weights,
    )

    store = _store(db)
    matcher = _store_matcher(store)
    config_file = paths.MODELS_DIR / CONFIG_FILE
    examples = from_feedback(matcher, store, Examples())
    marks = len(examples.y)
    for folder in counterparts_set or []:
        with tempfile.TemporaryDirectory() as work:
            from_counterparts_set(folder, Path(work), examples)
    answers: dict[str, dict[str, Any]] = {}
    for kind, section, sets in (("chain", "chains", chains_set), ("park", "parks", parks_set)):
        labelled = [(r["text"], set(str(r["label"]).split("|"))) for path in sets or [] for r in read_labelled(path)]
        ex = answer_examples(matcher, store, kind, labelled, tag=section)
        answers[section] = r = tune_answer(ex, current_answer_weights(matcher, kind), kind, folds)
        if r["accept"] and sets:
            r["check"] = check_on_sets(store, matcher.config, section, r["weights"], list(sets))
            r["accept"] = not r["check"]["worse"]
    if len(set(examples.y)) < 2 and not any(r["accept"] or r.get("cv") for r in answers.values()):
        _fail("样本不足：需要既有有效也有无效的反馈标记，或给出 --counterparts-set / --chains-set / --parks-set")
        return
    report: dict[str, Any] = tune(examples, matcher.config.counterparts, folds) if len(set(examples.y)) >= 2 else \
        {"examples": 0, "good": 0, "queries": 0, "roles": {}, "weights": {}, "accept": False}
    report["marks"] = marks
    typer.echo(f"供需：样本 {report['examples']} 条（反馈 {marks} 条），查询 {report['queries']} 个")
    for role, r in report["roles"].items():
        name = ("供应商" if role.startswith("suppliers") else "客户") + ("（已说明采购需求）" if role.endswith("_asked") else "")
        typer.echo(f"{name}：交叉验证平均准确率（前 5 名 MAP）现有 "
                   f"{r['cv']['current']:.3f}，学到 {r['cv']['learned']:.3f}，{'采用' if r['accept'] else '不采用'}")
    for section, r in answers.items():
        name = {"chains": "产业链", "parks": "落地载体"}[section]
        if r.get("cv"):
            worse = "（标注集评估变差）" if r.get("check", {}).get("worse") else ""
            typer.echo(f"{name}：样本 {r['examples']} 条，交叉验证平均准确率（前 5 名 MAP）现有 {r['cv']['current']:.3f}，"
                       f"学到 {r['cv']['learned']:.3f}，{'采用' if r['accept'] else '不采用'}{worse}")
        else:
            typer.echo(f"{name}：{r.get('note', '没有样本')}")
    report.update(answers)
    if write:
        written = []
        sources = [p.name for p in (counterparts_set or []) + (chains_set or []) + (parks_set or [])]
        origin = f"from {marks} marks" + (f" and {', '.join(sources)}" if sources else "")
        if report["accept"]:
            cvs = "; ".join(f"{role} {r['cv']['current']:.3f} → {r['cv']['learned']:.3f}"
                            for role, r in report["roles"].items() if r["accept"])
            write_weights(config_file, report["weights"],
                          f"Learned by `matcher tune` (logistic regression, {folds}-fold CV by query, MAP@5: {cvs}) "
                          f"{origin}.")
            written.append("counterparts")
        for section, r in answers.items():
            if r["accept"]:
                write_weights(config_file, r["weights"],
                              f"Learned by `matcher tune` (logistic regression, {folds}-fold CV by query, MAP@5: "
                              f"{r['cv']['current']:.3f} → {r['cv']['learned']:.3f}) {origin}.", section)
                written.append(section)
        typer.echo(f"已写入 models/matcher.toml {' '.join(f'[{w}]' for w in written)}" if written
                   else "学到的权重不如现有权重，未写入")
    echo_json(report)


# -- the 承接 work: firms, samples, projects and targets, events, the two lists --------------------------------------
firms_app = _typer("企业管理：查看、修改、删除、合并（每次修改留审计记录）")
samples_app = _typer("示例企业：演示库载入、从数据库中清除")
app.add_typer(firms_app, name="firms")
app.add_typer(samples_app, name="samples")


def _undo_import(db: Path | None, number: int, force: bool) -> None:
    from matcher.work.firms import FirmError, import_run, undo_import

    store = _store(db)
    try:
        result = undo_import(store, import_run(store, number)["id"], force=force)
    except (FirmError, PermissionError) as exc:
        _fail(f"撤销失败，数据库未改动。{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已撤销导入 {number}：删除该次新增的企业 {result.removed} 家，恢复被更新的企业 {result.restored} 家。")
    echo_json(result.as_dict())


def _firm_line(f: dict[str, Any], samples: set[int]) -> str:
    mark = "（示例）" if f["id"] in samples else ""
    return f"{f['id']:>6}  {f['name']}{mark}  {f.get('region') or '地区未知'}  {f.get('district') or ''}".rstrip()


@firms_app.command("list")
def firms_list(
    text: Annotated[str | None, typer.Argument(help="名称中包含的文字（简繁体均可）；不填列出全部")] = None,
    db: Path | None = DbOption,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多列出几家")] = 50,
) -> None:
    """按名称查找库内企业（简繁体互通），示例企业标明“示例”。最后一行输出 JSON。"""
    from matcher.store.firms import find_firms
    from matcher.work.firms import sample_ids

    store = _store(db)
    try:
        rows, samples = find_firms(store, text, limit=limit), sample_ids(store)
    finally:
        store.close()
    for f in rows:
        typer.echo(_firm_line(f, samples))
    if not rows:
        typer.echo("没有找到企业。")
    echo_json([dict(f, sample=f["id"] in samples) for f in rows])


@firms_app.command("show")
def firms_show(firm_id: Annotated[int, typer.Argument(help="企业编号")], db: Path | None = DbOption) -> None:
    """查看一家企业的全部字段和修改记录。最后一行输出 JSON。"""
    from matcher.store.firm_edits import firm_history, firm_row
    from matcher.work.firms import FIELD_LABELS, sample_ids

    store = _store(db)
    try:
        firm = firm_row(store, firm_id)
        if firm is None:
            _fail(f"没有编号为 {firm_id} 的企业")
            return
        history = firm_history(store, firm_id)
        sample = firm_id in sample_ids(store)
    finally:
        store.close()
    typer.echo(f"== {firm['name']}（编号 {firm_id}{'，示例企业' if sample else ''}）")
    for col, label in FIELD_LABELS.items():
        typer.echo(f"  {label}：{'' if firm.get(col) is None else firm[col]}")
    for e in history:
        typer.echo(f"  · {_local_time(e['at'])} {e['user']} {e['action']}")
    echo_json({"firm": firm, "sample": sample, "history": history})


def _local_time(stamp: str | None) -> str:
    from matcher.store.audit import local_time

    return local_time(stamp, seconds=False)


@firms_app.command("edit")
def firms_edit(
    firm_id: Annotated[int, typer.Argument(help="企业编号")],
    set_: Annotated[list[str], typer.Option("--set", help="字段=值（字段用中文或列名，如 所在地区=西咸新区）；可重复")],
    db: Path | None = DbOption,
) -> None:
    """修改一家企业的字段；审计记录保存修改人、时间、改前改后。最后一行输出 JSON。"""
    from matcher.work.firms import FirmError, edit_firm

    values = {}
    for pair in set_:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            _fail(f"--set {pair!r}：应写成 字段=值")
            return
        values[field.strip()] = value
    store = _store(db)
    try:
        firm = edit_firm(store, firm_id, values)
    except (FirmError, PermissionError) as exc:
        _fail(f"修改失败：{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已修改企业 {firm_id}（{firm['name']}）。")
    echo_json(firm)


@firms_app.command("delete")
def firms_delete(firm_id: Annotated[int, typer.Argument(help="企业编号")], db: Path | None = DbOption) -> None:
    """删除一家企业（需“管理”权限）；删除前的内容保留在审计记录中。最后一行输出 JSON。"""
    from matcher.work.firms import FirmError, delete_firm

    store = _store(db)
    try:
        before = delete_firm(store, firm_id)
    except (FirmError, PermissionError) as exc:
        _fail(f"删除失败：{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已删除企业 {firm_id}（{before['name']}）。")
    echo_json({"deleted": firm_id, "name": before["name"]})


@firms_app.command("merge")
def firms_merge(
    keep: Annotated[int, typer.Argument(help="保留的企业编号")],
    drop: Annotated[int, typer.Argument(help="并入后删除的企业编号")],
    db: Path | None = DbOption,
) -> None:
    """把一家重复的企业并入另一家：空字段取被并入企业的值，反馈与清单记录随之转移（需“管理”权限）。最后一行输出 JSON。"""
    from matcher.work.firms import FirmError, merge_firms

    store = _store(db)
    try:
        firm = merge_firms(store, keep, drop)
    except (FirmError, PermissionError) as exc:
        _fail(f"合并失败：{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已把企业 {drop} 并入企业 {keep}（{firm['name']}）。")
    echo_json({"kept": keep, "merged": drop, "firm": firm})


@samples_app.command("load")
def samples_load(db: Path | None = DbOption) -> None:
    """向（演示）数据库载入 data/sample 的示例企业，并标记为示例。最后一行输出 JSON。"""
    from matcher.ingest.samples import load_samples

    store = _store(db)
    try:
        loaded = load_samples(store)
    finally:
        store.close()
    typer.echo(f"已载入示例企业 {loaded} 家（均标记为“示例”，可用 matcher samples remove 清除）。")
    echo_json({"loaded": loaded})


@samples_app.command("remove")
def samples_remove(db: Path | None = DbOption) -> None:
    """从数据库中清除全部示例企业（真实企业不受影响）。最后一行输出 JSON。"""
    from matcher.work.firms import remove_samples

    store = _store(db)
    try:
        removed = remove_samples(store)
        left = store.count_firms()
    except PermissionError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"已清除示例企业 {removed} 家；库内还有企业 {left} 家。")
    echo_json({"removed": removed, "firms": left})

projects_app = _typer("项目库：谋划 → 储备 → 在谈 → 签约 → 开工 → 投产（每次阶段变动留历史）")
app.add_typer(projects_app, name="projects")


def _project_line(p: dict[str, Any]) -> str:
    money = f"{p['investment']:g}亿元" if p.get("investment") is not None else "投资待定"
    where = "·".join(x for x in (p.get("new_city"), p.get("park")) if x) or "落地待定"
    return f"{p['id']:>4}  [{p['stage']}] {p['name']}  {p['kind']}  {p.get('chain') or '产业链待定'}  {where}  {money}"


@projects_app.command("add")
def projects_add(
    name: Annotated[str, typer.Argument(help="项目名称")],
    kind: Annotated[str, typer.Option("--kind", help="主城产业溢出 / 咸阳合作示范 / 链式分工 / 示范项目")],
    chain: Annotated[str | None, typer.Option("--chain", help="产业链")] = None,
    new_city: Annotated[str | None, typer.Option("--new-city", help="落地新城（空港/沣东/秦汉/沣西/泾河新城）")] = None,
    park: Annotated[str | None, typer.Option("--park", help="落地园区")] = None,
    investment: Annotated[float | None, typer.Option("--investment", help="总投资（亿元）")] = None,
    stage: Annotated[str, typer.Option("--stage", help="起始阶段")] = "谋划",
    on: Annotated[str | None, typer.Option("--date", help="起始阶段的日期（默认今天）")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="负责人")] = None,
    firm: Annotated[list[int] | None, typer.Option("--firm", help="涉及的库内企业编号（可重复）")] = None,
    notes: Annotated[str, typer.Option("--notes", help="备注")] = "",
    db: Path | None = DbOption,
) -> None:
    """新建项目（记录起始阶段及日期）。最后一行输出 JSON。"""
    from matcher.store.firm_edits import firm_row
    from matcher.work.projects import ProjectError, add_project, project_detail

    store = _store(db)
    try:
        firms = []
        for fid in firm or []:
            row = firm_row(store, fid)
            if row is None:
                _fail(f"没有编号为 {fid} 的企业")
                return
            firms.append({"id": fid, "name": row["name"]})
        pid = add_project(store, name, kind, chain=chain, new_city=new_city, park=park, investment=investment,
                          stage=stage, owner=owner, notes=notes, firms=firms, on_date=on)
        project = project_detail(store, pid)
    except (ProjectError, PermissionError) as exc:
        _fail(f"未新建项目：{exc}")
        return
    finally:
        store.close()
    typer.echo("已新建项目：" + _project_line(project).strip())
    echo_json(project)


@projects_app.command("list")
def projects_list(
    kind: Annotated[str | None, typer.Option("--kind", help="只看该类型")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="只看该阶段")] = None,
    new_city: Annotated[str | None, typer.Option("--new-city", help="只看该新城")] = None,
    chain: Annotated[str | None, typer.Option("--chain", help="只看该产业链")] = None,
    db: Path | None = DbOption,
) -> None:
    """列出项目库（最新的在前）。最后一行输出 JSON。"""
    from matcher.work.projects import list_projects

    store = _store(db)
    try:
        rows = list_projects(store, kind=kind, stage=stage, new_city=new_city, chain=chain)
    finally:
        store.close()
    for p in rows:
        typer.echo(_project_line(p))
    if not rows:
        typer.echo("项目库中还没有项目。")
    echo_json(rows)


@projects_app.command("show")
def projects_show(project_id: Annotated[int, typer.Argument(help="项目编号")], db: Path | None = DbOption) -> None:
    """查看一个项目及其阶段历程。最后一行输出 JSON。"""
    from matcher.work.projects import ProjectError, project_detail

    store = _store(db)
    try:
        p = project_detail(store, project_id)
    except ProjectError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(_project_line(p).strip())
    typer.echo("  涉及企业：" + ("、".join(f.get("name") or "" for f in p["firms"]) or "（未填）"))
    typer.echo(f"  负责人：{p.get('owner') or '（未填）'}　备注：{p.get('notes') or ''}")
    for m in p["moves"]:
        typer.echo(f"  · {m['on_date']} {m['stage']}（{m['user']}）{m.get('note') or ''}")
    echo_json(p)


@projects_app.command("move")
def projects_move(
    project_id: Annotated[int, typer.Argument(help="项目编号")],
    stage: Annotated[str, typer.Argument(help="新阶段：谋划 / 储备 / 在谈 / 签约 / 开工 / 投产")],
    on: Annotated[str | None, typer.Option("--date", help="变动日期（默认今天）")] = None,
    note: Annotated[str, typer.Option("--note", help="说明")] = "",
    db: Path | None = DbOption,
) -> None:
    """变更项目阶段（新增一条历程，不覆盖以前的）。最后一行输出 JSON。"""
    from matcher.work.projects import ProjectError, move_project, project_detail

    store = _store(db)
    try:
        move_project(store, project_id, stage, on, note)
        p = project_detail(store, project_id)
    except (ProjectError, PermissionError) as exc:
        _fail(f"未变更：{exc}")
        return
    finally:
        store.close()
    typer.echo(f"项目 {project_id} 已进入“{stage}”阶段（{p['moves'][-1]['on_date']}）。")
    echo_json(p)


@projects_app.command("export")
def projects_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 .xlsx")] = Path("项目库.xlsx"),
    kind: Annotated[str | None, typer.Option("--kind", help="只导出该类型")] = None,
    db: Path | None = DbOption,
) -> None:
    """导出项目库工作簿（每个项目一行，含阶段历程）。最后一行输出 JSON。"""
    from matcher.work.projects import export_projects

    store = _store(db)
    try:
        path = export_projects(store, output, kind=kind)
    finally:
        store.close()
    typer.echo(f"已导出项目库 → {path}")
    echo_json({"path": str(path)})


@projects_app.command("target")
def projects_target(
    target_id: Annotated[str, typer.Argument(help="目标编号（matcher progress --json 中的 id）")],
    value: Annotated[float, typer.Argument(help="新的目标值")],
    db: Path | None = DbOption,
) -> None:
    """修改一项工作目标的数值（留审计记录）。最后一行输出 JSON。"""
    from matcher.work.projects import ProjectError, set_target

    store = _store(db)
    try:
        t = set_target(store, target_id, value)
    except (ProjectError, PermissionError) as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"目标“{t['name']}”改为 {value:g}{t.get('unit') or ''}。")
    echo_json(t)


@app.command("progress")
def progress_cmd(
    year: Annotated[int | None, typer.Option("--year", help="年度（默认今年）")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="同时导出月报工作簿 .xlsx")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
    db: Path | None = DbOption,
) -> None:
    """各项工作目标的完成情况（按年度；项目按新城、产业链分列）。最后一行 JSON 的 targets 为 name、unit、target、actual。"""
    from matcher.work.projects import export_progress, progress

    store = _store(db)
    try:
        p = progress(store, year)
        path = export_progress(store, output, year) if output else None
    finally:
        store.close()
    if not as_json:
        typer.echo(f"{p.year} 年工作目标完成情况：")
        for t in p.targets:
            rate = f"{t['rate']:.0%}" if t["rate"] is not None else "—"
            typer.echo(f"  {t['name']}（{t['period']}）：{t['actual']:g} / {t['target']:g} {t['unit']}（{rate}）")
        if path:
            typer.echo(f"已导出 → {path}")
    echo_json({"year": p.year, "targets": [{k: t[k] for k in ("id", "name", "unit", "target", "actual")}
                                           for t in p.targets], "file": str(path) if path else None})


events_app = _typer("洽谈会：邀请企业、一对一供需对接日程（指派求解）、洽谈结果")
app.add_typer(events_app, name="events")


@events_app.command("plan")
def events_plan(
    chain: Annotated[list[str], typer.Option("--chain", help="产业链名称或别名（可重复）")],
    on: Annotated[str, typer.Option("--date", help="日期，如 2026-04-16")],
    slots: Annotated[int, typer.Option("--slots", min=1, help="时段数")],
    tables: Annotated[int, typer.Option("--tables", min=1, help="每个时段的桌数")],
    output: Annotated[Path, typer.Option("-o", "--output", help="对接日程工作簿 .xlsx")],
    cap: Annotated[int, typer.Option("--cap", min=1, help="每家企业最多参加几场会谈")] = 3,
    venue: Annotated[str, typer.Option("--venue", help="地点")] = "",
    name: Annotated[str, typer.Option("--name", help="活动名称（默认按产业链命名）")] = "",
    invitations: Annotated[Path | None, typer.Option("--invitations", help="邀请名单 .xlsx（默认与日程同目录）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
    db: Path | None = DbOption,
) -> None:
    """安排一场洽谈会：提出邀请企业，按时段用指派算法排一对一供需会谈（总得分最高），并与贪心基线对比。

    最后一行输出 JSON：schedule 为日程（每场会谈的会谈编号、时段、桌号、需方、供方、得分、理由），output 为日程工作簿。"""
    from datetime import date

    from matcher.knowledge import kb
    from matcher.work.batch import BatchError, firms_run
    from matcher.work.events import EventError, export_invitations, export_schedule, plan_event, schedule_rows
    from matcher.work.export import ExportError, resolve_chain
    from matcher.work.results import run_results

    try:
        day = date.fromisoformat(on).isoformat()
    except ValueError:
        _fail(f"--date 应为日期，如 2026-04-16，收到 {on!r}")
        return
    store = _store(db)
    try:
        kbd = kb.current(store)
        chains = []
        for c in chain:
            chains.append(str(resolve_chain(kbd, c)))
        bar = _Bar("匹配库内企业")
        try:
            run = firms_run(store, progress=None if as_json else bar)
        finally:
            bar.close()
        event_id, plan = plan_event(store, _store_matcher(store), run_results(store, run["id"]), chains, day,
                                    slots=slots, tables=tables, cap=cap, venue=venue, name=name)
        schedule = export_schedule(store, event_id, output)
        invite = export_invitations(store, event_id, invitations or output.with_name(f"邀请名单_{output.stem}.xlsx"))
        rows = schedule_rows(store, event_id)
    except (EventError, BatchError, ExportError, PermissionError) as exc:
        _fail(f"未安排：{exc}")
        return
    finally:
        store.close()
    if not as_json:
        typer.echo(f"洽谈会 {event_id}：{'、'.join(chains)}，{day}，{slots} 个时段 × {tables} 桌；邀请企业 {len(plan.invitees)} 家，"
                   f"安排会谈 {len(plan.meetings)} 场。")
        typer.echo(f"总得分：指派求解 {plan.score:.3f}，贪心基线 {plan.greedy_score:.3f}（{plan.greedy_meetings} 场）。")
        for m in plan.meetings[: min(len(plan.meetings), tables)]:
            typer.echo(f"  时段{m['slot']} {m['table_no']}号桌 [{m['score']:.2f}] 需方 {m['buyer']} ← 供方 {m['supplier']}")
        typer.echo(f"对接日程 → {schedule}；邀请名单 → {invite}")
    echo_json({"event_id": event_id, "meetings": len(plan.meetings), "firms": len(plan.invitees),
               "score": plan.score, "greedy_score": plan.greedy_score, "schedule": rows,
               "output": str(schedule), "invitations": str(invite)})


@events_app.command("list")
def events_list(db: Path | None = DbOption) -> None:
    """列出洽谈会（最近的在前）。最后一行输出 JSON。"""
    from matcher.work.events import list_events

    store = _store(db)
    try:
        rows = list_events(store)
    finally:
        store.close()
    for e in rows:
        typer.echo(f"{e['id']:>4}  {e['on_date']}  {e['name']}  会谈 {e['meetings']} 场  得分 {e['score']:.3f}"
                   f"（贪心 {e['greedy_score']:.3f}）")
    if not rows:
        typer.echo("还没有洽谈会。")
    echo_json(rows)


@events_app.command("show")
def events_show(event_id: Annotated[int, typer.Argument(help="洽谈会编号")], db: Path | None = DbOption) -> None:
    """查看一场洽谈会的日程与结果。最后一行输出 JSON。"""
    from matcher.work.events import EventError, event_detail

    store = _store(db)
    try:
        e = event_detail(store, event_id)
    except EventError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"== {e['name']}（{e['on_date']}，{e.get('venue') or '地点待定'}）")
    for m in e["meetings"]:
        result = f"　结果：{m['outcome']}" if m.get("outcome") else ""
        typer.echo(f"  会谈{m['id']} 时段{m['slot']} {m['table_no']}号桌 [{m['score']:.2f}] "
                   f"需方 {m['buyer']} ← 供方 {m['supplier']}{result}")
    echo_json(e)


@events_app.command("outcome")
def events_outcome(
    meeting_id: Annotated[int, typer.Argument(help="会谈编号（matcher events show 中的“会谈N”）")],
    outcome: Annotated[str, typer.Argument(help="有意向 / 签约")],
    note: Annotated[str, typer.Option("--note", help="说明")] = "",
    db: Path | None = DbOption,
) -> None:
    """记录一场会谈的结果；有意向在项目库中生成“在谈”项目，签约生成（或推进到）“签约”项目。最后一行输出 JSON。"""
    from matcher.work.events import EventError, record_outcome

    store = _store(db)
    try:
        pid = record_outcome(store, meeting_id, outcome, note)
    except (EventError, PermissionError) as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"已记录会谈 {meeting_id} 的结果：{outcome}；项目库项目 {pid}。")
    echo_json({"meeting": meeting_id, "outcome": outcome, "project": pid})


spill_app = _typer("动态承接主城区产业溢出企业信息清单")
invest_app = _typer("主城区企业对外投资清单（标出本可落地西咸的投资）")
app.add_typer(spill_app, name="spillover")
app.add_typer(invest_app, name="invest")


def _spill_line(r: dict[str, Any]) -> str:
    needs = "，".join(x for x in (f"用地{r['land_mu']:g}亩" if r.get("land_mu") else "",
                                 f"厂房{r['plant_m2']:g}㎡" if r.get("plant_m2") else "",
                                 f"电力{r['power']}" if r.get("power") else "",
                                 f"人才{r['talent']}" if r.get("talent") else "") if x)
    return (f"{r['firm_id']:>6}  {r['name']}  [{r.get('status') or '未对接'}]  {r.get('location') or ''}  "
            f"{r.get('chain') or '产业链待定'}·{r.get('segment') or '环节待定'}  {r.get('spill_type') or '类型待定'}  "
            f"意向 {r.get('intended') or '待定'}  {needs}").rstrip()


@spill_app.command("add")
def spill_add(
    firm_id: Annotated[int, typer.Argument(help="库内企业编号（matcher firms list 可查）")],
    spill_type: Annotated[str | None, typer.Option("--type", help="扩产 / 迁建 / 新设分支 / 研发成果转化")] = None,
    land: Annotated[float | None, typer.Option("--land", help="用地需求（亩）")] = None,
    plant: Annotated[float | None, typer.Option("--plant", help="厂房需求（㎡）")] = None,
    power: Annotated[str | None, typer.Option("--power", help="电力需求")] = None,
    talent: Annotated[str | None, typer.Option("--talent", help="人才需求")] = None,
    intended: Annotated[str | None, typer.Option("--intended", help="意向落地（默认取匹配推荐）")] = None,
    status: Annotated[str | None, typer.Option("--status", help="对接状态")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="负责人")] = None,
    follow: Annotated[str | None, typer.Option("--follow-date", help="最近跟进日期")] = None,
    note: Annotated[str | None, typer.Option("--note", help="跟进情况")] = None,
    match: Annotated[bool, typer.Option("--match/--no-match", help="用匹配结果填写产业链、环节和意向落地")] = True,
    db: Path | None = DbOption,
) -> None:
    """把一家企业加入（或更新）溢出企业清单；产业链、环节、意向落地由匹配给出，可修改。最后一行输出 JSON。"""
    from matcher.work.lists import ListError, from_match, put_spill

    values = {"spill_type": spill_type, "land_mu": land, "plant_m2": plant, "power": power, "talent": talent,
              "intended": intended, "status": status, "owner": owner, "follow_date": follow, "follow_note": note}
    store = _store(db)
    try:
        matched = from_match(_store_matcher(store).match(firm_id, store=store)) if match else None
        row = put_spill(store, firm_id, {k: v for k, v in values.items() if v is not None}, matched)
    except (ListError, KeyError, PermissionError) as exc:
        _fail(f"未保存：{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已保存企业 {firm_id} 的溢出清单记录：{row.get('chain') or '产业链待定'}，意向 {row.get('intended') or '待定'}。")
    echo_json(row)


@spill_app.command("list")
def spill_list_cmd(db: Path | None = DbOption) -> None:
    """列出溢出企业清单（对接状态随反馈和项目阶段推进）。最后一行输出 JSON。"""
    from matcher.work.lists import spill_rows

    store = _store(db)
    try:
        rows = spill_rows(store)
    finally:
        store.close()
    for r in rows:
        typer.echo(_spill_line(r))
    if not rows:
        typer.echo("溢出企业清单为空。")
    echo_json(rows)


@spill_app.command("export")
def spill_export(output: Annotated[Path, typer.Option("-o", "--output", help="输出 .xlsx")] = Path("溢出企业清单.xlsx"),
                 db: Path | None = DbOption) -> None:
    """导出溢出企业清单工作簿（方案中的列名）。最后一行输出 JSON。"""
    from matcher.work.lists import export_spill

    store = _store(db)
    try:
        path = export_spill(store, output)
    finally:
        store.close()
    typer.echo(f"已导出 → {path}")
    echo_json({"path": str(path)})


@spill_app.command("import")
def spill_import(file: Annotated[Path, typer.Argument(help="清单 .xlsx / .csv（列名同导出的清单）")],
                 match: Annotated[bool, typer.Option("--match/--no-match", help="空着的产业链、环节、意向落地用匹配填写")] = True,
                 db: Path | None = DbOption) -> None:
    """从工作簿导入溢出企业清单；库中没有的企业一并新建。最后一行输出 JSON。"""
    from matcher.ingest.importer import ImportFileError
    from matcher.work.lists import ListError, import_spill

    store = _store(db)
    try:
        counts = import_spill(store, file, _store_matcher(store) if match else None)
    except (ListError, ImportFileError, PermissionError) as exc:
        _fail(f"导入失败，清单未改动。{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已导入 {file}：{counts['entries']} 条清单记录，新建企业 {counts['added_firms']} 家。")
    echo_json(counts)


@invest_app.command("add")
def invest_add(
    firm: Annotated[str, typer.Argument(help="企业名称")],
    to: Annotated[str, typer.Option("--to", help="投资去向（如 江苏省苏州市）")],
    amount: Annotated[float | None, typer.Option("--amount", help="投资额（亿元）")] = None,
    chain: Annotated[str | None, typer.Option("--chain", help="产业链")] = None,
    on: Annotated[str | None, typer.Option("--date", help="投资时间")] = None,
    note: Annotated[str, typer.Option("--note", help="备注")] = "",
    db: Path | None = DbOption,
) -> None:
    """记录一笔主城区企业的对外投资；投向区外而西咸有园区主导该产业链时标出。最后一行输出 JSON。"""
    from matcher.knowledge import kb
    from matcher.work.export import ExportError
    from matcher.work.lists import ListError, add_investment

    store = _store(db)
    try:
        row = add_investment(store, kb.current(store), firm, to, amount, chain, on, note)
    except (ListError, ExportError, PermissionError) as exc:
        _fail(f"未保存：{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已记录：{firm} → {to}" + (f"。本可落地西咸：{row['flag']}" if row["flag"] else ""))
    echo_json(row)


@invest_app.command("list")
def invest_list(flagged: Annotated[bool, typer.Option("--flagged", help="只看本可落地西咸的投资")] = False,
                db: Path | None = DbOption) -> None:
    """列出对外投资清单，本可落地西咸的在前。最后一行输出 JSON。"""
    from matcher.knowledge import kb
    from matcher.work.lists import investment_rows

    store = _store(db)
    try:
        rows = investment_rows(store, kb.current(store), flagged)
    finally:
        store.close()
    for r in rows:
        money = f"{r['amount']:g}亿元" if r.get("amount") is not None else ""
        typer.echo(f"{'★' if r['flag'] else ' '} {r['firm']} → {r['destination']} {money} {r.get('chain') or ''} "
                   f"{r.get('on_date') or ''}  {r['flag']}".rstrip())
    if not rows:
        typer.echo("对外投资清单为空。")
    echo_json(rows)


@invest_app.command("export")
def invest_export(output: Annotated[Path, typer.Option("-o", "--output", help="输出 .xlsx")] = Path("对外投资清单.xlsx"),
                  db: Path | None = DbOption) -> None:
    """导出对外投资清单工作簿（本可落地西咸的在前）。最后一行输出 JSON。"""
    from matcher.knowledge import kb
    from matcher.work.lists import export_investments

    store = _store(db)
    try:
        path = export_investments(store, kb.current(store), output)
    finally:
        store.close()
    typer.echo(f"已导出 → {path}")
    echo_json({"path": str(path)})


@invest_app.command("import")
def invest_import(file: Annotated[Path, typer.Argument(help="清单 .xlsx / .csv（企业名称、投资去向、投资额（亿元）、产业链、投资时间）")],
                  db: Path | None = DbOption) -> None:
    """从工作簿导入对外投资记录。最后一行输出 JSON。"""
    from matcher.ingest.importer import ImportFileError
    from matcher.knowledge import kb
    from matcher.work.export import ExportError
    from matcher.work.lists import ListError, import_investments

    store = _store(db)
    try:
        n = import_investments(store, kb.current(store), file)
    except (ListError, ImportFileError, ExportError, PermissionError) as exc:
        _fail(f"导入失败，清单未改动。{exc}")
        return
    finally:
        store.close()
    typer.echo(f"已导入 {n} 条对外投资记录。")
    echo_json({"added": n})



def _chinese_commands(*groups: typer.Typer) -> None:
    """Every command of these groups gets the Chinese, full-width help."""
    for group in groups:
        for info in group.registered_commands:
            if not (isinstance(info.cls, type) and issubclass(info.cls, ChineseCommand)):
                info.cls = ChineseCommand


_chinese_commands(app, kb_app, eval_app, config_app, users_app, firms_app, samples_app, projects_app, events_app,
                  spill_app, invest_app)


def main() -> None:
    """Entry point of the ``matcher`` console script."""
    app()


if __name__ == "__main__":
    main()
