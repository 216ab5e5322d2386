"""The ``matcher`` command line: a thin layer over the library; every command works on a fresh clone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="西咸新区产业链招商匹配工具")
kb_app = typer.Typer(no_args_is_help=True, help="知识库：产业体系、产业链、园区")
eval_app = typer.Typer(no_args_is_help=True, help="在标注集上评估")
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")

DbOption = typer.Option(None, "--db", help="数据库文件（默认 MATCHER_DB 或 data/matcher.db）")


def _store(db: Optional[Path]):
    from .store import Store

    return Store(db)


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

    from .importer import ImportFileError, import_file

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
    from . import config, kb

    try:
        if stored:
            store = _store(db)
            try:
                data, label = kb.current(store), f"数据库 {store.path} 知识库版本 {kb.version(store)}"
            finally:
                store.close()
        else:
            data, label = kb.load_dir(path), str(path or config.KB_DIR)
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
    from . import kb

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
    from . import kb

    store = _store(db)
    try:
        typer.echo(kb.show(store, name))
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
    from . import kb

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
        try:
            changes[field.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            changes[field.strip()] = raw  # plain text value
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
    from . import kb

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
    from . import kb

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


def main() -> None:
    """Entry point of the ``matcher`` console script."""
    app()


if __name__ == "__main__":
    main()
