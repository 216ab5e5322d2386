"""The ``matcher`` command line: a thin layer over the library; every command works on a fresh clone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

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


def main() -> None:
    """Entry point of the ``matcher`` console script."""
    app()


if __name__ == "__main__":
    main()
