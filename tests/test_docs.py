"""The documentation stays true: every command has help and is named in the README; the quick start targets exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from matcher.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, object]]:
    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            out += [(f"{name} {sub}", c) for sub, c in subs.items()]
        else:
            out.append((name, cmd))
    return out


@pytest.mark.parametrize("name, command", _commands())
def test_every_command_has_help(name: str, command: object) -> None:
    assert getattr(command, "help", None), f"matcher {name} has no help"


@pytest.mark.parametrize("name", sorted({n.split()[0] for n, _ in _commands()}))
def test_every_command_is_in_the_readme(name: str) -> None:
    assert re.search(rf"matcher {re.escape(name)}\b", README), f"README does not mention `matcher {name}`"


@pytest.mark.parametrize("target", ["run", "test", "install"])
def test_quick_start_targets_exist(target: str) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^{target}:", makefile, re.M)
    assert f"make {target}" in README


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
